"""Scrapy settings for LeakWatch crawls.

Per-source values (depth, page limit, robots override, size limit) are passed by the launcher
(``crawler.launch``) as ``-s`` overrides; these are the safe defaults for a bare
``scrapy crawl generic -s LEAKWATCH_SOURCE=NAME``. The defaults LeakWatch lets an operator
configure (user agent, size and page limits, timeout, concurrency, throttling) are the store's
typed settings' defaults (``store.settings.Settings``, ``crawler_*``), the default depth is
``crawler.options``'s: each is defined once, there.
"""

from typing import Any

from crawler import options as _options
from store.settings import Settings as _Store

# Scrapy takes every upper-case name of this module for a setting: only settings are.


def _default(name: str) -> Any:
    """The default of the store setting ``crawler_<name>`` (not the environment's value: a bare
    ``scrapy crawl`` behaves the same wherever it runs; the launcher passes configured ones)."""
    return _Store.model_fields[f"crawler_{name}"].default


BOT_NAME = "leakwatch"
SPIDER_MODULES = ["crawler.spiders"]
NEWSPIDER_MODULE = "crawler.spiders"

# Politeness
ROBOTSTXT_OBEY = True
USER_AGENT: str = _default("user_agent")
AUTOTHROTTLE_ENABLED: bool = _default("autothrottle")
AUTOTHROTTLE_START_DELAY = 0.5
AUTOTHROTTLE_TARGET_CONCURRENCY = 2.0
CONCURRENT_REQUESTS = 16
CONCURRENT_REQUESTS_PER_DOMAIN: int = _default("concurrency_per_domain")
DOWNLOAD_TIMEOUT: float = _default("timeout_s")
RETRY_TIMES = 1
COOKIES_ENABLED = True
REDIRECT_MAX_TIMES = 5
DEPTH_LIMIT = _options.DEFAULT_DEPTH
CLOSESPIDER_PAGECOUNT: int = _default("page_limit")
DEPTH_PRIORITY = 1  # breadth-first: the first page of a list is met before its later pages
SCHEDULER_DISK_QUEUE = "scrapy.squeues.PickleFifoDiskQueue"
SCHEDULER_MEMORY_QUEUE = "scrapy.squeues.FifoMemoryQueue"

# Safety: no remote control, bounded responses, no private addresses (crawler.safety).
# Both consoles would let whoever reaches them run code in the process that holds the master
# key: the telnet console, and the HTTP one Scrapy 2.19 turns on by default.
TELNETCONSOLE_ENABLED = False
REMOTE_CONTROL_ENABLED = False
LEAKWATCH_MAX_RESPONSE_BYTES: int = _default("max_response_bytes")
# Scrapy's own limit is a backstop far above ours: ours cuts and keeps what came, Scrapy's drops.
DOWNLOAD_MAXSIZE = 4 * LEAKWATCH_MAX_RESPONSE_BYTES
DOWNLOAD_WARNSIZE = 0
MEMUSAGE_ENABLED = False
URLLENGTH_LIMIT = 2083

# every address the downloader connects to is checked again (DNS rebinding)
TWISTED_DNS_RESOLVER = "crawler.safety.GuardedResolver"
DOWNLOADER_MIDDLEWARES = {
    "crawler.safety.AddressGuardMiddleware": 40,
    # after RobotsTxtMiddleware (100): what robots.txt forbids is not sent, so not counted
    "crawler.safety.PageBudgetMiddleware": 120,
    "crawler.evidence.EvidenceMiddleware": 950,
    # A proxy resolves names itself, past the resolver check above: crawls never use one.
    "scrapy.downloadermiddlewares.httpproxy.HttpProxyMiddleware": None,
}
ITEM_PIPELINES = {"crawler.pipeline.StorePipeline": 300}
EXTENSIONS = {
    "crawler.safety.SizeGuard": 100,
    # counts every response, with evidence capture on or off
    "crawler.context.ResponseCounter": 110,
    "crawler.context.CrawlFinisher": 900,
}
# Items hold personal data: never in the log.
LOG_FORMATTER = "crawler.context.PiiSafeLogFormatter"
LOG_LEVEL = "INFO"

# The browser for sources marked --javascript (crawler.browser, crawler.rendering): Debian's
# chromium, never one downloaded; its budgets per rendered page.
LEAKWATCH_BROWSER = "/usr/bin/chromium"
LEAKWATCH_BROWSER_PAGE_TIMEOUT_S = 20.0
LEAKWATCH_BROWSER_PAGE_REQUESTS = 200
LEAKWATCH_BROWSER_MAX_CLICKS = 100
LEAKWATCH_BROWSER_PAGES_AT_ONCE = 4  # measured: 2 cores render 4 pages at once 1.5x faster than 2

# LeakWatch switches (the benchmark turns capture and storage off to measure their cost: the
# evidence middleware and the store pipeline then raise NotConfigured and are not loaded)
LEAKWATCH_SOURCE = ""
LEAKWATCH_CRAWL_ID = 0
LEAKWATCH_EVIDENCE = True
LEAKWATCH_STORE = True
LEAKWATCH_SUMMARY_FILE = ""

TWISTED_REACTOR = "twisted.internet.asyncioreactor.AsyncioSelectorReactor"
