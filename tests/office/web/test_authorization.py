"""Authorisation, from the app's own route table: every route performs exactly one permission
check, and every route × every kind of principal gets exactly the intended answer."""

from __future__ import annotations

import re

import pytest
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient
from sqlalchemy import select

from casework.accounts import create_token
from casework.permissions import PERMISSIONS, Action, Actor, Principal, actor_of
from office.web.deps import action_of
from store.models import Role, User
from tests.office.web.conftest import Web, csrf_of

A = Actor
EVERYONE = set(Actor)
STAFF = {A.OPERATOR, A.INVESTIGATOR, A.LEGAL, A.ADMIN, A.AUDITOR}
READERS = {A.OPERATOR, A.INVESTIGATOR, A.LEGAL, A.AUDITOR}  # operators: their own reports
CASE_READERS = {A.INVESTIGATOR, A.LEGAL, A.AUDITOR}
DASHBOARD = {A.INVESTIGATOR, A.LEGAL, A.AUDITOR, A.ADMIN}
# Who may do what, written out here on its own (not read from the registry it checks): a
# change of the registry or a new route must change this table too.
INTENDED: dict[tuple[str, str], set[Actor]] = {
    ("GET", "/"): EVERYONE,
    ("GET", "/report"): {A.ANONYMOUS},
    ("POST", "/report"): {A.ANONYMOUS},
    ("GET", "/signin/customer"): EVERYONE,
    ("POST", "/signin/customer"): EVERYONE,
    ("GET", "/signin/staff"): EVERYONE,
    ("POST", "/signin/staff"): EVERYONE,
    ("POST", "/signout"): EVERYONE - {A.ANONYMOUS},
    ("GET", "/me"): {A.CUSTOMER},
    ("GET", "/me/report"): {A.CUSTOMER},
    ("POST", "/me/report"): {A.CUSTOMER},
    ("GET", "/me/reports/{report_id}"): {A.CUSTOMER},
    ("POST", "/me/notifications"): {A.CUSTOMER},
    ("POST", "/me/erasure"): {A.CUSTOMER},
    ("GET", "/hotline/report"): {A.OPERATOR},
    ("POST", "/hotline/report"): {A.OPERATOR},
    ("GET", "/staff"): STAFF,
    ("GET", "/staff/reports"): READERS,
    ("GET", "/staff/reports/{report_id}"): READERS,
    ("GET", "/staff/attachments/{attachment_id}"): {A.INVESTIGATOR, A.LEGAL, A.AUDITOR},
    ("GET", "/account/tokens"): STAFF,
    ("POST", "/account/tokens"): STAFF,
    ("GET", "/admin/users"): {A.ADMIN},
    ("POST", "/admin/users"): {A.ADMIN},
    ("POST", "/admin/users/{user_id}/disable"): {A.ADMIN},
    ("GET", "/api/v1/me"): STAFF,
    ("GET", "/api/v1/reports"): READERS,
    ("GET", "/api/v1/reports/{report_id}"): READERS,
    ("POST", "/api/v1/reports"): {A.OPERATOR},
    ("POST", "/api/v1/households/lookup"): {A.OPERATOR},
    ("GET", "/api/v1/users"): {A.ADMIN},
    ("POST", "/api/v1/users"): {A.ADMIN},
    ("POST", "/api/v1/users/{user_id}/disable"): {A.ADMIN},
    ("GET", "/admin/erasures"): {A.ADMIN},
    ("POST", "/admin/erasures"): {A.ADMIN},
    ("POST", "/admin/erasures/{request_id}/approve"): {A.ADMIN},
    ("GET", "/work/queue"): {A.INVESTIGATOR},
    ("GET", "/work/listings/{listing_id}"): {A.INVESTIGATOR},
    ("POST", "/work/listings/{listing_id}/candidates/{candidate_id}/reveal"): {A.INVESTIGATOR},
    ("POST", "/work/listings/{listing_id}/candidates/{candidate_id}/label"): {A.INVESTIGATOR},
    ("POST", "/work/listings/{listing_id}/decision"): {A.INVESTIGATOR},
    ("GET", "/work/cases"): CASE_READERS,
    ("GET", "/work/cases/{case_id}"): CASE_READERS,
    ("POST", "/work/cases/{case_id}/status"): {A.INVESTIGATOR},
    ("POST", "/work/cases/{case_id}/close"): {A.INVESTIGATOR},
    ("POST", "/work/cases/{case_id}/approve-close"): {A.INVESTIGATOR},
    ("POST", "/work/businesses"): {A.INVESTIGATOR},
    ("POST", "/work/businesses/{business_id}/merge"): {A.INVESTIGATOR},
    ("GET", "/work/sources"): {A.INVESTIGATOR},
    ("POST", "/work/sources"): {A.INVESTIGATOR},
    ("POST", "/work/sources/{name}/schedule"): {A.INVESTIGATOR},
    ("POST", "/work/sources/{name}/run"): {A.INVESTIGATOR},
    ("GET", "/work/sources/{name}"): {A.INVESTIGATOR},
    ("GET", "/work/dashboard"): DASHBOARD,
    ("GET", "/work/dashboard/{name}.svg"): DASHBOARD,
    ("GET", "/work/dashboard/{name}.csv"): DASHBOARD,
    ("GET", "/audit"): {A.AUDITOR, A.ADMIN},
    ("GET", "/work/notices"): CASE_READERS,
    ("GET", "/work/notices/{notice_id}"): CASE_READERS,
    ("GET", "/work/notices/{notice_id}.pdf"): CASE_READERS,
    ("GET", "/work/notices/{notice_id}.docx"): CASE_READERS,
    ("GET", "/work/notices/{notice_id}.txt"): CASE_READERS,
    ("POST", "/work/cases/{case_id}/notices"): {A.LEGAL},
    ("POST", "/work/notices/{notice_id}/approve"): {A.LEGAL},
    ("POST", "/work/notices/{notice_id}/send"): {A.LEGAL},
    ("POST", "/work/notices/{notice_id}/reply"): {A.LEGAL},
    ("POST", "/work/notices/{notice_id}/conclude"): {A.LEGAL},
    ("POST", "/work/notices/{notice_id}/rescind"): {A.LEGAL},
    ("GET", "/work/letters/clauses"): {A.LEGAL},
    ("POST", "/work/letters/clauses"): {A.LEGAL},
    ("GET", "/work/letters/templates/{name}"): {A.LEGAL},
    ("POST", "/work/letters/templates/{name}"): {A.LEGAL},
    ("GET", "/verify"): EVERYONE,
    ("POST", "/verify"): EVERYONE,
}


def routes(web: Web) -> list[tuple[APIRoute, Action]]:
    """Every route of the app with the action its one permission check names."""
    app = web.client().app
    found = []
    for context in iter_route_contexts(app.routes):  # type: ignore[attr-defined]
        route = context.original_route
        if not isinstance(route, APIRoute):
            continue  # the static files mount and /openapi.json (the public contract)
        checks = [a for d in route.dependant.dependencies if (a := action_of(d.call))]
        assert len(checks) == 1, f"{route.path}: {len(checks)} permission checks"
        found.append((route, checks[0]))
    return found


def test_every_route_checks_exactly_one_permission_and_is_in_the_table(web: Web) -> None:
    listed = routes(web)
    pairs = {(m, r.path) for r, _ in listed for m in r.methods}
    assert pairs == set(INTENDED)  # a new route is refused until the table says who may
    assert {a for _, a in listed} == set(PERMISSIONS)  # and every action is reachable
    for route, action in listed:  # the registry agrees with the table
        for method in route.methods:
            assert PERMISSIONS[action] == INTENDED[(method, route.path)], (method, route.path)


def _principal_client(web: Web, actor: Actor) -> tuple[TestClient, dict[str, str], str]:
    """A client for ``actor``: its cookie session, its API headers, its CSRF token."""
    client = web.signed_in(actor)
    headers: dict[str, str] = {}
    if actor not in (Actor.ANONYMOUS, Actor.CUSTOMER):
        with web.store.sessions() as s:
            user = s.scalars(select(User).where(User.username == actor.value)).one()
        principal = Principal(actor_of(Role(actor.value)), user_id=user.id, name=user.username)
        headers = {"Authorization": f"Bearer {create_token(web.store, principal, 'test')}"}
    return client, headers, csrf_of(client, "/signin/staff")


@pytest.mark.parametrize("actor", list(Actor))
def test_each_route_answers_each_principal_as_intended(web: Web, actor: Actor) -> None:
    client, headers, csrf = _principal_client(web, actor)
    # Signing out last: it ends the session the other requests use.
    for route, action in sorted(routes(web), key=lambda ra: ra[1] == Action.SIGN_OUT):
        # No such object (nothing changes): an id nobody has, a name no source has.
        path = re.sub(r"{name}", "no-such-source", route.path)
        path = re.sub(r"{[^}]+}", "999999", path)
        for method in sorted(route.methods):
            api = path.startswith("/api/")
            response = client.request(
                method, path, headers=headers if api else {}, follow_redirects=False,
                data=None if api or method == "GET" else {"csrf_token": csrf},
                json={} if api and method == "POST" else None,
            )  # fmt: skip
            where = f"{actor.value} {method} {path} ({action.value})"
            # The API takes staff tokens only: a customer there is nobody.
            who = Actor.ANONYMOUS if api and actor == Actor.CUSTOMER else actor
            allowed = who in INTENDED[(method, route.path)]
            refused = response.status_code in (401, 403) or (
                response.status_code == 303 and response.headers["location"].startswith("/signin/")
            )
            if allowed:
                assert not refused, f"{where}: refused with {response.status_code}"
                assert response.status_code < 500, where
            elif who == Actor.ANONYMOUS:
                expected = 401 if api else 303
                assert response.status_code == expected, f"{where}: {response.status_code}"
            else:
                assert response.status_code == 403, f"{where}: {response.status_code}"
