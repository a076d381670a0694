"""Decoding Japanese pages and files right even when the HTTP header (or the meta tag) lies.

Order of trust: a byte-order mark; valid UTF-8 with non-ASCII bytes (other Japanese encodings
almost never form valid UTF-8); then every Japanese candidate that decodes strictly, scored by
how Japanese the result looks (hiragana and common kanji up, half-width katakana, private-use
and replacement characters down), with a small bonus for the encoding the page declares.
A declared single-byte charset (ISO-8859-1, windows-1252) is never believed for bytes that
decode as Japanese: every byte string is "valid" Latin-1.
"""

from __future__ import annotations

import codecs
import re

# Japanese candidates, in preference order on a tie. CP932 is a superset of Shift_JIS
# (NEC/IBM extensions: ①, ㈱, 髙); EUC-JIS-2004 covers JIS X 0213 (髙, 﨑) beyond EUC-JP.
CANDIDATES = ("cp932", "euc_jp", "euc_jis_2004", "iso2022_jp")
_ALIASES = {
    "shift_jis": "cp932", "shift-jis": "cp932", "sjis": "cp932", "x-sjis": "cp932",
    "windows-31j": "cp932", "ms932": "cp932", "cp932": "cp932", "ms_kanji": "cp932",
    "euc-jp": "euc_jp", "euc_jp": "euc_jp", "x-euc-jp": "euc_jp", "eucjp": "euc_jp",
    "euc-jis-2004": "euc_jis_2004", "iso-2022-jp": "iso2022_jp", "utf-8": "utf-8",
    "utf8": "utf-8",
}  # fmt: skip
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_\-]+)""", re.I)
_HEADER_CHARSET = re.compile(r"charset\s*=\s*[\"']?([A-Za-z0-9_\-]+)", re.I)


def canonical(name: str | None) -> str | None:
    if not name:
        return None
    name = name.strip().lower()
    if name in _ALIASES:
        return _ALIASES[name]
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


def header_charset(content_type: str | None) -> str | None:
    if not content_type:
        return None
    m = _HEADER_CHARSET.search(content_type)
    return canonical(m.group(1)) if m else None


def meta_charset(body: bytes) -> str | None:
    m = _META_CHARSET.search(body[:4096])
    return canonical(m.group(1).decode("ascii", "replace")) if m else None


def _score(text: str) -> float:
    score = 0.0
    for ch in text:
        o = ord(ch)
        if 0x3041 <= o <= 0x309F:  # hiragana
            score += 2
        elif 0x30A0 <= o <= 0x30FF:  # katakana
            score += 1.5
        elif 0x4E00 <= o <= 0x9FFF:  # CJK unified
            score += 1
        elif 0xFF61 <= o <= 0xFF9F:  # half-width katakana: rare in prose, common in misdecoding
            score -= 1
        elif 0xE000 <= o <= 0xF8FF or o == 0xFFFD:  # private use, replacement
            score -= 5
        elif 0x3000 <= o <= 0x303F or 0xFF01 <= o <= 0xFF5E:
            score += 0.5
    return score


def detect(body: bytes, declared: str | None = None) -> str:
    """A Python codec name for ``body``; ``declared`` is the HTTP header's or meta's charset."""
    if body.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if body.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    sample = body[: 512 * 1024]
    try:
        sample.decode("ascii")
        return "utf-8"  # ASCII decodes the same in every candidate
    except UnicodeDecodeError:
        pass
    if _valid(sample, "utf-8"):
        return "utf-8"
    declared = canonical(declared)
    best: tuple[float, int, str] | None = None
    order = list(CANDIDATES)
    if declared in order:
        order.remove(declared)
        order.insert(0, declared)
    for rank, name in enumerate(order):
        text = _decode_prefix(sample, name)
        if text is None:
            continue
        score = _score(text) * (1.02 if name == declared else 1.0)
        key = (score, -rank, name)
        if best is None or key > best:
            best = key
    if best is not None:
        return best[2]
    return declared or "cp932"  # decoded with replacement by the caller


def _valid(sample: bytes, name: str) -> bool:
    return _decode_prefix(sample, name) is not None


def _decode_prefix(sample: bytes, name: str) -> str | None:
    decoder = codecs.getincrementaldecoder(name)()
    try:
        return str(decoder.decode(sample, final=False))  # the sample may end mid-character
    except UnicodeDecodeError:
        return None


def decode(body: bytes, content_type: str | None = None) -> tuple[str, str]:
    """(text, encoding used) for a page or file body; bad bytes become U+FFFD, never an error."""
    declared = header_charset(content_type) or meta_charset(body)
    name = detect(body, declared)
    return body.decode(name, errors="replace"), name
