"""Store commands: `leakwatch init`, `import-watchlist`, `codes`, `rotate-key`, `config`,
`audit`, `demo`. Each parses its options, calls one function below office, and prints."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from office.console import (
    INTERRUPTED,
    byte_progress,
    cli_actor,
    console,
    err_console,
    fail,
    open_store,
)

if TYPE_CHECKING:
    from store.settings import Settings
    from store.watchlist_import import ImportResult

app = typer.Typer()
audit_app = typer.Typer(help="The hash-chained audit log.", no_args_is_help=True)
codes_app = typer.Typer(
    help="Registration codes and login keys for the customers' letters.", no_args_is_help=True
)


@app.command()
def init() -> None:
    """Create the data folder (0700), key file (0600) and schema if missing; check them.

    Safe to run again: an existing key is never replaced and must be the store's; a store
    that holds sealed data and has no key at hand is refused (restore the key instead).
    """
    from store.settings import load_settings
    from store.setup import initialise

    report = initialise(load_settings())
    console.print(report.key)
    console.print(f"database: {report.database}")
    for line in report.warnings:
        err_console.print(f"[yellow]warning:[/] {escape(line)}")


def _safe_url(settings: Settings) -> str:
    from sqlalchemy.engine import make_url

    return make_url(settings.db_url).render_as_string(hide_password=True)


@app.command("import-watchlist")
def import_watchlist_cmd(
    path: Annotated[Path, typer.Argument(help="Watchlist CSV (data contract columns, header).")],
    encoding: Annotated[
        str | None,
        typer.Option(help="Force an encoding (utf-8, utf-8-sig, cp932, euc_jp); default: detect."),
    ] = None,
    rejects: Annotated[
        Path | None,
        typer.Option(
            help="Where to write rejected rows with line and reason "
            "(default: PATH.rejects.csv, mode 0600)."
        ),
    ] = None,
    codes_out: Annotated[
        Path | None,
        typer.Option(
            "--codes-out",
            help="Then write every undelivered login key here, as `leakwatch codes export "
            "--out` does (a new file, mode 0600, for the letters' mail merge).",
        ),
    ] = None,
    seed: Annotated[
        bool, typer.Option("--seed", help="Mark every row of this file as a seed (decoy) record.")
    ] = False,
) -> None:
    """Import (or re-import) the leaked-customer watchlist. Re-import updates by record_id.

    Ctrl-C or a crash loses nothing committed: run the same command again to resume.
    """
    from store.watchlist_import import ImportInterrupted, import_watchlist

    store = open_store()
    try:
        size = path.stat().st_size if path.is_file() else 0
        with byte_progress(f"import {path.name}", size) as (bar, task):
            result = import_watchlist(
                store.sessions,
                store.vault,
                path,
                actor=cli_actor(),
                encoding=encoding,
                reject_path=rejects,
                codes_out=codes_out,
                seed=seed,
                batch_size=store.settings.import_batch_size,
                progress=lambda done, rows: bar.update(task, completed=done, rows=rows),
            )
    except ImportInterrupted as stop:
        done = stop.result
        err_console.print(
            f"interrupted: {done.inserted + done.updated + done.unchanged:,} rows of "
            f"{path.name} are committed; run the same command again to resume"
        )
        raise typer.Exit(INTERRUPTED) from None
    finally:
        store.close()
    _import_summary(result)


def _import_summary(result: ImportResult) -> None:
    from rich.table import Table

    table = Table(title=f"{escape(result.path.name)} ({result.encoding})", show_header=False)
    for label, value in result.counts().items():
        table.add_row(label.replace("_", " "), f"{value:,}")
    table.add_row("time", f"{result.seconds:.1f} s ({result.rows_per_second:,.0f} rows/s)")
    console.print(table)
    for line, reason in result.first_rejects[:5]:
        console.print(f"  [yellow]line {line}[/]: {escape(reason)}")
    if result.reject_path:
        console.print(f"rejected rows: {escape(str(result.reject_path))}")
    if result.codes_path:
        console.print(
            f"{result.codes_delivered:,} registration codes and login keys written to "
            f"{escape(str(result.codes_path))} (mode 0600): print the letters from it"
        )
    if result.undelivered:
        console.print(
            f"[yellow]note:[/] {result.undelivered:,} households' login keys are not delivered "
            "yet: `leakwatch codes export --out FILE` writes them for the letters"
        )


@audit_app.command("verify")
def audit_verify(
    file: Annotated[
        Path | None,
        typer.Option(
            help="Check this export (`leakwatch audit export`) instead of the "
            "database; no store, key or database needed."
        ),
    ] = None,
) -> None:
    """Re-hash the whole audit chain; name the first edited, deleted, inserted or moved event."""
    from store import audit

    if file is not None:
        report = audit.verify_export(file)
    else:
        with open_store() as store, store.sessions() as session:
            report = audit.verify(session)
    if report.ok:
        console.print(f"audit chain intact: {report.events:,} events, head {report.head_hash}")
        return
    raise fail(f"audit chain broken at event {report.first_bad_seq}: {report.problem}", code=1)


@audit_app.command("export")
def audit_export(
    out: Annotated[Path, typer.Option(help="A new file (JSON lines; never overwritten).")],
) -> None:
    """Write the audit chain with its head hash, for the auditor to keep and check anywhere
    (`leakwatch audit verify --file OUT`). Details hold no personal data."""
    from store import audit
    from store.private_files import check_output

    check_output(out, must_be_new=True)
    with open_store() as store:
        with store.sessions() as session:
            report = audit.export_chain(session, out)
        with store.sessions.begin() as session:
            audit.record(session, cli_actor(), "audit.exported", object_type="audit",
                         details={"events": report.events, "head": report.head_hash})  # fmt: skip
    console.print(f"{report.events:,} events written to {escape(str(out))}; head "
                  f"{report.head_hash} (record it elsewhere)")  # fmt: skip


@app.command("rotate-key")
def rotate_key_cmd(
    new_key_file: Annotated[
        Path | None,
        typer.Option(
            help="With LEAKWATCH_KEY set: write the new key to this file (mode 0600; a new "
            "file, or the one an interrupted rotation wrote); set LEAKWATCH_KEY to its "
            "content afterwards."
        ),
    ] = None,
) -> None:
    """Re-encrypt all personal data and re-derive blind indexes under a new key.

    Interrupted? Run it again: it finishes the same rotation. The old key is dropped only
    when nothing uses it. Saved match indexes (--save-index) must be saved again after it.
    """
    from store.rotation import RotationError, rotate_key

    store = open_store()
    if store.settings.leakwatch_key and new_key_file is None:
        store.close()
        raise fail("LEAKWATCH_KEY is set: pass --new-key-file FILE to receive the new key")
    try:
        result = rotate_key(store, actor=cli_actor(), key_out=new_key_file)
    except RotationError as exc:
        raise fail(str(exc)) from None
    finally:
        store.close()
    total = sum(result.resealed.values())
    console.print(
        f"{'finished the rotation' if result.resumed else 'rotated'} to key "
        f"{result.new_key_id}: {total:,} values re-sealed "
        f"({', '.join(f'{k} {v:,}' for k, v in result.resealed.items())})"
    )
    where = new_key_file or store.settings.key_file
    if new_key_file:
        console.print(f"now set LEAKWATCH_KEY to the content of {escape(str(new_key_file))}")
    console.print(
        f"[bold]back up the new key now[/] ({escape(str(where))}): the old one opens nothing "
        "any more. Match indexes saved with --save-index must be saved again."
    )


@codes_app.command("export")
def codes_export_cmd(
    out: Annotated[
        Path, typer.Option(help="A new file (never overwritten; mode 0600) for the mail merge.")
    ],
) -> None:
    """Write every undelivered login key (with its household and registration code) to OUT,
    durably, and only then forget the keys (their hashes stay for sign-in)."""
    from store.codes_delivery import export_codes
    from store.private_files import check_output
    from store.writer_lock import writer_lock

    check_output(out, must_be_new=True)
    store = open_store()
    try:
        with writer_lock(store.engine):
            done = export_codes(store.sessions, store.vault, out, actor=cli_actor())
    finally:
        store.close()
    if done.path is None:
        console.print("no undelivered login keys: nothing written")
    else:
        console.print(f"{done.delivered:,} login keys written to {escape(str(out))} (mode 0600)")


@codes_app.command("status")
def codes_status_cmd() -> None:
    """How many households' login keys wait for a codes export."""
    from store.codes_delivery import undelivered

    store = open_store()
    try:
        with store.sessions() as session:
            pending = undelivered(session)
    finally:
        store.close()
    console.print(f"{pending:,} login keys not delivered yet")


@app.command("config")
def config_cmd() -> None:
    """Show every setting, its current value (secrets hidden) and what it does."""
    from rich.table import Table

    from store.settings import Settings, load_settings

    settings = load_settings()
    # Unset settings with a derived default show what is really used.
    effective = {
        "leakwatch_home": str(settings.home),
        "database_url": _safe_url(settings),
        "leakwatch_key_file": str(settings.key_file),
        "xdg_cache_home": str(settings.cache_folder.parent),
    }
    table = Table("environment variable", "meaning")
    table.add_column("value", overflow="fold")
    for name, info in Settings.model_fields.items():
        value = getattr(settings, name)
        if info.repr is False:
            shown = "(hidden)" if value else "(unset)"
        else:
            shown = effective.get(name, str(value))
        table.add_row(name.upper(), info.description or "", shown)
    console.print(table)


@app.command()
def demo(
    serve: Annotated[bool, typer.Option(help="Then run the web app until Ctrl-C.")] = True,
    port: Annotated[
        int, typer.Option(min=1, max=65535, help="The web app's port (a free one if taken).")
    ] = 8000,
) -> None:
    """Show LeakWatch working on synthetic data: init, import a watchlist, match a broker file,
    crawl the local fixture broker web, print the evidence behind a match; then prepare the
    web app's demo (accounts, findings, reports) and run it, with the scheduler beside it.
    """
    from office.cli_web import free_port, run_server
    from office.demo import run_demo, scheduler_beside
    from store.settings import load_settings

    init()
    port = free_port("127.0.0.1", port)
    run_demo(load_settings(), f"http://127.0.0.1:{port}/")
    if serve:
        with scheduler_beside():  # Ctrl-C stops the web app, then the scheduler
            run_server("127.0.0.1", port)


def register(root: typer.Typer) -> None:
    """Add the store commands to the `leakwatch` app."""
    root.registered_commands += app.registered_commands
    root.add_typer(audit_app, name="audit")
    root.add_typer(codes_app, name="codes")
