"""The e-内容証明 Word file: a laid-out 内容証明 text written as the .docx Japan Post's
e-内容証明 accepts, and any .docx checked against the same rules.

This module owns the Word rules: A4 portrait, margins of 1.5 cm or more, characters of
10.5 pt or more, no bold, underline, centring, borders, tables or images, JIS X 0208
characters only, at most 5 pages; the text rules (characters a line, lines a page) are
``notices.naiyo``'s. A "line" of a .docx is one paragraph (or a part of one after a line
break); problems are numbered by these lines, 1-based.

Pages are counted as the post office counts them: each explicit page break starts a page,
and a page holding more than the layout's lines counts as several. ``write_docx`` puts a
page break wherever the layout's lines are reached, and sets an exact line pitch so that
Word never breaks a page sooner (blank lines take room on paper even though they are free).
"""

from __future__ import annotations

import math
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import docx
from docx.enum.text import WD_LINE_SPACING
from docx.opc.exceptions import OpcError
from docx.oxml.ns import qn
from docx.shared import Emu, Mm, Pt
from lxml import etree

from notices.naiyo import Layout, Measure, Problem, Rule, check_word_text, count_line

if TYPE_CHECKING:
    from docx.document import Document

MAX_PAGES = 5  # e-内容証明 takes five pages at most
A4_MM = (210.0, 297.0)
PAGE_TOLERANCE_MM = 1.0  # Word stores sizes in twentieths of a point
MIN_MARGIN_MM = 15.0
MARGIN_TOLERANCE_MM = 0.1  # 15 mm is 850.39 twips; Word keeps 850
MIN_FONT_HALF_POINTS = 21  # 10.5 pt; Word stores sizes in half-points
WORD_DEFAULT_HALF_POINTS = 20  # the size Word uses when no style gives one
# What write_docx writes: 10.5 pt Mincho on a 16 pt pitch within 20 mm margins holds 45
# lines a page, so the 40 lines of 13x40 fit with blank lines between paragraphs.
FONT = "ＭＳ 明朝"
FONT_POINTS = 10.5
PITCH_POINTS = 16
MARGIN_MM = 20
PAGE_CAPACITY = int((A4_MM[1] - 2 * MARGIN_MM) / 25.4 * 72 // PITCH_POINTS)
OFF = ("0", "false", "off")  # the values that turn a Word on/off property off


class DocxError(ValueError):
    """A letter or a file this module refuses; the message says why in one line."""


class LetterTooLong(DocxError):
    """More pages than e-内容証明 takes."""


class NotWordText(DocxError):
    """A text an e-内容証明 cannot carry (a character outside JIS X 0208, a line too long)."""


class NotADocx(DocxError):
    """The file is not a Word document."""


def _paginate(lines: Sequence[str], layout: Layout) -> list[list[str]]:
    """Lines to pages: at most ``layout.lines`` non-blank lines and ``PAGE_CAPACITY`` lines
    in all a page; a blank line at the top or the bottom of a page separates nothing."""
    pages: list[list[str]] = [[]]
    counted = 0
    for line in lines:
        blank = line.strip() == ""
        if blank and not pages[-1]:
            continue
        if len(pages[-1]) == PAGE_CAPACITY or (not blank and counted == layout.lines):
            pages.append([])
            counted = 0
            if blank:
                continue
        pages[-1].append(line)
        counted += not blank
    for page in pages:
        while page and page[-1].strip() == "":
            page.pop()
    return [page for page in pages if page]


def write_docx(text: str, path: Path, layout: Layout) -> None:
    """Write a laid-out 内容証明 text (``notices.naiyo.lay_out``) as an e-内容証明 .docx.

    Refuses (``NotWordText``, naming the line) a character outside JIS X 0208 or a line
    longer than the layout's, and (``LetterTooLong``) more than five pages. Latin letters
    are not checked here: that needs the letter's proper nouns, which ``check_text`` and
    ``check_docx`` are given."""
    refused = [
        p for p in check_word_text(text, layout) if p.rule is not Rule.LATIN_OUTSIDE_PROPER_NOUN
    ]
    if refused:
        raise NotWordText(f"not an e-内容証明 text: {refused[0]}")
    pages = _paginate(text.replace("\r\n", "\n").split("\n"), layout)
    if len(pages) > MAX_PAGES:
        raise LetterTooLong(
            f"the letter takes {len(pages)} pages of {layout.value}; e-内容証明 takes {MAX_PAGES}"
        )
    document = docx.Document()
    _set_page(document)
    _set_defaults(document)
    for number, page in enumerate(pages):
        for index, line in enumerate(page):
            paragraph = document.add_paragraph()
            if line.strip():
                paragraph.add_run(line)
            if number and not index:
                paragraph.paragraph_format.page_break_before = True
    document.save(str(path))


def _set_page(document: Document) -> None:
    for section in document.sections:
        section.page_width, section.page_height = Mm(A4_MM[0]), Mm(A4_MM[1])
        section.top_margin = section.bottom_margin = Mm(MARGIN_MM)
        section.left_margin = section.right_margin = Mm(MARGIN_MM)


def _set_defaults(document: Document) -> None:
    """Every run inherits the Mincho font and its size from the document's defaults. The
    template's theme fonts are removed: Word prefers a theme font to a named one."""
    styles = document.styles.element
    r_pr = _path(styles, "w:docDefaults", "w:rPrDefault", "w:rPr")
    assert r_pr is not None  # python-docx's template has one
    fonts = r_pr.find(qn("w:rFonts"))
    assert fonts is not None
    for name in list(fonts.attrib):
        del fonts.attrib[name]
    for slot in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
        fonts.set(qn(slot), FONT)
    for tag in ("w:sz", "w:szCs"):
        size = r_pr.find(qn(tag))
        assert size is not None
        size.set(qn("w:val"), str(int(FONT_POINTS * 2)))
    lang = r_pr.find(qn("w:lang"))
    if lang is not None:
        lang.set(qn("w:eastAsia"), "ja-JP")
    normal = document.styles["Normal"].paragraph_format
    normal.space_before = normal.space_after = Pt(0)
    normal.line_spacing_rule = WD_LINE_SPACING.EXACTLY
    # The Normal style's spacing overrides the template defaults' (10 pt after a paragraph).
    normal.line_spacing = Pt(PITCH_POINTS)


@dataclass
class _Line:
    """One line of a .docx: a paragraph, or a part of one between breaks."""

    text: str
    paragraph: int  # index of its paragraph in the body
    new_page: bool  # an explicit page break comes before it


@dataclass
class _Docx:
    """A .docx as the checks read it."""

    document: Document
    paragraphs: list[Any] = field(default_factory=list)  # the body's w:p elements
    lines: list[_Line] = field(default_factory=list)


def _open(path: Path) -> _Docx:
    try:
        document = docx.Document(str(path))
    except (OpcError, KeyError, ValueError, zipfile.BadZipFile, etree.XMLSyntaxError):
        raise NotADocx(f"{path}: not a Word document (.docx)") from None
    body = document.element.body
    read = _Docx(document, list(body.iter(qn("w:p"))))
    for index, paragraph in enumerate(read.paragraphs):
        read.lines += _paragraph_lines(paragraph, index)
    return read


def _own(element: Any, paragraph: Any) -> bool:
    """``element`` belongs to ``paragraph``, not to a paragraph nested in it (a text box)."""
    return next(element.iterancestors(qn("w:p")), None) is paragraph


def _paragraph_lines(paragraph: Any, index: int) -> Iterator[_Line]:
    """The paragraph's lines: a line break starts a line, a page break a line on a new page
    (an empty part before a page break is no line: Word prints nothing there)."""
    p_pr = paragraph.find(qn("w:pPr"))
    new_page = p_pr is not None and _on(p_pr.find(qn("w:pageBreakBefore")))
    text: list[str] = []
    for element in paragraph.iter(qn("w:t"), qn("w:tab"), qn("w:br"), qn("w:cr"), qn("w:sym")):
        if not _own(element, paragraph):
            continue
        tag = etree.QName(element).localname
        if tag == "t":
            text.append(element.text or "")
        elif tag == "tab":
            text.append("\t")
        elif tag == "sym":  # a symbol font's character: outside JIS X 0208 as far as we know
            text.append(chr(int(element.get(qn("w:char"), "F020"), 16)))
        elif element.get(qn("w:type")) == "page":
            if text:
                yield _Line("".join(text), index, new_page)
            text, new_page = [], True
        elif element.get(qn("w:type")) != "column":
            yield _Line("".join(text), index, new_page)
            text, new_page = [], False
    yield _Line("".join(text), index, new_page)


def _on(element: Any) -> bool:
    """A Word on/off property present and not turned off."""
    return element is not None and element.get(qn("w:val"), "true") not in OFF


def check_docx(path: Path, layout: Layout, proper_nouns: Sequence[str] = ()) -> list[Problem]:
    """Every e-内容証明 rule the .docx at ``path`` breaks; ``NotADocx`` if it is none."""
    read = _open(path)
    problems = [
        *_section_problems(read.document),
        *_object_problems(read),
        *_format_problems(read),
        *check_word_text("\n".join(line.text for line in read.lines), layout, proper_nouns),
    ]
    pages = _pages(read, layout)
    if pages > MAX_PAGES:
        problems.append(
            Problem(
                None,
                Rule.TOO_MANY_PAGES,
                f"{pages} pages of {layout.value}; e-内容証明 takes {MAX_PAGES} at most",
            )
        )
    return sorted(problems, key=lambda p: p.line or 0)


def measure_docx(path: Path, layout: Layout, proper_nouns: Sequence[str] = ()) -> Measure:
    """The .docx's lines, pages and each line's count, as ``check_docx`` counts them."""
    read = _open(path)
    counts = tuple(
        count_line(line.text, proper_nouns) if line.text.strip() else 0 for line in read.lines
    )
    lines = sum(1 for line in read.lines if line.text.strip())
    return Measure(layout, lines, _pages(read, layout), counts)


def _pages(read: _Docx, layout: Layout) -> int:
    """Pages between explicit breaks (page breaks and section breaks), a part holding more
    than the layout's lines counting as several."""
    counted: list[int] = []
    ends_section = {
        index
        for index, paragraph in enumerate(read.paragraphs)
        if (p_pr := paragraph.find(qn("w:pPr"))) is not None
        and p_pr.find(qn("w:sectPr")) is not None
    }
    previous = -1
    for line in read.lines:
        if (
            not counted
            or line.new_page
            or (line.paragraph != previous and previous in ends_section)
        ):
            counted.append(0)
        counted[-1] += bool(line.text.strip())
        previous = line.paragraph
    return sum(max(1, math.ceil(n / layout.lines)) for n in counted)


def _mm(length: int | None) -> float | None:
    return None if length is None else Emu(length).mm


def _section_problems(document: Document) -> Iterator[Problem]:
    for section in document.sections:
        width, height = _mm(section.page_width), _mm(section.page_height)
        if width is None or height is None:
            yield Problem(None, Rule.PAGE_SIZE, "the page size is not set: make it A4 portrait")
        elif _near((height, width), A4_MM, PAGE_TOLERANCE_MM):
            yield Problem(None, Rule.PAGE_SIZE, "the page is A4 landscape: make it portrait")
        elif not _near((width, height), A4_MM, PAGE_TOLERANCE_MM):
            yield Problem(
                None,
                Rule.PAGE_SIZE,
                f"the page is {width:.0f} x {height:.0f} mm: make it A4 portrait (210 x 297 mm)",
            )
        margins = {
            "top": section.top_margin,
            "bottom": section.bottom_margin,
            "left": section.left_margin,
            "right": section.right_margin,
        }
        narrow = {
            side: _mm(size)
            for side, size in margins.items()
            if size is None or Emu(size).mm < MIN_MARGIN_MM - MARGIN_TOLERANCE_MM
        }
        if narrow:
            sides = ", ".join(
                f"{side} {'unset' if mm is None else f'{mm:.1f} mm'}" for side, mm in narrow.items()
            )
            yield Problem(None, Rule.MARGIN, f"margins under 1.5 cm: {sides}")
        if section._sectPr.find(qn("w:pgBorders")) is not None:
            yield Problem(None, Rule.BORDER, "the page has a border: remove it")


def _near(size: tuple[float, float], target: tuple[float, float], tolerance: float) -> bool:
    return all(abs(a - b) <= tolerance for a, b in zip(size, target, strict=True))


def _object_problems(read: _Docx) -> Iterator[Problem]:
    body = read.document.element.body
    tables = sum(1 for _ in body.iter(qn("w:tbl")))
    if tables:
        yield Problem(None, Rule.TABLE, f"{tables} table(s): e-内容証明 takes plain lines only")
    first_line = _first_lines(read)
    for index, paragraph in enumerate(read.paragraphs):
        if any(
            _own(el, paragraph)
            for el in paragraph.iter(qn("w:drawing"), qn("w:pict"), qn("w:object"))
        ):
            yield Problem(first_line[index], Rule.IMAGE, "an image, shape or text box: remove it")


def _first_lines(read: _Docx) -> dict[int, int]:
    """Each paragraph's first line number."""
    first: dict[int, int] = {}
    for number, line in enumerate(read.lines, 1):
        first.setdefault(line.paragraph, number)
    return first


class _Styles:
    """Word's property inheritance, enough to know a run's size, bold and underline and a
    paragraph's alignment and borders: direct formatting, then the character style, then
    the paragraph style (each with the styles it is based on), then the document defaults."""

    def __init__(self, document: Document) -> None:
        root = document.styles.element
        self.by_id = {s.get(qn("w:styleId")): s for s in root.iter(qn("w:style"))}
        self.default_paragraph = next(
            (
                s.get(qn("w:styleId"))
                for s in root.iter(qn("w:style"))
                if s.get(qn("w:type")) == "paragraph" and s.get(qn("w:default")) in ("1", "true")
            ),
            None,
        )
        defaults = root.find(qn("w:docDefaults"))
        self.run_default = _path(defaults, "w:rPrDefault", "w:rPr")
        self.paragraph_default = _path(defaults, "w:pPrDefault", "w:pPr")

    def _chain(self, style_id: str | None, kind: str) -> Iterator[Any]:
        seen: set[str] = set()
        while style_id and style_id not in seen and style_id in self.by_id:
            seen.add(style_id)
            style = self.by_id[style_id]
            yield style.find(qn(kind))
            based = style.find(qn("w:basedOn"))
            style_id = None if based is None else based.get(qn("w:val"))

    def _paragraph_style(self, paragraph: Any) -> str | None:
        found = _path(paragraph, "w:pPr", "w:pStyle")
        return self.default_paragraph if found is None else found.get(qn("w:val"))

    def run_property(self, run: Any, paragraph: Any, tag: str) -> Any:
        """The element that sets ``tag`` for ``run``, or None (Word's default)."""
        r_style = _path(run, "w:rPr", "w:rStyle")
        levels = [
            run.find(qn("w:rPr")),
            *self._chain(None if r_style is None else r_style.get(qn("w:val")), "w:rPr"),
            *self._chain(self._paragraph_style(paragraph), "w:rPr"),
            self.run_default,
        ]
        return _first_set(levels, tag)

    def paragraph_property(self, paragraph: Any, tag: str) -> Any:
        levels = [
            paragraph.find(qn("w:pPr")),
            *self._chain(self._paragraph_style(paragraph), "w:pPr"),
            self.paragraph_default,
        ]
        return _first_set(levels, tag)


def _path(element: Any, *tags: str) -> Any:
    for tag in tags:
        if element is None:
            return None
        element = element.find(qn(tag))
    return element


def _first_set(levels: Sequence[Any], tag: str) -> Any:
    return next(
        (
            found
            for level in levels
            if level is not None and (found := level.find(qn(tag))) is not None
        ),
        None,
    )


def _format_problems(read: _Docx) -> Iterator[Problem]:
    """Per paragraph, at its first line: small type, bold, underline, centring, borders."""
    styles = _Styles(read.document)
    first_line = _first_lines(read)
    for index, paragraph in enumerate(read.paragraphs):
        line = first_line.get(index)
        runs = [r for r in paragraph.iter(qn("w:r")) if _own(r, paragraph) and _has_text(r)]
        sizes = {_half_points(styles.run_property(r, paragraph, "w:sz")) for r in runs}
        small = sorted(size for size in sizes if size < MIN_FONT_HALF_POINTS)
        if small:
            yield Problem(
                line, Rule.FONT_SIZE, f"characters of {small[0] / 2:g} pt: 10.5 pt at least"
            )
        if any(_on(styles.run_property(r, paragraph, "w:b")) for r in runs):
            yield Problem(line, Rule.BOLD, "bold characters: e-内容証明 takes plain type only")
        if any(_underlined(styles.run_property(r, paragraph, "w:u")) for r in runs):
            yield Problem(line, Rule.UNDERLINE, "underlined characters: remove the underline")
        if any(_bordered(styles.run_property(r, paragraph, "w:bdr")) for r in runs):
            yield Problem(line, Rule.BORDER, "characters with a border: remove it")
        justified = styles.paragraph_property(paragraph, "w:jc")
        if justified is not None and justified.get(qn("w:val")) == "center":
            yield Problem(line, Rule.CENTRED, "a centred line: align it to the left")
        borders = styles.paragraph_property(paragraph, "w:pBdr")
        if borders is not None and any(_bordered(side) for side in borders):
            yield Problem(line, Rule.BORDER, "a paragraph border: remove it")


def _has_text(run: Any) -> bool:
    return any(True for _ in run.iter(qn("w:t"), qn("w:sym")))


def _half_points(size: Any) -> int:
    if size is None:
        return WORD_DEFAULT_HALF_POINTS
    try:
        return int(size.get(qn("w:val"), WORD_DEFAULT_HALF_POINTS))
    except ValueError:
        return WORD_DEFAULT_HALF_POINTS


def _underlined(element: Any) -> bool:
    return element is not None and element.get(qn("w:val"), "single") != "none"


def _bordered(element: Any) -> bool:
    return element is not None and element.get(qn("w:val"), "single") not in ("nil", "none")
