"""Each crawler default is defined once: the bare `scrapy crawl generic` settings, the store's
typed settings and the launcher's per-crawl settings agree and cannot drift apart."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

import crawler.settings as bare
from crawler.launch import scrapy_settings
from crawler.options import DEFAULT_DEPTH, SourceOptions
from store.models import Source
from store.settings import Settings

# crawler/settings.py name -> the store setting it takes its default from
SHARED = {
    "USER_AGENT": "crawler_user_agent",
    "LEAKWATCH_MAX_RESPONSE_BYTES": "crawler_max_response_bytes",
    "CLOSESPIDER_PAGECOUNT": "crawler_page_limit",
    "DOWNLOAD_TIMEOUT": "crawler_timeout_s",
    "CONCURRENT_REQUESTS_PER_DOMAIN": "crawler_concurrency_per_domain",
    "AUTOTHROTTLE_ENABLED": "crawler_autothrottle",
}


@pytest.mark.parametrize(("scrapy_name", "store_name"), SHARED.items())
def test_bare_crawl_defaults_are_the_store_defaults(scrapy_name: str, store_name: str) -> None:
    assert getattr(bare, scrapy_name) == Settings.model_fields[store_name].default


def test_depth_and_size_backstop_follow_their_one_definition() -> None:
    assert bare.DEPTH_LIMIT == DEFAULT_DEPTH == SourceOptions().depth
    assert bare.DOWNLOAD_MAXSIZE == 4 * bare.LEAKWATCH_MAX_RESPONSE_BYTES


def test_a_source_without_options_crawls_with_the_bare_defaults() -> None:
    """With default store settings, the launcher's overrides change nothing of the bare run."""
    defaults = SimpleNamespace(settings=Settings.model_construct())  # defaults, not the env
    src = Source(name="s", start_urls=["https://b.example/"], is_local=False, options={})
    got = scrapy_settings(defaults, src)  # type: ignore[arg-type]
    for name in (*SHARED, "DEPTH_LIMIT", "DOWNLOAD_MAXSIZE"):
        assert got[name] == str(getattr(bare, name)), name


def test_settings_module_holds_settings_only() -> None:
    """Scrapy takes every upper-case name of the module for a setting."""
    names = {n for n in vars(bare) if n.isupper()}
    assert "DEFAULT_DEPTH" not in names and not any(n.startswith("_") for n in names)
