"""The match index kept in a long-running process (the web app): loaded once, refreshed when
the watchlist changes, never per request.

Loading a saved index of a million persons takes seconds (of 35 million, minutes), so a
server process holds one and asks the store at most every ``recheck`` seconds whether the
watchlist changed. Thread-safe: requests run on a thread pool.
"""

from __future__ import annotations

import threading
import time

from matcher import WatchlistIndex
from store.matching import current_index, watchlist_version
from store.runtime import Store


class ResidentIndex:
    def __init__(self, recheck_s: float = 30.0) -> None:
        self._recheck_s = recheck_s
        self._lock = threading.Lock()
        self._index: WatchlistIndex | None = None
        self._version = ""
        self._checked = 0.0
        self.loads = 0  # how many times the index was (re)loaded: for tests and the status page

    def get(self, store: Store) -> WatchlistIndex:
        with self._lock:
            now = time.monotonic()
            if self._index is not None and now - self._checked < self._recheck_s:
                return self._index
            version = watchlist_version(store)
            self._checked = now
            if self._index is None or version != self._version:
                self._index, self._version = current_index(store), version
                self.loads += 1
            return self._index
