"""The crawl actions the CLI offers are typed functions below it: listing sources is one
query; capture and storage switched off are components not loaded (NotConfigured)."""

from __future__ import annotations

import pytest
from scrapy.exceptions import NotConfigured
from scrapy.utils.test import get_crawler
from sqlalchemy import event

from crawler.evidence import EvidenceMiddleware
from crawler.pipeline import StorePipeline
from crawler.sources import SourceSummary, add_source, list_sources
from store.models import Crawl, CrawlStatus, Listing, Source
from store.runtime import Store


def test_list_sources_is_one_query_whatever_the_number_of_sources(store: Store) -> None:
    for n in range(4):
        add_source(store, f"s{n}", [f"https://b{n}.example/"], actor="t", is_local=n == 1)
    with store.sessions.begin() as s:
        ids = {src.name: src.id for src in s.query(Source)}
        s.add_all([Listing(source_id=ids["s0"], key=f"/l{i}") for i in range(3)])
        s.add_all([Crawl(source_id=ids["s0"], status=CrawlStatus.FAILED),
                   Crawl(source_id=ids["s0"], status=CrawlStatus.DONE),
                   Crawl(source_id=ids["s2"], status=CrawlStatus.QUEUED)])  # fmt: skip
    statements: list[str] = []

    def count(*args: object) -> None:
        statements.append(str(args[2]))

    event.listen(store.engine, "before_cursor_execute", count)
    try:
        sources = list_sources(store)
    finally:
        event.remove(store.engine, "before_cursor_execute", count)
    assert len([q for q in statements if q.lstrip().upper().startswith("SELECT")]) == 1
    assert [(x.name, x.listings, x.last_crawl_status) for x in sources] == [
        ("s0", 3, "done"), ("s1", 0, None), ("s2", 0, "queued"), ("s3", 0, None),
    ]  # fmt: skip
    assert sources[1] == SourceSummary(
        id=ids["s1"], name="s1", start_urls=["https://b1.example/"], is_local=True,
        robots_overridden=False, listings=0, last_crawl_id=None, last_crawl_status=None,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("component", "switch"),
    [(EvidenceMiddleware, "LEAKWATCH_EVIDENCE"), (StorePipeline, "LEAKWATCH_STORE")],
)
def test_a_switched_off_component_is_not_loaded(component: type, switch: str) -> None:
    with pytest.raises(NotConfigured):
        component.from_crawler(get_crawler(settings_dict={switch: False}))
    assert isinstance(component.from_crawler(get_crawler(settings_dict={switch: True})), component)
