"""Pure matching of Japanese personal data: normalisation, the match index, scoring, explanations.

Imports only the standard library and small data packages: never the store, web or Scrapy.
The public normalisation API is re-exported here; the work is done in one module per job.
"""

from matcher.address import Address, parse_address

__all__ = ["Address", "parse_address"]
