"""Crawl commands: `leakwatch source add|list`, `crawl NAME`, `rows export`, `evidence verify`.

Each command parses its options, calls one typed action in ``crawler`` (``crawler.sources``,
``crawler.launch``, ``crawler.export``, ``crawler.evidence``) and prints what it returns: the
checks and the work are there, shared with the web app and the scheduler.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from rich.table import Table

from crawler.options import DEFAULT_DEPTH
from office.console import cli_actor, console, fail

if TYPE_CHECKING:
    from crawler.launch import CrawlResult
    from store.runtime import Store

T = TypeVar("T")
source_app = typer.Typer(help="Sites and file locations to watch.", no_args_is_help=True)
rows_app = typer.Typer(help="Listing rows found by crawls.", no_args_is_help=True)
evidence_app = typer.Typer(help="Crawl evidence (WARC files).", no_args_is_help=True)


def _store() -> Store:
    from store.runtime import Store
    from store.settings import load_settings

    return Store.open(load_settings())


# `source add`'s arguments and flags; each flag fills the SourceOptions field of its name
_Name = Annotated[str, typer.Argument(help="A short unique name for the source.")]
_Urls = Annotated[
    list[str], typer.Argument(help="Start URL(s), without user:password@ (see --login-url).")
]
_Schedule = Annotated[str | None, typer.Option(help="Cron expression for the scheduler.")]
_AllowedDomain = Annotated[
    list[str] | None, typer.Option(help="Domains the crawl may follow (default: start hosts).")
]
_Depth = Annotated[int, typer.Option(min=0, max=20, help="Link depth from a start URL.")]
_PageLimit = Annotated[int | None, typer.Option(min=1, help="Pages per crawl at most.")]
_MaxBytes = Annotated[
    int | None, typer.Option(min=1024, help="Cut responses at this size (recorded).")
]
_Local = Annotated[
    bool, typer.Option(help="Allow the start hosts on private/loopback addresses (tests, demo).")
]
_IgnoreRobotsReason = Annotated[
    str | None, typer.Option(help="Crawl despite robots.txt; the reason is audited.")
]
_Javascript = Annotated[
    bool,
    typer.Option(
        help="Render pages in headless Chromium (Debian's chromium), in a sandboxed context "
        "whose every request passes the crawl's address guard; script-only pagers are clicked."
    ),
]
_BusinessId = Annotated[int | None, typer.Option(help="The business operating it.")]
_LoginUrl = Annotated[str | None, typer.Option(help="Login form page.")]
_LoginUserEnv = Annotated[
    str | None, typer.Option(help="Environment variable holding the login name.")
]
_LoginPasswordEnv = Annotated[
    str | None, typer.Option(help="Environment variable holding the password.")
]
_ColumnMap = Annotated[
    str | None, typer.Option(help='Header overrides as JSON, e.g. {"顧客名": "name"}.')
]
_Selectors = Annotated[
    str | None,
    typer.Option(
        help="CSS override as JSON where the generic extraction fails, e.g. "
        '{"record": "div.person", "fields": {"name": ".nm", "phone": ".tel"}}.'
    ),
]


@source_app.command("add")
def source_add(
    name: _Name,
    urls: _Urls,
    schedule: _Schedule = None,
    allowed_domain: _AllowedDomain = None,
    depth: _Depth = DEFAULT_DEPTH,
    page_limit: _PageLimit = None,
    max_bytes: _MaxBytes = None,
    local: _Local = False,
    ignore_robots_reason: _IgnoreRobotsReason = None,
    javascript: _Javascript = False,
    business_id: _BusinessId = None,
    login_url: _LoginUrl = None,
    login_user_env: _LoginUserEnv = None,
    login_password_env: _LoginPasswordEnv = None,
    column_map: _ColumnMap = None,
    selectors: _Selectors = None,
) -> None:
    """Register a source to watch (options are stored; secrets never are)."""
    from crawler.sources import add_source

    # None: not given (crawler.options.SourceOptions checks the values and stores the given)
    options: dict[str, Any] = {
        "depth": depth,
        "allowed_domains": allowed_domain or None,
        "page_limit": page_limit,
        "max_response_bytes": max_bytes,
        "javascript": javascript or None,
        "login": _login(login_url, login_user_env, login_password_env),
        "column_map": _json_flag("--column-map", column_map),
        "selectors": _json_flag("--selectors", selectors),
    }
    sid = _act(
        lambda store: add_source(
            store,
            name,
            urls,
            actor=cli_actor(),
            schedule=schedule,
            options=options,
            is_local=local,
            robots_override_reason=ignore_robots_reason,
            business_id=business_id,
        )
    )
    console.print(f"source {sid} added: {name}")


def _login(
    url: str | None, user_env: str | None, password_env: str | None
) -> dict[str, str] | None:
    if not url:
        return None
    if not (user_env and password_env):
        raise fail("--login-url needs --login-user-env and --login-password-env")
    return {"url": url, "username_env": user_env, "password_env": password_env}


def _json_flag(flag: str, value: str | None) -> Any:
    if value is None or value == "":
        return None  # an empty flag was never stored
    try:
        return json.loads(value)
    except json.JSONDecodeError as exc:
        raise fail(f"{flag} is not JSON: {exc}") from None


def _act(action: Callable[[Store], T]) -> T:
    """``action(store)`` on the configured store; a refusal (CrawlError) is the CLI's error."""
    from crawler.checks import CrawlError

    store = _store()
    try:
        return action(store)
    except CrawlError as exc:
        raise fail(str(exc)) from None
    finally:
        store.close()


@source_app.command("list")
def source_list() -> None:
    """Sources with their last crawl and listings."""
    from crawler.display import terminal_safe
    from crawler.sources import list_sources

    store = _store()
    try:
        sources = list_sources(store)
    finally:
        store.close()
    table = Table("id", "name", "start URLs", "local", "robots", "listings", "last crawl")
    for src in sources:
        table.add_row(
            str(src.id),
            terminal_safe(src.name),
            terminal_safe(" ".join(src.start_urls), 80),
            "yes" if src.is_local else "",
            "overridden" if src.robots_overridden else "obeyed",
            str(src.listings),
            f"{src.last_crawl_id} {src.last_crawl_status}" if src.last_crawl_id else "never",
        )
    console.print(table)


def crawl_cmd(
    name: Annotated[str, typer.Argument(help="Source name.")],
    timeout: Annotated[
        float | None, typer.Option(help="Stop the crawl after this many s (it then fails).")
    ] = None,
) -> None:
    """Crawl a source now (one scrapy subprocess), store rows and evidence, match new rows.

    Exits 2 when the crawl failed (nothing of the site could be fetched, it could not start,
    timed out or died) and 130 when interrupted with Ctrl-C, naming the reason and the log.
    """
    from crawler.display import strip_controls
    from crawler.launch import CrawlError, CrawlInterrupted, run_crawl

    store = _store()
    try:
        try:
            result = run_crawl(store, name, actor=cli_actor(), timeout=timeout)
        except CrawlError as exc:
            raise fail(strip_controls(str(exc))[:500]) from None
        except CrawlInterrupted as exc:
            # 130: what a shell reports for a command ended by Ctrl-C
            raise fail(
                f"crawl {exc.crawl_id}: {strip_controls(exc.reason)[:500]} (log {exc.log_path})",
                code=130,
            ) from None
    finally:
        store.close()
    if result.returncode != 0 or result.summary.error is not None:
        why = strip_controls(result.summary.error or "see the log")[:500]
        raise fail(f"crawl {result.crawl_id} failed: {why} (log {result.log_path})")
    _print_crawl(result)


def _print_crawl(result: CrawlResult) -> None:
    """What a crawl found and what it could not see (counts, URLs and reasons only)."""
    from crawler.display import terminal_safe

    s = result.summary
    console.print(
        f"crawl {result.crawl_id}: {s.pages} pages, {s.bytes:,} bytes, "
        f"{s.records} records in {s.seconds} s ({s.pages_per_s} pages/s)"
    )
    console.print(
        f"listings: {s.listings_seen or 0} seen, {s.listings_new or 0} new, "
        f"shrunk {s.listings_shrunk or []}, removed {s.listings_removed or []}; "
        f"rows: {s.rows_new or 0} new, {s.rows_again or 0} again, {s.rows_gone or 0} gone"
    )
    if not s.complete:
        console.print(f"[yellow]incomplete crawl ({s.finish_reason}): removals not checked[/]")
    for label, incidents in (("cut", s.truncated), ("refused", s.refused),
                             ("not fetched", s.not_fetched)):  # fmt: skip
        for i in incidents:
            console.print(f"{label}: {terminal_safe(i['url'])}: {terminal_safe(i['reason'])}")
    if s.over_page_limit:
        console.print(f"page limit reached: {s.over_page_limit} request(s) not sent")
    if s.robots_forbidden:
        console.print(f"robots.txt: {s.robots_forbidden} URL(s) not fetched")
    if s.readers:
        readers = ", ".join(f"{k} {v}" for k, v in sorted(s.readers.items()))
        console.print(f"read by: {terminal_safe(readers)}")
    if s.rendered or s.render_errors:
        console.print(f"rendered in the browser: {s.rendered} page state(s)")
    for i in s.render_errors:
        console.print(f"not rendered: {terminal_safe(i['url'])}: {terminal_safe(i['reason'])}")
    by = (s.matching.result or {}).get("matcher") if s.matching else None
    status = (s.matching.status if s.matching else "") + (f" (by {by})" if by else "")
    console.print(f"matching: {terminal_safe(status)}")
    console.print(f"evidence: {terminal_safe(s.warc_path or '', 300)}")


@rows_app.command("export")
def rows_export(
    source: Annotated[str, typer.Option(help="Source name.")],
    out: Annotated[Path, typer.Option(help="CSV to write (listing contract, mode 0600).")],
    include_gone: Annotated[bool, typer.Option(help="Also rows no longer published.")] = False,
) -> None:
    """Write a source's rows as a listing CSV (input of `leakwatch match`); audited."""
    from crawler.export import ExportError, export_rows

    store = _store()
    try:
        n = export_rows(store, source, out, actor=cli_actor(), include_gone=include_gone)
    except ExportError as exc:
        raise fail(str(exc)) from None
    finally:
        store.close()
    console.print(f"{n} rows written to {out} (mode 0600)")


@evidence_app.command("verify")
def evidence_verify(
    crawl: Annotated[list[int] | None, typer.Option(help="Only these crawl ids.")] = None,
) -> None:
    """Re-read every captured response from its WARC file and re-hash it (SHA-256)."""
    from crawler.display import terminal_safe
    from crawler.evidence import verify_evidence

    store = _store()
    try:
        report = verify_evidence(store, crawl)
    finally:
        store.close()
    if report.ok:
        console.print(f"evidence intact: {report.checked} captures re-hashed, all match")
        return
    for p in report.problems[:50]:
        console.print(f"[red]capture {p.capture_id}[/] {terminal_safe(p.url)}: {p.problem}")
    raise fail(f"{len(report.problems)} of {report.checked} captures fail verification", code=1)


def register(app: typer.Typer) -> None:
    """Add the crawl commands to the `leakwatch` app."""
    app.add_typer(source_app, name="source")
    app.command("crawl")(crawl_cmd)
    app.add_typer(rows_app, name="rows")
    app.add_typer(evidence_app, name="evidence")
