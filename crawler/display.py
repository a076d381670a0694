"""Showing crawled text safely: in a terminal, a CSV file, or an HTML page.

Crawled values are stored as published (scripts are dropped before extraction, but a cell can
still *say* ``<script>``, ``=HYPERLINK(…)``, ``[bold]`` or hold escape sequences). Whatever shows
them must neutralise them for its medium: these are the three media we write to.
"""

from __future__ import annotations

import html
import re

from rich.markup import escape as rich_escape

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")
_PHONE_LIKE = re.compile(r"^[+\-][\d\s()\-+*xX]*$")


def strip_controls(value: str) -> str:
    return _CONTROL.sub("", value)


def terminal_safe(value: str, limit: int = 120) -> str:
    """For Rich output: no control/escape sequences, markup escaped, length bounded."""
    text = strip_controls(value)
    if len(text) > limit:
        text = text[:limit] + "…"
    return rich_escape(text)


def csv_safe(value: str) -> str:
    """For a CSV a spreadsheet may open: a leading = @ tab CR, or a + / - that does not start
    a phone number, is neutralised with a leading apostrophe (OWASP CSV injection)."""
    text = strip_controls(value)
    lead = text[:1]
    if lead in ("=", "@", "\t", "\r") or (lead in ("+", "-") and not _PHONE_LIKE.match(text)):
        return "'" + text
    return text


def html_safe(value: str) -> str:
    """For an HTML page outside Jinja2's autoescape (e-mail bodies, plain-string templates)."""
    return html.escape(strip_controls(value), quote=True)
