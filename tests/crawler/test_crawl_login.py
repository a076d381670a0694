"""Login-form sources: the members-only fixture site, credentials from the environment only.

The credentials must never reach the store, the evidence (the login POST's request record is
redacted) or the crawl log, and a crawl that could not log in must not conclude that the
members' listing is gone.
"""

from __future__ import annotations

import gzip
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import select

from crawler.evidence import REDACTED
from crawler.fields import RECORD_FIELDS
from crawler.launch import CrawlError, add_source, run_crawl
from store.models import Base, Listing, ListingRow, ListingStatus
from store.runtime import Store
from store.sealed import LISTING_ROW_PII
from synth.broker_web import FIELDS, MEMBER_PASSWORD, MEMBER_USER, build_fixture

USER_ENV, PASS_ENV = "LW_TEST_MEMBER_USER", "LW_TEST_MEMBER_PASSWORD"
WRONG_PASSWORD = "Wrong-Pw-not-theirs-55"


def _members_source(store: Store, base: str, name: str = "members") -> None:
    add_source(
        store,
        name,
        [base + "/members/list.html"],
        actor="t",
        is_local=True,
        options={
            "login": {"url": base + "/members/login", "username_env": USER_ENV,
                      "password_env": PASS_ENV},
        },
    )  # fmt: skip


def _rows(store: Store) -> list[tuple[str, ...]]:
    with store.sessions() as s:
        q = select(ListingRow).where(ListingRow.gone_at.is_(None))
        pii = [store.vault.open_json(r.pii, LISTING_ROW_PII) for r in s.scalars(q)]
    return [tuple(p.get(f, "") for f in RECORD_FIELDS) for p in pii]


def _database_text(store: Store) -> str:
    """Every row of every table, as text (sealed columns stay sealed: that is the point)."""
    out = []
    with store.sessions() as s:
        for table in Base.metadata.sorted_tables:
            for row in s.execute(table.select()):
                out.append(repr(tuple(row)))
    return "\n".join(out)


def _warc_text(home: Path) -> str:
    return "\n".join(
        gzip.decompress(p.read_bytes()).decode("utf-8", "replace")
        for p in (home / "evidence").rglob("*.warc.gz")
    )


def test_login_source_reads_member_rows_and_keeps_credentials_out(
    store: Store, broker_web: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(USER_ENV, MEMBER_USER)
    monkeypatch.setenv(PASS_ENV, MEMBER_PASSWORD)
    _members_source(store, broker_web)
    # debug logging on: even then no credential in the log
    result = run_crawl(
        store, "members", actor="t", timeout=60, extra_settings={"LOG_LEVEL": "DEBUG"}
    )
    s = result.summary
    assert result.returncode == 0, result.log_path.read_text()[-2000:]
    assert s.login is not None and s.login.model_dump() == {"status": "ok", "reason": "logged in"}
    assert s.complete is True
    members = build_fixture().members
    truth = Counter(tuple(r[f] for f in FIELDS) for r in members)
    got = Counter(_rows(store))
    assert got == truth, (sum((truth & got).values()), len(members))  # all 2 pages, every field
    assert len(members) > 40  # more than one page: the logout link was not followed

    secrets = (MEMBER_PASSWORD, MEMBER_USER)
    db = _database_text(store)
    warc = _warc_text(Path(store.settings.home))
    log = result.log_path.read_text(encoding="utf-8", errors="replace")
    for secret in secrets:
        assert secret not in db and secret not in warc and secret not in log
    assert USER_ENV in db  # the store keeps the variable's name
    # the evidence shows the login happened: the POST's request record, values redacted
    assert "WARC-Type: request" in warc and "POST /members/login HTTP/1.1" in warc
    quoted = REDACTED.replace("[", "%5B").replace("]", "%5D")
    assert f"login_id={quoted}" in warc and f"passwd={quoted}" in warc and "csrf=" in warc


def test_without_credentials_or_with_a_wrong_password_no_member_rows_and_nothing_gone(
    store: Store, broker_web: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _members_source(store, broker_web)
    monkeypatch.setenv(USER_ENV, MEMBER_USER)
    monkeypatch.setenv(PASS_ENV, MEMBER_PASSWORD)
    first = run_crawl(store, "members", actor="t", timeout=60).summary
    assert first.login.status == "ok" and first.rows_new > 40

    monkeypatch.setenv(PASS_ENV, WRONG_PASSWORD)
    wrong = run_crawl(store, "members", actor="t", timeout=60)
    s = wrong.summary
    assert s.login is not None and s.login.status == "failed"
    assert "login form again" in s.login.reason
    assert s.records == 0 and s.complete is False and s.removals_checked is False
    # the members' listing was not seen, and is not taken for removed
    with store.sessions() as db:
        listing = db.execute(select(Listing)).scalar_one()
        assert listing.status == ListingStatus.ACTIVE
        assert db.scalars(select(ListingRow).where(ListingRow.gone_at.is_not(None))).all() == []
    assert WRONG_PASSWORD not in wrong.log_path.read_text(encoding="utf-8", errors="replace")
    assert WRONG_PASSWORD not in _warc_text(Path(store.settings.home))

    monkeypatch.delenv(PASS_ENV)
    unset = run_crawl(store, "members", actor="t", timeout=60).summary
    assert unset.login.status == "not attempted"
    assert PASS_ENV in unset.login.reason and unset.records == 0
    assert unset.complete is False


def test_login_options_hold_variable_names_only(store: Store) -> None:
    def add(login: dict[str, str]) -> None:
        add_source(store, "x", ["http://example.com/"], actor="t", options={"login": login})

    with pytest.raises(CrawlError, match="name an environment variable"):
        add({"url": "http://example.com/login", "username_env": "U", "password_env": "hunter2!"})
    with pytest.raises(CrawlError, match="login takes"):
        add({"url": "http://example.com/login", "username_env": "U"})
    with pytest.raises(CrawlError, match="not an http"):
        add({"url": "javascript:alert(1)", "username_env": "U", "password_env": "P"})
