"""Kana script conversions for synthetic data: katakana to hiragana, half-width and Hepburn romaji.

Owns only the writing-system rewrites that the generators need to imitate how brokers re-key
names; it knows nothing about people or listings.
"""

from __future__ import annotations

import unicodedata
from enum import Enum
from functools import cache

_KATA_START, _KATA_END = 0x30A1, 0x30F6  # ァ .. ヶ
_HIRA_SHIFT = 0x60


class Hepburn(Enum):
    """How long vowels and syllabic n are written; each is common in real lists."""

    PLAIN = "plain"  # Sato, Ono, Yuki: what most forms and many lists use
    MACRON = "macron"  # Satō, Ōno, Yūki, Shin'ichi: textbook modified Hepburn
    WAPURO = "wapuro"  # Satou, Oono, Yuuki: typed kana-for-kana on a keyboard
    PASSPORT = "passport"  # Satoh, Ohno, Yuki, Homma: the passport office's oh and m rules


def to_hiragana(text: str) -> str:
    """Katakana to hiragana; other characters pass through."""
    return "".join(
        chr(ord(c) - _HIRA_SHIFT) if _KATA_START <= ord(c) <= 0x30F4 else c for c in text
    )


def to_katakana(text: str) -> str:
    """Hiragana to katakana; other characters pass through."""
    return "".join(chr(ord(c) + _HIRA_SHIFT) if 0x3041 <= ord(c) <= 0x3094 else c for c in text)


@cache
def _halfwidth_table() -> dict[str, str]:
    # Built from Unicode itself so no hand-typed table can drift from the standard.
    table: dict[str, str] = {}
    for cp in range(0xFF61, 0xFFA0):
        half = chr(cp)
        full = unicodedata.normalize("NFKC", half)
        if len(full) == 1:
            table.setdefault(full, half)
            voiced = unicodedata.normalize("NFC", full + "\u3099")
            if len(voiced) == 1 and voiced != full:
                table[voiced] = half + "ﾞ"
            semi = unicodedata.normalize("NFC", full + "\u309a")
            if len(semi) == 1 and semi != full:
                table[semi] = half + "ﾟ"
    table["ヴ"] = "ｳﾞ"
    table["　"] = " "
    return table


def to_halfwidth_kana(text: str) -> str:
    """Full-width katakana (or hiragana) to half-width katakana, as old systems export it."""
    table = _halfwidth_table()
    return "".join(table.get(c, c) for c in to_katakana(text))


_FULLWIDTH_DIGITS = str.maketrans("0123456789-", "０１２３４５６７８９－")


def to_fullwidth_digits(text: str) -> str:
    """ASCII digits and hyphen to their full-width forms."""
    return text.translate(_FULLWIDTH_DIGITS)


_MONO: dict[str, str] = {}
_ROWS = {
    "": "アイウエオ",
    "k": "カキクケコ",
    "g": "ガギグゲゴ",
    "s": "サシスセソ",
    "z": "ザジズゼゾ",
    "t": "タチツテト",
    "d": "ダヂヅデド",
    "n": "ナニヌネノ",
    "h": "ハヒフヘホ",
    "b": "バビブベボ",
    "p": "パピプペポ",
    "m": "マミムメモ",
    "r": "ラリルレロ",
}
for _cons, _kana in _ROWS.items():
    for _vowel, _k in zip("aiueo", _kana, strict=True):
        _MONO[_k] = _cons + _vowel
_MONO.update(
    {
        "シ": "shi", "チ": "chi", "ツ": "tsu", "フ": "fu", "ジ": "ji", "ヂ": "ji", "ヅ": "zu",
        "ヤ": "ya", "ユ": "yu", "ヨ": "yo", "ワ": "wa", "ヲ": "o", "ヴ": "vu",
        "ァ": "a", "ィ": "i", "ゥ": "u", "ェ": "e", "ォ": "o",
    }
)  # fmt: skip
_SMALL_Y = {"ャ": "a", "ュ": "u", "ョ": "o"}
_VOWELS = frozenset("アイウエオ")


def _digraph(first: str, small: str) -> str | None:
    base = _MONO.get(first)
    if base is None or not base.endswith("i") or len(base) < 2:
        return None
    vowel = _SMALL_Y[small]
    stem = base[:-1]
    # shi/chi/ji lose the y (sha, cha, ja); the rest gain it (kya, nya, rya).
    if stem in ("sh", "ch", "j"):
        return stem + vowel
    return stem + "y" + vowel


def to_romaji(kana: str, style: Hepburn = Hepburn.PLAIN) -> str:
    """Katakana (or hiragana) to lower-case Hepburn romaji in the given long-vowel style.

    Long o is read from オウ/オオ/ー and long u from ウウ/ー; a ウ followed by another vowel
    (イノウエ) starts a new syllable, which is how the names are really read.
    """
    text = to_katakana(kana)
    syl: list[tuple[str, str]] = []  # (romaji, source kana)
    i = 0
    while i < len(text):
        c = text[i]
        nxt = text[i + 1] if i + 1 < len(text) else ""
        if nxt in _SMALL_Y:
            dig = _digraph(c, nxt)
            if dig is not None:
                syl.append((dig, c + nxt))
                i += 2
                continue
        syl.append((_MONO.get(c, c), c))
        i += 1

    out: list[str] = []
    j = 0
    while j < len(syl):
        rom, src = syl[j]
        nxt_rom, nxt_src = syl[j + 1] if j + 1 < len(syl) else ("", "")
        after_src = syl[j + 2][1] if j + 2 < len(syl) else ""
        if src == "ッ":
            if nxt_rom.startswith("ch"):
                out.append("t")
            elif nxt_rom[:1].isalpha() and nxt_rom[:1] not in "aiueo":
                out.append(nxt_rom[0])
            j += 1
            continue
        if src == "ン":
            if style is Hepburn.PASSPORT and nxt_rom[:1] in ("b", "m", "p"):
                out.append("m")
            elif style is Hepburn.MACRON and nxt_rom[:1] in ("a", "i", "u", "e", "o", "y"):
                out.append("n'")
            else:
                out.append("n")
            j += 1
            continue
        if src == "ー":
            j += 1
            continue
        vowel = rom[-1:] if rom[-1:] in ("o", "u") else ""
        opens_syllable = after_src in _VOWELS  # イノウエ: the ウ is its own syllable
        long_o = vowel == "o" and (
            nxt_src in ("オ", "ー") or (nxt_src == "ウ" and not opens_syllable)
        )
        long_u = vowel == "u" and nxt_src in ("ウ", "ー") and not opens_syllable
        long_by = nxt_src if long_o or long_u else ""
        if long_by:
            out.append(_long(rom, vowel, long_by, style))
            j += 2
            continue
        out.append(rom)
        j += 1
    return "".join(out)


def _long(rom: str, vowel: str, by: str, style: Hepburn) -> str:
    stem = rom[:-1]
    if style is Hepburn.MACRON:
        return stem + ("ō" if vowel == "o" else "ū")
    if style is Hepburn.WAPURO:
        second = {"ウ": "u", "オ": "o"}.get(by, vowel)
        return stem + vowel + second
    if style is Hepburn.PASSPORT and vowel == "o":
        return stem + "oh"
    return rom
