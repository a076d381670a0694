"""Company names as people write them: 株式会社ヤマダ名簿, (株)ヤマダ名簿, ㈱ヤマダ名簿 are one.

``name_key`` folds a company name to a comparison key: width and case (NFKC), legal-form
words before or after the name (株式会社, (株), ㈱, 有限会社, 合同会社 …), spaces and
punctuation, and variant kanji (髙→高). Businesses and their aliases keep the key in an
indexed column, so a report's business is found without reading every name.
"""

from __future__ import annotations

import re
import unicodedata

from matcher import fold_variants

_LEGAL_FORMS = tuple(
    unicodedata.normalize("NFKC", form)
    for form in ("株式会社", "有限会社", "合同会社", "合資会社", "合名会社", "一般社団法人",
                 "一般財団法人", "(株)", "(有)", "(同)", "㈱", "㈲")
)  # fmt: skip
_NOISE = re.compile(r"[\s・.,、。\-ー‐―\"'「」『』]+")


def name_key(name: str) -> str:
    """The comparison key of a company name ('' if nothing is left)."""
    text = unicodedata.normalize("NFKC", name).strip()
    for form in _LEGAL_FORMS:
        if text.startswith(form):
            text = text[len(form) :]
        if text.endswith(form):
            text = text[: -len(form)]
    return fold_variants(_NOISE.sub("", text)).casefold()[:300]
