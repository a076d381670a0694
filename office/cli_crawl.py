"""Crawl commands: `leakwatch source add|list`, `crawl NAME`, `rows export`, `evidence verify`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table
from sqlalchemy import func, select

from office.console import cli_actor, console, fail

source_app = typer.Typer(help="Sites and file locations to watch.", no_args_is_help=True)
rows_app = typer.Typer(help="Listing rows found by crawls.", no_args_is_help=True)
evidence_app = typer.Typer(help="Crawl evidence (WARC files).", no_args_is_help=True)


def _store() -> Any:
    from store.runtime import Store
    from store.settings import load_settings

    return Store.open(load_settings())


@source_app.command("add")
def source_add(
    name: Annotated[str, typer.Argument(help="A short unique name for the source.")],
    urls: Annotated[
        list[str],
        typer.Argument(help="Start URL(s), without user:password@ (see --login-url)."),
    ],
    schedule: Annotated[str | None, typer.Option(help="Cron expression for the scheduler.")] = None,
    allowed_domain: Annotated[
        list[str] | None, typer.Option(help="Domains the crawl may follow (default: start hosts).")
    ] = None,
    depth: Annotated[int, typer.Option(min=0, max=20, help="Link depth from a start URL.")] = 6,
    page_limit: Annotated[int | None, typer.Option(min=1, help="Pages per crawl at most.")] = None,
    max_bytes: Annotated[
        int | None, typer.Option(min=1024, help="Cut responses at this size (recorded).")
    ] = None,
    local: Annotated[
        bool,
        typer.Option(help="Allow the start hosts on private/loopback addresses (tests, demo)."),
    ] = False,
    ignore_robots_reason: Annotated[
        str | None, typer.Option(help="Crawl despite robots.txt; the reason is audited.")
    ] = None,
    javascript: Annotated[
        bool, typer.Option(help="Render JavaScript (not available yet).")
    ] = False,
    business_id: Annotated[int | None, typer.Option(help="The business operating it.")] = None,
    login_url: Annotated[str | None, typer.Option(help="Login form page.")] = None,
    login_user_env: Annotated[
        str | None, typer.Option(help="Environment variable holding the login name.")
    ] = None,
    login_password_env: Annotated[
        str | None, typer.Option(help="Environment variable holding the password.")
    ] = None,
    column_map: Annotated[
        str | None, typer.Option(help='Header overrides as JSON, e.g. {"顧客名": "name"}.')
    ] = None,
    selectors: Annotated[
        str | None,
        typer.Option(
            help="CSS override as JSON where the generic extraction fails, e.g. "
            '{"record": "div.person", "fields": {"name": ".nm", "phone": ".tel"}}.'
        ),
    ] = None,
) -> None:
    """Register a source to watch (options are stored; secrets never are)."""
    from crawler.fields import LISTING_COLUMNS
    from crawler.launch import CrawlError, add_source

    options: dict[str, Any] = {"depth": depth}
    if allowed_domain:
        options["allowed_domains"] = allowed_domain
    if page_limit:
        options["page_limit"] = page_limit
    if max_bytes:
        options["max_response_bytes"] = max_bytes
    if javascript:
        options["javascript"] = True
    if login_url:
        if not (login_user_env and login_password_env):
            raise fail("--login-url needs --login-user-env and --login-password-env")
        options["login"] = {
            "url": login_url, "username_env": login_user_env, "password_env": login_password_env,
        }  # fmt: skip
    if column_map:
        try:
            cmap = json.loads(column_map)
        except json.JSONDecodeError as exc:
            raise fail(f"--column-map is not JSON: {exc}") from None
        if not isinstance(cmap, dict) or not set(cmap.values()) <= set(LISTING_COLUMNS):
            raise fail(f"--column-map values must be among {', '.join(LISTING_COLUMNS)}")
        options["column_map"] = cmap
    if selectors:
        try:
            options["selectors"] = json.loads(selectors)
        except json.JSONDecodeError as exc:
            raise fail(f"--selectors is not JSON: {exc}") from None
    store = _store()
    try:
        sid = add_source(
            store, name, urls, actor=cli_actor(), schedule=schedule, options=options,
            is_local=local, robots_override_reason=ignore_robots_reason, business_id=business_id,
        )  # fmt: skip
    except CrawlError as exc:
        raise fail(str(exc)) from None
    finally:
        store.close()
    console.print(f"source {sid} added: {name}")


@source_app.command("list")
def source_list() -> None:
    """Sources with their last crawl and listings."""
    from crawler.display import terminal_safe
    from store.models import Crawl, Listing, Source

    store = _store()
    try:
        with store.sessions() as s:
            table = Table("id", "name", "start URLs", "local", "robots", "listings", "last crawl")
            for src in s.execute(select(Source).order_by(Source.id)).scalars():
                listings = s.scalar(
                    select(func.count()).select_from(Listing).where(Listing.source_id == src.id)
                )
                last = (
                    s.execute(
                        select(Crawl).where(Crawl.source_id == src.id).order_by(Crawl.id.desc())
                    )
                    .scalars()
                    .first()
                )
                table.add_row(
                    str(src.id),
                    terminal_safe(src.name),
                    terminal_safe(" ".join(src.start_urls), 80),
                    "yes" if src.is_local else "",
                    "overridden" if src.robots_override_reason else "obeyed",
                    str(listings),
                    f"{last.id} {last.status.value}" if last else "never",
                )
            console.print(table)
    finally:
        store.close()


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
    from crawler.display import strip_controls, terminal_safe
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
                f"crawl {exc.crawl_id}: {strip_controls(exc.reason)[:500]} "
                f"(log {exc.log_path})",
                code=130,
            ) from None
    finally:
        store.close()
    s = result.summary
    if result.returncode != 0 or "error" in s:
        why = strip_controls(str(s.get("error") or "see the log"))[:500]
        raise fail(f"crawl {result.crawl_id} failed: {why} (log {result.log_path})")
    console.print(
        f"crawl {result.crawl_id}: {s['pages']} pages, {s['bytes']:,} bytes, "
        f"{s['records']} records in {s['seconds']} s ({s['pages_per_s']} pages/s)"
    )
    console.print(
        f"listings: {s.get('listings_seen', 0)} seen, {s.get('listings_new', 0)} new, "
        f"shrunk {s.get('listings_shrunk', [])}, removed {s.get('listings_removed', [])}; "
        f"rows: {s.get('rows_new', 0)} new, {s.get('rows_again', 0)} again, "
        f"{s.get('rows_gone', 0)} gone"
    )
    if not s.get("complete"):
        console.print(f"[yellow]incomplete crawl ({s['finish_reason']}): removals not checked[/]")
    for t in s.get("truncated", []):
        console.print(f"cut: {terminal_safe(t['url'])}: {terminal_safe(t['reason'])}")
    for r in s.get("refused", []):
        console.print(f"refused: {terminal_safe(r['url'])}: {terminal_safe(r['reason'])}")
    for n in s.get("not_fetched", []):
        console.print(f"not fetched: {terminal_safe(n['url'])}: {terminal_safe(n['reason'])}")
    if s.get("over_page_limit"):
        console.print(f"page limit reached: {s['over_page_limit']} request(s) not sent")
    if s.get("robots_forbidden"):
        console.print(f"robots.txt: {s['robots_forbidden']} URL(s) not fetched")
    m = s.get("matching", {})
    console.print(f"matching: {terminal_safe(str(m.get('status', '')))}")
    console.print(f"evidence: {terminal_safe(str(s.get('warc_path', '')), 300)}")


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
    from crawler.evidence import verify

    store = _store()
    try:
        with store.sessions() as s:
            report = verify(s, crawl)
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
