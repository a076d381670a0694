"""Japanese postal-address parsing: pref / city / town (+丁目) / block / building / room.

``parse_address`` follows the peer corpus's conventions: ``town`` is the gazetteer's spelling
with 丁目 in kanji numerals (上水本町四丁目), ``block`` is hyphenated arabic (7-9).
Matching is longest-prefix over per-level dictionaries of lookup keys (see ``gazetteer``), so
a parse costs a few dozen dict probes and a handful of precompiled regexes.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from matcher.gazetteer import City, Gazetteer, TownEntry, gazetteer, postal_lookup, to_key
from matcher.numerals import KANJI_NUM_CHARS, int_to_kanji, kanji_to_int
from matcher.text import unify_dashes, width


@dataclass(frozen=True, slots=True)
class Address:
    """A parsed address; ``""`` (or None for ``chome``) means unknown. ``rest`` keeps what was
    not understood (a 小字, a Kyoto street description, unrecognised text)."""

    pref: str = ""
    city: str = ""
    town: str = ""
    chome: int | None = None
    block: str = ""
    building: str = ""
    room: str = ""
    postal_code: str = ""
    rest: str = ""

    def format(self) -> str:
        """A normalised one-line form; ``parse_address(a.format()) == a``."""
        head = f"〒{self.postal_code[:3]}-{self.postal_code[3:]} " if self.postal_code else ""
        parts = [self.pref + self.city + self.town + self.rest, self.block]
        if self.building:
            parts.append(self.building)
        if self.room:
            parts.append(f"{self.room}号室")
        return head + " ".join(p for p in parts if p)


# Spaces go, except between Latin letters/digits and between a katakana name and a number
# (メゾン 101: the room).
_SPACES = re.compile(
    r"(?<![0-9A-Za-z\u30a1-\u30fc])\s+|\s+(?![0-9A-Za-z])|(?<=[\u30a1-\u30fc])\s+(?![0-9])"
)
_MULTISPACE = re.compile(r"\s+")
_POSTAL = re.compile(r"^(?:〒|郵便番号[:：]?)?\s*([0-9]{3})-?([0-9]{4})(?![0-9])\s*")
_POSTAL_ANY = re.compile(r"〒\s*([0-9]{3})-?([0-9]{4})(?![0-9])")
_KNUM = f"[{KANJI_NUM_CHARS}]+"
# Kanji numerals that are address numbers: before 丁目/番/号/の/-, or after a hyphen.
_KANJI_ADDR_NUM = re.compile(f"({_KNUM})(?=丁目|丁|番|号|地割|-|$)|(?<=-)({_KNUM})")
_CHOME = re.compile(r"([0-9]+)(丁目|丁(?!目)|(?=[-ノの])|$|(?![0-9番号地]))")
_DIRECTION = re.compile(
    r"上る|上ル|下る|下ル|西入る|西入ル|東入る|東入ル|西入|東入|入る|入ル|上がる|下がる"
)
_NUMSEP = re.compile(r"([0-9]+)(番地の?|番の?|号室|号の?|室|地割|丁目|丁|の|ノ|-)?")
_ROOM_TAIL = re.compile(r"(?:#|＃|No\.?|)([0-9]+)(?:号室|号|室)?$")
_ROOM_WORD = re.compile(r"([0-9]+)号室|#([0-9]+)|([0-9]+)室")
_LEAD_SEP = re.compile(r"^[-,、.\s]+")
_FIRST_NUM = re.compile(r"[0-9]")
_MAX_LEN = 300


def _to_arabic(m: re.Match[str]) -> str:
    g = m.group(1) or m.group(2)
    got = _ARABIC.get(g)
    if got is None:
        n = kanji_to_int(g)
        got = str(n) if n is not None else g
        if len(_ARABIC) < 4096:  # 一 to 九十九 and a few more: bounded all the same
            _ARABIC[g] = got
    return got


_ARABIC: dict[str, str] = {}


def _prepare(s: str) -> str:
    t = width(s[:_MAX_LEN])
    t = unify_dashes(t)
    if " " in t or not t.isprintable():  # else there is no whitespace at all
        t = _drop_spaces(_MULTISPACE.sub(" ", t).strip())
    if t.isascii():
        return t
    # Until stable: a space dropped before a combining mark (NFKC makes ´ a space and U+0301)
    # lets NFC compose a letter, which changes which spaces go (A A´ -> AÁ, and so on reparse).
    for _ in range(3):
        n = unicodedata.normalize("NFC", t)
        if n == t:
            break
        t = _SPACES.sub("", n) if " " in n else n
    return t


def _drop_spaces(t: str) -> str:
    """``_SPACES.sub("", t)``; for whitespace that is single spaces between other
    characters (as _prepare leaves it), decided gap by gap, not by the regex's three
    lookarounds tried at every position (a tenth of a parse). A space stays only between
    two Latin letters or digits, or between katakana and a digit (メゾン 101)."""
    parts = t.split(" ")
    if parts != t.split():  # other whitespace, or not single spaces between characters
        return _SPACES.sub("", t)
    out = [parts[0]]
    for part in parts[1:]:
        before, after = out[-1][-1], part[0]
        if (before in _LATIN_DIGIT and after in _LATIN_DIGIT) or (
            "\u30a1" <= before <= "\u30fc" and "0" <= after <= "9"
        ):
            out.append(" ")
        out.append(part)
    return "".join(out)


_LATIN_DIGIT = frozenset("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")


def _match_pref(g: Gazetteer, key: str) -> list[tuple[str, int]]:
    out = []
    for n in g.pref_lengths:
        p = g.prefs.get(key[:n])
        if p is not None:
            out.append((p, n))
    return out


def _match_cities(
    table: dict[str, list[City]], lengths: dict[str, tuple[int, ...]], key: str, pos: int
) -> list[tuple[City, int]]:
    out: list[tuple[City, int]] = []
    for n in lengths.get(key[pos : pos + 1], ()):
        found = table.get(key[pos : pos + n])
        if found:
            out.extend([(c, pos + n) for c in found])
    return out


def _match_town(city: City, key: str, pos: int) -> tuple[TownEntry, int] | None:
    towns = city.towns
    starts = [pos]
    if key.startswith("大字", pos):
        starts.append(pos + 2)
    elif key.startswith("字", pos):
        starts.append(pos + 1)
    best: tuple[TownEntry, int] | None = None
    for start in starts:
        for n in city.lengths_by_first.get(key[start : start + 1], ()):
            e = towns.get(key[start : start + n])
            if e is not None:
                if (
                    best is None
                    or start + n > best[1]
                    or (
                        start + n == best[1] and e[1] and not best[0][1]  # 丁目 or not
                    )
                ):
                    best = (e, start + n)
                break
    return best


def _find_town(city: City, key: str, pos: int) -> tuple[TownEntry, int, int] | None:
    """Town at ``pos``; else after a Kyoto street description (…通…上る 丸屋町)."""
    hit = _match_town(city, key, pos)
    if hit and not key.startswith("通", hit[1]):
        return hit[0], pos, hit[1]
    ends = [m.end() for m in _DIRECTION.finditer(key, pos)]
    for end in reversed(ends):
        after = _match_town(city, key, end)
        if after:
            return after[0], end, after[1]
    if hit:
        return hit[0], pos, hit[1]
    if "通" in key[pos:]:
        for i in range(pos + 1, min(len(key), pos + 40)):
            hit = _match_town(city, key, i)
            if hit:
                return hit[0], i, hit[1]
    return None


# The lots most addresses end with (484番地, 25番24号, 7-9, 1-2-3): what the general loop
# below makes of them, in one regex match.
# Numbers are always parted by a separator, so a regex backtrack never splits one (19号).
_PLAIN_LOT = re.compile(r"([0-9]{1,11})(?:号|(?:番地?|-)(?:([0-9]{1,11})(?:号|-([0-9]{1,2}))?)?)?")


def _split_block(text: str) -> tuple[str, str, str, str]:
    """``text`` after the town → (rest before the numbers, block, building, room)."""
    plain = _PLAIN_LOT.fullmatch(text)
    if plain is not None:
        return "", "-".join(str(int(n)) for n in plain.groups() if n is not None), "", ""
    m = _FIRST_NUM.search(text)
    if m is None:
        return "", "", _LEAD_SEP.sub("", text), ""
    rest = text[: m.start()].strip("-ノの ")
    i = m.start()
    parts: list[str] = []
    room = ""
    while True:
        nm = _NUMSEP.match(text, i)
        if nm is None:
            break
        num, sep = nm.group(1), nm.group(2) or ""
        i = nm.end()
        if sep in ("号室", "室"):
            room = num
            break
        parts.append(str(int(num)) if len(num) < 12 else num)
        if not sep or sep.startswith("号") or i >= len(text) or not text[i].isdigit():
            if sep in ("-", "の", "ノ") and i < len(text) and not text[i].isdigit():
                i -= len(sep)  # 14-イ22: the hyphen belongs to what follows
            break
    if not room and (len(parts) >= 4 or (len(parts) == 3 and len(parts[-1]) >= 3)):
        room = parts.pop()
    tail = text[i:]
    tail = _LEAD_SEP.sub("", tail)
    if not room and tail:
        rm = _ROOM_WORD.search(tail)
        if rm:
            room = rm.group(1) or rm.group(2) or rm.group(3)
            tail = (tail[: rm.start()] + tail[rm.end() :]).strip(" -")
        else:
            rm = _ROOM_TAIL.search(tail)
            if rm and rm.start() > 0 and tail[rm.start() - 1] in " -":
                room = rm.group(1)
                tail = tail[: rm.start()].strip(" -")
    if room:
        room = str(int(room)) if len(room) < 12 else room
    return rest, "-".join(parts), tail.strip(), room


# An address's parts in Address's field order: pref, city, town, chome, block, building,
# room, postal_code, rest.
AddressParts = tuple[str, str, str, int | None, str, str, str, str, str]


@lru_cache(maxsize=65536)
def parse_address(s: str) -> Address:
    """Parse a free-text Japanese address; never raises (unknown parts come back empty).

    >>> parse_address("東京都小平市上水本町４丁目７－９").town
    '上水本町四丁目'
    """
    return Address(*address_parts(s))


def address_parts(s: str) -> AddressParts:
    """:func:`parse_address` as a plain tuple, uncached: for callers that only read the
    parts of each address once (the index build, :func:`matcher.features.place_of`). A
    frozen dataclass is built field by field through ``object.__setattr__``, a tenth of
    a parse."""
    if not isinstance(s, str):
        return _NOTHING
    # No exception is caught: a parse only slices, looks up and converts ASCII digit runs
    # of bounded length (the text is cut to _MAX_LEN first), which cannot fail for any
    # string (the property tests feed it arbitrary text). What can fail is loading the
    # gazetteer — a broken installation, to be reported, not every address made unknown.
    return _parse(s)


_NOTHING: AddressParts = ("", "", "", None, "", "", "", "", "")


def load_tables() -> None:
    """Load the gazetteer and the lookup-key tables now, not at the first address: before
    forking workers that should share one copy, or in each process at once."""
    parse_address("東京都千代田区九段南一丁目2番3号")


def _parse(s: str) -> AddressParts:
    g = gazetteer()
    text, postal = _prepare_parts(s)
    key = to_key(text)
    pref, pos, candidates = _find_city(g, key, postal)
    city_obj: City | None = None
    town_hit: tuple[TownEntry, int, int] | None = None
    for c, end in candidates:
        th = _find_town(c, key, end)
        if th is not None:
            city_obj, pos, town_hit = c, end, th
            break
    if city_obj is None and candidates:
        city_obj, pos = candidates[0]
    if city_obj is None:
        rest, block, building, room = _split_block(text[pos:])
        return pref, "", "", None, block, building, room, postal, rest
    town, prefix = "", ""
    chome: int | None = None
    if town_hit is not None:
        tstart = town_hit[1]
        end = _city_end(candidates, city_obj)
        prefix = text[end:tstart] if end < tstart else ""
        town, chome, pos = _town_and_chome(text, town_hit)
    rest, block, building, room = _split_block(text[pos:])
    if prefix:
        rest = (prefix + " " + rest).strip()
    return city_obj.pref, city_obj.name, town, chome, block, building, room, postal, rest


def _prepare_parts(s: str) -> tuple[str, str]:
    """The text to parse (spaces, widths and dashes unified, the postal code, 日本 and
    kanji address numbers taken out) and the postal code it gave."""
    text = _prepare(s)
    postal = ""
    m = _POSTAL.match(text) or _POSTAL_ANY.search(text)
    if m:
        postal = m.group(1) + m.group(2)
        text = (text[: m.start()] + " " + text[m.end() :]).strip()
        text = _SPACES.sub("", text)
    if text.startswith("日本"):
        text = text[3:] if text.startswith("日本国") else text[2:]
    if _KANJI_ADDR_NUM.search(text):
        text = _KANJI_ADDR_NUM.sub(_to_arabic, text)
    return text, postal


def _find_city(g: Gazetteer, key: str, postal: str) -> tuple[str, int, list[tuple[City, int]]]:
    """The prefecture the text starts with (or ""), where it ends, and the municipalities
    that may follow it (each with where it ends): by name, else by the postal code, else
    by a town name the text starts with."""
    pref = ""
    pos = 0
    candidates: list[tuple[City, int]] = []
    for p, n in _match_pref(g, key):
        cands = _match_cities(g.cities_in[p], g.city_lengths_by_first, key, n)
        if n < len(p):
            # 福岡 of 福岡市中央区 is not the prefecture written short: a municipality (a
            # designated city's ward) matched from the start and reaching farther wins.
            whole = _match_cities(g.cities_all, g.city_lengths_by_first, key, 0)
            if whole and whole[0][1] > max((e for _, e in cands), default=n):
                break
        if cands or n == len(p):
            pref, pos, candidates = p, n, cands
            break
    if not pref:
        candidates = _match_cities(g.cities_all, g.city_lengths_by_first, key, 0)
    if postal and candidates:
        hit = postal_lookup(postal)
        if hit:
            same = [c for c in candidates if c[0].pref == hit[0]]
            candidates = same or candidates
    if not candidates and postal:
        hit = postal_lookup(postal)
        if hit and (not pref or hit[0] == pref):
            city = g.city_by_name.get((hit[0], hit[1]))
            if city is not None:
                candidates = [(city, pos)]
    if not candidates and not pref:
        candidates = _cities_by_town(g, key)
    return pref, pos, candidates


def _town_and_chome(text: str, town_hit: tuple[TownEntry, int, int]) -> tuple[str, int | None, int]:
    """The town as the gazetteer spells it (with its 丁目 in kanji numerals when the text
    gives a valid one), the 丁目, and where the text goes on after them."""
    (name, chome_valid, plain, base), _, pos = town_hit
    if name.endswith("丁") and text.startswith("目", pos):
        pos += 1  # 北田出井町一丁目 for the registered 北田出井町一丁 (Sakai writes 丁)
    town = name if plain else ""
    chome: int | None = None
    if chome_valid:
        cm = _CHOME.match(text, pos + 1 if text.startswith(" ", pos) else pos)
        if cm:
            n = int(cm.group(1))
            if cm.group(2) or n in chome_valid:
                chome = n
                town = (base or name) + int_to_kanji(n) + "丁目"
                pos = cm.end()
        if not town:
            town = base or name
    return town, chome, pos


def _cities_by_town(g: Gazetteer, key: str) -> list[tuple[City, int]]:
    """No municipality in the text: the cities having a town that starts the text, if few."""
    index = town_index()
    for n in range(min(len(key), _TOWN_INDEX_MAXLEN), 1, -1):
        cities = index.get(key[:n])
        if cities:
            return [(c, 0) for c in cities[:3]]
    return []


_TOWN_INDEX_MAXLEN = 12


@lru_cache(maxsize=1)
def town_index() -> dict[str, list[City]]:
    """Town key → the cities that have it (for addresses written without a municipality)."""
    index: dict[str, list[City]] = {}
    for city in gazetteer().city_by_name.values():
        for k in city.towns:
            if len(k) >= 2:
                index.setdefault(k, []).append(city)
    return index


def _city_end(candidates: list[tuple[City, int]], city: City) -> int:
    for c, end in candidates:
        if c is city:
            return end
    return 0
