"""Listing keys: pages on the source's home host are keyed without host and port, so a source
that moves (the demo's fixture web on another port, a broker re-pointed at a new domain) keeps
its listings; listings recorded with the older host-and-port keys are still recognised."""

from __future__ import annotations

from urllib.parse import urlsplit

from sqlalchemy import select

from crawler.context import netloc_of
from crawler.launch import add_source, run_crawl
from crawler.spiders.generic import key_before_home, listing_key
from store.models import Listing, ListingStatus
from store.runtime import Store


def test_home_pages_are_keyed_without_host_and_port() -> None:
    home = netloc_of("http://127.0.0.1:8765/")
    assert home == "127.0.0.1:8765"
    assert listing_key("http://127.0.0.1:8765/meibo/list?page=3", home) == "/meibo/list"
    assert listing_key("http://127.0.0.1:8765/list/page/2?cat=a", home) == "/list?cat=a"
    # the same list on another port of the same machine is another site: keyed in full
    assert listing_key("http://127.0.0.1:9/meibo/list", home) == "127.0.0.1:9/meibo/list"
    assert listing_key("http://cdn.example/files/a.csv", home) == "cdn.example/files/a.csv"
    # http and https, explicit default ports: one home
    home = netloc_of("https://Broker.example:443/meibo/")
    assert home == netloc_of("http://broker.example/") == "broker.example"
    assert listing_key("http://broker.example:80/list", home) == "/list"
    # without a home (and before home keys): host and port included, as always
    assert listing_key("http://h:1/list?page=3&cat=a") == "h:1/list?cat=a"
    assert key_before_home("http://Broker.example:8080/list?page=2", "/list") == (
        "broker.example:8080/list"
    )
    assert key_before_home("http://cdn.example/a.csv", "cdn.example/a.csv") is None


def test_a_listing_keyed_with_its_host_and_port_is_recognised_and_re_keyed(
    store: Store, broker_web: str
) -> None:
    add_source(store, "keys", [broker_web + "/takedown/"], actor="t", is_local=True)
    first = run_crawl(store, "keys", actor="t", timeout=60).summary
    with store.sessions.begin() as s:
        listing = s.scalars(select(Listing)).one()
        listing_id = listing.id
        assert listing.key == "/takedown/"
        # as the crawler recorded it before keys left the home host out
        listing.key = f"{urlsplit(broker_web).netloc}/takedown/"
    again = run_crawl(store, "keys", actor="t", timeout=60).summary
    assert again.listings_new == 0 and again.listings_removed == []
    assert again.rows_new == 0 and again.rows_again == first.rows_new > 10
    with store.sessions() as s:
        listing = s.scalars(select(Listing)).one()
    assert (listing.id, listing.key) == (listing_id, "/takedown/")
    assert listing.status == ListingStatus.ACTIVE
