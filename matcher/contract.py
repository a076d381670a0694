"""The data contract: the columns of the CSV files LeakWatch reads and writes, and their meaning.

One place for every column list: the watchlist importer, the crawler's extraction, the
customer-report intake, the synthetic data and the CLI all take their columns from here,
and the README's tables are checked against it. Files are UTF-8 CSV with a header row;
unknown columns are kept, never dropped.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    meaning: str


WATCHLIST: tuple[Column, ...] = (
    Column("record_id", "the person's id in the leaked database (required)"),
    Column("household_id", "the registrant's family; guardian and children share it (required)"),
    Column("name", "full name, family name first"),
    Column("name_kana", "the name's reading in katakana"),
    Column("gender", "M or F (男/女 accepted); empty means unknown"),
    Column("birthdate", "YYYY-MM-DD"),
    Column("relationship", "to the registrant: 本人, 長男, 長女 …"),
    Column("postal_code", "seven digits, 123-4567"),
    Column("address", "the address as registered"),
    Column("phone", "the household's phone number"),
    Column("fax", "a fax number"),
    Column("due_date", "出産予定日 (expected date of birth), YYYY-MM-DD"),
    Column("email", "an e-mail address"),
)

LISTING: tuple[Column, ...] = (
    Column("row_id", "the row's id within the file (made up from the line when missing)"),
    Column("listing_id", "which list the row was published in (rows of one list share it)"),
    Column("name", "the name as published, in any script: kanji, kana, romaji"),
    Column("name_kana", "a reading as published"),
    Column("gender", "as published"),
    Column("birthdate", "any form: 2008/4/5, 平成20年4月5日, H20.4.5, 20080405 …"),
    Column("age", "an age as of the list's (inferred) date"),
    Column("grade", "a school grade (小3, 中1 …) as of the list's date"),
    Column("guardian_name", "the guardian named with a child"),
    Column("postal_code", "as published"),
    Column("address", "as published (old addresses, abbreviations, no prefecture …)"),
    Column("phone", "one or several numbers, masked ones too (03-****-5678)"),
    Column("email", "as published"),
)

MATCHES: tuple[Column, ...] = (
    Column("row_id", "the listing row"),
    Column("record_id", "the watchlist person"),
    Column("score", "calibrated probability that the row is that person, 0..1"),
    Column("decision", "match, review or nonmatch"),
)

WATCHLIST_COLUMNS: tuple[str, ...] = tuple(c.name for c in WATCHLIST)
LISTING_COLUMNS: tuple[str, ...] = tuple(c.name for c in LISTING)
# What one published record is made of: the listing columns but the row's own ids.
RECORD_FIELDS: tuple[str, ...] = LISTING_COLUMNS[2:]
MATCH_COLUMNS: tuple[str, ...] = tuple(c.name for c in MATCHES)
