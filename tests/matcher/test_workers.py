"""Work over forked processes (``matcher.workers``): the results of one process, in order; a
helper's failure or death is an error naming it, never a hang or a lost item."""

from __future__ import annotations

import os
import time

import pytest

from matcher.workers import ForkedWork, WorkerError, can_fork, in_order, spans

pytestmark = pytest.mark.skipif(not can_fork(), reason="no fork on this platform")


@pytest.mark.parametrize(("count", "workers"), [(0, 2), (1, 2), (7, 1), (7, 2), (40, 3)])
def test_results_come_in_item_order_whoever_computed_them(count: int, workers: int) -> None:
    parent = os.getpid()

    def work(i: int) -> tuple[int, bool]:
        time.sleep(0.002 * (i % 3))  # items finish out of order
        return i * i, os.getpid() == parent

    got = list(in_order(work, count, workers))
    assert [v for v, _ in got] == [i * i for i in range(count)]
    if workers == 1 or count <= 1:
        assert all(here for _, here in got)  # nothing forked


def test_a_helpers_exception_is_an_error_with_its_traceback() -> None:
    parent = os.getpid()

    def work(i: int) -> int:
        if os.getpid() != parent:
            raise ValueError("disk on fire")
        time.sleep(0.05)  # so that the helper surely takes items of its own
        return i

    with pytest.raises(WorkerError, match=r"(?s)chunk .* failed.*ValueError: disk on fire"):
        list(in_order(work, 6, 2, name="chunk"))


def test_a_dead_helper_is_an_error_not_a_hang() -> None:
    parent = os.getpid()

    def work(i: int) -> int:
        if os.getpid() != parent:
            os._exit(3)
        time.sleep(0.05)
        return i

    with pytest.raises(WorkerError, match=r"ended early \(exit codes \[3\]\)"):
        list(in_order(work, 6, 2))


def test_helpers_start_at_once_and_close_safely() -> None:
    """The pipeline's way: helpers work while this process does something else."""
    work = ForkedWork(lambda i: i + 1, 5, 2)
    time.sleep(0.05)
    assert list(work.in_order()) == [1, 2, 3, 4, 5]
    work.close()
    work.close()  # again: nothing left to stop


def test_spans_cover_everything_once() -> None:
    assert spans(5, 2) == [(0, 2), (2, 4), (4, 5)]
    assert spans(0, 3) == []
