"""One table names every top-level command and its module; the README documents them all,
and every setting (Datasette's habit: a command or setting added without its line fails)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import typer

from office.cli import COMMANDS, app, commands_of
from store.settings import Settings

README = Path(__file__).resolve().parents[2] / "README.md"


def test_each_module_registers_exactly_its_commands() -> None:
    for module in set(COMMANDS.values()):
        expected = {name for name, owner in COMMANDS.items() if owner == module}
        assert set(commands_of(module)) == expected, module


def _command_paths() -> Iterator[str]:
    """`leakwatch X` and `leakwatch X Y` for every command and sub-command."""
    root = typer.main.get_group(app)
    for name in COMMANDS:
        command = root.get_command(None, name)  # type: ignore[arg-type]
        assert command is not None, name
        subs = getattr(command, "commands", {})
        yield f"leakwatch {name}"
        for sub in subs:
            yield f"leakwatch {name} {sub}"


def test_the_readme_names_every_command() -> None:
    text = re.sub(r"\s+", " ", README.read_text(encoding="utf-8"))
    missing = [path for path in _command_paths() if path not in text]
    assert missing == []


def test_the_readme_names_every_setting() -> None:
    text = README.read_text(encoding="utf-8")
    missing = [name.upper() for name in Settings.model_fields if f"`{name.upper()}`" not in text]
    assert missing == []


def test_the_readme_tables_are_the_data_contract() -> None:
    from matcher import contract

    text = README.read_text(encoding="utf-8")
    for columns in (contract.WATCHLIST, contract.LISTING, contract.MATCHES):
        for column in columns:
            assert f"| `{column.name}` | {column.meaning} |" in text, column.name
