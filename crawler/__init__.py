"""The Scrapy project: spiders, record extraction, evidence capture, pipelines into the store."""
