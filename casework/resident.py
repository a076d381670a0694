"""The web app's matching: the resident matcher when one runs, else an index held here.

A report's facts are matched as soon as it is filed. When ``leakwatch matcher serve`` runs
for this store, :meth:`ResidentIndex.matching` hands them to it (nothing is loaded in the
web app: the index of 35 million persons lives in that one process). Otherwise the web app
holds its own index, as before: loaded once (seconds for a million persons, minutes for
35 million), never per request, and refreshed when the watchlist changes — it asks the
store at most every ``recheck`` seconds. Thread-safe: requests run on a thread pool.
"""

from __future__ import annotations

import threading
import time

from matcher import WatchlistIndex
from store.matcher_client import LocalMatching, Matching, NotServing, ResidentMatching, connect
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
        """This process's index of the watchlist as it is (loaded on first use)."""
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

    def matching(self, store: Store) -> Matching:
        """Who matches a report now: the resident matcher serving this store when it
        answers (this process then loads nothing), else :meth:`get`'s index."""
        try:
            client = connect(store.settings.home, store.key_ring().current.index_key)
        except NotServing:
            return LocalMatching(self.get(store))
        return ResidentMatching(client, None)
