"""Building blocks: kana and romaji, dates and grades, places and phones, the CLI."""

from __future__ import annotations

import csv
import random
import re
from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from office.cli_synth import app
from synth.dates import age_on, format_date, grade_birth_range, grade_on
from synth.kana import Hepburn, to_halfwidth_kana, to_hiragana, to_katakana, to_romaji
from synth.names import curated_surnames, given_names, standard_form, variant_forms
from synth.phones import area_code, landline, mobile
from synth.places import kanji_numeral, parse_address, sample_address, towns_for_postal


@pytest.mark.parametrize(
    ("kana", "style", "romaji"),
    [
        ("サトウ", Hepburn.PLAIN, "sato"),
        ("サトウ", Hepburn.MACRON, "satō"),
        ("サトウ", Hepburn.WAPURO, "satou"),
        ("サトウ", Hepburn.PASSPORT, "satoh"),
        ("オオノ", Hepburn.WAPURO, "oono"),
        ("オオノ", Hepburn.PASSPORT, "ohno"),
        ("イノウエ", Hepburn.MACRON, "inoue"),
        ("ユウキ", Hepburn.MACRON, "yūki"),
        ("ホンマ", Hepburn.PASSPORT, "homma"),
        ("ハットリ", Hepburn.PLAIN, "hattori"),
        ("ショウタ", Hepburn.PLAIN, "shota"),
        ("ジュン", Hepburn.PLAIN, "jun"),
    ],
)
def test_romaji(kana: str, style: Hepburn, romaji: str) -> None:
    assert to_romaji(kana, style) == romaji


def test_kana_scripts_round_trip() -> None:
    for name in curated_surnames()[:100]:
        assert to_katakana(to_hiragana(name.kana)) == name.kana
        half = to_halfwidth_kana(name.kana)
        assert all(0xFF61 <= ord(c) <= 0xFF9F for c in half)


def test_tables_are_consistent() -> None:
    for n in curated_surnames():
        assert n.romaji == to_romaji(n.kana).capitalize() and n.weight > 0
    for gen in ("guardian", "child"):
        for sex in ("M", "F"):
            assert len(given_names(gen, sex)) >= 40  # type: ignore[arg-type]
    assert {"髙橋"} <= set(variant_forms("高橋"))
    assert {"渡邊", "渡邉"} <= set(variant_forms("渡辺"))
    assert standard_form("山﨑") == "山崎" and standard_form("齋藤") == "斎藤"


def test_dates() -> None:
    d = date(2008, 4, 5)
    assert format_date(d, "wareki") == "平成20年4月5日"
    assert format_date(d, "wareki_abbr") == "H20.4.5"
    assert format_date(date(1989, 1, 8), "wareki") == "平成元年1月8日"
    assert format_date(d, "compact") == "20080405"
    assert age_on(d, date(2016, 4, 4)) == 7 and age_on(d, date(2016, 4, 5)) == 8


def test_school_year_boundary_is_april_first() -> None:
    on = date(2015, 6, 1)
    assert grade_on(date(2008, 4, 1), on) == "小2"  # 早生まれ: with the year before
    assert grade_on(date(2008, 4, 2), on) == "小1"
    rng = random.Random(1)
    for _ in range(2000):
        birth = date.fromordinal(
            rng.randint(date(1996, 1, 1).toordinal(), date(2013, 1, 1).toordinal())
        )
        on = date.fromordinal(
            rng.randint(date(2014, 7, 1).toordinal(), date(2020, 3, 31).toordinal())
        )
        g = grade_on(birth, on)
        if g:
            lo, hi = grade_birth_range(g, on)
            assert lo <= birth <= hi
            assert (lo.month, lo.day, hi.month, hi.day) == (4, 2, 4, 1)


def test_addresses_are_real_and_parse_back() -> None:
    rng = random.Random(5)
    for _ in range(2000):
        a = sample_address(rng)
        text = a.canonical()
        assert any(
            text.startswith(t.pref + t.city + t.town) for t in towns_for_postal(a.postal_code)
        )
        assert parse_address(a.postal_code, text) == a
    assert kanji_numeral(3) == "三" and kanji_numeral(12) == "十二"


def test_phones() -> None:
    rng = random.Random(2)
    assert area_code("東京都", "千代田区", rng) == "03"
    assert area_code("大阪府", "大阪市北区", rng) == "06"
    assert area_code("愛知県", "名古屋市中区", rng) == "052"
    assert area_code("北海道", "札幌市中央区", rng) == "011"
    for _ in range(500):
        assert len(landline(rng, "静岡県", "浜松市中央区").replace("-", "")) == 10
        assert re.fullmatch(r"0[789]0-\d{4}-\d{4}", mobile(rng))


def test_cli_writes_watchlist_and_listing(tmp_path: Path) -> None:
    runner = CliRunner()
    w, s, lst, t = (tmp_path / n for n in ("w.csv", "s.csv", "l.csv", "t.csv"))
    res = runner.invoke(
        app,
        ["watchlist", "--persons", "400", "--seed", "3", "--out", str(w), "--seeds", "3",
         "--seeds-out", str(s)],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    assert "403" in res.output
    res = runner.invoke(
        app,
        ["listing", "--watchlist", str(w), "--rows", "60", "--seed", "4", "--out", str(lst),
         "--truth", str(t)],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    with lst.open(encoding="utf-8") as f:
        assert len(list(csv.DictReader(f))) == 60
    with s.open(encoding="utf-8") as f:
        seeds = {r["record_id"] for r in csv.DictReader(f)}
    with w.open(encoding="utf-8") as f:
        assert seeds <= {r["record_id"] for r in csv.DictReader(f)}


def test_cli_help() -> None:
    res = CliRunner().invoke(app, ["listing", "--help"])
    assert res.exit_code == 0 and "--truth" in res.output
