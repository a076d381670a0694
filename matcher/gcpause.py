"""``gc_paused()``: the cyclic garbage collector off for a bulk step, back on after.

Building the index, loading the gazetteer and matching a batch each create hundreds of
thousands of small acyclic objects next to a big heap; the cyclic GC would rescan that heap
over and over and find nothing to collect.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def gc_paused() -> Iterator[None]:
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
