"""What a crawl writes to, as :class:`crawler.context.CrawlContext` holds it: the evidence
writer and the row writer, as Protocols (:class:`EvidenceSink`, :class:`RowSink`).

The context only holds them and closes them when the crawl ends; the components that make
them (``crawler.evidence.EvidenceMiddleware``, ``crawler.pipeline.StorePipeline``) attach them
when the context opens. So ``crawler.context`` imports neither, and they may import it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

from crawler.summary import CrawlSummary


class EvidenceSink(Protocol):
    """The crawl's evidence file (``crawler.evidence.EvidenceRecorder``)."""

    @property
    def path(self) -> Path: ...

    def close(self) -> None: ...

    def capture_rendered(
        self,
        url: str,
        html: bytes,
        *,
        refers_to: str | None,
        refers_to_uri: str,
        truncated: str | None,
    ) -> int | None:
        """Keep a rendered DOM as a record linked to the response of its document
        (``refers_to``: that record's WARC-Record-ID); its capture id, if captures are stored."""


class RowSink(Protocol):
    """Where a crawl's records go (``crawler.pipeline.RowWriter``)."""

    def add(self, item: dict[str, Any]) -> None:
        """One record of a listing page (the page's item with the record's fields)."""

    def finish(self, summary: CrawlSummary) -> CrawlSummary:
        """Write what is pending and complete the crawl: ``summary`` with what storing found."""
