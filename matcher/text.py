"""Text normalisation: character width, spaces, and context-aware dashes and long vowels.

``normalize_text`` is the first step for every field: NFKC (full-width ASCII → ASCII,
half-width katakana → full-width, voiced marks composed), then dashes read by context — a dash
after kana is the long-vowel mark ー, anywhere else it is the hyphen ``-`` — wave dashes become
``~``, and spaces survive only between two Latin words or numbers.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping

# Every dash-like character seen in typed, OCR'd and re-keyed Japanese text.
DASHES = "-‐‑‒–—―−－﹣﹘⁃⁻₋˗֊─━ｰー⎯⏤"
_TILDES = "~∼∾〜〰～"
_PRE = str.maketrans(
    {
        "゛": "\u3099",
        "゜": "\u309a",
        "ﾞ": "\u3099",
        "ﾟ": "\u309a",  # free voiced marks → combining
        "\u00a0": " ",
        "\u3000": " ",
        "\t": " ",
        "\n": " ",
        "\r": " ",
        "\u200b": "",
        "\ufeff": "",
    }
)
_DASH_RUN = re.compile(f"[{re.escape(DASHES)}]+")
_TILDE_RUN = re.compile(f"[{re.escape(_TILDES)}]+")
_SPACE_RUN = re.compile(r"\s+")
# A space survives only between two Latin letters or digits.
_DROP_SPACE = re.compile(r"(?<![0-9A-Za-z]) | (?![0-9A-Za-z])")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


_ASTRAL = re.compile("[\U00010000-\U0010ffff]")


class SparseTranslation:
    """``str.translate`` by a table that leaves most text as it is.

    Translating a non-ASCII string looks every character up in the table (a dict): five to
    eight times the cost of one regex search that finds nothing to translate. So search
    first, translate only when the text holds a character of the table.
    """

    def __init__(self, table: Mapping[int, str | int | None]) -> None:
        self.table = dict(table)
        bmp = sorted(c for c in self.table if c < 0x10000)
        # A class of BMP characters compiles to a bitmap; astral ones would make sre scan a
        # list, so any astral character at all sends the text to translate().
        self._bmp = re.compile(_char_class(bmp)) if bmp else None
        self._astral = any(c >= 0x10000 for c in self.table)

    def __call__(self, s: str) -> str:
        if (self._bmp is not None and self._bmp.search(s)) or (self._astral and _ASTRAL.search(s)):
            return s.translate(self.table)
        return s


def _char_class(codes: list[int]) -> str:
    """A regex character class of sorted code points, runs written as ranges."""
    parts: list[str] = []
    i = 0
    while i < len(codes):
        j = i
        while j + 1 < len(codes) and codes[j + 1] == codes[j] + 1:
            j += 1
        first, last = re.escape(chr(codes[i])), re.escape(chr(codes[j]))
        parts.append(first if i == j else f"{first}-{last}")
        i = j + 1
    return "[" + "".join(parts) + "]"


def _is_kana(ch: str) -> bool:
    return "\u3041" <= ch <= "\u30fa" or ch == "ー" or "\u31f0" <= ch <= "\u31ff"


def _dash(m: re.Match[str]) -> str:
    start, end = m.span()
    text = m.string
    prev = text[start - 1] if start else ""
    if prev and _is_kana(prev):
        return "ー"
    if (
        m.group() == "ー" * (end - start)
        and end < len(text)
        and _is_kana(text[end])
        and not prev.isdigit()
    ):
        return "ー"
    return "-"


_pre = SparseTranslation(_PRE)


def width(s: str) -> str:
    """NFKC with the free-standing voiced marks folded first (ｶﾞ, か゛ → ガ, が)."""
    if s.isascii() and s.isprintable():  # NFKC and _PRE leave printable ASCII as it is
        return s
    return unicodedata.normalize("NFKC", _pre(s))


def unify_dashes(s: str) -> str:
    """Each run of dash-like characters → ``ー`` after kana, else ``-``."""
    return _DASH_RUN.sub(_dash, s) if s else s


def normalize_text(s: str) -> str:
    """Width, kana, spaces, dashes and long vowels normalised; never raises.

    >>> normalize_text("ﾔﾏﾀﾞ　ﾀﾛｰ　０３－１２３４－５６７８")
    'ヤマダタロー03-1234-5678'
    """
    if not isinstance(s, str) or not s:
        return ""
    # NFKC and space removal can expose new pairs (C + ¸ → Ç): iterate to a fixpoint.
    return fixpoint(_normalize_once, s)


def fixpoint(step: Callable[[str], str], s: str, rounds: int = 4) -> str:
    """Apply `step` until the text stops changing (at most `rounds` times), so that a
    normaliser's output is stable when fed back to it (idempotence)."""
    t = step(s)
    for _ in range(rounds - 1):
        u = step(t)
        if u == t:
            break
        t = u
    return t


def _normalize_once(s: str) -> str:
    t = width(s)
    t = _CONTROL.sub("", t)
    t = _TILDE_RUN.sub("~", t)
    t = unify_dashes(t)
    t = _SPACE_RUN.sub(" ", t).strip()
    if " " in t:
        t = _DROP_SPACE.sub("", t)
    return t
