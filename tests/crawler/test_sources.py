"""Registering sources: no credentials in URLs, robots.txt overridden only for a reason."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from crawler.launch import CrawlError, add_source, run_crawl, scrapy_settings
from office.cli import app
from store.models import AuditEvent, Source
from store.runtime import Store
from tests.crawler.conftest import last_crawl, server_log

SECRET = "s3cret-Pw-71"
WITH_CREDENTIALS = [
    f"https://member:{SECRET}@broker.example/list",
    f"http://:{SECRET}@broker.example/",
    f"http://member-{SECRET}@broker.example/",  # a user name alone is a credential too
    f"https://member:{SECRET}@broker.example:8443/list?page=1",
]
OPTIONS_HELP = ("--login-url", "--login-user-env", "--login-password-env")


def _stored(store: Store) -> str:
    with store.sessions() as s:
        sources = [repr((x.name, x.start_urls, x.options)) for x in s.scalars(select(Source))]
        events = [repr((e.action, e.reason, e.details)) for e in s.scalars(select(AuditEvent))]
    return "\n".join(sources + events)


@pytest.mark.parametrize("url", WITH_CREDENTIALS)
def test_credentials_in_a_start_url_are_refused_without_repeating_them(
    store: Store, url: str
) -> None:
    with pytest.raises(CrawlError) as refused:
        add_source(store, "members", [url], actor="t")
    message = str(refused.value)
    assert "holds a user name or password" in message
    assert all(option in message for option in OPTIONS_HELP)
    assert SECRET not in message and "member" not in message.replace("members-only", "")
    assert "***@broker.example" in message
    assert SECRET not in _stored(store)


def test_credentials_in_the_login_url_are_refused(store: Store) -> None:
    login = {"url": f"https://u:{SECRET}@broker.example/login", "username_env": "U",
             "password_env": "P"}  # fmt: skip
    with pytest.raises(CrawlError, match=r"login url .* holds a user name or password") as refused:
        add_source(store, "m", ["https://broker.example/"], actor="t", options={"login": login})
    assert SECRET not in str(refused.value) and SECRET not in _stored(store)


def test_cli_refuses_credentials_in_a_url(env: dict[str, str], store: Store) -> None:
    r = CliRunner().invoke(app, ["source", "add", "members", WITH_CREDENTIALS[0]])
    out = " ".join(r.output.split())
    assert r.exit_code == 2 and "Traceback" not in r.output
    assert "holds a user name or password" in out and all(o in out for o in OPTIONS_HELP)
    assert SECRET not in r.output and SECRET not in _stored(store)


def test_a_source_stored_with_credentials_is_not_crawled(store: Store) -> None:
    """A source registered before such URLs were refused is refused at crawl time."""
    with store.sessions.begin() as s:
        s.add(Source(name="old", start_urls=[WITH_CREDENTIALS[0]], options={}))
    with pytest.raises(CrawlError, match="holds a user name or password") as refused:
        run_crawl(store, "old", actor="t")
    assert SECRET not in str(refused.value)


def test_overriding_robots_needs_a_reason_and_the_reason_is_audited(
    env: dict[str, str], store: Store
) -> None:
    for blank in ("", "   "):
        with pytest.raises(CrawlError, match=r"overriding robots\.txt needs a reason"):
            add_source(store, "r", ["http://example.com/"], actor="t", robots_override_reason=blank)
    r = CliRunner().invoke(
        app, ["source", "add", "r", "http://example.com/", "--ignore-robots-reason", " "]
    )
    assert r.exit_code == 2 and "needs a reason" in r.output, r.output
    with store.sessions() as s:
        assert s.scalars(select(Source)).all() == []

    reason = "the site's operator agreed in writing (letter 2026-04-01)"
    sid = add_source(store, "r", ["http://example.com/"], actor="t", robots_override_reason=reason)
    with store.sessions() as s:
        event = s.scalars(select(AuditEvent).where(AuditEvent.action == "source.added")).one()
        src = s.get(Source, sid)
        assert src is not None
        assert scrapy_settings(store, src)["ROBOTSTXT_OBEY"] == "False"
    assert event.reason == reason and event.details["robots_overridden"] is True
    assert event.object_id == str(sid)


def test_robots_txt_is_obeyed_unless_overridden(store: Store, broker_web: str) -> None:
    """Counted on the server: the disallowed page is requested only with the override."""
    private = broker_web + "/meibo/private/full.html"
    add_source(store, "obeys", [private], actor="t", is_local=True)
    mark, _ = server_log(broker_web)
    obeyed = run_crawl(store, "obeys", actor="t", timeout=60).summary
    _, hits = server_log(broker_web, mark)
    assert [h["path"] for h in hits] == ["/robots.txt"]
    assert obeyed.robots_forbidden == 1
    assert obeyed.error == f"nothing could be fetched: {private}: Forbidden by robots.txt"

    add_source(
        store, "overrides", [private], actor="t", is_local=True,
        robots_override_reason="test: the fixture web's own operator",
    )  # fmt: skip
    mark, _ = server_log(broker_web)
    overridden = run_crawl(store, "overrides", actor="t", timeout=60).summary
    _, hits = server_log(broker_web, mark)
    assert [h["path"] for h in hits] == ["/meibo/private/full.html"]  # not even robots.txt
    assert overridden.error is None and overridden.robots_forbidden == 0
    crawl = last_crawl(store, "overrides")
    assert crawl.error is None
    with store.sessions() as s:
        started = s.scalars(
            select(AuditEvent).where(
                AuditEvent.action == "crawl.started", AuditEvent.object_id == str(crawl.id)
            )
        ).one()
    assert started.details["robots_obeyed"] is False
