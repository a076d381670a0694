"""How personal values appear on screens and in printed summaries: masked by default.

One character of each word stays (enough to tell records apart at a glance); digits keep
their last two. Revealing a full value is a separate, audited act (the web app's issue).
"""

from __future__ import annotations

MASK = "＊"


def mask_value(value: str) -> str:
    words = value.split()
    return " ".join(_mask_word(w) for w in words)


def _mask_word(word: str) -> str:
    digits = sum(ch.isdigit() for ch in word)
    if digits >= 4:  # a phone, a postal code, a block number: keep the last two digits
        seen = 0
        out = []
        for ch in reversed(word):
            if ch.isdigit():
                seen += 1
                out.append(ch if seen <= 2 else MASK)
            else:
                out.append(ch)
        return "".join(reversed(out))
    return word[:1] + MASK * (len(word) - 1)
