"""Cheap uniform draws for the generators' hot loops.

random.Random.randint goes through three Python-level calls per draw; one multiplication of
random() is several times faster and uniform enough for synthetic data.
"""

from __future__ import annotations

import random


def randint(rng: random.Random, a: int, b: int) -> int:
    """Uniform integer in a..b inclusive."""
    return a + int(rng.random() * (b - a + 1))


def randrange(rng: random.Random, n: int) -> int:
    """Uniform integer in 0..n-1."""
    return int(rng.random() * n)
