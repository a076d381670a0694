"""Letters rendered from their facts: plain-text paragraphs, HTML, PDF and the 内容証明 text.

The thin public API over the templates (``notices/templates``), the sandbox they run in
(``notices.sandbox``) and the PDF writer (``notices.pdf``). Every rendering of a letter is
made from one frozen ``LetterFacts``; ``template`` is the legal team's edited source of that
letter's template, used in place of the packaged one.
"""

from __future__ import annotations

import re
from typing import Any

from notices import pdf
from notices.letter import LetterFacts, LetterKind
from notices.naiyo import Layout, lay_out
from notices.sandbox import printable, render

TITLES: dict[LetterKind, str] = {
    LetterKind.CEASE_USE: "通知書",
    LetterKind.REMINDER: "催告書",
    LetterKind.FINAL: "最終通告書",
}
CERTIFICATE = "certificate"
CERTIFICATE_TITLE = "削除証明書"

_PARAGRAPH_BREAK = re.compile(r"\n[ \t\u3000]*\n")


def template_name(kind: LetterKind | str, form: str) -> str:
    """The packaged template of a letter kind (or ``certificate``) in a form (html or txt)."""
    if form not in ("html", "txt"):
        raise ValueError(f"unknown form {form!r}: html or txt")
    return f"{LetterKind(kind).value if kind != CERTIFICATE else CERTIFICATE}.{form}"


def _context(facts: LetterFacts, title: str) -> dict[str, Any]:
    if facts.kind is not LetterKind.CEASE_USE and not facts.prior:
        # a reminder or final notice that cites no earlier letter would misstate the case
        raise ValueError(f"a {TITLES[facts.kind]} must cite the earlier notices (facts.prior)")
    return {"facts": printable(facts), "title": title, "letter_title": TITLES[facts.kind]}


def paragraphs(text: str) -> list[str]:
    """Text split at blank lines; a line break inside a paragraph is kept, trailing spaces
    are not (they cannot be seen, and the 内容証明 count ignores them)."""
    blocks = _PARAGRAPH_BREAK.split(text.replace("\r\n", "\n"))
    cleaned = ("\n".join(line.rstrip() for line in b.strip("\n").splitlines()) for b in blocks)
    return [block for block in cleaned if block.strip()]


def render_text(facts: LetterFacts, template: str | None = None) -> list[str]:
    """The letter as plain-text paragraphs (mail body, 内容証明 and Word variants)."""
    context = _context(facts, TITLES[facts.kind])
    return paragraphs(render(template_name(facts.kind, "txt"), context, template))


def render_html(facts: LetterFacts, template: str | None = None) -> str:
    """The letter as a full HTML document (A4 page, page numbers), for screen and PDF."""
    context = _context(facts, TITLES[facts.kind])
    return render(template_name(facts.kind, "html"), context, template)


def render_pdf(facts: LetterFacts, template: str | None = None) -> bytes:
    """The letter as PDF; nothing is fetched while it is made (see ``notices.pdf``)."""
    return pdf.write_pdf(render_html(facts, template))


def render_naiyo(facts: LetterFacts, layout: Layout, template: str | None = None) -> str:
    """The 内容証明 text: the plain-text letter broken into the layout's lines, proper nouns
    (the only words allowed Latin letters) never split."""
    return lay_out(render_text(facts, template), layout, facts.proper_nouns())


def render_certificate_text(facts: LetterFacts, template: str | None = None) -> list[str]:
    """The deletion certificate form as plain-text paragraphs."""
    context = _context(facts, CERTIFICATE_TITLE)
    return paragraphs(render(template_name(CERTIFICATE, "txt"), context, template))


def render_certificate_html(facts: LetterFacts, template: str | None = None) -> str:
    """The deletion certificate form the business fills in, signs and returns, as HTML."""
    context = _context(facts, CERTIFICATE_TITLE)
    return render(template_name(CERTIFICATE, "html"), context, template)


def render_certificate_pdf(facts: LetterFacts, template: str | None = None) -> bytes:
    """The deletion certificate form as PDF, enclosed with the letter."""
    return pdf.write_pdf(render_certificate_html(facts, template))
