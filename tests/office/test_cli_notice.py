"""`leakwatch notice`, run in-process (and once as a real process). `check`: letters that keep
the rules exit 0, letters that break one exit 1 naming the line, unreadable files and bad
options exit 2 with one plain line. `render`: a case's preview or its letter in every format
(PDF, HTML, a 内容証明 text that keeps the rules, an e-内容証明 Word file that passes
``check_docx``), never over an input. `draft`/`approve`/`send`: two legal users, each proven
by their password; the drafter never approves."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import docx
import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from notices.docx_letter import check_docx, write_docx
from notices.edits import edit_template
from notices.facts import thaw
from notices.naiyo import Layout, check_text
from notices.workflow import draft_notice
from office.cli import app
from store.models import AuditEvent, Notice
from store.runtime import Store
from tests.notices.test_workflow import Office
from tests.notices.test_workflow import office as office  # the fixture

runner = CliRunner()
GOOD = "通知書\n\n株式会社ＡＢＣ企画　御中\n\n　当社は「利用の停止」を求めます。\n"
COMPANY = "株式会社ＡＢＣ企画"


def check(*args: str) -> tuple[int, list[str]]:
    result = runner.invoke(app, ["notice", "check", *args])
    return result.exit_code, result.output.strip().splitlines()


def test_a_letter_that_keeps_the_rules(tmp_path: Path) -> None:
    path = tmp_path / "letter.txt"
    path.write_text(GOOD, encoding="utf-8")
    code, lines = check(str(path), "--proper-noun", COMPANY)
    assert code == 0, lines
    assert lines == [f"{path}: 3 lines, 1 page(s) of 20x26; keeps the rules"]


def test_a_letter_that_breaks_rules_names_the_lines(tmp_path: Path) -> None:
    path = tmp_path / "letter.txt"
    path.write_text(GOOD + "あ" * 21 + "\n", encoding="utf-8")
    code, lines = check(str(path))
    assert code == 1
    assert lines[0].startswith("line 3: Latin letters outside a proper noun: 'ＡＢＣ'")
    assert lines[1] == "line 6: 21 characters, at most 20 on a 20x26 page"
    assert lines[-1].endswith("4 lines, 1 page(s) of 20x26; 2 problem(s)")


def test_the_layout_option(tmp_path: Path) -> None:
    path = tmp_path / "letter.txt"
    path.write_text("あ" * 14, encoding="utf-8")
    assert check(str(path), "--layout", "13x40")[0] == 1
    assert check(str(path), "--layout", "26x20")[0] == 0


def test_word_files_are_checked_by_the_word_rules(tmp_path: Path) -> None:
    path = tmp_path / "letter.docx"
    write_docx(GOOD, path, Layout.H20x26)
    assert check(str(path), "--proper-noun", COMPANY)[0] == 0
    document = docx.Document(str(path))
    document.paragraphs[0].runs[0].bold = True
    disguised = tmp_path / "letter.txt"  # a Word file by content, whatever its name
    document.save(str(disguised))
    code, lines = check(str(disguised), "--proper-noun", COMPANY)
    assert code == 1 and lines[0] == "line 1: bold characters: e-内容証明 takes plain type only"


def test_unreadable_files_and_bad_options_are_one_plain_line(tmp_path: Path) -> None:
    sjis = tmp_path / "sjis.txt"
    sjis.write_bytes(GOOD.encode("cp932"))
    renamed = tmp_path / "letter.docx"
    renamed.write_text(GOOD, encoding="utf-8")
    ok = tmp_path / "ok.txt"
    ok.write_text(GOOD, encoding="utf-8")
    cases = {
        "no such file": [str(tmp_path / "missing.txt")],
        "save it as UTF-8": [str(sjis)],
        "not a Word document": [str(renamed)],
        "use one of 20x26, 13x40, 26x20": [str(ok), "--layout", "20x20"],
        "a folder": [str(tmp_path)],
    }
    for expected, args in cases.items():
        code, lines = check(*args)
        assert code == 2 and len(lines) == 1 and expected in lines[0], (args, lines)
        assert lines[0].startswith("error: ")


def test_a_byte_order_mark_is_no_character(tmp_path: Path) -> None:
    path = tmp_path / "bom.txt"
    path.write_bytes(GOOD.encode("utf-8-sig"))
    assert check(str(path), "--proper-noun", COMPANY)[0] == 0


def test_as_a_real_process_an_error_is_one_line_without_traceback(tmp_path: Path) -> None:
    path = tmp_path / "sjis.txt"
    path.write_bytes(GOOD.encode("cp932"))
    result = subprocess.run(
        [sys.executable, "-m", "office", "notice", "check", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.strip() == f"error: {path}: not UTF-8 text (save it as UTF-8)"


# --- the letters' workflow from the shell ----------------------------------------------------

LONG_TEMPLATE = (  # the legal team's edit: a letter too long for e-内容証明's five pages
    "{{ letter_title }}\n\n文書番号 {{ facts.reference }}\n\n"
    "{% for i in range(240) %}本件について通知いたします。\n\n{% endfor %}"
)


def notice(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["notice", *args])
    return result.exit_code, result.output


def _digest(output: str) -> str:
    found = re.search(r"facts_sha256: ([0-9a-f]{64})", output)
    assert found, output
    return found.group(1)


def test_render_a_preview_then_the_drafted_letter_in_every_format(
    store: Store, office: Office, tmp_path: Path
) -> None:
    case = str(office.case_id)
    code, out = notice("render", case, "--format", "pdf", "--out", str(tmp_path / "p.pdf"))
    assert code == 0 and "preview: not a drafted letter" in out, out
    assert (tmp_path / "p.pdf").read_bytes().startswith(b"%PDF")
    drafted = draft_notice(store, office.drafter, office.case_id)
    with store.sessions() as s:
        facts = thaw(s.get(Notice, drafted.notice_id).letter_facts)  # type: ignore[union-attr, arg-type]
    naiyo = tmp_path / "n.txt"
    code, out = notice("render", case, "--format", "naiyo", "--out", str(naiyo))
    assert code == 0 and "not a drafted letter" not in out and drafted.reference in out, out
    assert "warning: line" not in out  # it keeps the post office's rules
    text = naiyo.read_text(encoding="utf-8")
    assert drafted.reference in text and "00000000" not in text
    assert check_text(text, Layout.H20x26, facts.proper_nouns()) == []
    html = tmp_path / "n.html"
    assert notice("render", drafted.reference, "--format", "html", "--out", str(html))[0] == 0
    assert "TEST-LIST-2026" in html.read_text(encoding="utf-8")
    word = tmp_path / "n.docx"
    assert notice("render", case, "--format", "docx", "--out", str(word))[0] == 0
    assert check_docx(word, Layout.WORD, facts.proper_nouns()) == []  # five pages at most
    word.unlink()
    edit_template(store, office.drafter, "cease_use.txt", LONG_TEMPLATE)
    code, out = notice("render", case, "--format", "docx", "--out", str(word))
    assert code == 2 and "e-内容証明 takes 5" in out and not word.exists()  # too long: refused


def test_render_refuses_to_overwrite_an_input_and_says_why_in_one_line(
    store: Store, office: Office, tmp_path: Path
) -> None:
    store.settings.home.mkdir(mode=0o700, parents=True, exist_ok=True)
    key_file = str(store.settings.key_file)  # an input, whether it exists yet or not
    cases = {
        "would overwrite the input": [str(office.case_id), "--out", key_file],
        "give a case number or a letter's reference": ["abc", "--out", str(tmp_path / "x")],
        "no letter with the reference 2026-999999": ["2026-999999", "--out", str(tmp_path / "x")],
        "no case 999999": ["999999", "--out", str(tmp_path / "x")],
        "--format: one of pdf, html, naiyo, docx": [
            str(office.case_id),
            "--format",
            "rtf",
            "--out",
            str(tmp_path / "x"),
        ],
    }
    for expected, args in cases.items():
        args = args if "--format" in args else [*args, "--format", "pdf"]
        code, out = notice("render", *args)
        lines = [line for line in out.strip().splitlines() if " has mode " not in line]
        assert code == 2 and len(lines) == 1 and expected in lines[0], (args, out)
    assert not (tmp_path / "x").exists()


def test_draft_approve_and_send_from_the_cli_keep_four_eyes(
    store: Store, office: Office, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LEAKWATCH_PASSWORD", "a long enough password")
    code, out = notice("draft", str(office.case_id), "--as", "legal-a")
    assert code == 0, out
    notice_id, digest = re.search(r"notice (\d+) drafted", out).group(1), _digest(out)  # type: ignore[union-attr]
    code, shown = notice("show", notice_id)
    assert code == 0 and _digest(shown) == digest and "TEST-LIST-2026" in shown
    refusals = {
        "another legal user than its drafter": ["--as", "legal-a", "--digest", digest],
        "a legal user acts on letters, not investigator": ["--as", "inv-a", "--digest", digest],
        "changed since it was shown": ["--as", "legal-b", "--digest", "0" * 64],
    }
    for expected, args in refusals.items():
        code, out = notice("approve", notice_id, *args)
        assert code == 2 and expected in out, (args, out)
    monkeypatch.setenv("LEAKWATCH_PASSWORD", "not the password")
    code, out = notice("approve", notice_id, "--as", "legal-b", "--digest", digest)
    assert code == 2 and "wrong user name or password" in out
    monkeypatch.setenv("LEAKWATCH_PASSWORD", "a long enough password")
    assert notice("approve", notice_id, "--as", "legal-b", "--digest", digest)[0] == 0
    code, out = notice("send", notice_id, "--as", "legal-b")
    assert code == 2 and "one of them" in out
    code, out = notice("send", notice_id, "--as", "legal-b", "--posted", "第1号")
    assert code == 0 and "post:第1号" in out, out
    code, out = notice("list")
    assert code == 0 and "sent" in out
    with store.sessions() as s:
        actors = dict(
            s.execute(
                select(AuditEvent.action, AuditEvent.actor).where(
                    AuditEvent.action.in_(["notice.drafted", "notice.approved", "notice.sent"])
                )
            ).all()
        )
    assert actors == {"notice.drafted": "user:legal-a", "notice.approved": "user:legal-b",
                      "notice.sent": "user:legal-b"}  # fmt: skip
