"""Pure matching of Japanese personal data: normalisation, the match index, scoring, explanations.

Imports only the standard library, numpy, rapidfuzz and small data packages: never the
store, web or Scrapy. The internals are described in docs/matcher.md. The public
normalisation API is re-exported here; the work is done in one module per job: ``text``
(width, spaces, dashes), ``kana`` (readings), ``variants`` (variant kanji), ``names``,
``gazetteer`` + ``address``, ``phone``, ``dates``, ``postal``, ``mail``.

Matching (also re-exported): ``WatchlistIndex`` (``index``: compact columns, blocking keys,
encrypted save/load via ``sealing``), ``Matcher`` / ``score_listing`` (``match``), over
``features`` (a row's comparable values: ``listing_features``), ``persons`` (watchlist
persons column by column: ``watchlist_chunk`` makes a ``PersonChunk`` in any process for
``WatchlistIndex.add_chunks``), ``keys`` (loose readings, hashes, blocking keys),
``columns`` (vocabularies, packed strings, key tables), ``batch`` (listing rows as arrays,
candidate pairs), ``levels`` (every field's comparison levels, named, with their m/u
priors: the one table the comparison, the model and the explanations are built from),
``compare`` (a pair's level per field, term frequencies), ``model`` (Fellegi–Sunter, EM,
household correction), ``context`` (locating evidence, rival households, calibration),
``decide`` (ranking, decisions, explanations), ``asof`` (a listing's date),
``calibrate`` (Platt scaling, reliability), ``workers`` (work spread over forked
processes) and ``contract`` (the CSV files' columns). ``gc_paused`` turns the cyclic GC off
for a bulk run: a decision for an entry point (``leakwatch match`` takes it), never taken
inside ``Matcher`` or ``WatchlistIndex``.
``native`` puts a compiled build of the normalisation modules in their place when there is
a current one (``leakwatch native build``): same code, same results, faster.
"""

from matcher import native

native.enable(__path__)  # compiled normalisers, when built from these very sources

from matcher.address import Address, load_tables, parse_address
from matcher.dates import DateRange, parse_birthdate
from matcher.explain import Explanation, FieldEvidence
from matcher.features import listing_features
from matcher.gazetteer import PREFECTURES
from matcher.gcpause import gc_paused
from matcher.index import IndexFormatError, WatchlistIndex
from matcher.kana import normalize_kana
from matcher.mail import normalize_email
from matcher.match import Candidate, Matcher, MatchResult, Thresholds, score_listing
from matcher.model import Model
from matcher.names import Name, normalize_name
from matcher.persons import PERSON_FIELDS, PersonChunk, watchlist_chunk
from matcher.phone import Phone, normalize_phone
from matcher.postal import normalize_postal
from matcher.sealing import IndexKeyError
from matcher.text import normalize_text
from matcher.variants import fold_variants

__all__ = [
    "PERSON_FIELDS",
    "PREFECTURES",
    "Address",
    "Candidate",
    "DateRange",
    "Explanation",
    "FieldEvidence",
    "IndexFormatError",
    "IndexKeyError",
    "MatchResult",
    "Matcher",
    "Model",
    "Name",
    "PersonChunk",
    "Phone",
    "Thresholds",
    "WatchlistIndex",
    "fold_variants",
    "gc_paused",
    "listing_features",
    "load_tables",
    "normalize_email",
    "normalize_kana",
    "normalize_name",
    "normalize_phone",
    "normalize_postal",
    "normalize_text",
    "parse_address",
    "parse_birthdate",
    "score_listing",
    "watchlist_chunk",
]
