"""Acceptance: parse_address on the peer corpus (normalize-japanese-addresses' own test cases).

The corpus lives beside the repository in ``../shared/peer`` (MIT, (c) 2020 Geolonia Inc.; see
matcher/DATA_LICENSES.md). bench/normalize.py prints the same two figures.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from matcher import parse_address
from tests.matcher.conftest import PEER_DIR, REQUIRE_PEER, require_peer

NJA_CASES = PEER_DIR / "nja_cases.jsonl"
NEOLOGDN_CASES = PEER_DIR / "neologdn_cases.jsonl"
_LEADING_AZA = re.compile(r"^(?:大字|字)")


def fold(value: str | None) -> str:
    """The acceptance comparison: drop a leading 大字/字, fold ヶ to ケ."""
    return _LEADING_AZA.sub("", value or "").replace("ヶ", "ケ")


@dataclass(frozen=True, slots=True)
class Score:
    town_ok: int
    town_total: int
    city_ok: int
    city_total: int
    failures: tuple[tuple[str, str, str], ...]

    @property
    def town_rate(self) -> float:
        return self.town_ok / self.town_total if self.town_total else 0.0

    @property
    def city_rate(self) -> float:
        return self.city_ok / self.city_total if self.city_total else 0.0


def load_cases(path: Path = NJA_CASES) -> list[dict[str, object]]:
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def score(cases: list[dict[str, object]]) -> Score:
    """Town line: cases asserting a non-empty town, pref/city/town all right where asserted.
    City line: cases asserting a city."""
    town_ok = town_total = city_ok = city_total = 0
    failures: list[tuple[str, str, str]] = []
    for case in cases:
        text = str(case["input"])
        got = parse_address(text)
        want_town = case.get("town")
        if isinstance(want_town, str) and want_town:
            town_total += 1
            good = fold(got.town) == fold(want_town)
            if "city" in case:
                good = good and fold(got.city) == fold(str(case["city"] or ""))
            if "pref" in case:
                good = good and got.pref == (case["pref"] or "")
            town_ok += good
            if not good:
                failures.append(
                    (
                        text,
                        f"{case.get('pref')}{case.get('city')}{want_town}",
                        f"{got.pref}{got.city}{got.town}",
                    )
                )
        want_city = case.get("city")
        if "city" in case and want_city is not None:
            city_total += 1
            city_ok += fold(got.city) == fold(str(want_city))
    return Score(town_ok, town_total, city_ok, city_total, tuple(failures))


def test_peer_corpus_accuracy(capsys: pytest.CaptureFixture[str]) -> None:
    require_peer(NJA_CASES)
    result = score(load_cases())
    with capsys.disabled():
        print(
            f"\npeer corpus: pref+city+town {result.town_ok}/{result.town_total} "
            f"= {result.town_rate:.2%}; city {result.city_ok}/{result.city_total} "
            f"= {result.city_rate:.2%}"
        )
    assert result.town_rate >= 0.99, result.failures[:20]
    assert result.city_rate >= 0.998


def outcome(path: Path) -> tuple[str, str]:
    """What :func:`require_peer` makes of a test: it runs, is skipped or fails (and why)."""
    try:
        require_peer(path)
    except pytest.fail.Exception as exc:
        return "failed", str(exc)
    except pytest.skip.Exception as exc:
        return "skipped", str(exc)
    return "runs", ""


def test_a_missing_corpus_skips_or_fails_as_asked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """CI sets LEAKWATCH_REQUIRE_PEER=1: there a missing corpus is a failure, not a skip
    that would leave the run green without the acceptance tests."""
    missing = tmp_path / "peer" / "nja_cases.jsonl"
    monkeypatch.delenv(REQUIRE_PEER, raising=False)
    state, why = outcome(missing)
    assert state == "skipped" and f"peer corpus not found at {missing}" in why
    assert "set LEAKWATCH_REQUIRE_PEER=1" in why
    monkeypatch.setenv(REQUIRE_PEER, "1")
    state, why = outcome(missing)
    assert state == "failed" and "LEAKWATCH_REQUIRE_PEER=1 requires it" in why
    missing.parent.mkdir()
    missing.write_text("", encoding="utf-8")  # there, but empty: no cases is no corpus
    assert outcome(missing)[0] == "failed"
    assert outcome(NJA_CASES) == ("runs", "")  # the real corpus, required: present
