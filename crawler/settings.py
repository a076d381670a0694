"""Scrapy settings for LeakWatch crawls (filled in by the crawler issue)."""

BOT_NAME = "leakwatch"
SPIDER_MODULES = ["crawler.spiders"]
NEWSPIDER_MODULE = "crawler.spiders"
ROBOTSTXT_OBEY = True
TELNETCONSOLE_ENABLED = False
