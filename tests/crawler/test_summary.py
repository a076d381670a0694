"""The crawl summary travels as JSON from the crawl process to the launcher, typed both ends."""

from __future__ import annotations

from crawler.summary import CrawlSummary, LoginState, MatchingOutcome


def test_json_round_trip_keeps_what_was_given_only() -> None:
    summary = CrawlSummary(
        source="s", crawl_id=3, finish_reason="finished", outcome="finished", complete=True,
        pages=4, bytes=1000, refused=[{"url": "http://10.0.0.1/", "reason": "private"}],
        login=LoginState(status="ok", reason="logged in"), rows_new=2, listings_shrunk=[],
        matching=MatchingOutcome(status="matched", rows=2, result={"rows": 2, "x": None}),
    )  # fmt: skip
    again = CrawlSummary.from_json(summary.to_json())
    assert again == summary
    data = again.as_dict()
    assert "error" not in data and "warc_path" not in data and "rows_again" not in data
    assert data["login"] == {"status": "ok", "reason": "logged in"}
    assert data["matching"] == {"status": "matched", "rows": 2, "result": {"rows": 2, "x": None}}
    assert data["listings_shrunk"] == []
