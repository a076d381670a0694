"""Work spread over forked processes: the one helper every parallel step uses.

``ForkedWork(work, count, workers)`` forks ``workers - 1`` helpers at once. Each takes the
next item nobody has taken yet (a counter shared under a lock), computes ``work(item)`` and
sends the result back; :meth:`ForkedWork.in_order` gives the results in item order, this
process computing items too whenever the next one is not back yet. So exactly ``workers``
processes compute (a third process on two cores would make every one a fifth slower, each
one's caches flushed at every switch), items are taken in order so results come back
nearly in order and can be used as they come, and only item numbers and results cross
between processes: ``work`` and whatever it reads (a listing's rows, a watchlist's byte
ranges) reach the helpers by forking, never pickled.

Used by the index build (``index``: persons normalised chunk by chunk), the listing's
normalisation (``match``) and the build from a watchlist CSV (``store.match_build``).
Without ``fork`` (or with ``workers`` ≤ 1) everything runs here, in order, with the same
results.

What the helpers inherit is frozen for the cyclic GC while they are forked (``gc.freeze``,
as the ``gc`` documentation advises before a fork): a collection in a helper then never
walks, and so never copies, the parent's pages. Whether the GC runs at all is the caller's
choice (an entry point's policy, see ``gcpause``); helpers inherit it.
"""

from __future__ import annotations

import gc
import multiprocessing as mp
import queue
import traceback
from collections.abc import Callable, Iterator
from multiprocessing.process import BaseProcess
from multiprocessing.queues import Queue
from multiprocessing.sharedctypes import Synchronized
from typing import Any, Generic, TypeVar

R = TypeVar("R")
_POLL_SECONDS = 0.5  # how often a wait for results checks that the helpers are alive


def can_fork() -> bool:
    return "fork" in mp.get_all_start_methods()


class WorkerError(RuntimeError):
    """A helper process failed (the message holds its traceback) or died."""


class _Claims:
    """The next item nobody has taken, under a lock shared with the forked helpers."""

    def __init__(self, count: int) -> None:
        self._next: Synchronized[int] = mp.get_context("fork").Value("i", 0)
        self._count = count

    def take(self) -> int | None:
        with self._next.get_lock():
            i = self._next.value
            if i >= self._count:
                return None
            self._next.value = i + 1
            return i


class ForkedWork(Generic[R]):
    """``work(0) … work(count - 1)`` computed by this process and ``workers - 1`` helpers
    forked at construction; :meth:`in_order` gives the results, :meth:`close` stops the
    helpers (safe to call again; a ``with`` block calls it). ``name`` says in errors what
    an item is ("watchlist range")."""

    def __init__(self, work: Callable[[int], R], count: int, workers: int, *,
                 name: str = "item") -> None:  # fmt: skip
        self.work, self.count, self.name = work, count, name
        self._claims = _Claims(count) if workers > 1 and can_fork() else None
        self._helpers: list[BaseProcess] = []
        self._results: Queue[Any] | None = None
        if self._claims is not None and count > 1:
            self._start(min(workers - 1, count))

    def _start(self, helpers: int) -> None:
        ctx = mp.get_context("fork")
        self._results = ctx.Queue()
        self._helpers = [ctx.Process(target=self._help, daemon=True) for _ in range(helpers)]
        gc.freeze()  # see the module's docstring
        try:
            for h in self._helpers:
                h.start()
        except BaseException:
            self.close()
            raise
        finally:
            gc.unfreeze()

    def _help(self) -> None:
        """A helper's life: take items and send back each one's result (or the traceback of
        what went wrong, and stop) until none is left."""
        assert self._claims is not None and self._results is not None
        while (i := self._claims.take()) is not None:
            try:
                self._results.put((i, True, self.work(i)))
            except Exception:
                self._results.put((i, False, traceback.format_exc()))
                return

    def in_order(self) -> Iterator[R]:
        """The results in item order (once: the items are consumed)."""
        if self._claims is None:
            yield from map(self.work, range(self.count))
            return
        done: dict[int, R] = {}
        for i in range(self.count):
            while i not in done:
                self._collect(done, wait=False)
                if i in done:
                    break
                mine = self._claims.take()
                if mine is not None:  # an item nobody has taken: compute it here
                    done[mine] = self.work(mine)
                else:  # every item is taken: the helpers have the rest
                    self._collect(done, wait=True)
            yield done.pop(i)

    def _collect(self, done: dict[int, R], wait: bool) -> None:
        """Take the helpers' finished items (``wait``: at least one, unless a helper died)."""
        if self._results is None:  # no helpers (one item): nothing can come back
            return
        while True:
            try:
                item = (self._results.get(timeout=_POLL_SECONDS) if wait
                        else self._results.get_nowait())  # fmt: skip
            except queue.Empty:
                if not wait:
                    return
                self._check_helpers()
                continue
            i, ok, result = item
            if not ok:
                raise WorkerError(f"{self.name} {i} failed in a helper process:\n{result}")
            done[i] = result
            wait = False

    def _check_helpers(self) -> None:
        """A helper still running, or done with its results already in the pipe, is fine;
        one killed, or all gone with items missing, is not."""
        assert self._results is not None
        ended = [h.exitcode for h in self._helpers if h.exitcode is not None]
        if any(code != 0 for code in ended) or (
            len(ended) == len(self._helpers) and self._results.empty()
        ):
            raise WorkerError(f"a helper process ended early (exit codes {ended})")

    def close(self) -> None:
        for h in self._helpers:
            if h.is_alive():
                h.terminate()
            if h.pid is not None:
                h.join()
        self._helpers = []
        if self._results is not None:
            self._results.close()
            self._results.join_thread()
            self._results = None

    def __enter__(self) -> ForkedWork[R]:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


def in_order(
    work: Callable[[int], R], count: int, workers: int, *, name: str = "item"
) -> Iterator[R]:
    """``work(0) … work(count - 1)`` by ``workers`` processes (this one included), in
    order: :class:`ForkedWork` for a step that has nothing else to do meanwhile."""
    with ForkedWork(work, count, workers, name=name) as forked:
        yield from forked.in_order()


def spans(total: int, size: int) -> list[tuple[int, int]]:
    """``[start, stop)`` ranges of at most ``size`` covering ``0 … total``."""
    return [(i, min(i + size, total)) for i in range(0, total, size)]


__all__ = ["ForkedWork", "WorkerError", "can_fork", "in_order", "spans"]
