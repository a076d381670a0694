"""`leakwatch notice`: the legal team's letters. `notice check` reads a 内容証明 text or an
e-内容証明 Word file and reports every Japan Post rule it breaks (the rules are
``notices.naiyo``'s and ``notices.docx_letter``'s; this module only reads, prints and exits).

Sub-commands join ``notice_app``; reading a letter file is ``read_letter``, for the next ones.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from notices.naiyo import Layout, Measure, Problem
from office.console import console, fail

notice_app = typer.Typer(
    help="Cease-use letters: 内容証明 and e-内容証明 checks.", no_args_is_help=True
)

ZIP_MAGIC = b"PK\x03\x04"  # a .docx is a zip archive, whatever its name says


class CheckStatus(enum.IntEnum):
    """How `notice check` exits (usage errors exit 2 through ``office.console.fail``)."""

    FINE = 0
    PROBLEMS = 1


@dataclass(frozen=True, slots=True)
class LetterFile:
    """A letter file as read from disk: its text, or None for a Word file."""

    path: Path
    text: str | None

    @property
    def is_docx(self) -> bool:
        return self.text is None


def read_letter(path: Path) -> LetterFile:
    """A letter file: a .docx (by name or content) or UTF-8 text. Any reason it cannot be
    read ends the command with one line and status 2."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise fail(f"{path}: no such file") from None
    except IsADirectoryError:
        raise fail(f"{path}: a folder, not a letter file") from None
    except OSError as exc:
        raise fail(f"{path}: cannot read it ({exc.strerror})") from None
    if path.suffix.lower() == ".docx" or data.startswith(ZIP_MAGIC):
        return LetterFile(path, None)
    try:
        return LetterFile(path, data.decode("utf-8-sig"))  # Notepad's BOM is no character
    except UnicodeDecodeError:
        raise fail(f"{path}: not UTF-8 text (save it as UTF-8)") from None


def parse_layout(text: str) -> Layout:
    try:
        return Layout.parse(text)
    except ValueError as exc:
        raise fail(f"--layout: {exc}") from None


def _inspect(letter: LetterFile, layout: Layout, nouns: list[str]) -> tuple[list[Problem], Measure]:
    from notices.docx_letter import DocxError, check_docx, measure_docx
    from notices.naiyo import check_text, measure_text

    if letter.text is not None:
        return check_text(letter.text, layout, nouns), measure_text(letter.text, layout, nouns)
    try:
        return check_docx(letter.path, layout, nouns), measure_docx(letter.path, layout, nouns)
    except DocxError as exc:
        raise fail(str(exc)) from None


@notice_app.command("check")
def check_cmd(
    file: Annotated[
        Path, typer.Argument(help="A 内容証明 text (UTF-8) or an e-内容証明 Word file (.docx).")
    ],
    layout: Annotated[
        str, typer.Option(help="Characters x lines a page: 20x26, 13x40 or 26x20.")
    ] = Layout.H20x26.value,
    proper_noun: Annotated[
        list[str] | None,
        typer.Option(
            "--proper-noun",
            help="A name that may keep Latin letters (company, product, place, URL); repeat.",
        ),
    ] = None,
) -> None:
    """Check a letter against Japan Post's 内容証明 rules: `line N: problem` for each broken
    rule and a summary; exit 0 when it keeps them all, 1 when it breaks any."""
    chosen = parse_layout(layout)
    problems, measure = _inspect(read_letter(file), chosen, proper_noun or [])
    for problem in problems:
        console.print(escape(str(problem)))
    verdict = f"{len(problems)} problem(s)" if problems else "keeps the rules"
    console.print(
        f"{escape(str(file))}: {measure.lines} lines, {measure.pages} page(s) of "
        f"{chosen.value}; {verdict}"
    )
    if problems:
        raise typer.Exit(CheckStatus.PROBLEMS)


def register(app: typer.Typer) -> None:
    """Add the `notice` commands to the `leakwatch` app."""
    app.add_typer(notice_app, name="notice")
