"""The resident matcher beyond one machine: the index's shards held by Dask workers.

With ``LEAKWATCH_DASK_SCHEDULER`` set (``tcp://host:8786``), ``leakwatch matcher serve``
loads the index as usual, cuts it into one shard per worker (:func:`matcher.shards.split`:
blocking keys by hash, persons by position range), sends each shard to its worker, where a
:class:`matcher.shards.Shard` actor holds it in memory, and keeps only the vocabularies and
term frequencies itself. A match request is normalised and compared in the service as
before; each read of the index goes to the shards that hold the keys or persons concerned
(:class:`DaskCalls`: actor calls, sent to all of them before any answer is awaited), so the
results are exactly one machine's. Workers see blocking keys, positions and normalised
values, never a listing row. Without the variable: one process, no Dask imported.

Dask's own transport carries the shards: across machines, configure its TLS
(``distributed.comm.tls``) so that the values between workers and the service are
encrypted on the wire, as they are at rest.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from distributed import Client

from matcher import WatchlistIndex
from matcher.reader import IndexReader
from matcher.shards import Shard, ShardedIndex, split
from store.matcher_service import Exclusive, Source, StoreSource
from store.matching import watchlist_version

log = logging.getLogger("leakwatch.matcher")


class DaskCalls:
    """Calls to shard actors, all sent before any answer is awaited."""

    def __init__(self, actors: Sequence[Any]) -> None:
        self.actors = list(actors)

    def each(self, calls: Sequence[tuple[int, str, tuple[Any, ...]]]) -> list[Any]:
        pending = [getattr(self.actors[s], method)(*args) for s, method, args in calls]
        return [p.result() for p in pending]


def place_shards(client: Client, index: WatchlistIndex, shards: int | None = None
                 ) -> ShardedIndex:  # fmt: skip
    """``index`` cut into ``shards`` shards (one per worker by default), each sent to and
    held by a worker; the index the coordinator reads them through."""
    workers = sorted(client.scheduler_info()["workers"])
    if not workers:
        raise RuntimeError("the Dask cluster has no workers")
    coordinator, parts = split(index, shards or len(workers))
    actors = []
    for s, data in enumerate(parts):
        worker = workers[s % len(workers)]
        # Sent straight to its worker (not through the scheduler), then held by an actor.
        held = client.scatter(data, workers=[worker], direct=True)  # type: ignore[no-untyped-call]
        actors.append(
            client.submit(
                Shard, held, actor=True, workers=[worker], allow_other_workers=False, pure=False
            ).result()
        )
    log.info("index sharded over %d Dask workers (%d shards)", len(workers), len(parts))
    return ShardedIndex(coordinator, DaskCalls(actors))


class DaskSource:
    """A source's index, sharded over the Dask cluster at ``address``. A watchlist change
    re-shards the whole index (shards are not changed in place)."""

    def __init__(self, base: Source, address: str) -> None:
        self.base, self.address = base, address
        self.label = f"{base.label}, sharded over the Dask cluster at {address}"
        self._client: Client | None = None

    @property
    def version(self) -> str:
        return self.base.version

    def load(self) -> IndexReader:
        index = self.base.load()
        if not isinstance(index, WatchlistIndex):
            raise TypeError("only a whole index can be sharded")
        if self._client is None:
            # The default client of this process: actor handles find their client there.
            self._client = Client(self.address)  # type: ignore[no-untyped-call]
        return place_shards(self._client, index)

    def sync(self, index: IndexReader, exclusive: Exclusive) -> dict[str, Any]:
        base = self.base
        if isinstance(base, StoreSource) and watchlist_version(base.store) != base.version:
            return {"added": 0, "removed": 0, "seen": 0, "reload": True}
        return {"added": 0, "removed": 0, "seen": 0}


__all__ = ["DaskCalls", "DaskSource", "place_shards"]
