from __future__ import annotations

import pytest

from store.masking import mask_value


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("髙橋 美咲", "髙＊ 美＊"),
        ("ﾀｶﾊｼ ﾐｻｷ", "ﾀ＊＊＊ ﾐ＊＊"),
        ("03-3234-5678", "＊＊-＊＊＊＊-＊＊78"),
        ("〒102-0074", "〒＊＊＊-＊＊74"),
        ("", ""),
    ],
)
def test_mask_keeps_a_hint_and_hides_the_rest(value: str, shown: str) -> None:
    assert mask_value(value) == shown
    assert len(mask_value(value)) == len(value)
