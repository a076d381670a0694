"""SparseTranslation (search first, translate only when needed) gives exactly what
``str.translate`` gives, for every table the normalisers use."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from matcher import kana, keys, phone, text
from matcher.gazetteer import key_table
from matcher.text import SparseTranslation
from matcher.variants import variant_table

TABLES = {
    "pre": text._PRE, "hira": kana._HIRA_TO_KATA, "canon": kana._CANON, "loose": keys._LOOSE,
    "mask": phone._MASK, "variants": variant_table(), "keys": key_table(),
}  # fmt: skip
SPARSE = {name: SparseTranslation(table) for name, table in TABLES.items()}
# Characters of the tables (astral variants among them) mixed with any others.
TABLE_CHARS = sorted({chr(c) for table in TABLES.values() for c in table})
chars = st.one_of(st.sampled_from(TABLE_CHARS), st.characters(), st.sampled_from("山田 -ー"))


@settings(max_examples=400, deadline=None)
@given(st.text(chars, max_size=30))
def test_same_as_translate(s: str) -> None:
    for name, table in TABLES.items():
        assert SPARSE[name](s) == s.translate(table), name


def test_examples() -> None:
    assert SPARSE["keys"]("霞ヶ関の1") == "霞ケ関ノ1"
    assert SPARSE["variants"]("髙橋") == "高橋" and SPARSE["variants"]("𠮷田") == "吉田"
    assert SPARSE["pre"]("ﾔﾏﾀﾞ\u3000花子") == "ﾔﾏﾀ\u3099 花子"
    assert SPARSE["mask"]("090-****-1234") == "090-????-1234"
    plain = "東京都千代田区"
    assert SPARSE["keys"](plain) is plain  # nothing to translate: the same string back
