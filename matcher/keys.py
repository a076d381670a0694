"""Keys that survive the variations brokers introduce: loose readings, stable hashes, and the
blocking keys a person or a listing row is filed under.

A *loose* reading drops what romanisation and re-keying lose or add: long-vowel marks and the
lengthening ウ/オ (Taro / Tarō / Tarou / タロウ all give タロ), ヅ/ヂ against ズ/ジ, small vowels.
A stable hash (two CRC-32s, 63 bits) files high-cardinality strings (addresses, e-mails) without a
vocabulary; it is stable across processes, so a saved index can be queried later.
"""

from __future__ import annotations

import re
from functools import lru_cache
from zlib import crc32

from matcher.kana import normalize_kana
from matcher.text import SparseTranslation

_LOOSE = str.maketrans({
    "ー": None, " ": None, "　": None, "ヅ": "ズ", "ヂ": "ジ", "ヲ": "オ", "ァ": "ア",
    "ィ": "イ", "ゥ": "ウ", "ェ": "エ", "ォ": "オ", "ヮ": "ワ", "ヵ": "カ", "ヶ": "ケ",
})  # fmt: skip
_loose = SparseTranslation(_LOOSE)

# Characters that OCR, handwriting and hurried typists confuse (a well-known short list; a
# one-character swap within a pair is a typo, not another name).
CONFUSABLE_PAIRS = (
    "太大", "大犬", "未末", "己巳", "己已", "土士", "崎埼", "祐佑", "裕祐", "斉斎", "一ー",
    "二ニ", "口ロ", "力カ", "夕タ", "工エ", "八ハ", "菜莱", "沢択", "輝耀", "真眞", "子了",
    "美羙", "ソン", "シツ", "ウワ", "クケ", "ルレ", "ユコ", "ナメ", "チテ", "陽暘", "彩綵",
    "徳徴", "博傅", "晴睛", "朗郎", "恵惠", "奈菜", "浩洁", "治冶", "衣依", "人入",
)  # fmt: skip
_CONFUSABLE = frozenset(x for pair in CONFUSABLE_PAIRS for x in (pair, pair[::-1]))


@lru_cache(maxsize=262144)
def loose_kana(s: str) -> str:
    """A reading with length marks, spaces and small-kana differences folded away."""
    if not s:
        return ""
    t = normalize_kana(s)
    out: list[str] = []
    prev = ""
    for ch in t:
        # Lengthening vowels after a vowel of the same row (オオ, ウウ, エイ stays: it is read).
        if ch == "ウ" and prev in _O_U_ROW:
            continue
        if ch == "オ" and prev in _O_ROW:
            continue
        out.append(ch)
        prev = ch
    t = _loose("".join(out))
    # Romaji cannot tell ン+vowel from the ナ row (Shinichi: シンイチ or シニチ; Shinya):
    # fold the first into the second.
    return _N_VOWEL.sub(lambda m: _N_ROW[m.group(1)], t) if "ン" in t else t


_N_ROW = {"ア": "ナ", "イ": "ニ", "ウ": "ヌ", "エ": "ネ", "オ": "ノ", "ヤ": "ニャ", "ユ": "ニュ",
          "ヨ": "ニョ"}  # fmt: skip
_N_VOWEL = re.compile("ン([アイウエオヤユヨ])")


_O_ROW = set("オコソトノホモヨロゴゾドボポョ")
_U_ROW = set("ウクスツヌフムユルグズヅブプュ")
_O_U_ROW = _O_ROW | _U_ROW


def confusable_typo(a: str, b: str) -> bool:
    """True when ``a`` and ``b`` differ in exactly one position by a confusable pair."""
    if len(a) != len(b) or a == b or not a:
        return False
    diff = [(x, y) for x, y in zip(a, b, strict=True) if x != y]
    return len(diff) == 1 and diff[0][0] + diff[0][1] in _CONFUSABLE


def stable_hash(*parts: object) -> int:
    """A 63-bit hash of the parts, the same in every process (0 is reserved for "none").

    Two CRC-32s with different seeds: not cryptographic (nothing here needs to be; the index
    is encrypted as a whole), but four times cheaper than a cryptographic hash per key.
    """
    b = "\x1f".join(str(p) for p in parts).encode("utf-8")
    return (((crc32(b) << 31) ^ crc32(b, 0x9E3779B9)) & _MASK63) or 1


def str_hash(text: str) -> int:
    """:func:`stable_hash` of a single string (the fast path)."""
    b = text.encode("utf-8")
    return (((crc32(b) << 31) ^ crc32(b, 0x9E3779B9)) & _MASK63) or 1


_MASK63 = (1 << 63) - 1


def phone_int(digits: str) -> int:
    """A full phone number as an integer (a leading 1 keeps the leading zeros), 0 if none
    (or if it would not fit an int64 key: more than 18 digits is no phone number)."""
    if not digits or len(digits) > 18 or not (digits.isascii() and digits.isdigit()):
        return 0
    return int("1" + digits)


def phone_tail_key(digits: str) -> int:
    """Files a number by length, first two and last four digits (survives a masked middle)."""
    if len(digits) < 8:
        return 0
    head, tail = digits[:2], digits[-4:]
    if "?" in head or "?" in tail:
        return 0
    return int(f"1{len(digits):02d}{head}{tail}")


def phone_head_key(digits: str) -> int:
    """Files a number by length and first six digits (survives a masked tail)."""
    if len(digits) < 8:
        return 0
    head = digits[:6]
    if "?" in head:
        return 0
    return int(f"2{len(digits):02d}{head}")
