"""Shared synthetic data for the synth tests (generated once per session: it is deterministic)."""

from __future__ import annotations

import pytest

from synth import generate_listing, generate_watchlist

WATCHLIST_SEED = 11
LISTING_SEED = 12


@pytest.fixture(scope="session")
def watchlist_20k() -> list[dict[str, str]]:
    return list(generate_watchlist(20_000, WATCHLIST_SEED))


@pytest.fixture(scope="session")
def listing_4k(
    watchlist_20k: list[dict[str, str]],
) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    return generate_listing(watchlist_20k, 4000, LISTING_SEED)
