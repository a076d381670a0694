"""The `leakwatch` command line: set-up, watchlist import, key rotation, audit, synthetic data."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from typer.core import TyperGroup

from office.console import ExitPlan, byte_progress, cli_actor, console, fail

if TYPE_CHECKING:
    from typer._click import Command, Context  # typer vendors click: its types live there

    from store.runtime import Store
    from store.settings import Settings

# Commands registered by other modules, imported only when one of them runs or the command
# list is shown: `leakwatch match` then starts without SQLAlchemy, Alembic, Scrapy and the
# synthetic-data generator (a second of start-up, as long as the index build's parallel part).
_LAZY = {"crawl": "cli_crawl", "source": "cli_crawl", "rows": "cli_crawl",
         "evidence": "cli_crawl", "match": "cli_match", "native": "cli_match",
         "synth": "cli_synth", "review": "cli_model", "model": "cli_model"}  # fmt: skip
# The order `--help` lists them in, as when every module was imported up front.
_HELP_ORDER = ("crawl", "match", "init", "import-watchlist", "rotate-key", "config", "demo",
               "audit", "synth", "source", "rows", "evidence", "review", "model",
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
    from store.runtime import Store
    from store.settings import load_settings

    return Store.open(load_settings())


@app.command()
def init() -> None:
    """Create the data folder and key file (mode 0600) if missing, and migrate the database.

    Safe to run again: an existing key is never replaced, the schema is only upgraded.
    """
    from store.db import upgrade
    from store.keyring import KeyRing, MasterKey, write_key_file
    from store.settings import load_settings

    settings = load_settings()
    settings.home.mkdir(parents=True, exist_ok=True)
    if settings.leakwatch_key:
        KeyRing.from_text(settings.leakwatch_key)  # fail early on a malformed key
        console.print("key: from LEAKWATCH_KEY")
    elif settings.key_file.exists():
        console.print(f"key: {settings.key_file} (kept)")
    else:
        write_key_file(settings.key_file, KeyRing((MasterKey.generate(),)))
        console.print(f"key: created {settings.key_file} (mode 0600) — back it up safely")
    upgrade(settings.db_url)
    console.print(f"database: {_safe_url(settings)} at the latest schema")


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
            help="Write each NEW household's registration code and login key here (mode 0600) "
            "for the mail merge. Keys are shown only once: without this option they are lost.",
        ),
    ] = None,
    seed: Annotated[
        bool, typer.Option("--seed", help="Mark every row of this file as a seed (decoy) record.")
    ] = False,
) -> None:
    """Import (or re-import) the leaked-customer watchlist. Re-import updates by record_id."""
    from rich.table import Table

    from store.csv_input import InputError
    from store.keyring import KeyError_
    from store.watchlist_import import import_watchlist

    store = _open_store()
    try:
        size = path.stat().st_size if path.exists() else 0
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
    except (InputError, KeyError_) as exc:
        raise fail(str(exc)) from None
    finally:
        store.close()
    table = Table(title=f"{path.name} ({result.encoding})", show_header=False)
    for label, value in (
        ("rows read", result.rows),
        ("inserted", result.inserted),
        ("updated", result.updated),
        ("unchanged", result.unchanged),
        ("rejected", result.rejected),
        ("households created", result.households_created),
    ):
        table.add_row(label, f"{value:,}")
    table.add_row("time", f"{result.seconds:.1f} s ({result.rows_per_second:,.0f} rows/s)")
    console.print(table)
    for line, reason in result.first_rejects[:5]:
        console.print(f"  [yellow]line {line}[/]: {reason}")
    if result.reject_path:
        console.print(f"rejected rows: {result.reject_path}")
    if result.codes_path:
        console.print(f"registration codes and login keys: {result.codes_path} (mode 0600)")
    elif result.households_created:
        console.print(
            "[yellow]note:[/] login keys of new households were not saved (use --codes-out)"
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
            help="With LEAKWATCH_KEY set: write the new key to this file (mode 0600); "
            "set LEAKWATCH_KEY to its content afterwards."
        ),
    ] = None,
) -> None:
    """Re-encrypt all personal data and re-derive blind indexes under a new key.

    Interrupted? Run it again: it resumes. The old key is dropped only when nothing uses it.
    """
    from store.keyring import KeyError_, KeyRing, MasterKey, write_key_file
    from store.rotation import RotationError, rotate_key

    store = _open_store()
    try:
        new_key = None
        if store.settings.leakwatch_key:
            if new_key_file is None:
                raise fail("LEAKWATCH_KEY is set: pass --new-key-file to receive the new key")
            new_key = MasterKey.generate()
            write_key_file(new_key_file, KeyRing((new_key,)))
        result = rotate_key(store, new_key, actor=cli_actor())
    except (RotationError, KeyError_) as exc:
        raise fail(str(exc)) from None
    finally:
        store.close()
    total = sum(result.resealed.values())
    console.print(
        f"rotated to key {result.new_key_id}: {total:,} values re-sealed "
        f"({', '.join(f'{k} {v:,}' for k, v in result.resealed.items())})"
    )
    if new_key_file:
        console.print(f"now set LEAKWATCH_KEY to the content of {new_key_file}")


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
    """The console script: problems the user can fix end in one clear line, not a traceback."""
    ExitPlan.console_script = True
    try:
        app()
    except Exception as exc:
        # Imported here: only a failing command pays for the database layer's import.
        from store.db import SchemaError
        from store.keyring import KeyError_

        if isinstance(exc, (SchemaError, KeyError_)):
            raise SystemExit(fail(str(exc)).exit_code) from None
        raise
