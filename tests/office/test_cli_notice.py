"""`leakwatch notice check`, run in-process (and once as a real process): letters that keep
the rules exit 0, letters that break one exit 1 naming the line, unreadable files and bad
options exit 2 with one plain line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import docx
from typer.testing import CliRunner

from notices.docx_letter import write_docx
from notices.naiyo import Layout
from office.cli import app

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
