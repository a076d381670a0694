"""Sources to watch: the list with each source's last crawl, adding one, its schedule, a
crawl started now (in the background), and its crawl history."""

from __future__ import annotations

import logging
import threading
from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from casework.permissions import Action
from crawler.checks import CrawlError
from crawler.launch import run_crawl
from crawler.sources import add_source, crawl_history, list_sources, set_schedule
from office.web.deps import CsrfDep, StoreDep, caller_of, permission
from office.web.pages import render
from store.runtime import Store

router = APIRouter(prefix="/work/sources", include_in_schema=False)
SOURCES = permission(Action.MANAGE_SOURCES)
Text = Annotated[str, Form()]
log = logging.getLogger("leakwatch.web")


def _page(request: Request, store: StoreDep, status: int = 200, **extra: object) -> Response:
    context: dict[str, object] = {"sources": list_sources(store), "error": "", "form": {},
                                  "message": ""}  # fmt: skip
    return render(request, caller_of(request), "work_sources.html", status, **(context | extra))


@router.get("", dependencies=[SOURCES])
def sources(request: Request, store: StoreDep) -> Response:
    return _page(request, store)


@router.post("", dependencies=[SOURCES, CsrfDep])
def add(request: Request, store: StoreDep, name: Text = "", url: Text = "", schedule: Text = ""
        ) -> Response:  # fmt: skip
    try:
        add_source(store, name.strip(), [url.strip()], actor=caller_of(request).principal
                   .audit_name, schedule=schedule.strip() or None)  # fmt: skip
    except CrawlError as exc:
        return _page(request, store, 422, error=str(exc), form={"name": name, "url": url})
    return RedirectResponse("/work/sources", status_code=303)


@router.post("/{name}/schedule", dependencies=[SOURCES, CsrfDep])
def schedule(request: Request, store: StoreDep, name: str, cron: Text = "") -> Response:
    try:
        set_schedule(store, name, cron.strip() or None, actor=caller_of(request).principal
                     .audit_name)  # fmt: skip
    except CrawlError as exc:
        return _page(request, store, 422, error=str(exc))
    return RedirectResponse("/work/sources", status_code=303)


@router.post("/{name}/run", dependencies=[SOURCES, CsrfDep])
def run_now(request: Request, store: StoreDep, name: str) -> Response:
    """Start a crawl now; it runs on in the background and shows in the history."""
    actor = caller_of(request).principal.audit_name
    if not any(s.name == name for s in list_sources(store)):
        raise HTTPException(404, "no such source")
    threading.Thread(target=_crawl, args=(store, name, actor), daemon=True).start()
    return _page(request, store, message=f"{name} の巡回を始めました。")


def _crawl(store: Store, name: str, actor: str) -> None:
    try:
        run_crawl(store, name, actor=actor)
    except Exception:  # recorded with the crawl; the page shows its status
        log.exception("crawl of a source failed to start")


@router.get("/{name}", dependencies=[SOURCES])
def history(request: Request, store: StoreDep, name: str) -> Response:
    try:
        crawls = crawl_history(store, name)
    except CrawlError:
        raise HTTPException(404, "no such source") from None
    return render(request, caller_of(request), "work_source.html", name=name, crawls=crawls)
