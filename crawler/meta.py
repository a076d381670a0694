"""The ``request.meta`` keys LeakWatch's components pass each other, and what they mean.

Kept apart from the components so that each can read what another wrote without importing it
(``crawler.context`` counts what ``crawler.safety`` marked, the spider links rows to what
``crawler.evidence`` captured).
"""

from __future__ import annotations

from scrapy import Request

# why the size guard cut the response (crawler.safety.SizeGuard); absent when it was whole
TRUNCATED_META = "leakwatch_truncated"
# the EvidenceCapture id of the response (crawler.evidence), so a row points at its evidence
EVIDENCE_META = "leakwatch_evidence_id"
# the WARC-Record-ID of the response's record (crawler.evidence): a rendered DOM refers to it
EVIDENCE_RECORD_META = "leakwatch_evidence_record"
# names of form fields holding credentials: redacted in the evidence of the request
REDACT_META = "leakwatch_redact_fields"
# set on a request a rendered page made (crawler.rendering): the URL of that page
BROWSER_META = "leakwatch_browser_page"


def is_robots_request(request: Request) -> bool:
    """Scrapy's own fetch of robots.txt (and its redirect hops), not a page of the site: the
    only requests of a LeakWatch crawl that carry this flag."""
    return bool(request.meta.get("dont_obey_robotstxt"))
