"""`leakwatch notice`: the legal team's letters. `notice check` reads a 内容証明 text or an
e-内容証明 Word file and reports every Japan Post rule it breaks (the rules are
``notices.naiyo``'s and ``notices.docx_letter``'s; this module only reads, prints and exits).
`notice list|show|draft|approve|send|render` are the letters' workflow (``notices.workflow``
and ``notices.views``).

The CLI reads letters as a shell holding the store's key reads everything (``cli:USER`` in
the audit log), but drafting, approving and sending act as a named legal user (`--as USER`,
signed in with that user's password from LEAKWATCH_PASSWORD or a prompt): four eyes are two
accounts proven by their passwords, not two names typed by one person.

Sub-commands join ``notice_app``; reading a letter file is ``read_letter``.
"""

from __future__ import annotations

import enum
import getpass
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from notices.naiyo import Layout, Measure, Problem
from office.console import cli_actor, console, err_console, fail, open_store

if TYPE_CHECKING:
    from casework.permissions import Principal
    from notices.letter import LetterFacts
    from notices.views import LetterFormat
    from store.runtime import Store

notice_app = typer.Typer(
    help="Cease-use letters: drafting, four-eyes approval, sending, rendering; 内容証明 and "
    "e-内容証明 checks.",
    no_args_is_help=True,
)
REFERENCE = re.compile(r"\d{4}-\d{6}")  # a letter's 文書番号; a bare number is a case

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
        str | None,
        typer.Option(
            help="Characters x lines a page: 20x26 (a text's default), 13x40, 26x20, "
            "or 40x40 (an e-内容証明 Word file's default)."
        ),
    ] = None,
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
    letter = read_letter(file)
    default = Layout.WORD if letter.is_docx else Layout.H20x26
    chosen = parse_layout(layout) if layout else default
    problems, measure = _inspect(letter, chosen, proper_noun or [])
    for problem in problems:
        console.print(escape(str(problem)))
    verdict = f"{len(problems)} problem(s)" if problems else "keeps the rules"
    console.print(
        f"{escape(str(file))}: {measure.lines} lines, {measure.pages} page(s) of "
        f"{chosen.value}; {verdict}"
    )
    if problems:
        raise typer.Exit(CheckStatus.PROBLEMS)


AsUser = Annotated[
    str,
    typer.Option("--as", help="The legal user acting (password: LEAKWATCH_PASSWORD or a prompt)."),
]


def sign_in_as(store: Store, username: str) -> Principal:
    """The legal user ``username``, proven by their password (a failure is limited and
    audited like a sign-in on the web)."""
    from casework.accounts import SignInFailed, sign_in_staff
    from casework.limits import Locked
    from casework.permissions import Actor

    password = os.environ.get("LEAKWATCH_PASSWORD") or getpass.getpass(f"password of {username}: ")
    try:
        principal = sign_in_staff(store, username, password, cli_actor())
    except Locked:
        raise fail(f"--as {username}: too many failed sign-ins; try again later") from None
    except SignInFailed:
        raise fail(f"--as {username}: wrong user name or password") from None
    if principal.actor is not Actor.LEGAL:
        raise fail(f"--as {username}: a legal user acts on letters, not {principal.actor.value}")
    return principal


@contextmanager
def refusals() -> Iterator[None]:
    """A step the letters' rules refuse ends the command in one line, status 2."""
    from casework.permissions import Forbidden
    from casework.staff import NotFound
    from notices.docx_letter import DocxError
    from notices.mailer import MailError
    from notices.sandbox import TemplateRefused
    from notices.workflow import NoticeError

    try:
        yield
    except (NoticeError, NotFound, Forbidden, MailError, DocxError, TemplateRefused) as exc:
        raise fail(str(exc)) from None


@notice_app.command("list")
def list_cmd(
    case: Annotated[int | None, typer.Option(help="Only this case's letters.")] = None,
) -> None:
    """Every letter, newest first: id, 文書番号, case, business, kind, status, deadline."""
    from rich.table import Table

    from notices.views import notice_lines

    with open_store() as store:
        lines = notice_lines(store, case)
    table = Table("id", "reference", "case", "business", "kind", "status", "deadline")
    for n in lines:
        table.add_row(str(n.id), n.reference, str(n.case_id), escape(n.business), n.kind.value,
                      n.status.value, n.deadline.isoformat() if n.deadline else "")  # fmt: skip
    console.print(table if lines else "no letters yet")


@notice_app.command("show")
def show_cmd(notice_id: Annotated[int, typer.Argument(help="The letter's id (notice list).")]
             ) -> None:  # fmt: skip
    """One letter: its status, who drafted, approved and sent it, the evidence it cites, its
    text, and the digest of its facts (what `notice approve --digest` takes)."""
    from notices.views import notice_view

    with open_store() as store, refusals():
        view = notice_view(store, notice_id)
    n = view.notice
    fields = {
        "reference": view.line.reference, "kind": f"{n.kind.value} ({view.title})",
        "case": f"{n.case_id} {view.line.case_title}", "business": view.line.business,
        "status": n.status.value, "deadline": n.deadline.isoformat() if n.deadline else "",
        "drafted by": view.drafted_by, "approved by": view.approved_by or "",
        "sent": f"{n.channel.value} by {view.sent_by or ''} at {n.sent_at:%Y-%m-%d %H:%M} UTC"
        if n.sent_at and n.channel else "",
    }  # fmt: skip
    for name, value in fields.items():
        console.print(f"{name}: {escape(value)}")
    for listing in view.facts.listings if view.facts else ():
        console.print(f"listing: {escape(listing.identifier)} {escape(listing.url)} "
                      f"({listing.matched} of {listing.rows} rows match)")  # fmt: skip
        for c in listing.captures:
            console.print(
                f"  capture: {escape(c.url)} {c.fetched_at:%Y-%m-%d %H:%M} UTC {c.sha256}"
            )
    console.print("")
    console.print(escape(n.body))
    console.print("")
    console.print(f"facts_sha256: {n.facts_sha256 or '(no facts)'}")


@notice_app.command("draft")
def draft_cmd(
    case: Annotated[int, typer.Argument(help="The case the letter is about.")],
    as_user: AsUser,
    kind: Annotated[str, typer.Option(help="cease_use, reminder or escalation.")] = "cease_use",
) -> None:
    """Draft a letter from the case as it stands now (a legal user; another approves it)."""
    from notices.workflow import draft_notice
    from store.models import NoticeKind

    try:
        chosen = NoticeKind(kind)
    except ValueError:
        raise fail(f"--kind: one of {', '.join(k.value for k in NoticeKind)}") from None
    with open_store() as store:
        principal = sign_in_as(store, as_user)
        with refusals():
            drafted = draft_notice(store, principal, case, chosen)
    console.print(f"notice {drafted.notice_id} drafted: {drafted.reference} (case {case})")
    console.print(f"facts_sha256: {drafted.facts_sha256}")
    console.print(f"approval, by another legal user who read `leakwatch notice show "
                  f"{drafted.notice_id}`: leakwatch notice approve {drafted.notice_id} "
                  f"--as USER --digest {drafted.facts_sha256}")  # fmt: skip


@notice_app.command("approve")
def approve_cmd(
    notice_id: Annotated[int, typer.Argument(help="The letter's id.")],
    as_user: AsUser,
    digest: Annotated[str, typer.Option(help="The facts_sha256 `notice show` printed.")],
) -> None:
    """Approve a drafted letter: its facts must still have the digest you read (four eyes:
    never the drafter)."""
    from notices.workflow import approve_notice

    with open_store() as store:
        principal = sign_in_as(store, as_user)
        with refusals():
            approve_notice(store, principal, notice_id, digest.strip().lower())
    console.print(f"notice {notice_id} approved by {escape(as_user)}")


@notice_app.command("send")
def send_cmd(
    notice_id: Annotated[int, typer.Argument(help="The letter's id.")],
    as_user: AsUser,
    email: Annotated[str | None, typer.Option(help="Send by e-mail, the PDF attached.")] = None,
    posted: Annotated[
        str | None, typer.Option(help="It went by 内容証明: the post office's number.")
    ] = None,
) -> None:
    """Send an approved letter by e-mail, or record it posted (exactly one of the two)."""
    from notices.workflow import send_notice
    from store.models import SendChannel

    if (email is None) == (posted is None):
        raise fail("give --email ADDRESS or --posted REFERENCE (one of them)")
    channel = SendChannel.EMAIL if email is not None else SendChannel.POST
    with open_store() as store:
        principal = sign_in_as(store, as_user)
        with refusals():
            where = send_notice(store, principal, notice_id, channel, email=email,
                                posted_reference=posted)  # fmt: skip
    console.print(f"notice {notice_id} sent: {escape(where)}")


def store_inputs(store: Store) -> list[Path]:
    """The files a rendering reads (the database file, the key file): never an output."""
    from sqlalchemy.engine import make_url

    url = make_url(store.settings.db_url)
    database = [Path(url.database)] if url.get_backend_name() == "sqlite" and url.database else []
    return [store.settings.key_file, *database]


@notice_app.command("render")
def render_cmd(
    target: Annotated[
        str,
        typer.Argument(
            metavar="CASE_OR_NOTICE",
            help="A case number (its latest letter, or a preview), or a "
            "letter's 文書番号 (2026-000123).",
        ),
    ],
    fmt: Annotated[str, typer.Option("--format", help="pdf, html, naiyo or docx.")],
    out: Annotated[Path, typer.Option(help="The file to write (replaced whole).")],
    layout: Annotated[
        str, typer.Option(help="naiyo and docx: 20x26, 13x40 or 26x20.")
    ] = Layout.H20x26.value,
) -> None:
    """Render a letter from its frozen facts; a case without a letter gets a preview of the
    cease-use letter it would get now (not stored, reference 0000-000000)."""
    from notices.views import LetterFormat
    from store.private_files import OutputError, check_output, replacing

    try:
        chosen = LetterFormat(fmt)
    except ValueError:
        raise fail(f"--format: one of {', '.join(f.value for f in LetterFormat)}") from None
    grid = parse_layout(layout)
    with open_store() as store:
        try:
            check_output(out, store_inputs(store), label="--out")
        except OutputError as exc:
            raise fail(str(exc)) from None
        with refusals():
            content, facts, what = _rendered(store, target.strip(), chosen, grid)
    try:
        with replacing(out, mode=None) as handle:  # a letter holds no personal data
            handle.write(content)
    except OutputError as exc:
        raise fail(str(exc)) from None
    if chosen is LetterFormat.NAIYO:
        _warn_naiyo(content.decode(), grid, facts)
    console.print(f"{escape(str(out))}: {chosen.value} of {what}")


def _rendered(store: Store, target: str, fmt: LetterFormat, layout: Layout
              ) -> tuple[bytes, LetterFacts, str]:  # fmt: skip
    """(the file, the facts it was made from, what it is) for a letter or a case."""
    from notices.views import (
        find_notice,
        latest_notice,
        notice_file,
        notice_view,
        preview_facts,
        render_letter,
    )
    from notices.workflow import NoticeError

    if REFERENCE.fullmatch(target):
        notice_id = find_notice(store, target)
        if notice_id is None:
            raise fail(f"no letter with the reference {target}")
    elif target.isdigit():
        notice_id = latest_notice(store, int(target))
    else:
        raise fail(f"{target!r}: give a case number or a letter's reference (2026-000123)")
    if notice_id is None:
        facts = preview_facts(store, int(target))
        if not facts.listings:
            raise NoticeError("the case cites no listing yet: confirm its matches first")
        err_console.print("preview: not a drafted letter")
        return render_letter(store, facts, fmt, layout), facts, f"a preview for case {target}"
    view = notice_view(store, notice_id)
    if view.facts is None:
        raise NoticeError(f"notice {notice_id} has no facts")
    item = notice_file(store, notice_id, fmt, layout, cli_actor())
    return item.content, view.facts, f"{view.line.reference} ({view.notice.status.value})"


def _warn_naiyo(text: str, layout: Layout, facts: LetterFacts) -> None:
    """A rendering that breaks a post-office rule is written, but said so (the template or
    a listing's identifier needs a look before it goes to the post office)."""
    from notices.naiyo import check_text

    problems = check_text(text, layout, facts.proper_nouns())
    for problem in problems:
        err_console.print(f"[yellow]warning:[/] {escape(str(problem))}")


def register(app: typer.Typer) -> None:
    """Add the `notice` commands to the `leakwatch` app."""
    app.add_typer(notice_app, name="notice")
