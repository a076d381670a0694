"""Personal names: family/given split, variant-kanji folding, readings for kana and romaji.

``normalize_name`` keeps two forms of each part: the canonical one (variant kanji folded, kana and
romaji as canonical katakana) for blocking and comparison, and the one as written (width
normalised, old forms kept) because an exact old-form agreement (髙橋 = 髙橋) is strong evidence.
Without a space the split uses a known-surname table (``data/surnames.tsv``).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib import resources
from typing import Literal

from matcher.kana import normalize_kana
from matcher.text import width
from matcher.variants import fold_variants

Script = Literal["kanji", "kana", "latin", ""]

_HONORIFIC = re.compile(r"(?:様|さま|サマ|殿|さん|サン|君|くん|ちゃん|氏|御中)$")
_PUNCT = re.compile(r"[,、，・･.\s/]+")
_KANA_ONLY = re.compile(r"^[\u3041-\u309f\u30a0-\u30ffー ]+$")
_ORPHAN_MARK = re.compile(r"(?:^|(?<=\s))[\u0300-\u036f\u3099\u309a]+")
_LEADING_MARKS = re.compile(r"[\u0300-\u036f\u3099\u309a]+")
_LATIN = re.compile(r"[a-zāīūēōâîûêô]", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Name:
    """A person's name. ``family``/``given`` are canonical; ``*_written`` keep the original
    characters (old forms). An unsplittable name has everything in ``family``."""

    family: str = ""
    given: str = ""
    family_written: str = ""
    given_written: str = ""
    script: Script = ""

    @property
    def full(self) -> str:
        """Canonical family + given, no space (the comparison key)."""
        return self.family + self.given

    def format(self) -> str:
        """As written, family first; ``normalize_name(n.format()) == n``."""
        if self.script == "latin":
            return (
                f"{self.family_written}, {self.given_written}"
                if self.given_written
                else self.family_written
            )
        return f"{self.family_written} {self.given_written}".strip()


@cache
def _surnames() -> tuple[dict[str, str], int, dict[str, str], int]:
    """(folded kanji → reading, max length, reading → kanji, max reading length)."""
    text = resources.files("matcher.data").joinpath("surnames.tsv").read_text("utf-8")
    by_kanji: dict[str, str] = {}
    by_kana: dict[str, str] = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        kanji, _, kana = line.partition("\t")
        by_kanji.setdefault(fold_variants(kanji), normalize_kana(kana))
        by_kana.setdefault(normalize_kana(kana), kanji)
    return (
        by_kanji,
        max(map(len, by_kanji), default=1),
        by_kana,
        max(map(len, by_kana), default=1),
    )


def is_known_surname(s: str) -> bool:
    """True for a family name in the table, written in kanji, kana or romaji."""
    by_kanji, _, by_kana, _ = _surnames()
    return fold_variants(s) in by_kanji or normalize_kana(s) in by_kana


# Kanji, then nothing but kana: 岡埼さくら is 岡埼 + さくら even when a typo hides the
# surname from the table (ゆり子, kana then kanji, is left to the table).
_KANJI_THEN_KANA = re.compile(
    r"^([\u3400-\u9fff\uf900-\ufaff々〆]+)([\u3041-\u3096\u30a1-\u30faー]{2,})$"
)


def _split_unspaced(s: str, kana: bool) -> tuple[str, str]:
    if not kana and (m := _KANJI_THEN_KANA.match(s)):
        return m.group(1), m.group(2)
    by_kanji, kmax, by_kana, rmax = _surnames()
    table, longest = (by_kana, rmax) if kana else (by_kanji, kmax)
    for n in range(min(longest, len(s) - 1), 0, -1):
        if s[:n] in table:
            return s[:n], s[n:]
    if kana:
        return s, ""
    if len(s) >= 3:  # most family names are two kanji
        return s[:2], s[2:]
    if len(s) == 2:
        return s[:1], s[1:]
    return s, ""


def _latin(tokens: list[str], comma: bool, raw: str) -> Name:
    if len(tokens) == 1:
        return Name(normalize_kana(tokens[0]), "", tokens[0], "", "latin")
    first, last = tokens[0], " ".join(tokens[1:])
    swap = False
    if not comma:
        caps = [t.isupper() and len(t) > 1 for t in (first, last)]
        if caps[1] and not caps[0]:
            swap = True
        elif caps == [False, False] or caps == [True, True]:
            swap = is_known_surname(last) and not is_known_surname(first)
    if swap:
        first, last = last, first
    del raw
    return Name(normalize_kana(first), normalize_kana(last), first, last, "latin")


@lru_cache(maxsize=65536)
def normalize_name(s: str) -> Name:
    """Split and normalise a personal name; never raises (unparseable → empty ``Name``).

    >>> normalize_name("髙橋　一郎")
    Name(family='高橋', given='一郎', family_written='髙橋', given_written='一郎', script='kanji')
    """
    if not isinstance(s, str):
        return Name()
    t = unicodedata.normalize("NFC", _ORPHAN_MARK.sub("", width(s))).strip()
    t = _HONORIFIC.sub("", t).strip()
    if not t:
        return Name()
    if _LATIN.search(t):
        comma = "," in t or "、" in t
        if comma:  # "YAMADA, Taro": family before the comma
            head, _, tail = t.replace("、", ",").partition(",")
            fam = " ".join(x for x in _PUNCT.split(head) if x)
            giv = " ".join(x for x in _PUNCT.split(tail) if x)
            if fam and giv:
                return Name(normalize_kana(fam), normalize_kana(giv), fam, giv, "latin")
        tokens = [x for x in _PUNCT.split(t) if x]
        if not tokens:
            return Name()
        return _latin(tokens, comma, t)
    tokens = [x for x in _PUNCT.split(t) if x]
    if not tokens:
        return Name()
    kana = bool(_KANA_ONLY.match(t))
    if len(tokens) >= 2:
        fam_w, giv_w = tokens[0], "".join(tokens[1:])
    else:
        probe = normalize_kana(tokens[0]) if kana else fold_variants(tokens[0])
        fam_c, giv_c = _split_unspaced(probe, kana)
        if kana:
            # Keep the written form; only split it where the canonical form was split when
            # the lengths agree (ヤマダタロウ → ヤマダ / タロウ).
            w = tokens[0]
            cut = len(fam_c) if normalize_kana(w[: len(fam_c)]) == fam_c else len(w)
            fam_w, giv_w = (w[:cut], w[cut:]) if giv_c else (w, "")
        else:
            fam_w, giv_w = tokens[0][: len(fam_c)], tokens[0][len(fam_c) :]
        # A cut before a combining mark would orphan it (format() puts a space there, and
        # an orphan mark is dropped): the mark stays with the letter it sits on.
        marks = _LEADING_MARKS.match(giv_w)
        if marks:
            fam_w, giv_w = fam_w + marks.group(), giv_w[marks.end() :]
    if kana:
        return Name(normalize_kana(fam_w), normalize_kana(giv_w), fam_w, giv_w, "kana")
    return Name(fold_variants(fam_w), fold_variants(giv_w), fam_w, giv_w, "kanji")
