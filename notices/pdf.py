"""HTML letters to PDF with WeasyPrint, fetching nothing, and the check for missing glyphs.

Owns the PDF writer's boundary: the HTML of a letter carries crawled text and may come from an
edited template, so WeasyPrint gets a URL fetcher that refuses every URL (no network, no file
read, no ``data:`` either: a letter needs no image or stylesheet from outside). Also owns
``missing_glyphs``, which reads a PDF back and names the characters drawn with no glyph.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from io import BytesIO
from typing import Any

from fontTools.ttLib import TTFont  # type: ignore[import-untyped]
from pdfminer.cmapdb import CMapParser, FileUnicodeMap
from pdfminer.pdfdocument import PDFDocument
from pdfminer.pdfexceptions import PDFObjectNotFound
from pdfminer.pdfparser import PDFParser
from pdfminer.pdftypes import PDFStream, resolve1
from pdfminer.psparser import PSLiteral
from weasyprint import HTML  # type: ignore[import-untyped]
from weasyprint.urls import URLFetcher  # type: ignore[import-untyped]


class FetchRefused(ValueError):
    """A letter's HTML asked for an outside resource; letters fetch nothing."""


class RefusingFetcher(URLFetcher):  # type: ignore[misc]
    """WeasyPrint's fetcher with every URL refused. WeasyPrint catches the error, logs it and
    leaves the resource out; the refused URLs are kept for whoever wants to look."""

    def __init__(self) -> None:
        super().__init__(allowed_protocols=(), allow_redirects=False)
        self.refused: list[str] = []

    def fetch(self, url: str, headers: Any = None) -> Any:
        self.refused.append(url)
        raise FetchRefused(f"letters fetch nothing: {url[:200]}")


def write_pdf(html: str) -> bytes:
    """``html`` as PDF. No base URL: a relative reference has nothing to resolve against."""
    pdf = HTML(string=html, base_url=None, url_fetcher=RefusingFetcher()).write_pdf()
    assert isinstance(pdf, bytes)
    return pdf


# A missing glyph, as PDF readers see it: the character code a font shows maps (through the
# font's Encoding CMap and CIDToGIDMap) to glyph 0, .notdef, or past the glyphs the embedded
# font program has. WeasyPrint draws a character no font has in exactly that way: Pango
# flags it unknown, and the code WeasyPrint gives it maps to CID 0 in a custom Encoding.
# What the character was comes from the font's ToUnicode map.


def missing_glyphs(pdf: bytes) -> set[str]:
    """Characters of ``pdf``'s text drawn with no glyph (tofu) in their embedded font.

    Checks composite (Type0) fonts, which is how WeasyPrint embeds every outline font. A
    font with more missing characters than free codes (WeasyPrint numbers them after the
    font's last glyph, so a CJK font with 65,535 glyphs has room for one) loses the rest
    from its ToUnicode map: the result is then not every missing character, but not empty.
    """
    document = PDFDocument(PDFParser(BytesIO(pdf)))
    missing: set[str] = set()
    for font in _type0_fonts(document):
        missing |= _font_missing(font)
    return missing


def _type0_fonts(document: PDFDocument) -> Iterator[dict[str, Any]]:
    """Every composite font object in the file, wherever it is used."""
    seen: set[int] = set()
    for xref in document.xrefs:
        for objid in xref.get_objids():
            if objid in seen:
                continue
            seen.add(objid)
            try:
                obj = document.getobj(objid)
            except PDFObjectNotFound:
                continue
            if isinstance(obj, dict) and _name(obj.get("Subtype")) == "Type0":
                yield obj


def _font_missing(font: dict[str, Any]) -> set[str]:
    to_unicode = _to_unicode(resolve1(font.get("ToUnicode")))
    code_to_cid = _code_to_cid(resolve1(font.get("Encoding")))
    descendant = resolve1(resolve1(font["DescendantFonts"])[0])
    cid_to_gid = _cid_to_gid(resolve1(descendant.get("CIDToGIDMap")))
    glyphs = _glyph_count(resolve1(descendant.get("FontDescriptor")))
    missing: set[str] = set()
    for code, text in to_unicode.items():
        cid = code if code_to_cid is None else code_to_cid.get(code, 0)
        gid = cid if cid_to_gid is None else cid_to_gid(cid)
        if gid == 0 or (glyphs is not None and gid >= glyphs):
            missing.update(text)
    return missing


def _name(value: Any) -> str | None:
    value = resolve1(value)
    if not isinstance(value, PSLiteral):
        return None
    return value.name.decode("latin-1") if isinstance(value.name, bytes) else value.name


def _to_unicode(stream: Any) -> dict[int, str]:
    if not isinstance(stream, PDFStream):
        return {}
    unicode_map = FileUnicodeMap()
    CMapParser(unicode_map, BytesIO(stream.get_data())).run()
    return {code: text for code, text in unicode_map.cid2unichr.items() if text.strip()}


_CIDCHAR = re.compile(rb"begincidchar(.*?)endcidchar", re.S)
_CIDRANGE = re.compile(rb"begincidrange(.*?)endcidrange", re.S)
_CHAR_ENTRY = re.compile(rb"<([0-9A-Fa-f]+)>\s*(\d+)")
_RANGE_ENTRY = re.compile(rb"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>\s*(\d+)")


def _code_to_cid(encoding: Any) -> dict[int, int] | None:
    """A custom Encoding CMap as a dict; None for Identity-H/V (a code is its CID)."""
    if not isinstance(encoding, PDFStream):
        return None
    data = encoding.get_data()
    mapping: dict[int, int] = {}
    for block in _CIDCHAR.findall(data):
        for code, cid in _CHAR_ENTRY.findall(block):
            mapping[int(code, 16)] = int(cid)
    for block in _CIDRANGE.findall(data):
        for low, high, cid in _RANGE_ENTRY.findall(block):
            for offset, code in enumerate(range(int(low, 16), int(high, 16) + 1)):
                mapping[code] = int(cid) + offset
    return mapping


def _cid_to_gid(value: Any) -> Callable[[int], int] | None:
    """None for /Identity (and for CFF fonts, whose CIDs are looked up in the font itself)."""
    if not isinstance(value, PDFStream):
        return None
    table = value.get_data()
    return lambda cid: int.from_bytes(table[2 * cid : 2 * cid + 2] or b"\0\0", "big")


def _glyph_count(descriptor: Any) -> int | None:
    """Glyphs in the embedded font program (an OpenType or TrueType file); None if the
    program is absent or of a kind fontTools is not asked to read here."""
    if not isinstance(descriptor, dict):
        return None
    program = resolve1(descriptor.get("FontFile2") or descriptor.get("FontFile3"))
    if not isinstance(program, PDFStream) or _name(program.get("Subtype")) not in (
        None,
        "OpenType",
    ):
        return None
    with TTFont(BytesIO(program.get_data()), lazy=True) as font:
        return len(font.getGlyphOrder())
