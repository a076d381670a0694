"""Ctrl-C and SIGTERM during long writing work: honoured between transactions, not inside.

A KeyboardInterrupt raised in the middle of a commit can leave a database connection
holding a write lock, so the run could not even record that it was interrupted. Inside
``deferred_interrupts`` the first Ctrl-C (or SIGTERM) only sets a flag; the work calls
``check()`` between its transactions, where stopping is clean. A second Ctrl-C stops at
once (the next writer then records the run as interrupted, as after a kill).
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType


class Interrupts:
    def __init__(self) -> None:
        self.requested = False

    def check(self) -> None:
        """Stop here if an interrupt was asked for."""
        if self.requested:
            raise KeyboardInterrupt

    def _handle(self, _signum: int, _frame: FrameType | None) -> None:
        if self.requested:
            raise KeyboardInterrupt  # asked twice: now
        self.requested = True


@contextmanager
def deferred_interrupts() -> Iterator[Interrupts]:
    flag = Interrupts()
    if threading.current_thread() is not threading.main_thread():
        yield flag  # signal handlers belong to the main thread; work elsewhere is not asked
        return
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    for sig in previous:
        signal.signal(sig, flag._handle)
    try:
        yield flag
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
