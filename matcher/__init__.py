"""Pure matching of Japanese personal data: normalisation, the match index, scoring, explanations.

Imports only the standard library and small data packages: never the store, web or Scrapy.
The public normalisation API is re-exported here; the work is done in one module per job:
``text`` (width, spaces, dashes), ``kana`` (readings), ``variants`` (variant kanji), ``names``,
``gazetteer`` + ``address``, ``phone``, ``dates``, ``postal``, ``mail``.
"""

from matcher.address import Address, parse_address
from matcher.dates import DateRange, parse_birthdate
from matcher.kana import normalize_kana
from matcher.mail import normalize_email
from matcher.names import Name, normalize_name
from matcher.phone import Phone, normalize_phone
from matcher.postal import normalize_postal
from matcher.text import normalize_text
from matcher.variants import fold_variants

__all__ = [
    "Address",
    "DateRange",
    "Name",
    "Phone",
    "fold_variants",
    "normalize_email",
    "normalize_kana",
    "normalize_name",
    "normalize_phone",
    "normalize_postal",
    "normalize_text",
    "parse_address",
    "parse_birthdate",
]
