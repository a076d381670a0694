"""``gc_paused()``: the cyclic garbage collector off for a bulk step, back on after.

Building an index, matching a listing and loading the gazetteer each create hundreds of
thousands of small acyclic objects next to a big heap; the cyclic GC would rescan that heap
over and over and find nothing to collect (a third of the matching time at 1 M persons).
Whether a run pays that is its entry point's decision, made once for the whole run (and
inherited by forked helpers): ``leakwatch match`` runs with the GC off, a library caller
chooses for itself. The one use inside the matcher is the gazetteer's one-off load (its
tables are made of plain tuples and dicts: 0.12 s instead of 0.4-0.6 s, in every process).
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
