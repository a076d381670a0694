"""The `leakwatch` command line: the root command, the table of commands, the entry point.

Each group of commands lives in its own module (``cli_store``, ``cli_crawl``, ``cli_match``,
``cli_model``, ``cli_synth``, ``cli_web``, ``cli_scheduler``) with a ``register(app)``
function; this module only knows which module defines which top-level command. Modules are
imported only when one of their commands runs or the command list is shown: `leakwatch match`
then starts without SQLAlchemy, Alembic, Scrapy and the synthetic-data generator (a second of
start-up, as long as the index build's parallel part).
"""

from __future__ import annotations

import importlib
import signal
from typing import TYPE_CHECKING

import typer
from typer._click.exceptions import ClickException
from typer.core import TyperGroup

from office.console import INTERRUPTED, ExitPlan, err_console, exit_for

if TYPE_CHECKING:
    from typer._click import Command, Context  # typer vendors click: its types live there

# Every top-level command and the module that defines it, in the order `--help` lists them.
# A test checks each module registers exactly the commands this table gives it.
COMMANDS = {
    "crawl": "cli_crawl", "match": "cli_match", "init": "cli_store",
    "import-watchlist": "cli_store", "codes": "cli_store", "rotate-key": "cli_store",
    "config": "cli_store", "demo": "cli_store", "audit": "cli_store", "synth": "cli_synth",
    "source": "cli_crawl", "rows": "cli_crawl", "evidence": "cli_crawl",
    "review": "cli_model", "model": "cli_model", "native": "cli_match",
    "serve": "cli_web", "user": "cli_web", "matcher": "cli_matcher", "scheduler": "cli_scheduler",
    "notice": "cli_notice",
}  # fmt: skip


def commands_of(module: str) -> dict[str, Command]:
    """The top-level commands ``office.<module>`` registers."""
    sub = typer.Typer()
    importlib.import_module(f"office.{module}").register(sub)
    sub.callback()(lambda: None)  # a group even when the module adds one command
    return dict(typer.main.get_group(sub).commands)


class _LazyGroup(TyperGroup):
    """The root command group: a command's module is loaded when the command is asked for."""

    def get_command(self, ctx: Context, cmd_name: str) -> Command | None:
        module = COMMANDS.get(cmd_name)
        if cmd_name not in self.commands and module is not None:
            for name, cmd in commands_of(module).items():
                self.commands.setdefault(name, cmd)
        return super().get_command(ctx, cmd_name)

    def list_commands(self, ctx: Context) -> list[str]:
        return list(COMMANDS)

    def invoke(self, ctx: Context) -> object:
        """Every command's errors end the same way: one line, a non-zero exit (see
        ``office.console.exit_for``); Ctrl-C and SIGTERM end with status 130."""
        try:
            return super().invoke(ctx)
        except (ClickException, typer.Exit, typer.Abort, BrokenPipeError):
            raise  # typer's own endings (a closed pipe: `leakwatch ... | head`)
        except KeyboardInterrupt:
            err_console.print("interrupted")
            raise typer.Exit(INTERRUPTED) from None
        except Exception as exc:
            raise exit_for(exc) from None


app = typer.Typer(no_args_is_help=True, add_completion=False, cls=_LazyGroup)


@app.callback()
def root() -> None:
    """LeakWatch: find leaked customer records in the wild, prove it, and get them taken down."""


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
