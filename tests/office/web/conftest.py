"""A store with a small watchlist (its codes and keys known), one staff user per role, and
the web app on it through FastAPI's test client (real database, real app)."""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from casework.accounts import add_user
from casework.permissions import Actor
from office.web.app import create_app
from store.models import Role
from store.runtime import Store
from store.watchlist_import import import_watchlist
from synth.csvio import write_csv
from synth.watchlist import WATCHLIST_COLUMNS, generate_watchlist

PASSWORD = "correct horse battery"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass
class Web:
    store: Store
    codes: list[dict[str, str]]  # household_id, registration_code, login_key
    watchlist: list[dict[str, str]]
    client: Callable[[], TestClient]

    def signed_in(self, actor: Actor, household: int = 0) -> TestClient:
        """A client signed in as a user of that role (or a customer, anonymous)."""
        client = self.client()
        if actor == Actor.ANONYMOUS:
            return client
        if actor == Actor.CUSTOMER:
            code = self.codes[household]
            sign_in(client, "/signin/customer",
                    {"code": code["registration_code"], "key": code["login_key"]})  # fmt: skip
        else:
            sign_in(client, "/signin/staff", {"username": actor.value, "password": PASSWORD})
        return client


def csrf_of(client: TestClient, page: str = "/signin/staff") -> str:
    """The CSRF token the client's forms carry (any page with a form shows it)."""
    found = CSRF.search(client.get(page).text)
    assert found, page
    return found.group(1)


def sign_in(client: TestClient, path: str, data: dict[str, str]) -> None:
    response = client.post(path, data=data | {"csrf_token": csrf_of(client, path)},
                           follow_redirects=False)  # fmt: skip
    assert response.status_code == 303, response.text[:500]


@pytest.fixture
def web(store: Store, tmp_path: Path) -> Iterator[Web]:
    rows = list(generate_watchlist(60, 7))
    path = tmp_path / "w.csv"
    write_csv(rows, path, WATCHLIST_COLUMNS)
    import_watchlist(store.sessions, store.vault, path, actor="test", worker=False,
                     codes_out=tmp_path / "codes.csv")  # fmt: skip
    with open(tmp_path / "codes.csv", encoding="utf-8") as handle:
        codes = list(csv.DictReader(handle))
    for role in Role:
        add_user(store, role.value, PASSWORD, role, actor="test")
    app = create_app(store.settings, store)

    def client() -> TestClient:
        return TestClient(app, base_url="http://127.0.0.1")

    yield Web(store, codes, rows, client)
