"""Watchlist generator: contract, determinism, households, names, places, seeds."""

from __future__ import annotations

import csv
import re
from collections import Counter, defaultdict
from datetime import date
from itertools import islice, pairwise
from pathlib import Path

from synth import WATCHLIST_COLUMNS, generate_seeds, generate_watchlist, write_csv
from synth.households import LEAK_DATE
from synth.names import standard_form
from synth.places import towns_for_postal

CHILD_RELATIONSHIP = re.compile(r"^[長次三四五](男|女)$")


def test_exact_columns_in_order(watchlist_20k: list[dict[str, str]]) -> None:
    assert all(list(r) == WATCHLIST_COLUMNS for r in watchlist_20k)


def test_exact_person_count_and_unique_ids(watchlist_20k: list[dict[str, str]]) -> None:
    assert len(watchlist_20k) == 20_000
    ids = [r["record_id"] for r in watchlist_20k]
    assert len(set(ids)) == len(ids)
    assert all(re.fullmatch(r"P\d{8}", i) for i in ids)
    assert all(re.fullmatch(r"H\d{8}", r["household_id"]) for r in watchlist_20k)


def test_deterministic_by_seed() -> None:
    a = list(generate_watchlist(500, 7, seeds=3))
    b = list(generate_watchlist(500, 7, seeds=3))
    c = list(generate_watchlist(500, 8, seeds=3))
    assert a == b
    assert a != c


def test_streams_lazily() -> None:
    # Taking a few rows of a huge watchlist must not build the whole thing first.
    rows = list(islice(generate_watchlist(10**7, 1), 5))
    assert len(rows) == 5


def test_field_formats(watchlist_20k: list[dict[str, str]]) -> None:
    for r in watchlist_20k:
        assert re.fullmatch(r"\d{3}-\d{4}", r["postal_code"])
        assert re.fullmatch(r"0\d{1,4}-\d{1,4}-\d{4}", r["phone"])
        assert len(r["phone"].replace("-", "")) in (10, 11)
        for col in ("birthdate", "due_date"):
            if r[col]:
                date.fromisoformat(r[col])
                assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", r[col])
        if r["name"]:
            assert re.fullmatch(r"\S+[ \u3000]\S+", r["name"])
            assert re.fullmatch(r"[ァ-ヶー]+[ \u3000][ァ-ヶー]+", r["name_kana"])
            assert r["gender"] in ("M", "F")
        if r["email"]:
            assert re.fullmatch(r"[a-z0-9._-]+@[a-z.]+\.example", r["email"])


def _households(rows: list[dict[str, str]]) -> dict[str, list[dict[str, str]]]:
    by: dict[str, list[dict[str, str]]] = defaultdict(list)
    for r in rows:
        by[r["household_id"]].append(r)
    return by


def test_households_are_consistent(watchlist_20k: list[dict[str, str]]) -> None:
    households = _households(watchlist_20k)
    # Members of a household are written together, guardian first.
    order = [r["household_id"] for r in watchlist_20k]
    assert sum(1 for a, b in pairwise(order) if a != b) == len(households) - 1
    sizes = Counter()
    for members in households.values():
        g, children = members[0], members[1:]
        assert g["relationship"] == "本人"
        assert 1 <= len(children) <= 4 or len(members) == 1
        sizes[len(children)] += 1
        for col in ("household_id", "postal_code", "address", "phone", "fax"):
            assert len({m[col] for m in members}) == 1, col
        g_birth = date.fromisoformat(g["birthdate"])
        assert date(1965, 1, 1) <= g_birth <= date(1995, 12, 31)
        surname = g["name"].split()[0] if " " in g["name"] else g["name"].split("\u3000")[0]
        given_names = [g["name"]]
        for c in children:
            if not c["name"]:  # an unborn child, registered by its due date only
                assert c["relationship"] == "胎児" and c["due_date"] and g["due_date"]
                continue
            assert CHILD_RELATIONSHIP.match(c["relationship"])
            assert c["name"].startswith(surname)
            b = date.fromisoformat(c["birthdate"])
            assert date(1998, 4, 2) <= b <= LEAK_DATE
            assert 17 <= (b - g_birth).days / 365.25 <= 50
            given_names.append(c["name"])
        assert len(set(given_names)) == len(given_names)
    # Families of every size occur, and one- and two-child families are the most common.
    assert set(sizes) >= {1, 2, 3, 4}
    assert sizes[1] + sizes[2] > sizes[3] + sizes[4]


def test_twins_and_due_dates_occur(watchlist_20k: list[dict[str, str]]) -> None:
    twins = 0
    for members in _households(watchlist_20k).values():
        births = [m["birthdate"] for m in members[1:] if m["birthdate"]]
        twins += len(births) - len(set(births))
    due = [r for r in watchlist_20k if r["due_date"]]
    assert twins > 0
    assert due and all(r["due_date"].startswith("2014-") for r in due)
    assert any(r["relationship"] == "胎児" and not r["name"] for r in due)


def test_mothers_are_most_registrants(watchlist_20k: list[dict[str, str]]) -> None:
    guardians = [r for r in watchlist_20k if r["relationship"] == "本人"]
    mothers = sum(1 for r in guardians if r["gender"] == "F")
    assert 0.75 < mothers / len(guardians) < 0.97


def test_surname_frequencies_are_realistic(watchlist_20k: list[dict[str, str]]) -> None:
    guardians = [r for r in watchlist_20k if r["relationship"] == "本人"]
    counts = Counter(standard_form(re.split(r"[ \u3000]", r["name"])[0]) for r in guardians)
    top = [s for s, _ in counts.most_common(5)]
    assert "佐藤" in top
    assert {"佐藤", "鈴木", "高橋", "田中"} & set(top)
    top10_share = sum(n for _, n in counts.most_common(10)) / len(guardians)
    assert 0.06 < top10_share < 0.16
    assert len(counts) > 500  # a long tail, not a handful of names


def test_variant_kanji_used_by_a_few(watchlist_20k: list[dict[str, str]]) -> None:
    surnames = [re.split(r"[ \u3000]", r["name"])[0] for r in watchlist_20k if r["name"]]
    variants = [s for s in surnames if standard_form(s) != s]
    assert variants
    assert len(variants) / len(surnames) < 0.05


def test_postal_code_agrees_with_japan_post(watchlist_20k: list[dict[str, str]]) -> None:
    for r in watchlist_20k[::7]:
        towns = towns_for_postal(r["postal_code"])
        assert towns, r["postal_code"]
        assert any(r["address"].startswith(t.pref + t.city + t.town) for t in towns), r


def test_area_codes_fit_the_place(watchlist_20k: list[dict[str, str]]) -> None:
    mobile = ("090", "080", "070")
    for r in watchlist_20k:
        if r["phone"].startswith(mobile):
            continue
        if re.match(r"東京都[^市町村]+区", r["address"]):
            assert r["phone"].startswith("03-")
        if r["address"].startswith("大阪府大阪市"):
            assert r["phone"].startswith("06-")
        if r["address"].startswith("愛知県名古屋市"):
            assert r["phone"].startswith("052-")


def test_some_households_live_in_buildings(watchlist_20k: list[dict[str, str]]) -> None:
    with_unit = [r for r in watchlist_20k if " " in r["address"]]
    assert 0.05 < len(with_unit) / len(watchlist_20k) < 0.6
    assert all(re.search(r" \d{3,4}(号室)?$", r["address"]) for r in with_unit)


def test_seeds_look_ordinary_and_are_planted(tmp_path: Path) -> None:
    seeds = list(generate_seeds(12, 5))
    assert len(seeds) == 12
    assert all(list(r) == WATCHLIST_COLUMNS for r in seeds)
    rows = list(generate_watchlist(3000, 5, seeds=12))
    assert len(rows) == 3012
    ids = [r["record_id"] for r in rows]
    assert len(set(ids)) == len(ids)
    seed_ids = {r["record_id"] for r in seeds}
    assert seed_ids <= set(ids)
    # Not all at the end of the file, and the same id format as everyone else.
    positions = [i for i, r in enumerate(rows) if r["record_id"] in seed_ids]
    assert min(positions) < len(rows) - 12
    assert all(re.fullmatch(r"P\d{8}", i) for i in seed_ids)


def test_write_csv_round_trip(tmp_path: Path) -> None:
    rows = list(generate_watchlist(50, 3))
    path = tmp_path / "w.csv"
    assert write_csv(rows, path) == 50
    with path.open(encoding="utf-8", newline="") as f:
        back = list(csv.DictReader(f))
    assert back == rows
