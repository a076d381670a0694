"""Spiders (the crawler issue adds the generic spider)."""
