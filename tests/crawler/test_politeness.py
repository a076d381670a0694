"""What a crawl promises the sites it visits and the machine it runs on, checked where it shows.

The settings a crawl really runs with are built the way ``scrapy crawl`` builds them: the
project's settings module (``SCRAPY_SETTINGS_MODULE=crawler.settings``) overridden at
command-line priority by the launcher's ``-s`` values. What the sites see (user agent, the
number of requests) is read from the fixture web's own request log.
"""

from __future__ import annotations

import pytest
from scrapy.settings import Settings as ScrapySettings
from scrapy.utils.project import get_project_settings
from sqlalchemy import select

from crawler.launch import add_source, run_crawl, scrapy_settings
from store.models import Source
from store.runtime import Store
from tests.crawler.conftest import last_crawl, server_log


def _effective(store: Store, name: str, monkeypatch: pytest.MonkeyPatch) -> ScrapySettings:
    """The Scrapy settings of a crawl of ``name``, as `scrapy crawl -s ...` would build them."""
    monkeypatch.setenv("SCRAPY_SETTINGS_MODULE", "crawler.settings")
    with store.sessions() as s:
        src = s.scalars(select(Source).where(Source.name == name)).one()
        overrides = scrapy_settings(store, src)
    settings = get_project_settings()
    settings.setdict(overrides, priority="cmdline")
    return settings


def test_effective_settings_keep_the_consoles_off_and_throttle_only_other_hosts(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_source(store, "web", ["https://broker.example/"], actor="t", options={"page_limit": 7})
    add_source(store, "fixture", ["http://127.0.0.1:8765/"], actor="t", is_local=True)
    for name, throttled in (("web", True), ("fixture", False)):
        settings = _effective(store, name, monkeypatch)
        # either console would run code inside the process that holds the master key
        assert settings.getbool("REMOTE_CONTROL_ENABLED") is False
        assert settings.getbool("TELNETCONSOLE_ENABLED") is False
        assert settings.getbool("AUTOTHROTTLE_ENABLED") is throttled, name
        assert settings.get("USER_AGENT") == store.settings.crawler_user_agent
        assert settings.getbool("ROBOTSTXT_OBEY") is True
        middlewares = settings.getwithbase("DOWNLOADER_MIDDLEWARES")
        assert (
            middlewares["crawler.safety.PageBudgetMiddleware"]
            > middlewares["scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware"]
        )  # what robots.txt forbids is never sent, so never counted
    assert _effective(store, "web", monkeypatch).getint("CLOSESPIDER_PAGECOUNT") == 7


def test_every_request_carries_the_configured_user_agent(store: Store, broker_web: str) -> None:
    agent = "LeakWatchBot-test/9.1 (+ua check; contact: tests)"
    ours = Store.open(store.settings.model_copy(update={"crawler_user_agent": agent}))
    try:
        add_source(ours, "ua", [broker_web + "/catalog/"], actor="t", is_local=True)
        mark, _ = server_log(broker_web)
        result = run_crawl(ours, "ua", actor="t", timeout=60)
    finally:
        ours.close()
    _, hits = server_log(broker_web, mark)
    assert "error" not in result.summary and len(hits) >= 5
    assert hits[0]["path"] == "/robots.txt"  # robots.txt first, and with the same agent
    assert {h["user_agent"] for h in hits} == {agent}


def test_the_page_limit_caps_the_requests_the_site_sees(store: Store, broker_web: str) -> None:
    """Scrapy's page count closes the spider only after the limit, with more requests on their
    way (8 at a time to a local source): the site must still see no more than the limit."""
    limit = 6
    add_source(
        store, "limited", [broker_web + "/bench/400/"], actor="t", is_local=True,
        options={"page_limit": limit, "depth": 10},
    )  # fmt: skip
    mark, _ = server_log(broker_web)
    summary = run_crawl(store, "limited", actor="t", timeout=60).summary
    _, hits = server_log(broker_web, mark)
    pages = [h for h in hits if h["path"].startswith("/bench/400/")]
    assert limit - 1 <= len(pages) <= limit, len(pages)
    assert [h["path"] for h in hits if h not in pages] == ["/robots.txt"]
    # pages went unseen: the crawl is incomplete and concludes nothing is gone
    assert summary.error is None and summary.complete is False
    assert summary.finish_reason == "closespider_pagecount" or summary.over_page_limit
    assert last_crawl(store, "limited").error == (
        f"incomplete ({summary.finish_reason}): removals were not checked"
    )
