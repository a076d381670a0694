"""Pure matching of Japanese personal data: normalisation, the match index, scoring, explanations.

Imports only the standard library and small data packages: never the store, web or Scrapy.
"""
