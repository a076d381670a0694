"""The web app's guards: CSRF on every form, sign-in limits, session cookies, headers."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from casework.permissions import Actor
from office.web.app import MAX_BODY, SECURITY_HEADERS
from office.web.deps import SESSION_COOKIE
from tests.office.web.conftest import PASSWORD, Web, csrf_of
from tests.office.web.test_authorization import INTENDED


@pytest.mark.parametrize("route", sorted(k for k in INTENDED if k[0] == "POST"
                                         and not k[1].startswith("/api/")))  # fmt: skip
def test_a_form_without_its_csrf_token_is_refused(web: Web, route: tuple[str, str]) -> None:
    actor = sorted(INTENDED[route])[0]  # someone allowed to post it
    client = web.signed_in(actor)
    path = route[1].replace("{user_id}", "999999")
    for data in ({}, {"csrf_token": "forged"}):
        response = client.post(path, data=data, follow_redirects=False)
        assert response.status_code == 403, (route, actor, data)


def test_a_token_from_another_session_is_refused(web: Web) -> None:
    mine, theirs = web.signed_in(Actor.CUSTOMER, 0), web.signed_in(Actor.CUSTOMER, 1)
    stolen = csrf_of(theirs)
    assert mine.post("/me/erasure", data={"csrf_token": stolen}).status_code == 403
    assert mine.post("/me/erasure", data={"csrf_token": csrf_of(mine)}).status_code == 200


def _try(client: TestClient, path: str, data: dict[str, str]) -> int:
    return client.post(path, data=data | {"csrf_token": csrf_of(client, path)},
                       follow_redirects=False).status_code  # fmt: skip


def test_five_wrong_keys_lock_the_code_even_for_the_right_key(web: Web) -> None:
    client = web.client()
    code = web.codes[0]
    for _ in range(5):
        assert (
            _try(
                client,
                "/signin/customer",
                {"code": code["registration_code"], "key": "AAAA-BBBB-CCCC-DDDD"},
            )
            == 401
        )
    right = {"code": code["registration_code"], "key": code["login_key"]}
    assert _try(client, "/signin/customer", right) == 429
    # Another household's code is not locked by them.
    other = web.codes[1]
    assert (
        _try(
            client,
            "/signin/customer",
            {"code": other["registration_code"], "key": other["login_key"]},
        )
        == 303
    )


def test_repeated_wrong_passwords_lock_the_account(web: Web) -> None:
    client = web.client()
    for _ in range(5):
        assert _try(client, "/signin/staff", {"username": "legal", "password": "wrong!"}) == 401
    assert _try(client, "/signin/staff", {"username": "legal", "password": PASSWORD}) == 429
    assert _try(client, "/signin/staff", {"username": "auditor", "password": PASSWORD}) == 303


def test_sessions_are_new_at_sign_in_http_only_and_end_at_sign_out(web: Web) -> None:
    client = web.client()
    page = client.get("/signin/staff")
    assert SESSION_COOKIE not in page.cookies  # nobody is given a session before signing in
    response = client.post("/signin/staff", data={"username": "admin", "password": PASSWORD,
                                                  "csrf_token": csrf_of(client)},
                           follow_redirects=False)  # fmt: skip
    cookie = response.headers["set-cookie"]
    assert "httponly" in cookie.lower() and "samesite=lax" in cookie.lower()
    token = re.search(rf"{SESSION_COOKIE}=([^;]+)", cookie).group(1)  # type: ignore[union-attr]
    assert client.get("/staff").status_code == 200
    client.post("/signout", data={"csrf_token": csrf_of(client)})
    replay = web.client()
    replay.cookies.set(SESSION_COOKIE, token)
    assert replay.get("/staff", follow_redirects=False).status_code == 303  # ended server-side


def test_secure_cookies_over_https(web: Web) -> None:
    client = TestClient(web.client().app, base_url="https://127.0.0.1")
    response = client.post("/signin/staff", data={"username": "admin", "password": PASSWORD,
                                                  "csrf_token": csrf_of(client)},
                           follow_redirects=False)  # fmt: skip
    assert "secure" in response.headers["set-cookie"].lower()


def test_every_page_carries_the_security_headers(web: Web) -> None:
    for client, path in ((web.client(), "/"), (web.signed_in(Actor.CUSTOMER), "/me"),
                         (web.client(), "/no-such-page")):  # fmt: skip
        response = client.get(path)
        for name, value in SECURITY_HEADERS.items():
            assert response.headers.get(name) == value, (path, name)
    assert "script-src" not in SECURITY_HEADERS["Content-Security-Policy"]  # none at all
    assert "frame-ancestors 'none'" in SECURITY_HEADERS["Content-Security-Policy"]


def test_an_oversized_body_is_refused(web: Web) -> None:
    client = web.signed_in(Actor.CUSTOMER)
    big = b"0" * (MAX_BODY + 1)
    response = client.post("/me/report", data={"csrf_token": csrf_of(client)},
                           files=[("attachments", ("big.png", big, "image/png"))])  # fmt: skip
    assert response.status_code == 413
