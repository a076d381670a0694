"""Letters as PDF: read back with pdfplumber (Japanese text, page numbers, A4), drawn to a PNG,
checked for missing glyphs, and made without fetching anything."""

from __future__ import annotations

import io
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pdfplumber
import pytest

from notices import pdf as pdf_module
from notices.letter import LetterFacts, LetterKind
from notices.pdf import missing_glyphs, write_pdf
from notices.render import render_certificate_pdf, render_pdf
from notices.sandbox import wareki
from tests.notices.conftest import make_facts

MakeFacts = Callable[[LetterKind], LetterFacts]
PAGE_PNG = "/tmp/letter_page1.png"


@pytest.fixture(scope="module")
def letter_pdf() -> bytes:
    return render_pdf(make_facts(LetterKind.CEASE_USE))


def _pages(pdf: bytes) -> list[str]:
    with pdfplumber.open(io.BytesIO(pdf)) as document:
        return [page.extract_text() or "" for page in document.pages]


def _cells(pdf: bytes) -> set[str]:
    """Every table cell's text, squeezed (a digest wraps inside its cell, and a page's text
    interleaves the lines of a row's cells)."""
    with pdfplumber.open(io.BytesIO(pdf)) as document:
        return {
            _squeezed(cell or "")
            for page in document.pages
            for table in page.extract_tables()
            for row in table
            for cell in row
        }


def _squeezed(text: str) -> str:
    """Text with every space and line break out: a digest or a title may wrap in a cell."""
    return "".join(text.split())


def test_the_pdf_holds_the_letter_in_japanese(letter_pdf: bytes) -> None:
    facts = make_facts(LetterKind.CEASE_USE)
    text = "\n".join(_pages(letter_pdf))
    flat = _squeezed(text)
    assert "通知書" in flat
    assert "株式会社サンプル名簿" in text
    assert f"文書番号 {facts.reference}" in text
    cells = _cells(letter_pdf)
    for listing in facts.listings:
        assert listing.identifier in text
        for capture in listing.captures:
            assert capture.sha256 in cells
    assert _squeezed(f"{wareki(facts.deadline)}（2026年12月20日）までに") in flat
    for clause in facts.clauses:
        assert _squeezed(clause.title) in flat
    assert "この通知書の真正性は" in text and facts.verify_code in text


def test_every_page_is_a4_and_numbered(letter_pdf: bytes) -> None:
    with pdfplumber.open(io.BytesIO(letter_pdf)) as document:
        pages = document.pages
        assert len(pages) >= 2
        for number, page in enumerate(pages, 1):
            assert abs(page.width - 595.28) < 1 and abs(page.height - 841.89) < 1
            footer = page.within_bbox((0, page.height - 60, page.width, page.height))
            footer_text = footer.extract_text() or ""
            assert f"{number} / {len(pages)}" in footer_text
            assert "文書番号 2026-0001" in footer_text


def test_no_glyph_is_missing_from_any_letter(facts_of: MakeFacts) -> None:
    for kind in LetterKind:
        facts = facts_of(kind)
        assert missing_glyphs(render_pdf(facts)) == set(), kind
    assert missing_glyphs(render_certificate_pdf(facts_of(LetterKind.CEASE_USE))) == set()


def test_a_character_no_font_has_is_reported(facts: LetterFacts) -> None:
    """The check is real: a private-use character, which no installed font draws, is found
    in a letter whose body font is the CJK one (WeasyPrint draws .notdef for it)."""
    edited = "{% extends '_letter.html' %}{% block body %}<p>通知書\ue000です</p>{% endblock %}"
    assert missing_glyphs(render_pdf(facts, edited)) == {"\ue000"}


def test_each_missing_character_is_reported() -> None:
    """In a font with room for them (WeasyPrint numbers missing glyphs after the font's last
    one), every missing character is named: private use, unassigned plane 1 and 3 code
    points, while the kanji (drawn by the CJK fallback) are not."""
    html = '<p style="font-family: DejaVu Sans">ab\ue000c\U0001faff d \U00030000 漢字</p>'
    assert missing_glyphs(write_pdf(html)) == {"\ue000", "\U0001faff", "\U00030000"}


def test_page_one_as_an_image(letter_pdf: bytes) -> None:
    """Page 1 drawn to PNG (pdfplumber's pypdfium2, no Debian package) for a person to look
    at; here only that it is A4-shaped and has ink at the title and at the page number."""
    with pdfplumber.open(io.BytesIO(letter_pdf)) as document:
        image = document.pages[0].to_image(resolution=100)
        image.save(PAGE_PNG)
        picture = image.original.convert("L")
    width, height = picture.size
    assert abs(height / width - 841.89 / 595.28) < 0.01

    def ink(top: float, bottom: float) -> int:
        band = picture.crop((0, int(top * height), width, int(bottom * height)))
        return sum(band.histogram()[:128])  # pixels darker than mid-grey

    assert ink(0.94, 0.985) > 20  # "1 / 4" and the reference in the footer
    assert ink(0.0, 0.3) > 500  # the head: reference, date, parties, title
    assert ink(0.985, 1.0) == 0  # nothing printed into the bottom margin


# -- nothing is fetched -------------------------------------------------------------------


class _Recorder(BaseHTTPRequestHandler):
    hits: list[str]

    def do_GET(self) -> None:
        self.hits.append(self.path)
        body = b"body { color: red }"
        self.send_response(200)
        self.send_header("Content-Type", "text/css")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def recorder() -> Iterator[tuple[str, list[str]]]:
    """A web server on 127.0.0.1 that records every request it gets."""
    hits: list[str] = []
    handler = type("Handler", (_Recorder,), {"hits": hits})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", hits
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_a_hostile_template_fetches_nothing(
    facts: LetterFacts, recorder: tuple[str, list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    base, hits = recorder
    asked: list[str] = []
    refuse = pdf_module.RefusingFetcher.fetch

    def spy(self: pdf_module.RefusingFetcher, url: str, headers: Any = None) -> Any:
        asked.append(url)
        return refuse(self, url, headers)

    monkeypatch.setattr(pdf_module.RefusingFetcher, "fetch", spy)
    edited = f"""<!DOCTYPE html><html><head>
<link rel="stylesheet" href="{base}/link.css">
<style>
@import url("{base}/import.css");
@font-face {{ font-family: X; src: url("{base}/font.woff"); }}
body {{ background: url("{base}/background.png"); font-family: X; }}
</style></head><body>
<img src="{base}/image.png"><img src="file:///etc/passwd">
<object data="{base}/object.svg"></object>
{{% for l in facts.listings %}}<img src="{{{{ l.url }}}}">{{% endfor %}}
<p>通知書</p></body></html>"""
    pdf = render_pdf(facts, edited)
    assert pdf.startswith(b"%PDF")
    assert hits == []  # the server never heard from the renderer
    wanted = {"link.css", "import.css", "font.woff", "background.png", "image.png"}
    assert wanted <= {url.rsplit("/", 1)[-1] for url in asked}
    assert "file:///etc/passwd" in asked
    assert facts.listings[0].url in asked  # a listing's address, refused like the rest


def test_the_fetcher_refuses_by_itself(recorder: tuple[str, list[str]]) -> None:
    base, hits = recorder
    fetcher = pdf_module.RefusingFetcher()
    for url in (f"{base}/x.png", "file:///etc/passwd", "data:text/plain,hello"):
        with pytest.raises(pdf_module.FetchRefused):
            fetcher(url)
    assert fetcher.refused[0] == f"{base}/x.png" and hits == []
