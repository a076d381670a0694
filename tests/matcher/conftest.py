"""A small watchlist with one hand-made household (and neighbours, variant spellings) among
synthetic filler, so frequencies are realistic and each test's expectation is readable."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from matcher import Matcher, WatchlistIndex
from synth.watchlist import generate_watchlist

ADDR = "東京都千代田区九段南一丁目2番3号 メゾン九段 101号室"
BASE = {"postal_code": "102-0074", "address": ADDR, "phone": "03-1234-5678", "fax": "",
        "due_date": "", "email": ""}  # fmt: skip
HOUSEHOLD = [
    {"record_id": "W1", "household_id": "H1", "name": "山田 花子", "name_kana": "ヤマダ ハナコ",
     "gender": "F", "birthdate": "1980-05-05", "relationship": "本人", **BASE},
    {"record_id": "W2", "household_id": "H1", "name": "山田 太郎", "name_kana": "ヤマダ タロウ",
     "gender": "M", "birthdate": "2008-04-05", "relationship": "長男", **BASE},
    {"record_id": "W3", "household_id": "H1", "name": "山田 次郎", "name_kana": "ヤマダ ジロウ",
     "gender": "M", "birthdate": "2010-06-10", "relationship": "次男", **BASE},
    {"record_id": "W4", "household_id": "H2", "name": "髙橋 美咲", "name_kana": "タカハシ ミサキ",
     "gender": "F", "birthdate": "1985-11-23", "relationship": "本人",
     "postal_code": "530-0001", "address": "大阪府大阪市北区梅田三丁目1番1号",
     "phone": "090-1111-2222", "fax": "", "due_date": "", "email": "misaki@example.jp"},
]  # fmt: skip


def row(**fields: str) -> dict[str, str]:
    """A listing row: 山田 太郎 as registered, with ``fields`` changed."""
    base = {
        "row_id": "R1", "listing_id": "L1", "name": "山田 太郎", "name_kana": "ヤマダ タロウ",
        "gender": "M", "birthdate": "2008-04-05", "age": "", "grade": "", "guardian_name": "",
        "postal_code": "102-0074", "address": ADDR, "phone": "03-1234-5678", "email": "",
    }  # fmt: skip
    base.update(fields)
    return base


@pytest.fixture(scope="session")
def watchlist() -> list[dict[str, str]]:
    return HOUSEHOLD + list(generate_watchlist(3000, 99))


@pytest.fixture(scope="session")
def index(watchlist: list[dict[str, str]]) -> WatchlistIndex:
    return WatchlistIndex.build(watchlist)


@pytest.fixture(scope="session")
def matcher(index: WatchlistIndex) -> Matcher:
    return Matcher(index, em=False)


# Acceptance data from peer projects, kept beside the repository (../shared/peer).
PEER_DIR = Path(__file__).resolve().parents[2].parent / "shared" / "peer"
REQUIRE_PEER = "LEAKWATCH_REQUIRE_PEER"


def require_peer(path: Path) -> None:
    """Go on if the peer corpus file ``path`` is there; otherwise skip, saying why — or fail
    when LEAKWATCH_REQUIRE_PEER=1 (CI sets it), so that a missing corpus cannot leave the
    run green without the acceptance tests."""
    if path.is_file() and path.stat().st_size:
        return
    why = f"peer corpus not found at {path} (expected ../shared/peer beside the repository)"
    if os.environ.get(REQUIRE_PEER) == "1":
        pytest.fail(f"{why}; {REQUIRE_PEER}=1 requires it", pytrace=False)
    pytest.skip(f"{why}; set {REQUIRE_PEER}=1 to make a missing corpus a failure")
