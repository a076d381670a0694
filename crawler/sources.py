"""Sources to watch: register one, point it at new start URLs, list them — each an audited,
typed action that the CLI, the web app and the scheduler call alike (they only show results).

A source's name, start URLs and options are checked here (``crawler.checks``,
``crawler.options``) before anything is stored: no credentials in URLs, no unknown option, a
robots.txt override only with a reason.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from crawler.checks import CrawlError, check_name, check_start_urls
from crawler.options import SourceOptions
from store import audit
from store.models import Crawl, Listing, Source
from store.runtime import Store


def add_source(
    store: Store,
    name: str,
    start_urls: list[str],
    *,
    actor: str,
    schedule: str | None = None,
    options: SourceOptions | Mapping[str, Any] | None = None,
    is_local: bool = False,
    robots_override_reason: str | None = None,
    business_id: int | None = None,
) -> int:
    """Register a source to watch; refuses bad names and URLs, unknown options and secrets."""
    check_name(name)
    opts = SourceOptions.parse(options)
    check_start_urls(start_urls)
    if robots_override_reason is not None and not robots_override_reason.strip():
        raise CrawlError("overriding robots.txt needs a reason")
    with store.sessions.begin() as s:
        if s.execute(select(Source.id).where(Source.name == name)).first():
            raise CrawlError(f"a source named {name!r} exists")
        src = Source(
            name=name, start_urls=start_urls, schedule=schedule, options=opts.stored(),
            is_local=is_local, robots_override_reason=robots_override_reason,
            business_id=business_id,
        )  # fmt: skip
        s.add(src)
        s.flush()
        audit.record(
            s, actor, "source.added", object_type="source", object_id=src.id,
            reason=robots_override_reason,
            details={"name": name, "urls": len(start_urls), "local": is_local,
                     "robots_overridden": robots_override_reason is not None},
        )  # fmt: skip
        return src.id


def set_start_urls(store: Store, name: str, start_urls: list[str], *, actor: str) -> bool:
    """Point a source at new start URLs (the site moved host or port); audited.

    Listings found on the first start URL's host are keyed without it
    (``crawler.spiders.generic.listing_key``), so they are recognised at the new address.
    Returns whether anything changed.
    """
    check_start_urls(start_urls)
    with store.sessions.begin() as s:
        src = find_source(s, name)
        if list(src.start_urls) == start_urls:
            return False
        before = len(src.start_urls)
        src.start_urls = list(start_urls)
        audit.record(
            s, actor, "source.urls_changed", object_type="source", object_id=src.id,
            details={"urls_before": before, "urls": len(start_urls)},
        )  # fmt: skip
        return True


def find_source(session: Session, name: str) -> Source:
    """The source called ``name``; :class:`CrawlError` pointing to the list if there is none."""
    src = session.execute(select(Source).where(Source.name == name)).scalar_one_or_none()
    if src is None:
        raise CrawlError(f"no source named {name!r} (see leakwatch source list)")
    return src


@dataclass(frozen=True, slots=True)
class SourceSummary:
    """One line of ``leakwatch source list``: a source with its listings and last crawl."""

    id: int
    name: str
    start_urls: list[str]
    is_local: bool
    robots_overridden: bool
    listings: int
    last_crawl_id: int | None  # None: never crawled
    last_crawl_status: str | None


def list_sources(store: Store) -> list[SourceSummary]:
    """Every source, oldest first, with its listing count and its last crawl: one query."""
    listings = (
        select(Listing.source_id, func.count().label("n")).group_by(Listing.source_id).subquery()
    )
    last = (
        select(Crawl.source_id, func.max(Crawl.id).label("crawl_id"))
        .group_by(Crawl.source_id)
        .subquery()
    )
    q = (
        select(
            Source.id,
            Source.name,
            Source.start_urls,
            Source.is_local,
            Source.robots_override_reason,
            func.coalesce(listings.c.n, 0),
            Crawl.id,
            Crawl.status,
        )
        .outerjoin(listings, listings.c.source_id == Source.id)
        .outerjoin(last, last.c.source_id == Source.id)
        .outerjoin(Crawl, Crawl.id == last.c.crawl_id)
        .order_by(Source.id)
    )
    with store.sessions() as s:
        return [
            SourceSummary(
                id=sid,
                name=name,
                start_urls=list(urls),
                is_local=local,
                robots_overridden=bool(robots),
                listings=int(n),
                last_crawl_id=crawl_id,
                last_crawl_status=status.value if status is not None else None,
            )
            for sid, name, urls, local, robots, n, crawl_id, status in s.execute(q)
        ]


def set_schedule(store: Store, name: str, schedule: str | None, *, actor: str) -> None:
    """When the scheduler crawls the source: a cron expression (minute hour day month
    weekday), or None for by hand only; audited."""
    if schedule is not None and len(schedule.split()) != 5:
        raise CrawlError("a schedule is a cron expression of five fields, e.g. '0 3 * * 1'")
    with store.sessions.begin() as s:
        src = find_source(s, name)
        src.schedule = schedule
        audit.record(s, actor, "source.scheduled", object_type="source", object_id=src.id,
                     details={"schedule": schedule})  # fmt: skip


@dataclass(frozen=True, slots=True)
class CrawlLine:
    """One crawl of a source, as its history shows it."""

    id: int
    status: str
    started_at: datetime | None
    finished_at: datetime | None
    pages: int
    error: str | None


def crawl_history(store: Store, name: str, limit: int = 50) -> list[CrawlLine]:
    """The source's crawls, newest first."""
    with store.sessions() as s:
        src = find_source(s, name)
        crawls = s.scalars(select(Crawl).where(Crawl.source_id == src.id)
                           .order_by(Crawl.id.desc()).limit(limit))  # fmt: skip
        return [CrawlLine(c.id, c.status.value, c.started_at, c.finished_at, c.pages, c.error)
                for c in crawls]  # fmt: skip
