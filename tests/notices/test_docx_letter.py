"""The e-内容証明 Word file: what ``write_docx`` writes passes ``check_docx``, and documents
built by hand to break one rule each are reported for that rule."""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path

import docx
import pytest
from docx.enum.section import WD_ORIENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_BREAK
from docx.oxml import parse_xml
from docx.oxml.ns import nsdecls, qn
from docx.shared import Cm, Mm, Pt

from notices.docx_letter import (
    MAX_PAGES,
    LetterTooLong,
    NotADocx,
    NotWordText,
    check_docx,
    measure_docx,
    write_docx,
)
from notices.naiyo import Layout, Problem, Rule, lay_out

NOUNS = ("株式会社ＡＢＣ企画", "https://broker.example.jp/meibo/list")
PARAGRAPHS = (
    "通知書",
    "株式会社ＡＢＣ企画　御中",
    "　当社は、貴社が運営するウェブサイト（https://broker.example.jp/meibo/list）において、"
    "当社の顧客情報と一致する記録１２０件が「販売中」と表示されていることを確認しました。",
    "　つきましては、次のとおり申し入れます。",
    "一　直ちに利用を停止すること。",
    "二　第三者に提供しないこと。",
)
LETTER = lay_out(PARAGRAPHS, Layout.H20x26, NOUNS)


def rules(path: Path, layout: Layout = Layout.H20x26) -> set[Rule]:
    return {p.rule for p in check_docx(path, layout, NOUNS)}


@pytest.fixture
def letter(tmp_path: Path) -> Path:
    path = tmp_path / "letter.docx"
    write_docx(LETTER, path, Layout.H20x26)
    return path


def edited(path: Path, edit: Callable[[docx.document.Document], object]) -> Path:
    """The letter with one change made by hand, as someone editing it in Word might."""
    document = docx.Document(str(path))
    edit(document)
    out = path.with_name("edited.docx")
    document.save(str(out))
    return out


def test_what_is_written_passes_the_check(letter: Path) -> None:
    assert check_docx(letter, Layout.H20x26, NOUNS) == []
    document = docx.Document(str(letter))
    section = document.sections[0]
    sizes = [section.page_width, section.page_height, section.left_margin, section.top_margin]
    assert [round(size.mm) for size in sizes if size is not None] == [210, 297, 20, 20]
    lines = LETTER.split("\n")
    assert [p.text for p in document.paragraphs] == lines  # one paragraph a line
    defaults = document.styles.element.find(qn("w:docDefaults"))
    assert defaults.find(f".//{qn('w:sz')}").get(qn("w:val")) == "21"  # 10.5 pt
    assert defaults.find(f".//{qn('w:rFonts')}").get(qn("w:eastAsia")) == "ＭＳ 明朝"
    measure = measure_docx(letter, Layout.H20x26, NOUNS)
    assert (measure.lines, measure.pages) == (sum(1 for line in lines if line), 1)


def test_pages_break_at_the_layouts_lines(tmp_path: Path) -> None:
    path = tmp_path / "long.docx"
    text = "\n".join(f"第{n:02}行" for n in range(1, 54))  # 53 lines: 26 + 26 + 1
    write_docx(text, path, Layout.H20x26)
    starts = [
        p.text for p in docx.Document(str(path)).paragraphs if p.paragraph_format.page_break_before
    ]
    assert starts == ["第27行", "第53行"]
    assert measure_docx(path, Layout.H20x26).pages == 3 and check_docx(path, Layout.H20x26) == []


def test_blank_lines_do_not_push_text_off_a_page(tmp_path: Path) -> None:
    path = tmp_path / "spaced.docx"
    write_docx("\n\n".join(["あ"] * 40), path, Layout.H13x40)  # 79 lines on paper
    assert measure_docx(path, Layout.H13x40).pages == 2
    assert check_docx(path, Layout.H13x40) == []


def test_more_than_five_pages_are_refused(tmp_path: Path) -> None:
    with pytest.raises(LetterTooLong, match="6 pages"):
        write_docx("\n".join(["あ"] * (26 * MAX_PAGES + 1)), tmp_path / "x.docx", Layout.H20x26)
    assert not (tmp_path / "x.docx").exists()


def test_characters_outside_jis_and_long_lines_are_refused_naming_the_line(
    tmp_path: Path,
) -> None:
    with pytest.raises(NotWordText, match=r"line 2: .*U\+2460"):
        write_docx("あ\n①い", tmp_path / "x.docx", Layout.H20x26)
    with pytest.raises(NotWordText, match="line 1: 21 characters"):
        write_docx("あ" * 21, tmp_path / "x.docx", Layout.H20x26)


def _bold(document: docx.document.Document) -> None:
    document.paragraphs[0].runs[0].bold = True


def _small(document: docx.document.Document) -> None:
    document.paragraphs[2].runs[0].font.size = Pt(9)


def _underline(document: docx.document.Document) -> None:
    document.paragraphs[0].runs[0].underline = True


def _centred(document: docx.document.Document) -> None:
    document.paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.CENTER


def _margins(document: docx.document.Document) -> None:
    document.sections[0].left_margin = Cm(1)


def _landscape(document: docx.document.Document) -> None:
    section = document.sections[0]
    section.orientation = WD_ORIENT.LANDSCAPE
    section.page_width, section.page_height = Mm(297), Mm(210)


def _letter_size(document: docx.document.Document) -> None:
    section = document.sections[0]
    section.page_width, section.page_height = Mm(215.9), Mm(279.4)


def _table(document: docx.document.Document) -> None:
    document.add_table(rows=1, cols=2)


def _border(document: docx.document.Document) -> None:
    borders = f'<w:pBdr {nsdecls("w")}><w:top w:val="single" w:sz="4"/></w:pBdr>'
    document.paragraphs[0]._p.get_or_add_pPr().append(parse_xml(borders))


def _png() -> bytes:
    """A 1x1 PNG written by hand, for the image case."""
    chunks = [
        (b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)),
        (b"IDAT", zlib.compress(b"\x00\xff\xff\xff")),
        (b"IEND", b""),
    ]
    return b"\x89PNG\r\n\x1a\n" + b"".join(
        struct.pack(">I", len(body)) + tag + body + struct.pack(">I", zlib.crc32(tag + body))
        for tag, body in chunks
    )


def _image(document: docx.document.Document) -> None:
    document.paragraphs[0].add_run().add_picture(io.BytesIO(_png()), width=Mm(10))


def _not_jis(document: docx.document.Document) -> None:
    document.add_paragraph("髙橋")
    document.add_paragraph("①")


def _six_pages(document: docx.document.Document) -> None:
    for _ in range(5):
        document.add_paragraph("あ").runs[0].add_break(WD_BREAK.PAGE)


def _style_bold(document: docx.document.Document) -> None:
    document.styles["Normal"].font.bold = True


def _no_size_anywhere(document: docx.document.Document) -> None:
    for size in document.styles.element.iter(qn("w:sz")):
        size.getparent().remove(size)


@pytest.mark.parametrize(
    ("edit", "rule", "line"),
    [
        (_bold, Rule.BOLD, 1),
        (_small, Rule.FONT_SIZE, 3),
        (_underline, Rule.UNDERLINE, 1),
        (_centred, Rule.CENTRED, 1),
        (_margins, Rule.MARGIN, None),
        (_landscape, Rule.PAGE_SIZE, None),
        (_letter_size, Rule.PAGE_SIZE, None),
        (_table, Rule.TABLE, None),
        (_border, Rule.BORDER, 1),
        (_image, Rule.IMAGE, 1),
        (_not_jis, Rule.NOT_JIS, None),
        (_six_pages, Rule.TOO_MANY_PAGES, None),
        (_style_bold, Rule.BOLD, 1),
        (_no_size_anywhere, Rule.FONT_SIZE, 1),  # Word's own default is 10 pt
    ],
)
def test_each_broken_rule_is_reported(
    letter: Path,
    edit: Callable[[docx.document.Document], object],
    rule: Rule,
    line: int | None,
) -> None:
    problems = check_docx(edited(letter, edit), Layout.H20x26, NOUNS)
    assert {p.rule for p in problems} == {rule}, problems
    if line is not None:
        assert line in {p.line for p in problems}


def test_messages_say_what_is_wrong(letter: Path) -> None:
    [landscape] = check_docx(edited(letter, _landscape), Layout.H20x26, NOUNS)
    assert str(landscape) == "the page is A4 landscape: make it portrait"
    [margin] = check_docx(edited(letter, _margins), Layout.H20x26, NOUNS)
    assert "left 10.0 mm" in margin.message
    not_jis = check_docx(edited(letter, _not_jis), Layout.H20x26, NOUNS)
    assert ["U+9AD9" in p.message for p in not_jis] == [True, False]
    assert "U+2460" in str(not_jis[1]) and str(not_jis[1]).startswith("line ")


def test_text_rules_apply_to_the_lines_of_a_document(tmp_path: Path) -> None:
    document = docx.Document()
    for section in document.sections:
        section.page_width, section.page_height = Mm(210), Mm(297)
    for size in document.styles.element.iter(qn("w:sz")):
        size.set(qn("w:val"), "24")
    document.add_paragraph("あ" * 21)
    document.add_paragraph("当社のmeiboです")
    path = tmp_path / "typed.docx"
    document.save(str(path))
    problems = check_docx(path, Layout.H20x26)
    assert [(p.line, p.rule) for p in problems] == [
        (1, Rule.LINE_TOO_LONG),
        (2, Rule.LATIN_OUTSIDE_PROPER_NOUN),
    ]
    assert check_docx(path, Layout.H26x20, ("meibo",)) == []


def test_explicit_breaks_make_pages(tmp_path: Path) -> None:
    document = docx.Document()
    document.add_paragraph("一")
    document.add_paragraph("二").paragraph_format.page_break_before = True
    run = document.add_paragraph("三").runs[0]
    run.add_break(WD_BREAK.PAGE)
    run.add_text("四")
    run.add_break()  # a line break: a line, same page
    run.add_text("五")
    path = tmp_path / "breaks.docx"
    document.save(str(path))
    measure = measure_docx(path, Layout.H20x26)
    assert (measure.lines, measure.pages, measure.counts) == (5, 3, (1, 1, 1, 1, 1))


def test_a_file_that_is_not_a_docx_is_a_plain_error(tmp_path: Path) -> None:
    text = tmp_path / "letter.docx"
    text.write_text("通知書", encoding="utf-8")
    with pytest.raises(NotADocx, match="not a Word document"):
        check_docx(text, Layout.H20x26)
    archive = tmp_path / "other.docx"
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("readme.txt", "not Word")
    with pytest.raises(NotADocx):
        measure_docx(archive, Layout.H20x26)


def test_problems_print_as_lines() -> None:
    assert str(Problem(3, Rule.BOLD, "bold")) == "line 3: bold"
    assert str(Problem(None, Rule.TABLE, "a table")) == "a table"


def test_every_real_letter_exports_to_a_word_file_that_keeps_the_rules(
    any_facts: object, tmp_path: Path
) -> None:
    """The packaged letters run to six or seven pages of the paper grid; in the Word file's
    own grid they fit e-内容証明's five pages and keep every rule."""
    from notices.docx_letter import measure_docx
    from notices.letter import LetterFacts
    from notices.render import render_naiyo

    assert isinstance(any_facts, LetterFacts)
    path = tmp_path / "letter.docx"
    write_docx(render_naiyo(any_facts, Layout.WORD), path, Layout.WORD)
    nouns = any_facts.proper_nouns()
    assert check_docx(path, Layout.WORD, nouns) == []
    assert 1 <= measure_docx(path, Layout.WORD, nouns).pages <= 5
