"""Phone cells holding several numbers (``03-1234-5678 090-1234-5678``, ``TEL/FAX …/…``):
no crash, every number kept, any of them agreeing with the person's phone or fax counts; a
cell of one number is read as it always was."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from matcher import Matcher, WatchlistIndex, listing_features
from matcher.features import phone_digits
from matcher.phone import MAX_DIGITS, MIN_DIGITS, national_digits, phone_numbers
from synth.watchlist import generate_watchlist
from tests.matcher.conftest import HOUSEHOLD, row

PHONE, FAX, MOBILE = "0312345678", "0312345679", "09098765432"  # the household's, and others'


@pytest.mark.parametrize(("cell", "numbers"), [
    ("03-1234-5678 090-9876-5432", (PHONE, MOBILE)),
    ("TEL/FAX 03-1234-5678/03-1234-5679", (PHONE, FAX)),
    ("03-1234-5678、090-9876-5432", (PHONE, MOBILE)),
    ("TEL:03-1234-5678 FAX:03-1234-5679", (PHONE, FAX)),
    ("電話 03-1234-5678 携帯 090-9876-5432", (PHONE, MOBILE)),
    ("03 1234 5678 090 9876 5432", (PHONE, MOBILE)),  # spaces only: cut where a number ends
    ("+81-3-1234-5678 / +81 90 9876 5432", (PHONE, MOBILE)),
    ("03-****-5678 090-9876-xxxx", ("03????5678", "0909876????")),
    ("03-1234-5678", (PHONE,)),
    ("(03)1234-5678 内線 12", (PHONE,)),
    ("03-1234-5678-90", ("031234567890",)),  # no number in it: its digits, as before
    ("9" * 40, ()), ("0" * 10_000, ()), ("x" * 10_000, ()), ("\x00", ()), ("", ()),
])  # fmt: skip
def test_numbers_of_a_cell(cell: str, numbers: tuple[str, ...]) -> None:
    assert phone_numbers(cell) == numbers
    assert phone_digits(cell) == (numbers[0] if numbers else "")


@settings(max_examples=400, deadline=None)
@given(st.text(max_size=40) | st.from_regex(r"[0０+(]?[0-9０-９\- ()]{6,30}", fullmatch=True))
def test_a_cell_of_one_number_reads_as_before(cell: str) -> None:
    """Where the whole cell reads as one number (9 to 11 digits), that is the row's phone and
    its only one, exactly the national digits it always gave; nothing is ever longer than
    a 64-bit key holds."""
    digits = national_digits(cell)
    got = phone_numbers(cell)
    if MIN_DIGITS <= len(digits) <= MAX_DIGITS:
        assert got == (digits,)
    assert all(MIN_DIGITS <= len(n) <= 18 for n in got)
    f = listing_features({"name": "山田 太郎", "phone": cell})
    assert f.phone == (got[0] if got else "")
    assert f.phones == (got if len(got) > 1 else ())


@pytest.fixture(scope="module")
def faxed() -> Matcher:
    """The conftest household with a fax line (03-1234-5679) registered."""
    wl = [dict(p, fax="03-1234-5679") if p["household_id"] == "H1" else p for p in HOUSEHOLD]
    return Matcher(WatchlistIndex.build(wl + list(generate_watchlist(3000, 99))), em=False)


def phone_of(m: Matcher, cell: str, **fields: str) -> tuple[str, str, str]:
    """(record, decision, phone level) of the row's best candidate, its address left out
    so that the phone is what locates it."""
    res = m.match([row(phone=cell, address="", postal_code="", **fields)])
    best = res.candidates[0]
    level = next(e.level for e in best.explanation.fields if e.field == "phone")
    return best.record_id, best.decision, level


@pytest.mark.parametrize("cell", [
    "03-1234-5678 090-9876-5432",  # the phone first
    "090-9876-5432 03-1234-5678",  # the phone second
    "TEL/FAX 090-9876-5432/03-1234-5679",  # only the fax agrees
    "090-9876-5432、03-1234-56xx",  # a masked second number that fits the phone
])  # fmt: skip
def test_any_number_of_the_cell_may_be_the_phone_or_fax(faxed: Matcher, cell: str) -> None:
    record, decision, level = phone_of(faxed, cell)
    assert (record, decision) == ("W2", "match")
    assert level == ("masked_compatible" if "xx" in cell else "exact")


def test_a_single_number_is_the_phone_only(faxed: Matcher) -> None:
    # One number in the column is the phone, as always: the fax is looked at only in a cell
    # of several numbers (which a TEL/FAX cell is).
    assert phone_of(faxed, "03-1234-5679")[1:] == ("review", "disagree")
    assert phone_of(faxed, "03-1234-5678")[1:] == ("match", "exact")
    # Other numbers, none the household's: they disagree, no more.
    assert phone_of(faxed, "090-9876-5432 03-9999-0000")[1:] == ("review", "disagree")


def test_a_cell_of_numbers_alone_finds_the_person(faxed: Matcher) -> None:
    """Blocking: with nothing else in common (a romaji name, no address, no birth date), the
    second number of the cell, or the fax, still brings the person up."""
    for cell in ("090-9876-5432 03-1234-5678", "090-9876-5432/03-1234-5679"):
        res = faxed.match([row(phone=cell, address="", postal_code="", birthdate="",
                               name="Taro Yamada", name_kana="")])  # fmt: skip
        assert "W2" in {c.record_id for c in res.candidates}, cell
