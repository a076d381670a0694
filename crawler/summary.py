"""What one crawl reports: :class:`CrawlSummary`, counts and reasons only, never personal data.

The crawl process (``crawler.context``) writes it as JSON to the file the launcher named; the
launcher (``crawler.launch``) reads it back, adds why it stopped the crawl if it did, and hands
it to its caller (``leakwatch crawl`` prints it). Fields that only some crawls have are None
and absent from the JSON: ``error`` (a failed or interrupted crawl), ``login`` (a members-only
source), ``warc_path`` (evidence capture on), and what storing the rows found (storage on).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

# A refusal, a cut or a file that could not be read: {"url": ..., "reason": ...} (and
# "redirected_from" for a refused redirect hop). URLs and reasons are not personal data.
Incident = dict[str, str]


class LoginState(BaseModel):
    """How a members-only source's login went: variable names and reasons, never credentials."""

    model_config = ConfigDict(frozen=True)

    status: str  # "ok", "failed" or "not attempted"
    reason: str


class MatchingOutcome(BaseModel):
    """What handing the crawl's new rows to the matcher gave (``crawler.pipeline``)."""

    model_config = ConfigDict(frozen=True)

    status: str  # "no new rows", "matched", "matching failed: <exception type>"
    rows: int | None = None
    result: dict[str, Any] | None = None


class CrawlSummary(BaseModel):
    """One crawl's outcome and counts, as the crawl process reports it to the launcher."""

    model_config = ConfigDict(frozen=True)

    source: str = ""
    crawl_id: int | None = None
    finish_reason: str = ""  # Scrapy's: "finished", "shutdown", "closespider_pagecount" ...
    outcome: str = "failed"  # "finished", "failed" or "interrupted"
    complete: bool = False  # only a complete crawl may find rows or listings gone
    pages: int = 0
    bytes: int = 0
    captures: int = 0
    records: int = 0
    truncated: list[Incident] = Field(default_factory=list)
    refused: list[Incident] = Field(default_factory=list)
    not_fetched: list[Incident] = Field(default_factory=list)
    file_errors: list[Incident] = Field(default_factory=list)
    download_errors: int = 0
    robots_forbidden: int = 0
    over_page_limit: int = 0
    login: LoginState | None = None
    # reader name -> responses it read (crawler.readers), and per response (the first 200):
    # {"url", "reader", "records"}
    readers: dict[str, int] = Field(default_factory=dict)
    reads: list[dict[str, str]] = Field(default_factory=list)
    # a source marked --javascript: page states rendered and read, and rendering failures
    rendered: int = 0
    render_errors: list[Incident] = Field(default_factory=list)
    # requests the browser made around the routing (a page's WebSocket, Chromium's own
    # background traffic), each stopped at its sink proxy: none left the machine
    browser_blocked: list[Incident] = Field(default_factory=list)
    seconds: float = 0.0
    pages_per_s: float = 0.0
    peak_rss_mb: float = 0.0
    error: str | None = None
    warc_path: str | None = None
    # what storing the rows found (crawler.pipeline.RowWriter.finish), with storage on
    listings_seen: int | None = None
    rows_new: int | None = None
    rows_again: int | None = None
    listings_new: int | None = None
    listings_shrunk: list[int] | None = None
    listings_removed: list[int] | None = None
    listings_back: list[int] | None = None
    rows_gone: int | None = None
    removals_checked: bool | None = None
    matching: MatchingOutcome | None = None

    @classmethod
    def from_json(cls, text: str) -> CrawlSummary:
        return cls.model_validate_json(text)

    def to_json(self) -> str:
        return self.model_dump_json(exclude_none=True, indent=1)

    def as_dict(self) -> dict[str, Any]:
        """The JSON view: what the crawl row's stats and the audit log keep a part of."""
        return self.model_dump(mode="json", exclude_none=True)
