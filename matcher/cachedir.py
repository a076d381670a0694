"""``cache_home()``: where the matcher keeps files derived from its own sources and data
(the gazetteer's lookup tables, the compiled normalisers), rebuilt whenever they are missing."""

from __future__ import annotations

import os
from pathlib import Path


def cache_home() -> Path | None:
    """``$XDG_CACHE_HOME/leakwatch`` or ``~/.cache/leakwatch``; None if that is not absolute
    (no usable home: callers then do without a cache)."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "leakwatch" if os.path.isabs(base) else None
