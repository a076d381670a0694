"""Which reader reads a response: decided by its content, never by its name or its header.

Real sites lie about names and types as often as about charsets: a paste site serves
``label：value`` blocks as ``.txt``, a "CSV" link returns an HTML page, a sample file comes as
``application/octet-stream`` with no extension. So every body is sniffed:

* an XLSX workbook by its bytes (a zip holding ``xl/workbook.xml``);
* other binary data (images, PDF, archives) is not read;
* HTML by its markup (a doctype, ``<html>``, or several common tags near the start): the page
  cascade of ``crawler.tables`` and ``crawler.text_records`` — the source's CSS selectors, then
  tables and label/value layouts, then ``<pre>``/``<textarea>`` text, then the body's text;
* any other text is offered to every text reader — delimited table (delimiter and header
  sniffed, ``crawler.files``), ``label: value`` blocks and one record per line
  (``crawler.text_records``) — and the one that yields more complete records wins (a reader
  that found a header row wins a tie: a header is stronger evidence than content guessing).

:func:`read_body` returns the records with the name of the reader used; the spider records it
per response (``CrawlSummary.reads``) and counts it (``CrawlSummary.readers``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from lxml import etree

from crawler.encoding import decode
from crawler.files import FileRefused, is_xlsx, read_delimited, records_from_xlsx
from crawler.tables import (
    Record,
    Selectors,
    cell_text,
    parse_html,
    records_from_html,
    records_from_selectors,
)
from crawler.text_records import records_from_text

# magic numbers of binary bodies that are never read as text
_BINARY_MAGIC = (
    b"%PDF", b"\x89PNG", b"\xff\xd8\xff", b"GIF8", b"RIFF", b"\x1f\x8b", b"PK\x03\x04",
    b"\xd0\xcf\x11\xe0", b"7z\xbc\xaf", b"Rar!", b"BZh", b"\x00\x00\x01\x00", b"wOF",
    b"\x7fELF", b"MZ",
)  # fmt: skip
_HTML_START = re.compile(
    r"^\s*(?:<\?xml[^>]*>\s*)?(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html)\b", re.I | re.S
)
_HTML_TAG = re.compile(
    r"<(?:head|body|table|tr|td|th|div|p|pre|ul|ol|li|dl|dt|dd|br|span|a|h[1-6]|title|meta)"
    r"\b[^<>]{0,500}>",
    re.I,
)
HTML_SNIFF_CHARS = 4096
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f]")


@dataclass
class Reading:
    """What a body gave: the reader used, its records, and for HTML the page's tree and title
    (links are followed from the tree). ``problem``: why nothing could be read, if it says."""

    reader: str
    records: list[Record] = field(default_factory=list)
    root: etree._Element | None = None
    title: str = ""
    problem: str = ""


def sniff(body: bytes, content_type: str | None = None, text: str | None = None) -> str:
    """'xlsx', 'binary', 'html' or 'text' for a body (``text``: the body decoded, if it is).

    The content decides; the declared type only breaks a tie: markup of one kind (a page of
    ``<p>`` only) is HTML when declared so, and needs three kinds of tags when not."""
    if is_xlsx(body):
        return "xlsx"
    if body.startswith(_BINARY_MAGIC):
        return "binary"
    head = (text if text is not None else decode(body[: 4 * HTML_SNIFF_CHARS])[0])[
        :HTML_SNIFF_CHARS
    ]
    if _looks_binary(head):
        return "binary"
    declared = (content_type or "").split(";")[0].strip().lower()
    html_declared = declared in ("text/html", "application/xhtml+xml")
    return "html" if _looks_html(head, 1 if html_declared else 3) else "text"


def _looks_binary(head: str) -> bool:
    """Not text in any encoding we know: control characters or undecodable bytes throughout."""
    controls = len(_CONTROL.findall(head))
    return controls > max(8, len(head) // 50) or head.count("\ufffd") > max(8, len(head) // 5)


def _looks_html(head: str, kinds: int) -> bool:
    """A doctype or ``<html>`` first, or ``kinds`` kinds of common tags near the start (a
    "CSV" that is an error page, a fragment without ``<html>``)."""
    if _HTML_START.match(head):
        return True
    return len({_tag_name(m.group(0)) for m in _HTML_TAG.finditer(head)}) >= kinds


def _tag_name(tag: str) -> str:
    return re.split(r"[\s>/]", tag[1:], maxsplit=1)[0].lower()


def read_body(
    body: bytes,
    content_type: str | None,
    *,
    column_map: dict[str, str] | None = None,
    selectors: Selectors | None = None,
    where: str = "",
) -> Reading:
    """Sniff ``body`` and read it with the reader its content calls for (see the module)."""
    if is_xlsx(body):
        try:
            return Reading("xlsx", records_from_xlsx(body, where + "xlsx"))
        except FileRefused as exc:
            return Reading("xlsx", problem=str(exc))
    if body.startswith(_BINARY_MAGIC):  # not decoded at all: an image may be megabytes
        return Reading("none", problem="binary content (not read)")
    text, _ = decode(body, content_type)
    kind = sniff(body, content_type, text)
    if kind == "html":
        return read_html(text, column_map=column_map, selectors=selectors, where=where)
    if kind == "binary":
        return Reading("none", problem="binary content (not read)")
    return read_text(text, column_map=column_map, where=where)


def read_text(text: str, *, column_map: dict[str, str] | None = None, where: str = "") -> Reading:
    """The best of the text readers: more complete records wins, a found header breaks a tie,
    then more filled fields, then a headed table, the free-text reader, a headerless table."""
    table, header = read_delimited(text, where + "table", column_map)
    free = records_from_text(text, where + "text")
    blocks = sum(1 for r in free if "/block" in r.where)
    free_name = "text-blocks" if blocks * 2 > len(free) else "text-lines"
    # on a full tie, a headerless table loses to the line reader, which reads labels inside
    # cells (TEL:…, 保護者:…) and places each value by what it is
    candidates = [
        (len(table), header, _filled(table), 2 if header else 0, "delimited", table),
        (len(free), False, _filled(free), 1, free_name, free),
    ]
    best = max(candidates, key=lambda c: c[:4])
    if not best[5]:
        return Reading("none", problem="no records in the text")
    return Reading(best[4], best[5])


def _filled(records: list[Record]) -> int:
    return sum(r.filled() for r in records)


def read_html(
    text: str,
    *,
    column_map: dict[str, str] | None = None,
    selectors: Selectors | None = None,
    where: str = "",
) -> Reading:
    """A page's records: the source's selector override first, where its record selector
    matches; then tables and label/value layouts; then ``<pre>``/``<textarea>``; then the
    body's text, line by line (a page is one kind of document, read by the first that reads)."""
    root = parse_html(text)
    if root is None:
        return Reading("none", problem="empty page")
    title_el = root.find(".//title")
    title = cell_text(title_el) if title_el is not None else ""
    page = where + "page"
    steps: tuple[tuple[str, Callable[[], list[Record]]], ...] = (
        ("html-selectors",
         lambda: records_from_selectors(root, selectors, page) if selectors else []),
        ("html-table", lambda: records_from_html(root, page, column_map)),
        ("html-pre", lambda: _pre_records(root, where + "pre")),
        ("html-text", lambda: _body_records(root, where + "body")),
    )  # fmt: skip
    for name, step in steps:
        records = step()
        if records:
            return Reading(name, records, root, title)
    return Reading("html", [], root, title)


def _pre_records(root: etree._Element, where: str) -> list[Record]:
    blocks = [cell_text_full(el) for el in root.iter("pre", "textarea")]
    return records_from_text("\n".join(blocks), where) if blocks else []


def _body_records(root: etree._Element, where: str) -> list[Record]:
    body_el = root.find(".//body")
    return records_from_text(block_text(body_el), where) if body_el is not None else []


def cell_text_full(el: etree._Element, limit: int = 5_000_000) -> str:
    """The text of ``el`` with its line breaks (``<pre>`` content), bounded."""
    parts: list[str] = []
    size = 0
    for t in el.itertext():
        parts.append(str(t))
        size += len(t)
        if size > limit:
            break
    return "".join(parts)


def block_text(body: etree._Element) -> str:
    """Body text with a line break per block element, so lines stay records."""
    for br in body.iter("br"):
        br.tail = "\n" + (br.tail or "")
    for el in body.iter("p", "div", "li", "tr", "h1", "h2", "h3", "h4", "section", "article"):
        el.tail = "\n" + (el.tail or "")
    return cell_text_full(body)
