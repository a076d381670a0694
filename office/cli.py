"""The `leakwatch` command line: set-up, watchlist import, key rotation, audit, synthetic data."""

from __future__ import annotations

import importlib
import signal
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from typer._click.exceptions import ClickException
from typer.core import TyperGroup

from office.console import (
    ExitPlan,
    byte_progress,
    cli_actor,
    console,
    err_console,
    exit_for,
    fail,
)

if TYPE_CHECKING:
    from typer._click import Command, Context  # typer vendors click: its types live there

    from store.runtime import Store
    from store.settings import Settings
    from store.watchlist_import import ImportResult

# Commands registered by other modules, imported only when one of them runs or the command
# list is shown: `leakwatch match` then starts without SQLAlchemy, Alembic, Scrapy and the
# synthetic-data generator (a second of start-up, as long as the index build's parallel part).
INTERRUPTED = 130  # 128 + SIGINT, as shells report it
_LAZY = {"crawl": "cli_crawl", "source": "cli_crawl", "rows": "cli_crawl",
         "evidence": "cli_crawl", "match": "cli_match", "native": "cli_match",
         "synth": "cli_synth", "review": "cli_model", "model": "cli_model"}  # fmt: skip
# The order `--help` lists them in, as when every module was imported up front.
_HELP_ORDER = ("crawl", "match", "init", "import-watchlist", "codes", "rotate-key", "config",
               "demo", "audit", "synth", "source", "rows", "evidence", "review", "model",
               "native")  # fmt: skip


def _register(module: str, sub: typer.Typer) -> None:
    mod = importlib.import_module(f"office.{module}")
    if module == "cli_synth":
        sub.add_typer(mod.app, name="synth")
    else:
        mod.register(sub)


class _LazyGroup(TyperGroup):
    """The root command group; commands of ``_LAZY`` join it on first use."""

    def _load(self, module: str) -> None:
        sub = typer.Typer()
        _register(module, sub)
        sub.callback()(lambda: None)  # a group even when the module adds one command
        for name, cmd in typer.main.get_group(sub).commands.items():
            self.commands.setdefault(name, cmd)

    def get_command(self, ctx: Context, cmd_name: str) -> Command | None:
        module = _LAZY.get(cmd_name)
        if cmd_name not in self.commands and module is not None:
            self._load(module)
        return super().get_command(ctx, cmd_name)

    def invoke(self, ctx: Context) -> object:
        """Every command's errors end the same way: one line, a non-zero exit (see
        ``office.console.exit_for``); Ctrl-C and SIGTERM end with status 130."""
        try:
            return super().invoke(ctx)
        except (ClickException, typer.Exit, typer.Abort):
            raise
        except KeyboardInterrupt:
            err_console.print("interrupted")
            raise typer.Exit(INTERRUPTED) from None
        except Exception as exc:
            raise exit_for(exc) from None

    def list_commands(self, ctx: Context) -> list[str]:
        for module in dict.fromkeys(_LAZY.values()):
            self._load(module)
        known = set(self.commands)
        return [n for n in _HELP_ORDER if n in known] + sorted(known - set(_HELP_ORDER))


app = typer.Typer(
    help="LeakWatch: find leaked customer records in the wild, prove it, and get them taken down.",
    no_args_is_help=True,
    add_completion=False,
    cls=_LazyGroup,
)
audit_app = typer.Typer(help="The hash-chained audit log.", no_args_is_help=True)
app.add_typer(audit_app, name="audit")


def _open_store() -> Store:
    """The configured store; warns about its files that others may read."""
    from store.runtime import Store
    from store.settings import load_settings

    store = Store.open(load_settings())
    for line in store.mode_warnings():
        err_console.print(f"[yellow]warning:[/] {escape(line)}")
    return store


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

    store = _open_store()
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
def audit_verify() -> None:
    """Re-hash the whole audit chain; name the first edited, deleted, inserted or moved event."""
    from store import audit

    store = _open_store()
    try:
        with store.sessions() as session:
            report = audit.verify(session)
    finally:
        store.close()
    if report.ok:
        console.print(f"audit chain intact: {report.events:,} events, head {report.head_hash}")
        return
    raise fail(f"audit chain broken at event {report.first_bad_seq}: {report.problem}", code=1)


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

    store = _open_store()
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


codes_app = typer.Typer(
    help="Registration codes and login keys for the customers' letters.", no_args_is_help=True
)
app.add_typer(codes_app, name="codes")


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
    store = _open_store()
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

    store = _open_store()
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
def demo() -> None:
    """Show LeakWatch working on synthetic data: init, import a watchlist, match a broker file,
    crawl the local fixture broker web, and print the evidence behind a match.
    """
    from office.demo import run_demo
    from store.settings import load_settings

    init()
    run_demo(load_settings())


def main() -> None:
    """The console script: every error ends in one clear line, never a traceback."""
    ExitPlan.console_script = True
    # SIGTERM (a service manager, `kill`) stops work the way Ctrl-C does: recorded, resumable.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        app()
    except KeyboardInterrupt:  # between the command's end and the exit
        raise SystemExit(INTERRUPTED) from None
    finally:
        # The command is over: a late Ctrl-C must not turn finished work into a crash at exit.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
