"""The resident matcher as a real process on a real Unix socket: it matches as a fresh index
would, learns the store's changes (an added person, an erased one) on its own, refuses a
wrong token, and crawls, report intake and `leakwatch match --server` use it when it runs."""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from casework.resident import ResidentIndex
from matcher import Matcher, MatchResult, Model
from store.keyring import MasterKey
from store.matcher_client import LocalMatching, NotServing, ResidentClient, connect, matcher_for
from store.matcher_wire import token_of
from store.matching import build_index, current_model, match_listing_rows
from store.models import WatchlistPerson
from store.runtime import Store
from store.watchlist_import import import_watchlist
from synth.watchlist import generate_watchlist

SERVE = [sys.executable, "-c", "from office import cli; "
         "cli.COMMANDS.setdefault('matcher', 'cli_matcher'); cli.main()",
         "matcher", "serve"]  # fmt: skip
Listing = tuple[list[dict[str, str]], list[dict[str, str]]]


def wait_for(check: object, seconds: float = 60.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return
        time.sleep(0.1)
    raise AssertionError("timed out")


def client_of(store: Store) -> ResidentClient:
    return connect(store.settings.home, store.key_ring().current.index_key)


@pytest.fixture
def service(store: Store, loaded_listing: Listing, env: dict[str, str]) -> Iterator[str]:
    """`leakwatch matcher serve` for the store, looking for changes every 0.3 s: its address."""
    folder = Path(tempfile.mkdtemp(prefix="lw"))  # a short path: sockets have a length limit
    sock = folder / "m.sock"
    proc = subprocess.Popen([*SERVE, "--socket", str(sock), "--sync-every", "0.3"],
                            env={**os.environ, **env}, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)  # fmt: skip

    def ready() -> bool:
        assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
        try:
            with client_of(store):
                return True
        except NotServing:
            return False

    try:
        wait_for(ready)
        yield f"unix:{sock}"
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
        sock.unlink(missing_ok=True)
        folder.rmdir()


def same(a: MatchResult, b: MatchResult) -> None:
    assert [(c.row_id, c.record_id, c.decision) for c in a.candidates] == [
        (c.row_id, c.record_id, c.decision) for c in b.candidates
    ]
    assert [c.score for c in a.candidates] == pytest.approx(
        [c.score for c in b.candidates], rel=1e-9, abs=1e-12
    )


def new_person(tmp_path: Path) -> tuple[dict[str, str], dict[str, str]]:
    """A person to import and a listing row of them (as a broker might publish it)."""
    person = next(iter(generate_watchlist(1, 77))) | {
        "record_id": "P77777777",
        "household_id": "H77777777",
    }
    path = tmp_path / "new.csv"
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(person))
        w.writeheader()
        w.writerow(person)
    row = {"row_id": "NEW", "listing_id": "L-new", "name": person["name"],
           "birthdate": person["birthdate"].replace("-", "/"), "address": person["address"],
           "postal_code": person["postal_code"], "phone": person["phone"]}  # fmt: skip
    return person, row


def test_it_matches_learns_additions_and_erasures_and_refuses_a_wrong_token(
    store: Store, loaded_listing: Listing, service: str, tmp_path: Path
) -> None:
    rows, _ = loaded_listing
    home = store.settings.home
    assert (home / "matcher.json").stat().st_mode & 0o777 == 0o600
    assert Path(service[5:]).stat().st_mode & 0o777 == 0o600
    with client_of(store) as client:
        assert client.status()["persons"] == 600
        first = client.match(rows, model=Model())
    same(first, Matcher(build_index(store)).match(rows))

    # An import adds a person; a customer's erasure removes a matched one.
    person, row = new_person(tmp_path)
    import_watchlist(store.sessions, store.vault, tmp_path / "new.csv", actor="test",
                     worker=False)  # fmt: skip
    erased = next(c.record_id for c in first.candidates if c.decision == "match")
    with store.sessions() as s:
        p = s.scalars(select(WatchlistPerson).where(WatchlistPerson.record_ref == erased)).one()
        p.erased_at = datetime.now(UTC)
        s.commit()

    def caught_up() -> bool:  # by its own looks, no one told it
        with client_of(store) as c:
            s = c.status()
        return bool(s["added"] >= 1 and s["removed"] >= 1 and s["persons"] == 600)

    wait_for(caught_up)
    with client_of(store) as client:
        again = client.match([*rows, row], model=Model())
        assert client.status()["reloads"] == 0  # applied change by change
    same(again, Matcher(build_index(store)).match([*rows, row]))
    assert ("NEW", person["record_id"], "match") in {
        (c.row_id, c.record_id, c.decision) for c in again.candidates
    }
    assert erased not in {c.record_id for c in again.candidates}

    # Someone without the store's key gets nothing, not even the state.
    with pytest.raises(NotServing, match="wrong token"):
        ResidentClient(service, token_of(MasterKey.generate().index_key))
    with client_of(store) as client:
        assert client.status()["refused"] == 1


def test_crawls_reports_and_the_cli_use_it_while_it_runs(
    store: Store,
    loaded_listing: Listing,
    service: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from office.cli import app
    from office.console import console

    result = match_listing_rows(store)  # what a crawl calls
    assert result.matcher == f"resident matcher at {service}" and result.candidates > 0
    assert matcher_for(store).label == f"resident matcher at {service}"
    rows, _ = loaded_listing
    # Report intake (the web app): the same answers as its own index, nothing loaded here.
    web = ResidentIndex()
    reports = web.matching(store)
    assert reports.label == f"resident matcher at {service}" and web.loads == 0
    scoring = {"as_of": {}, "thresholds": None, "model": current_model(store), "em": False}
    here = LocalMatching(web.get(store))
    same(reports.match(rows[:5], **scoring), here.match(rows[:5], **scoring))
    listing = tmp_path / "l.csv"
    with listing.open("w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    out = tmp_path / "m.csv"
    monkeypatch.setattr(console, "width", 200)  # made at import: COLUMNS is read too late
    r = CliRunner().invoke(app, ["match", "--server", "--listing", str(listing), "--out",
                                 str(out)])  # fmt: skip
    assert r.exit_code == 0, r.output
    assert f"resident matcher at {service}" in r.output
    assert len(out.read_text(encoding="utf-8").splitlines()) > 50


def test_without_it_everything_loads_the_index_as_before(
    store: Store, loaded_listing: Listing, tmp_path: Path
) -> None:
    from office.cli import app

    result = match_listing_rows(store)
    assert result.matcher.startswith("this process (600 persons") and result.candidates > 0
    web = ResidentIndex()
    assert web.matching(store).label.startswith("this process (600 persons") and web.loads == 1
    r = CliRunner().invoke(app, ["match", "--server", "--listing", str(tmp_path / "x.csv"),
                                 "--out", str(tmp_path / "m.csv")])  # fmt: skip
    assert r.exit_code == 2 and "no resident matcher is running" in " ".join(r.output.split())
