"""Per-source CSS selector override, for a layout the generic extraction cannot read."""

from __future__ import annotations

import urllib.request
from collections import Counter

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from crawler.encoding import decode
from crawler.fields import RECORD_FIELDS
from crawler.launch import CrawlError, add_source, run_crawl
from crawler.spiders.generic import block_text
from crawler.tables import parse_html, records_from_html
from crawler.text_records import records_from_text
from office.cli import app
from store.models import ListingRow
from store.runtime import Store
from store.sealed import LISTING_ROW_PII
from synth.broker_web import CARD_CLASSES, FIELDS, build_fixture

SELECTORS = {"record": "div.person", "fields": {f: "." + c for f, c in CARD_CLASSES.items()}}


def test_selector_override_reads_what_the_generic_path_cannot(
    store: Store, broker_web: str
) -> None:
    cards = build_fixture().cards
    truth = Counter(tuple(r[f] for f in FIELDS) for r in cards)
    # the generic path (tables, then the page's text) on the same page gets next to nothing
    with urllib.request.urlopen(broker_web + "/cards/", timeout=5) as resp:
        root = parse_html(decode(resp.read(), resp.headers["Content-Type"])[0])
    assert root is not None
    generic = records_from_html(root, "p")
    body = root.find(".//body")
    assert body is not None
    generic = generic or records_from_text(block_text(body), "body")
    exact = sum(
        (truth & Counter(tuple(r.fields.get(f, "") for f in FIELDS) for r in generic)).values()
    )
    assert exact < 0.1 * len(cards), (exact, len(cards))

    add_source(
        store, "cards", [broker_web + "/cards/"], actor="t", is_local=True,
        options={"selectors": SELECTORS},
    )  # fmt: skip
    result = run_crawl(store, "cards", actor="t", timeout=60)
    assert result.returncode == 0 and result.summary.complete
    with store.sessions() as s:
        rows = [
            store.vault.open_json(r.pii, LISTING_ROW_PII) for r in s.scalars(select(ListingRow))
        ]
    got = Counter(tuple(r.get(f, "") for f in RECORD_FIELDS) for r in rows)
    assert got == truth and len(rows) == len(cards)  # all of them, every field in its column


def test_selectors_are_validated_when_the_source_is_added(store: Store) -> None:
    def add(spec: object) -> None:
        add_source(store, "s", ["http://example.com/"], actor="t", options={"selectors": spec})

    with pytest.raises(CrawlError, match="not a valid CSS selector"):
        add({"record": "div..person", "fields": {"name": ".nm"}})
    with pytest.raises(CrawlError, match="unknown field"):
        add({"record": "div.person", "fields": {"salary": ".pay"}})
    with pytest.raises(CrawlError, match='take "record"'):
        add({"fields": {"name": ".nm"}})
    with pytest.raises(CrawlError, match="1 to 300 characters"):
        add({"record": "div" * 200, "fields": {"name": ".nm"}})


def test_cli_selectors_option(env: dict[str, str]) -> None:
    runner = CliRunner()
    r = runner.invoke(app, ["source", "add", "a", "http://example.com/", "--selectors", "{bad"])
    assert r.exit_code == 2 and "not JSON" in r.output
    bad = '{"record": "div[", "fields": {"name": ".nm"}}'
    r = runner.invoke(app, ["source", "add", "a", "http://example.com/", "--selectors", bad])
    assert r.exit_code == 2 and "not a valid CSS selector" in r.output
    ok = '{"record": "div.person", "fields": {"name": ".nm", "phone": ".tl"}}'
    r = runner.invoke(app, ["source", "add", "a", "http://example.com/", "--selectors", ok])
    assert r.exit_code == 0, r.output
