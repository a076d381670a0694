"""Records from tables: HTML tables (with or without a header row), label/value tables, and
the grids that CSV and XLSX files become.

Crawled content is hostile: script and style elements are dropped before any text is taken,
cells are cut to ``MAX_CELL_CHARS``, control characters removed, and a document yields at most
``MAX_ROWS`` records. lxml repairs broken markup (unclosed rows and cells) the way a browser does.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

import lxml.html
from cssselect import SelectorError
from lxml import etree
from lxml.cssselect import CSSSelector

from crawler.fields import (
    RECORD_FIELDS,
    REPEATABLE,
    assign_columns,
    classify_value,
    column_kind,
    field_for_header,
    join_value,
    map_header,
    nfkc,
)

MAX_CELL_CHARS = 1000
MAX_ROWS = 50_000
MAX_COLUMNS = 60
TRUNCATED_MARK = "…[cut]"
_UNSAFE_TAGS = ("script", "style", "noscript", "template", "iframe", "object", "embed", "svg")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")
_SPACES = re.compile(r"[ \t\r\n\f\v]+")


def clean_cell(text: str) -> str:
    """One published value as text: no control or bidi characters, spaces collapsed, bounded.

    Full-width spaces are kept (``山田　太郎`` is published that way).
    """
    if len(text) > 4 * MAX_CELL_CHARS:
        text = text[: 4 * MAX_CELL_CHARS]
    text = _SPACES.sub(" ", _CONTROL.sub("", text)).strip(" ")
    if len(text) > MAX_CELL_CHARS:
        text = text[:MAX_CELL_CHARS] + TRUNCATED_MARK
    return text


@dataclass(slots=True)
class Record:
    """One published record: contract fields, unknown columns (kept), and where it was."""

    fields: dict[str, str]
    extra: dict[str, str] = field(default_factory=dict)
    where: str = ""

    def filled(self) -> int:
        return sum(1 for k, v in self.fields.items() if v and k in RECORD_FIELDS)


def _is_record(rec: Record) -> bool:
    f = rec.fields
    anchors = sum(1 for k in ("phone", "postal_code", "address", "email") if f.get(k))
    return rec.filled() >= 2 and (anchors >= 1 or bool(f.get("name")))


def records_from_grid(
    rows: Sequence[Sequence[str]], where: str, column_map: dict[str, str] | None = None
) -> list[Record]:
    """Records from a grid of cells: find a header row, else recognise columns by content.

    ``column_map`` (a per-source override) maps header labels to contract columns.
    """
    return read_grid(rows, where, column_map)[0]


def read_grid(
    rows: Sequence[Sequence[str]], where: str, column_map: dict[str, str] | None = None
) -> tuple[list[Record], bool]:
    """``records_from_grid``'s records, and whether a header row named the columns (a reader
    that found one is trusted over one that guessed by content: ``crawler.readers``)."""
    grid = [[clean_cell(c) for c in r[:MAX_COLUMNS]] for r in rows[: MAX_ROWS + 10]]
    grid = [r for r in grid if any(r)]
    if not grid:
        return [], False
    header_at, mapping, labels = _find_header(grid, column_map)
    if mapping is None:
        return _headerless(grid, where), False
    out: list[Record] = []
    for n, cells in enumerate(grid[header_at + 1 :], start=header_at + 2):
        if cells == grid[header_at]:
            continue  # a repeated header row (long tables repeat it)
        rec = _headed_record(cells, mapping, labels, f"{where}/row{n}")
        if _is_record(rec):
            out.append(rec)
        if len(out) >= MAX_ROWS:
            break
    return out, True


def _headed_record(
    cells: list[str], mapping: dict[int, str], labels: list[str], where: str
) -> Record:
    rec = Record({}, {}, where)
    for i, cell in enumerate(cells):
        name = mapping.get(i)
        label = labels[i] if i < len(labels) and labels[i] else f"col{i + 1}"
        if name in REPEATABLE and rec.fields.get(name):
            rec.fields[name] = join_value(rec.fields[name], label, cell)  # TEL | FAX columns
        elif name:
            rec.fields[name] = cell
        elif cell:
            rec.extra[label[:40]] = cell
    return rec


def _find_header(
    rows: list[list[str]], column_map: dict[str, str] | None
) -> tuple[int, dict[int, str] | None, list[str]]:
    for at, cells in enumerate(rows[:5]):
        if column_map:
            mapping = {i: column_map[c] for i, c in enumerate(cells) if c in column_map}
            if len(mapping) >= 2:
                return at, mapping, cells
        mapping_ = map_header(cells)
        if mapping_ is not None:
            return at, mapping_, cells
    return 0, None, []


def _headerless(rows: list[list[str]], where: str) -> list[Record]:
    width = max(len(r) for r in rows)
    if width < 2:
        return []
    kinds = [column_kind(r[i] if i < len(r) else "" for r in rows) for i in range(width)]
    mapping = assign_columns(kinds)
    # A kana column after a kana name is its reading only if it spells the same; else a guardian.
    name_col = next((i for i, f in mapping.items() if f == "name"), None)
    kana_col = next((i for i, f in mapping.items() if f == "name_kana"), None)
    if name_col is not None and kana_col is not None and kinds[name_col] == "kana_text":
        same = sum(
            1
            for r in rows
            if kana_col < len(r) and _fold(r[name_col]) == _fold(r[kana_col]) and r[kana_col]
        )
        if same < 0.5 * sum(1 for r in rows if kana_col < len(r) and r[kana_col]):
            mapping[kana_col] = "guardian_name"
    if len([f for f in mapping.values() if f in RECORD_FIELDS]) < 3:
        return []
    out = []
    for n, cells in enumerate(rows, start=1):
        rec = Record({}, {}, f"{where}/row{n}")
        for i, cell in enumerate(cells):
            if i in mapping:
                rec.fields[mapping[i]] = cell
            elif cell:
                rec.extra[f"col{i + 1}"] = cell
        if _is_record(rec):
            out.append(rec)
    return out[:MAX_ROWS]


def _fold(text: str) -> str:
    t = nfkc(text).replace(" ", "").replace("　", "")
    return "".join(chr(ord(c) + 0x60) if "\u3041" <= c <= "\u3096" else c for c in t)


# --- HTML ---------------------------------------------------------------------------------


def parse_html(text: str) -> etree._Element | None:
    """A safe tree: parsed without network or entities, unsafe elements removed."""
    if not text.strip():
        return None
    parser = lxml.html.HTMLParser(
        recover=True, no_network=True, remove_comments=True, remove_pis=True, huge_tree=False
    )
    try:
        root = lxml.html.document_fromstring(text, parser=parser)
    except (etree.ParserError, ValueError):
        return None
    for el in list(root.iter(*_UNSAFE_TAGS)):
        if isinstance(el, lxml.html.HtmlElement):
            el.drop_tree()  # keeps the element's tail text, drops its content
    return root


def cell_text(el: etree._Element) -> str:
    parts: list[str] = []
    size = 0
    for t in el.itertext():
        parts.append(str(t))
        size += len(t)
        if size > 4 * MAX_CELL_CHARS:
            break
    return clean_cell("".join(parts))


def _children(el: etree._Element, *tags: str) -> list[etree._Element]:
    return [c for c in el if isinstance(c.tag, str) and c.tag in tags]


def _table_rows(table: etree._Element) -> Iterator[list[str]]:
    for part in [table, *_children(table, "thead", "tbody", "tfoot")]:
        for tr in _children(part, "tr"):
            cells = _children(tr, "th", "td")
            yield [cell_value(c) for c in cells[:MAX_COLUMNS]]


_LINK_SCHEMES = {"tel:": "phone", "callto:": "phone", "mailto:": "email"}


def cell_value(el: etree._Element) -> str:
    """A cell's text; or, when the text is no phone or e-mail (``電話する``, an icon) and the cell
    links one (``<a href="tel:…">``, ``mailto:``), the linked number or address."""
    text = cell_text(el)
    for a in el.iter("a"):
        linked = link_value(a.get("href") or "")
        if linked and not classify_value(text) & {"phone", "email"}:
            return linked
    return text


def link_value(href: str) -> str:
    """The number or address of a ``tel:``/``callto:``/``mailto:`` link ("" for other links),
    decoded (``%20``) and without a mail link's ``?subject=…``."""
    href = href.strip()
    scheme = next((s for s in _LINK_SCHEMES if href[: len(s)].lower() == s), None)
    if scheme is None:
        return ""
    value = unquote(href[len(scheme) :].split("?", 1)[0])
    return clean_cell(value.split(",", 1)[0] if scheme == "mailto:" else value)


def records_from_html(
    root: etree._Element, where: str, column_map: dict[str, str] | None = None
) -> list[Record]:
    """Records from every table on the page (outermost data tables first), then from
    label/value layouts (a two-column table or a <dl> holding one record)."""
    out: list[Record] = []
    for t_no, table in enumerate(root.iter("table"), start=1):
        rows = list(_table_rows(table))
        if not rows:
            continue
        if _is_label_value(rows):
            rec = _label_value_record(rows, f"{where}/table{t_no}")
            if rec is not None:
                out.append(rec)
            continue
        out.extend(records_from_grid(rows, f"{where}/table{t_no}", column_map))
        if len(out) >= MAX_ROWS:
            return out[:MAX_ROWS]
    for d_no, dl in enumerate(root.iter("dl"), start=1):
        pairs = [
            [cell_text(dt), cell_text(dd)]
            for dt, dd in zip(_children(dl, "dt"), _children(dl, "dd"), strict=False)
        ]
        if _is_label_value(pairs):
            rec = _label_value_record(pairs, f"{where}/dl{d_no}")
            if rec is not None:
                out.append(rec)
    return out


def _is_label_value(rows: list[list[str]]) -> bool:
    if len(rows) < 2 or any(len(r) != 2 for r in rows):
        return False
    named = {field_for_header(r[0]) for r in rows} - {None}
    return len(named & set(RECORD_FIELDS)) >= 2 and len(named) >= 0.6 * len(rows)


def _label_value_record(rows: list[list[str]], where: str) -> Record | None:
    rec = Record({}, {}, where)
    for label, value in rows:
        name = field_for_header(label)
        if name in REPEATABLE and rec.fields.get(name):
            rec.fields[name] = join_value(rec.fields[name], label, value)  # TEL, then FAX
        elif name and name not in rec.fields:
            rec.fields[name] = value
        elif value:
            rec.extra[label[:40] or f"field{len(rec.extra) + 1}"] = value
    return rec if _is_record(rec) else None


# --- per-source CSS selector override -----------------------------------------------------

MAX_SELECTOR_CHARS = 300
# a field's selector may end in ::attr(NAME) (an attribute: href, data-*) or ::text
_PSEUDO = re.compile(r"::(?:attr\(\s*([A-Za-z_][-A-Za-z0-9_:.]{0,59})\s*\)|(text))\s*$")


@dataclass(frozen=True)
class FieldSelector:
    """Where one field is inside a record: an element, and which attribute of it (None: its
    text). ``a[href^=mailto]::attr(href)`` reads the address of a mail link."""

    css: CSSSelector
    attr: str | None = None

    def value(self, record: etree._Element) -> str:
        found = _elements(self.css(record))
        if not found:
            return ""
        if self.attr is None:
            return cell_text(found[0])
        raw = str(found[0].get(self.attr) or "")
        # a tel:/mailto: link gives its number or address; any other attribute its text
        return link_value(raw) or clean_cell(unquote(raw) if self.attr == "href" else raw)


@dataclass(frozen=True)
class Selectors:
    """A source's override: the record container, and where each field is inside it."""

    record: CSSSelector
    fields: dict[str, FieldSelector]


def compile_selectors(spec: Any) -> Selectors:
    """``{"record": CSS, "fields": {contract field: CSS}}`` compiled; ValueError says why.

    A field's CSS may end in ``::attr(name)`` to read an attribute (``href`` of a ``tel:`` or
    ``mailto:`` link gives the number or address; ``data-*`` attributes as they are) or in
    ``::text`` (the default: the element's text)."""
    if not isinstance(spec, dict) or set(spec) != {"record", "fields"}:
        raise ValueError('selectors take "record" (a CSS selector) and "fields" ({field: CSS})')
    fields = spec["fields"]
    if not isinstance(fields, dict) or not fields:
        raise ValueError('selectors "fields" must map contract fields to CSS selectors')
    unknown = sorted(str(f) for f in set(fields) - set(RECORD_FIELDS))
    if unknown:
        raise ValueError(
            f"unknown field(s) {', '.join(unknown)}; fields are {', '.join(RECORD_FIELDS)}"
        )
    return Selectors(
        _css(spec["record"], "record"), {f: _field_css(css, f) for f, css in fields.items()}
    )


def _elements(result: Any) -> list[etree._Element]:
    """The elements of a selector's result (a CSS selector yields elements only)."""
    if not isinstance(result, list):
        return []
    return [e for e in result if isinstance(e, etree._Element)]


def _field_css(css: Any, what: str) -> FieldSelector:
    if not isinstance(css, str):
        return FieldSelector(_css(css, what))
    m = _PSEUDO.search(css)
    if m is None:
        return FieldSelector(_css(css, what))
    element = css[: m.start()].strip() or "*"
    return FieldSelector(_css(element, what), m.group(1))


def _css(css: Any, what: str) -> CSSSelector:
    if not isinstance(css, str) or not css.strip() or len(css) > MAX_SELECTOR_CHARS:
        raise ValueError(f"{what}: a CSS selector of 1 to {MAX_SELECTOR_CHARS} characters")
    try:
        return CSSSelector(css)
    except (SelectorError, etree.XPathError, ValueError) as exc:
        raise ValueError(f"{what}: not a valid CSS selector {css!r} ({exc})") from None


def records_from_selectors(root: etree._Element, sel: Selectors, where: str) -> list[Record]:
    """One record per element matching the record selector; each field from the first match
    of its selector inside it (text or attribute, cleaned and bounded like every cell)."""
    out: list[Record] = []
    for n, el in enumerate(_elements(sel.record(root)), start=1):
        rec = Record({}, {}, f"{where}/sel{n}")
        for name, field_sel in sel.fields.items():
            value = field_sel.value(el)
            if value:
                rec.fields[name] = value
        if rec.filled():
            out.append(rec)
        if len(out) >= MAX_ROWS:
            break
    return out
