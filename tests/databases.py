"""Throwaway PostgreSQL databases for tests, on the server DATABASE_URL points at."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from store.db import throwaway_database

SERVER_URL = os.environ.get("DATABASE_URL", "")
ON_POSTGRES = SERVER_URL.startswith("postgresql")


@contextmanager
def throwaway_postgres(prefix: str) -> Iterator[str]:
    """Create an empty database named after `prefix`, yield its URL, drop it afterwards."""
    with throwaway_database(SERVER_URL, prefix) as url:
        yield url
