"""Readings: hiragana, half-width katakana and romaji to canonical full-width katakana.

Canonical form for matching: katakana; long vowels written with ー (ユウ/ユー, オウ/オオ/オー →
ユー, オー); ヴ → ブ-row, ヰ/ヱ/ヲ → イ/エ/オ, ヂ/ヅ → ジ/ズ, ヮ/ヵ/ヶ → ワ/カ/ケ. Romaji accepts
Hepburn and kunrei spellings (shi/si, tsu/tu, chi/ti, fu/hu, ji/zi), macrons (ō, ū, â),
``oh`` (Ohno), doubled consonants (Hattori) and n/n'/m before b, m, p.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from matcher.text import DASHES, SparseTranslation, fixpoint, width

_HIRA_TO_KATA = {cp: cp + 0x60 for cp in range(0x3041, 0x3097)}
_CANON = str.maketrans(
    {
        "ヰ": "イ",
        "ヱ": "エ",
        "ヲ": "オ",
        "ヂ": "ジ",
        "ヅ": "ズ",
        "ヮ": "ワ",
        "ヵ": "カ",
        "ヶ": "ケ",
        **{d: "ー" for d in DASHES},
    }
)
_hira_to_kata = SparseTranslation(_HIRA_TO_KATA)
_canon = SparseTranslation(_CANON)
_VU = {"ヴァ": "バ", "ヴィ": "ビ", "ヴェ": "ベ", "ヴォ": "ボ", "ヴュ": "ビュ", "ヴ": "ブ"}
_VU_RE = re.compile("|".join(sorted(_VU, key=len, reverse=True)))
_O_ROW = set("オコゴソゾトドノホボポモヨョロヲォ")
_U_ROW = set("ウクグスズツヅヌフブプムユュルゥ")

_ROMAJI = {
    "kya": "キャ",
    "kyu": "キュ",
    "kyo": "キョ",
    "sha": "シャ",
    "shu": "シュ",
    "sho": "ショ",
    "she": "シェ",
    "sya": "シャ",
    "syu": "シュ",
    "syo": "ショ",
    "cha": "チャ",
    "chu": "チュ",
    "cho": "チョ",
    "che": "チェ",
    "tya": "チャ",
    "tyu": "チュ",
    "tyo": "チョ",
    "nya": "ニャ",
    "nyu": "ニュ",
    "nyo": "ニョ",
    "hya": "ヒャ",
    "hyu": "ヒュ",
    "hyo": "ヒョ",
    "mya": "ミャ",
    "myu": "ミュ",
    "myo": "ミョ",
    "rya": "リャ",
    "ryu": "リュ",
    "ryo": "リョ",
    "gya": "ギャ",
    "gyu": "ギュ",
    "gyo": "ギョ",
    "ja": "ジャ",
    "ju": "ジュ",
    "jo": "ジョ",
    "je": "ジェ",
    "jya": "ジャ",
    "jyu": "ジュ",
    "jyo": "ジョ",
    "zya": "ジャ",
    "zyu": "ジュ",
    "zyo": "ジョ",
    "bya": "ビャ",
    "byu": "ビュ",
    "byo": "ビョ",
    "pya": "ピャ",
    "pyu": "ピュ",
    "pyo": "ピョ",
    "shi": "シ",
    "chi": "チ",
    "tsu": "ツ",
    "ka": "カ",
    "ki": "キ",
    "ku": "ク",
    "ke": "ケ",
    "ko": "コ",
    "sa": "サ",
    "si": "シ",
    "su": "ス",
    "se": "セ",
    "so": "ソ",
    "ta": "タ",
    "ti": "チ",
    "tu": "ツ",
    "te": "テ",
    "to": "ト",
    "na": "ナ",
    "ni": "ニ",
    "nu": "ヌ",
    "ne": "ネ",
    "no": "ノ",
    "ha": "ハ",
    "hi": "ヒ",
    "fu": "フ",
    "hu": "フ",
    "he": "ヘ",
    "ho": "ホ",
    "ma": "マ",
    "mi": "ミ",
    "mu": "ム",
    "me": "メ",
    "mo": "モ",
    "ya": "ヤ",
    "yu": "ユ",
    "yo": "ヨ",
    "ra": "ラ",
    "ri": "リ",
    "ru": "ル",
    "re": "レ",
    "ro": "ロ",
    "la": "ラ",
    "li": "リ",
    "lu": "ル",
    "le": "レ",
    "lo": "ロ",
    "wa": "ワ",
    "wo": "オ",
    "ga": "ガ",
    "gi": "ギ",
    "gu": "グ",
    "ge": "ゲ",
    "go": "ゴ",
    "za": "ザ",
    "ji": "ジ",
    "zi": "ジ",
    "zu": "ズ",
    "ze": "ゼ",
    "zo": "ゾ",
    "da": "ダ",
    "di": "ジ",
    "du": "ズ",
    "de": "デ",
    "do": "ド",
    "ba": "バ",
    "bi": "ビ",
    "bu": "ブ",
    "be": "ベ",
    "bo": "ボ",
    "pa": "パ",
    "pi": "ピ",
    "pu": "プ",
    "pe": "ペ",
    "po": "ポ",
    "fa": "ファ",
    "fi": "フィ",
    "fe": "フェ",
    "fo": "フォ",
    "va": "バ",
    "vi": "ビ",
    "vu": "ブ",
    "ve": "ベ",
    "vo": "ボ",
    "a": "ア",
    "i": "イ",
    "u": "ウ",
    "e": "エ",
    "o": "オ",
}
_MACRONS = str.maketrans(
    {
        "ā": "aa",
        "ī": "ii",
        "ū": "uu",
        "ē": "ee",
        "ō": "ou",
        "â": "aa",
        "î": "ii",
        "û": "uu",
        "ê": "ee",
        "ô": "ou",
    }
)
_ROMAJI_WORD = re.compile(r"[a-zāīūēōâîûêô']+")
_OH = re.compile(r"oh(?![aiueoy])")
_VOWELS = set("aiueo")


def _romaji_word(w: str) -> str:
    w = _OH.sub("ou", w.translate(_MACRONS))
    out: list[str] = []
    i, n = 0, len(w)
    while i < n:
        c = w[i]
        if c == "'":
            i += 1
            continue
        syllabic = i + 1 == n or (w[i + 1] not in _VOWELS and w[i + 1] != "y")
        if syllabic and (c == "n" or (c == "m" and i + 1 < n and w[i + 1] in "bmp")):
            out.append("ン")
            i += 2 if (c == "n" and i + 1 < n and w[i + 1] == "'") else 1
            continue
        if i + 1 < n and c == w[i + 1] and c not in _VOWELS and c != "n":
            out.append("ッ")
            i += 1
            continue
        if c == "t" and w.startswith("ch", i + 1):
            out.append("ッ")
            i += 1
            continue
        for size in (3, 2, 1):
            kana = _ROMAJI.get(w[i : i + size])
            if kana:
                out.append(kana)
                i += size
                break
        else:
            out.append(c)
            i += 1
    return "".join(out)


def romaji_to_katakana(s: str) -> str:
    """``"Yamada Tarō"`` → ``"ヤマダ タロウ"`` (letters it cannot read are kept)."""
    return _ROMAJI_WORD.sub(lambda m: _romaji_word(m.group()), s.lower())


def _fold_long(s: str) -> str:
    out: list[str] = []
    prev = ""
    for ch in s:
        if (ch == "ウ" and (prev in _O_ROW or prev in _U_ROW)) or (ch == "オ" and prev in _O_ROW):
            ch = "ー"
        if ch == "ー" and (not prev or prev == "ー"):
            continue
        out.append(ch)
        prev = ch
    return "".join(out)


@lru_cache(maxsize=65536)
def normalize_kana(s: str) -> str:
    """A reading as canonical full-width katakana; other characters are kept. Never raises.

    >>> normalize_kana("ﾕｳｺ"), normalize_kana("ゆうこ"), normalize_kana("Yūko")
    ('ユーコ', 'ユーコ', 'ユーコ')
    """
    if not isinstance(s, str) or not s:
        return ""
    return fixpoint(_kana_once, s)


def _kana_once(s: str) -> str:
    t = width(s)
    t = unicodedata.normalize("NFC", t)
    if any("a" <= c.lower() <= "z" or c.lower() in "āīūēōâîûêô" for c in t):
        t = romaji_to_katakana(t)
    t = _canon(_hira_to_kata(t))
    if "ヴ" in t:
        t = _VU_RE.sub(lambda m: _VU[m.group()], t)
    t = " ".join(t.split())
    return _fold_long(t)
