"""Listing generator: contract, positives and their variations, hard negatives, ground truth."""

from __future__ import annotations

import random
import re
import unicodedata
from collections import Counter
from datetime import date

from synth import (
    LISTING_COLUMNS,
    TRUTH_COLUMNS,
    generate_demo,
    generate_listing,
    generate_watchlist,
)
from synth.dates import GRADE_OFFSETS
from synth.negatives import (
    NEGATIVE_KINDS,
    namesake,
    neighbour,
    other_parent,
    random_person,
    sibling,
    twin,
)
from synth.subject import WatchlistIndex, name_key, split_name

Rows = list[dict[str, str]]


def _tags(t: dict[str, str]) -> set[str]:
    return set(t["detail"].split(";")) - {""}


def _of(t: dict[str, str]) -> str:
    return next(x[3:] for x in t["detail"].split(";") if x.startswith("of="))


def _digits(s: str) -> str:
    return re.sub(r"\D", "", unicodedata.normalize("NFKC", s))


def test_columns_and_truth_align(listing_4k: tuple[Rows, Rows]) -> None:
    rows, truth = listing_4k
    assert len(rows) == len(truth) == 4000
    assert all(list(r) == LISTING_COLUMNS for r in rows)
    assert all(list(t) == TRUTH_COLUMNS for t in truth)
    assert [r["row_id"] for r in rows] == [t["row_id"] for t in truth]
    assert len({r["row_id"] for r in rows}) == len(rows)
    assert all(r["listing_id"] == t["listing_id"] for r, t in zip(rows, truth, strict=True))


def test_deterministic_by_seed(watchlist_20k: Rows) -> None:
    a = generate_listing(watchlist_20k[:3000], 300, 5)
    assert a == generate_listing(watchlist_20k[:3000], 300, 5)
    assert a != generate_listing(watchlist_20k[:3000], 300, 6)


def test_positive_share(watchlist_20k: Rows, listing_4k: tuple[Rows, Rows]) -> None:
    _, truth = listing_4k
    assert sum(1 for t in truth if t["kind"] == "positive") == 2000
    _, t2 = generate_listing(watchlist_20k, 1000, 3, positive_share=0.2)
    assert sum(1 for t in t2 if t["record_id"]) == 200


def test_several_listings_each_with_one_as_of(listing_4k: tuple[Rows, Rows]) -> None:
    _, truth = listing_4k
    as_of: dict[str, set[str]] = {}
    for t in truth:
        as_of.setdefault(t["listing_id"], set()).add(t["as_of"])
    assert len(as_of) >= 3
    assert all(len(v) == 1 for v in as_of.values())
    assert all(date.fromisoformat(next(iter(v))) > date(2014, 6, 30) for v in as_of.values())


def test_positives_point_at_watchlist_records(
    watchlist_20k: Rows, listing_4k: tuple[Rows, Rows]
) -> None:
    ids = {r["record_id"] for r in watchlist_20k}
    _, truth = listing_4k
    for t in truth:
        assert (t["kind"] == "positive") == bool(t["record_id"])
        if t["record_id"]:
            assert t["record_id"] in ids


def test_variations_cover_the_design(listing_4k: tuple[Rows, Rows]) -> None:
    _, truth = listing_4k
    seen = Counter(tag for t in truth if t["kind"] == "positive" for tag in _tags(t))
    for tag in ("moved", "phone_changed", "phone_masked", "grade", "age", "name_romaji",
                "no_prefecture", "guardian_name"):  # fmt: skip
        assert seen[tag] > 0, tag
    assert any(t.startswith("variant_kanji") for t in seen)
    assert any(t.startswith("typo") for t in seen)
    assert any(t.startswith("date_") for t in seen)
    assert any(t.startswith("unit_") for t in seen)


def test_every_negative_kind_present(listing_4k: tuple[Rows, Rows]) -> None:
    _, truth = listing_4k
    kinds = Counter(t["kind"] for t in truth)
    assert set(NEGATIVE_KINDS) <= set(kinds)
    # Even a dozen rows get one negative of each kind.
    small = generate_listing(list(generate_watchlist(300, 2)), 12, 1)[1]
    assert set(NEGATIVE_KINDS) <= {t["kind"] for t in small}


def test_family_negatives_are_not_registered(
    watchlist_20k: Rows, listing_4k: tuple[Rows, Rows]
) -> None:
    by_id = {r["record_id"]: r for r in watchlist_20k}
    households: dict[str, Rows] = {}
    for r in watchlist_20k:
        households.setdefault(r["household_id"], []).append(r)
    rows, truth = listing_4k
    checked = Counter()
    for row, t in zip(rows, truth, strict=True):
        if t["kind"] not in ("sibling", "twin", "other_parent"):
            continue
        anchor = by_id[_of(t)]
        members = households[anchor["household_id"]]
        registered = {name_key(m["name"]) for m in members if m["name"]}
        # Rendered in kanji with a space, the negative's own name is not a registered one.
        if (
            row["name"]
            and re.fullmatch(r"\S+[ 　]\S+", row["name"])
            and "name_romaji" not in _tags(t)
        ):
            assert name_key(row["name"]) not in registered
        checked[t["kind"]] += 1
    assert set(checked) == {"sibling", "twin", "other_parent"}


def test_twins_share_birth_and_differ_in_name(watchlist_20k: Rows) -> None:
    idx = WatchlistIndex(watchlist_20k)
    rng = random.Random(4)
    for _ in range(200):
        built = twin(rng, idx, date(2016, 5, 1))
        assert built is not None
        s, of = built
        anchor = next(r for r in watchlist_20k if r["record_id"] == of)
        members = idx.by_household[anchor["household_id"]]
        assert s.birth == date.fromisoformat(anchor["birthdate"])
        assert all(split_name(m["name"])[1] != s.given for m in members)
        assert all(split_name(m["name_kana"])[1] != s.given_kana for m in members)
        assert s.address is not None and s.postal == anchor["postal_code"]
        assert s.phone == anchor["phone"]


def test_other_negatives(watchlist_20k: Rows) -> None:
    idx = WatchlistIndex(watchlist_20k)
    by_id = {r["record_id"]: r for r in watchlist_20k}
    rng = random.Random(8)
    as_of = date(2018, 1, 10)
    for _ in range(100):
        got = sibling(rng, idx, as_of)
        if got is None:
            continue
        s, of = got
        members = idx.by_household[by_id[of]["household_id"]]
        assert s.birth is not None and s.birth < as_of
        assert all(split_name(m["name"])[1] != s.given for m in members)
        assert all(
            abs((s.birth - date.fromisoformat(m["birthdate"])).days) >= 300
            for m in members[1:]
            if m["birthdate"]
        )
        assert s.phone == by_id[of]["phone"]
    for _ in range(100):
        got = other_parent(rng, idx, as_of)
        assert got is not None
        s, of = got
        g = by_id[of]
        assert g["relationship"] == "本人" and s.gender != g["gender"]
        assert s.given != split_name(g["name"])[1] and s.phone == g["phone"]
        assert s.birth is not None and s.birth.year < 2000
    for _ in range(100):
        got = neighbour(rng, idx, as_of)
        if got is None:
            continue
        s, of = got
        a = by_id[of]
        assert s.postal == a["postal_code"] and s.phone != a["phone"]
        assert s.address is not None and s.address.canonical() != a["address"]
        assert name_key(s.surname) != name_key(split_name(a["name"])[0])
    for _ in range(100):
        got = namesake(rng, idx, as_of)
        assert got is not None
        s, of = got
        a = by_id[of]
        assert name_key(s.surname + s.given) == name_key(a["name"])
        assert s.address is not None and s.address.canonical() != a["address"]
        assert s.phone != a["phone"]
    for _ in range(100):
        got = random_person(rng, idx, as_of)
        assert got is not None
        s, _ = got
        assert s.birth is not None
        assert not idx.is_registered(s.surname + " " + s.given, s.birth.isoformat())


def _school_year(d: date) -> int:
    return d.year if d.month >= 4 else d.year - 1


def test_grade_and_age_agree_with_as_of_and_birth(
    watchlist_20k: Rows, listing_4k: tuple[Rows, Rows]
) -> None:
    by_id = {r["record_id"]: r for r in watchlist_20k}
    rows, truth = listing_4k
    grades = ages = 0
    for row, t in zip(rows, truth, strict=True):
        if not t["record_id"]:
            continue
        birth = date.fromisoformat(by_id[t["record_id"]]["birthdate"])
        as_of = date.fromisoformat(t["as_of"])
        if row["grade"]:
            # Independent of synth.dates: grade n spans 2 April .. 1 April of one cohort.
            cohort_start = _school_year(as_of) - GRADE_OFFSETS[row["grade"]]
            assert date(cohort_start, 4, 2) <= birth <= date(cohort_start + 1, 4, 1), row
            grades += 1
        if row["age"]:
            had_birthday = (as_of.month, as_of.day) >= (birth.month, birth.day)
            assert int(row["age"]) == as_of.year - birth.year - (0 if had_birthday else 1)
            ages += 1
    assert grades > 20 and ages > 20


def test_masked_phones_keep_the_real_digits(
    watchlist_20k: Rows, listing_4k: tuple[Rows, Rows]
) -> None:
    by_id = {r["record_id"]: r for r in watchlist_20k}
    rows, truth = listing_4k
    masked = 0
    for row, t in zip(rows, truth, strict=True):
        tags = _tags(t)
        if not t["record_id"] or "phone_masked" not in tags or "phone_changed" in tags:
            continue
        real = by_id[t["record_id"]]["phone"]
        shown = row["phone"]
        assert re.search(r"[*x]", shown)
        assert len(shown) == len(real)
        for a, b in zip(shown, real, strict=True):
            assert a in "*x" or a == b
        masked += 1
    assert masked > 10


def test_unmoved_positives_keep_their_phone_digits(
    watchlist_20k: Rows, listing_4k: tuple[Rows, Rows]
) -> None:
    by_id = {r["record_id"]: r for r in watchlist_20k}
    rows, truth = listing_4k
    for row, t in zip(rows, truth, strict=True):
        tags = _tags(t)
        if not t["record_id"] or not row["phone"] or tags & {"phone_masked", "phone_changed"}:
            continue
        real = _digits(by_id[t["record_id"]]["phone"])
        shown = _digits(row["phone"])
        assert shown == real or shown == "81" + real[1:]


def test_moved_positives_have_a_new_address(
    watchlist_20k: Rows, listing_4k: tuple[Rows, Rows]
) -> None:
    by_id = {r["record_id"]: r for r in watchlist_20k}
    rows, truth = listing_4k
    moved = [(r, t) for r, t in zip(rows, truth, strict=True) if "moved" in _tags(t)]
    assert moved
    for row, t in moved:
        old = by_id[t["record_id"]]
        old_digits = _digits(old["postal_code"])
        assert _digits(row["postal_code"]) != old_digits or not row["postal_code"]


def test_demo_plants_seeds_in_a_listing() -> None:
    watchlist, rows, truth, seed_ids = generate_demo(persons=600, rows=120, seed=3, seeds=4)
    assert len(watchlist) == 604 and len(seed_ids) == 4
    planted = [t for t in truth if "seed" in _tags(t)]
    assert planted and all(t["record_id"] in seed_ids for t in planted)
    assert len({t["listing_id"] for t in planted}) == 1
    assert len(rows) == len(truth)
