"""How the watchlist is made up: persons per prefecture and year of birth (counts only).

The evidence grade asks how many families of a region and age an unrelated list would hold
from the watchlist; that needs the watchlist's share of each (prefecture, year) of the
population. Counting opens every sealed person once, so the counts are kept per version of
the watchlist (in memory, and as a small JSON of numbers under LEAKWATCH_HOME/index/).
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from dataclasses import dataclass

from sqlalchemy import select

from matcher import parse_address
from matcher.figures import LIVE_BIRTHS, population_share
from store.matching import watchlist_version
from store.models import WatchlistPerson
from store.private_files import private_text
from store.runtime import Store
from store.sealed import PERSON_PII

UNKNOWN = ""  # a prefecture or year the record does not give


@dataclass(frozen=True)
class Composition:
    counts: dict[str, dict[str, int]]  # prefecture -> year of birth (text) -> persons

    def share(self, prefecture: str, year: int | None) -> float:
        """The watchlist's share of the people of that prefecture born that year (of every
        year the figures cover when None; of the whole country when the prefecture is
        unknown), at most 1."""
        years = [year] if year is not None and year in LIVE_BIRTHS else list(LIVE_BIRTHS)
        born = sum(LIVE_BIRTHS[y] for y in years)
        places = [prefecture] if population_share(prefecture) else list(self.counts)
        population = born * sum(population_share(p) for p in places) if places else 0.0
        listed = sum(self.counts.get(p, {}).get(str(y), 0) for p in places for y in years)
        return min(1.0, listed / population) if population else 0.0


_CACHE: dict[str, Composition] = {}
_LOCK = threading.Lock()


def watchlist_composition(store: Store) -> Composition:
    version = watchlist_version(store)
    with _LOCK:
        if version in _CACHE:
            return _CACHE[version]
        path = store.settings.home / "index" / f"composition-{version}.json"
        if path.exists():
            found = Composition(json.loads(path.read_text(encoding="utf-8")))
        else:
            found = _count(store)
            path.parent.mkdir(parents=True, exist_ok=True)
            with private_text(path) as handle:
                json.dump(found.counts, handle, ensure_ascii=False)
        _CACHE[version] = found
        return found


def _count(store: Store) -> Composition:
    counts: dict[str, Counter[str]] = {}
    query = select(WatchlistPerson.pii).where(WatchlistPerson.erased_at.is_(None))
    with store.sessions() as s:
        for blob in s.scalars(query.execution_options(yield_per=5000)):
            person = store.vault.open_json(blob, PERSON_PII)
            address = str(person.get("address", ""))
            prefecture = parse_address(address).pref if address else UNKNOWN
            year = str(person.get("birthdate", ""))[:4]
            place = counts.setdefault(prefecture or UNKNOWN, Counter())
            place[year if year.isdigit() else UNKNOWN] += 1
    return Composition({p: dict(c) for p, c in counts.items()})
