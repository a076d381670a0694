"""The newcomer's demo: a synthetic watchlist imported into a fresh store, and what it shows."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select

from office.console import cli_actor, console
from store import audit
from store.models import Household, WatchlistPerson
from store.runtime import Store
from store.settings import Settings
from store.watchlist_import import import_watchlist
from synth.watchlist import generate_watchlist, write_csv

DEMO_SEED = 20140709  # the day the 2014 leak was announced


def run_demo(settings: Settings, persons: int) -> None:
    demo_dir = settings.home / "demo"
    demo_dir.mkdir(parents=True, exist_ok=True)
    watchlist = demo_dir / "watchlist.csv"
    write_csv(generate_watchlist(persons, DEMO_SEED), watchlist)
    console.print(f"synthetic watchlist: {watchlist} ({persons:,} persons, seed {DEMO_SEED})")

    store = Store.open(settings)
    try:
        codes = demo_dir / "household-codes.csv"
        result = import_watchlist(
            store.sessions, store.vault, watchlist, actor=cli_actor(), codes_out=codes
        )
        console.print(
            f"imported: {result.inserted:,} new, {result.updated:,} updated, "
            f"{result.unchanged:,} unchanged, {result.rejected:,} rejected "
            f"in {result.seconds:.1f} s ({result.rows_per_second:,.0f} rows/s)"
        )
        with store.sessions() as session:
            people = session.scalar(select(func.count()).select_from(WatchlistPerson))
            households = session.scalar(select(func.count()).select_from(Household))
            chain = audit.verify(session)
        console.print(
            f"store: {people:,} persons in {households:,} households, PII sealed "
            f"(AES-256-GCM); database {_describe(settings)}"
        )
        if result.codes_path:
            console.print(f"letter codes for new households: {result.codes_path} (mode 0600)")
        console.print(f"audit chain: {'intact' if chain.ok else 'BROKEN'}, {chain.events} events")
    finally:
        store.close()


def _describe(settings: Settings) -> str:
    url = settings.db_url
    return str(Path(url.split("///", 1)[1])) if url.startswith("sqlite") else url.split("@")[-1]
