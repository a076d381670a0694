"""Cease-use request letters: templates, rendering, the notice workflow and sending."""
