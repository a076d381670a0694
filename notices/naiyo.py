"""The 内容証明 (Japan Post certified-content mail) text rules: how the post office counts a
letter's characters and lines, which characters it accepts, and a layout that keeps to them.

This module owns the counting (``count_line``, ``measure_text``), the checks of a text
(``check_text`` for paper, ``check_word_text`` for e-内容証明), the rules' names and
problems (``Rule``, ``Problem``, also used by ``notices.docx_letter`` for its Word rules) and
the line breaking (``lay_out``). Pure: no I/O.

Decisions the post office's rules leave open, and why:

- Characters outside JIS X 0208 are refused, on paper too: the clerk must be able to read and
  count every character, and the same letter goes to Word for e-内容証明, which takes JIS X
  0208 only. The exceptions on paper are the ones the post office's own counting rules name
  (circled numbers ①–⑳, squared units such as ㎡, ㈱): counted, allowed on paper, refused
  for Word. The Windows (CP932) spellings of JIS X 0208 cells (～ － ∥ ￠ ￡ ￢ —) are the
  same characters to the post office and to Word, so they are accepted.
- A line holding nothing but spaces is blank (free); trailing spaces are not counted (they
  cannot be seen on paper, so nobody can count them). Leading spaces (an indent) count.
- Latin letters must lie inside an occurrence of a proper noun. Occurrences are looked for
  in each paragraph (consecutive non-blank lines) joined, ignoring spaces and line breaks,
  with full-width letters and case folded: a name or URL broken across lines by ``lay_out``
  is still recognised, and a name is never accepted piecemeal (``Acme`` alone is refused
  when the proper noun is ``Acme Corp``).
- ``lay_out`` never splits a proper noun or a number unless it is longer than a line (a long
  URL is then split anywhere; the joined check above still recognises it).
"""

from __future__ import annotations

import enum
import math
import re
import unicodedata
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass


class Layout(enum.Enum):
    """The post office's horizontal layouts: characters a line x lines a page (520 a page),
    and the grid of the e-内容証明 Word file."""

    H20x26 = "20x26"  # the usual one
    H13x40 = "13x40"
    H26x20 = "26x20"
    # e-内容証明 sets no grid of its own (A4, 10.5 pt or more, 1.5 cm margins, 5 pages): 40
    # characters of 10.5 pt and 40 lines at a 16 pt pitch fit inside 20 mm margins, and a
    # letter that takes six pages of 20x26 takes two of these.
    WORD = "40x40"

    @classmethod
    def paper(cls) -> list[Layout]:
        """The layouts of a 内容証明 on paper."""
        return [layout for layout in cls if layout is not cls.WORD]

    @property
    def columns(self) -> int:
        """Characters a line holds at most."""
        return int(self.value.split("x")[0])

    @property
    def lines(self) -> int:
        """Lines a page holds at most (blank lines are free)."""
        return int(self.value.split("x")[1])

    @classmethod
    def parse(cls, text: str) -> Layout:
        """``"20x26"`` → ``Layout.H20x26``; anything else is a ValueError saying the choices."""
        for layout in cls:
            if layout.value == text.strip().lower():
                return layout
        choices = ", ".join(layout.value for layout in cls)
        raise ValueError(f"unknown layout {text!r}: use one of {choices}")


class Rule(enum.StrEnum):
    """The rules a 内容証明 can break; the last group concerns the e-内容証明 Word file only."""

    LINE_TOO_LONG = "line-too-long"
    LATIN_OUTSIDE_PROPER_NOUN = "latin-outside-proper-noun"
    UNMATCHED_CLOSING_BRACKET = "unmatched-closing-bracket"
    UNCLOSED_BRACKET = "unclosed-bracket"
    NOT_JIS = "not-jis-x0208"
    CONTROL_CHARACTER = "control-character"
    PAGE_SIZE = "page-size"
    MARGIN = "margin"
    FONT_SIZE = "font-size"
    BOLD = "bold"
    UNDERLINE = "underline"
    CENTRED = "centred"
    BORDER = "border"
    TABLE = "table"
    IMAGE = "image"
    TOO_MANY_PAGES = "too-many-pages"


@dataclass(frozen=True, slots=True)
class Problem:
    """One broken rule, where it is broken."""

    line: int | None  # 1-based, as an editor numbers the file's lines; None: the whole file
    rule: Rule
    message: str

    def __str__(self) -> str:
        return self.message if self.line is None else f"line {self.line}: {self.message}"


@dataclass(frozen=True, slots=True)
class Measure:
    """A text as the post office counts it."""

    layout: Layout
    lines: int  # non-blank lines (blank ones are free)
    pages: int  # ceil(lines / lines a page)
    counts: tuple[int, ...]  # characters counted on each line of the file; 0 for a blank line


class Weight(enum.IntEnum):
    """How many characters the post office counts for one character of text."""

    FREE = 0  # a closing bracket: the pair was counted at the opening one
    ONE = 1
    TWO = 2  # squared units (㎡), ℃, ①–⑨, ㈱
    THREE = 3  # ⑩–⑳


BRACKETS = {
    "「": "」", "『": "』", "（": "）", "(": ")", "【": "】", "〔": "〕", "［": "］",
    "[": "]", "｛": "｝", "{": "}", "〈": "〉", "《": "》", "“": "”", "‘": "’",
}  # fmt: skip
CLOSING = {close: open_ for open_, close in BRACKETS.items()}
CIRCLED_SMALL = range(0x2460, 0x2469)  # ①–⑨: the circle and one digit
CIRCLED_LARGE = range(0x2469, 0x2474)  # ⑩–⑳: the circle and two digits
SQUARED = range(0x3300, 0x3400)  # ㌔ ㍉ ㎡ ㎏ ㎝ ㎞ ㍻ …: a unit or word squeezed into one cell
PARENTHESISED = range(0x3220, 0x3244)  # ㈱ ㈲ …: brackets and a kanji
UNITS_IN_JIS = frozenset("℃")
# Windows (CP932) spellings of JIS X 0208 cells that Python's JIS table maps elsewhere.
JIS_VARIANTS = frozenset("～－∥￠￡￢—")
SPACES = " \u3000"
# Kinsoku: characters a line may not start with, and ones it may not end with.
NO_LINE_START = frozenset(
    "、。，．,.・：；:;？！?!…‥ー‐゛゜ヽヾゝゞ々〜"
    "ぁぃぅぇぉっゃゅょゎァィゥェォッャュョヮヵヶ" + "".join(CLOSING)
)
NO_LINE_END = frozenset(BRACKETS)
# A number and the squared unit after it (120㎡) stay on one line: a split number misreads.
NUMBER = re.compile(r"[0-9０-９](?:[0-9０-９,，.．]*[0-9０-９])?[\u3300-\u33ff℃]?")


def _paper_extension(ch: str) -> bool:
    """Outside JIS X 0208, but named and counted by the post office's rules."""
    code = ord(ch)
    return any(code in r for r in (CIRCLED_SMALL, CIRCLED_LARGE, SQUARED, PARENTHESISED))


def is_jis_x0208(ch: str) -> bool:
    """In JIS X 0208 or ASCII (what Word's e-内容証明 and the post office read)."""
    if ch in JIS_VARIANTS:
        return True
    try:
        ch.encode("iso2022_jp")
    except UnicodeEncodeError:
        return False
    return True


def is_latin(ch: str) -> bool:
    """A Latin letter, half- or full-width (allowed only in proper nouns)."""
    return ("A" <= ch <= "Z") or ("a" <= ch <= "z") or ("Ａ" <= ch <= "Ｚ") or ("ａ" <= ch <= "ｚ")


def char_weight(ch: str, list_marker: bool = False) -> Weight:
    """Characters counted for ``ch``; ``list_marker``: a circled number numbering an item."""
    code = ord(ch)
    if ch in CLOSING:
        return Weight.FREE
    if code in CIRCLED_SMALL or code in CIRCLED_LARGE:
        if list_marker:
            return Weight.ONE
        return Weight.TWO if code in CIRCLED_SMALL else Weight.THREE
    if code in SQUARED or code in PARENTHESISED or ch in UNITS_IN_JIS:
        return Weight.TWO
    return Weight.ONE


def _fold(ch: str) -> str:
    """Full-width ASCII to half-width, upper to lower case: one character stays one."""
    if "！" <= ch <= "～":
        ch = chr(ord(ch) - 0xFEE0)
    lower = ch.lower()
    return lower if len(lower) == 1 else ch


def proper_noun_cover(text: str, proper_nouns: Sequence[str]) -> set[int]:
    """Positions in ``text`` inside an occurrence of a proper noun (spaces, line breaks,
    width and case ignored)."""
    kept = [i for i, ch in enumerate(text) if not ch.isspace()]
    compact = "".join(_fold(text[i]) for i in kept)
    covered: set[int] = set()
    for noun in proper_nouns:
        needle = "".join(_fold(ch) for ch in noun if not ch.isspace())
        if not needle:
            continue
        start = compact.find(needle)
        while start >= 0:
            covered.update(range(kept[start], kept[start + len(needle) - 1] + 1))
            start = compact.find(needle, start + 1)
    return covered


def _at_line_start(line: str, index: int) -> bool:
    return line[:index].strip(SPACES) == ""


def count_line(line: str, proper_nouns: Sequence[str] = ()) -> int:
    """Characters the post office counts on one line. A circled number starting the line
    numbers an item (one character) unless it is part of a proper noun."""
    line = line.rstrip()
    covered = proper_noun_cover(line, proper_nouns) if proper_nouns else set()
    return sum(
        char_weight(ch, list_marker=_at_line_start(line, i) and i not in covered)
        for i, ch in enumerate(line)
    )


def _split_lines(text: str) -> list[str]:
    """The file's lines, numbered as an editor numbers them (form feeds are not breaks)."""
    return text.replace("\r\n", "\n").replace("\r", "\n").split("\n")


def _blank(line: str) -> bool:
    return line.strip() == ""


def measure_text(
    text: str, layout: Layout = Layout.H20x26, proper_nouns: Sequence[str] = ()
) -> Measure:
    """Lines, pages and each line's count, as the post office counts them."""
    split = _split_lines(text)
    counts = tuple(0 if _blank(line) else count_line(line, proper_nouns) for line in split)
    lines = sum(not _blank(line) for line in split)
    return Measure(layout, lines, math.ceil(lines / layout.lines), counts)


def check_text(
    text: str, layout: Layout = Layout.H20x26, proper_nouns: Sequence[str] = ()
) -> list[Problem]:
    """Every rule a paper 内容証明 text breaks, in line order."""
    return _check(text, layout, proper_nouns, word=False)


def check_word_text(
    text: str, layout: Layout = Layout.H20x26, proper_nouns: Sequence[str] = ()
) -> list[Problem]:
    """``check_text``'s rules for an e-内容証明 (Word) text: JIS X 0208 only, so circled
    numbers, squared units and ㈱ are refused as well."""
    return _check(text, layout, proper_nouns, word=True)


def _check(text: str, layout: Layout, proper_nouns: Sequence[str], word: bool) -> list[Problem]:
    lines = _split_lines(text)
    problems = [
        *_length_problems(lines, layout, proper_nouns),
        *_character_problems(lines, word),
        *_bracket_problems(lines),
        *_latin_problems(lines, proper_nouns),
    ]
    return sorted(problems, key=lambda p: p.line or 0)


def _length_problems(
    lines: list[str], layout: Layout, proper_nouns: Sequence[str]
) -> Iterator[Problem]:
    for number, line in enumerate(lines, 1):
        count = 0 if _blank(line) else count_line(line, proper_nouns)
        if count > layout.columns:
            yield Problem(
                number,
                Rule.LINE_TOO_LONG,
                f"{count} characters, at most {layout.columns} on a {layout.value} page",
            )


def _describe(chars: Sequence[str]) -> str:
    return ", ".join(f"{ch} (U+{ord(ch):04X} {unicodedata.name(ch, 'unnamed')})" for ch in chars)


def _character_problems(lines: list[str], word: bool) -> Iterator[Problem]:
    for number, line in enumerate(lines, 1):
        line = line.rstrip()
        controls = sorted({ch for ch in line if unicodedata.category(ch) == "Cc"})
        if controls:
            names = ", ".join(f"U+{ord(ch):04X}" for ch in controls)
            yield Problem(
                number, Rule.CONTROL_CHARACTER, f"a tab or control character ({names}): use spaces"
            )
        refused = [
            ch
            for ch in dict.fromkeys(line)
            if ch not in controls and not is_jis_x0208(ch) and (word or not _paper_extension(ch))
        ]
        if refused:
            where = "an e-内容証明" if word else "the post office"
            yield Problem(
                number,
                Rule.NOT_JIS,
                f"not in JIS X 0208, which {where} cannot take: {_describe(refused)}",
            )


def _bracket_problems(lines: list[str]) -> Iterator[Problem]:
    """Pairs may span lines and paragraphs; a closing bracket must close the innermost open
    one (or an outer one, leaving the inner ones unclosed)."""
    open_: list[tuple[str, int]] = []  # (bracket, line number), innermost last
    for number, line in enumerate(lines, 1):
        for ch in line:
            if ch in BRACKETS:
                open_.append((ch, number))
            elif ch in CLOSING:
                pair = CLOSING[ch]
                if not any(bracket == pair for bracket, _ in open_):
                    yield Problem(
                        number,
                        Rule.UNMATCHED_CLOSING_BRACKET,
                        f"the closing {ch} has no opening {pair} before it (a pair counts as one)",
                    )
                    continue
                while open_[-1][0] != pair:
                    yield _unclosed(*open_.pop())
                open_.pop()
    for bracket, number in open_:
        yield _unclosed(bracket, number)


def _unclosed(bracket: str, number: int) -> Problem:
    return Problem(
        number,
        Rule.UNCLOSED_BRACKET,
        f"the opening {bracket} is never closed by {BRACKETS[bracket]}",
    )


def _paragraphs(lines: list[str]) -> Iterator[list[tuple[int, str]]]:
    """Runs of consecutive non-blank lines, with their line numbers."""
    run: list[tuple[int, str]] = []
    for number, line in enumerate(lines, 1):
        if _blank(line):
            if run:
                yield run
            run = []
        else:
            run.append((number, line))
    if run:
        yield run


def _latin_problems(lines: list[str], proper_nouns: Sequence[str]) -> Iterator[Problem]:
    for run in _paragraphs(lines):
        joined = "".join(line for _, line in run)
        covered = proper_noun_cover(joined, proper_nouns)
        offset = 0
        for number, line in run:
            stray = [ch for i, ch in enumerate(line) if is_latin(ch) and offset + i not in covered]
            offset += len(line)
            if stray:
                yield Problem(
                    number,
                    Rule.LATIN_OUTSIDE_PROPER_NOUN,
                    f"Latin letters outside a proper noun: {''.join(stray)!r} "
                    "(only company, product and place names and URLs may keep them)",
                )


@dataclass(frozen=True, slots=True)
class _Atom:
    """Text ``lay_out`` keeps on one line (a character, a number or a proper noun)."""

    text: str
    weight: int


def _atoms(line: str, proper_nouns: Sequence[str], columns: int) -> list[_Atom]:
    """``line`` cut where it may be broken. A proper noun or number longer than a line is
    cut into characters; a circled number opening the line numbers an item."""
    spans: list[tuple[int, int]] = []
    for noun in sorted(filter(None, proper_nouns), key=len, reverse=True):  # longest wins
        for match in re.finditer(re.escape(noun), line):
            if not any(s < match.end() and match.start() < e for s, e in spans):
                spans.append((match.start(), match.end()))
    for match in NUMBER.finditer(line):
        if not any(s < match.end() and match.start() < e for s, e in spans):
            spans.append((match.start(), match.end()))
    starts = dict(sorted(spans))
    atoms: list[_Atom] = []
    i = 0
    while i < len(line):
        end = starts.get(i, i + 1)
        piece = line[i:end]
        marker = end == i + 1 and _at_line_start(line, i)
        weight = sum(char_weight(ch, list_marker=marker) for ch in piece)
        if len(piece) > 1 and weight > columns:
            atoms += [_Atom(ch, char_weight(ch)) for ch in piece]
        else:
            atoms.append(_Atom(piece, weight))
        i = end
    return atoms


def _first_seen(atoms: list[_Atom]) -> str:
    return next((a.text[0] for a in atoms if not a.text.isspace()), "")


def _last_seen(atoms: list[_Atom]) -> str:
    return next((a.text[-1] for a in reversed(atoms) if not a.text.isspace()), "")


def _wrap(atoms: list[_Atom], columns: int) -> list[str]:
    """Greedy filling with kinsoku: when a line may not end or the next may not start where
    the text is full, characters are pushed down to the next line."""
    lines: list[str] = []
    current: list[_Atom] = []
    width = 0
    queue = deque(atoms)
    while queue:
        atom = queue.popleft()
        if not current and lines and atom.text.isspace():
            continue  # a continuation line does not start with a space
        if width + atom.weight <= columns:
            current.append(atom)
            width += atom.weight
            continue
        pending = [atom]
        while pending[-1].text.isspace() and queue:  # spaces at a break hide what follows
            pending.append(queue.popleft())
        while _first_seen(pending) in NO_LINE_START or _last_seen(current) in NO_LINE_END:
            if len(current) == 1 and len(current[0].text) > 1:
                # A name filling the line: better split than start the next line with 、
                current = [_Atom(ch, char_weight(ch)) for ch in current[0].text]
            if len(current) == 1:
                break  # nothing left to push down: the rule gives way
            pending.insert(0, current.pop())
        lines.append("".join(a.text for a in current).rstrip())
        current, width = [], 0
        queue.extendleft(reversed(pending))
    lines.append("".join(a.text for a in current).rstrip())
    return [line for line in lines if line]


def lay_out(paragraphs: Sequence[str], layout: Layout, proper_nouns: Sequence[str] = ()) -> str:
    """The paragraphs broken into lines of at most ``layout.columns`` counted characters,
    one blank line between paragraphs (blank lines are free). A line break inside a
    paragraph is kept; empty paragraphs are dropped. The result passes ``check_text`` when
    the paragraphs break no rule other than the length of a line."""
    blocks = []
    for paragraph in paragraphs:
        lines = [
            wrapped
            for hard in _split_lines(paragraph)
            for wrapped in _wrap(
                _atoms(hard.rstrip(), proper_nouns, layout.columns), layout.columns
            )
        ]
        if lines:
            blocks.append("\n".join(lines))
    return "\n\n".join(blocks)
