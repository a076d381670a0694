"""What every request needs: the store, who is asking, whether they may, and CSRF checks.

``permission(action)`` is the one authorisation dependency: every route declares exactly one
(a test walks the route table to make sure), naming an action of ``casework.permissions``.
A page asked for by nobody signed in redirects to sign-in; a signed-in principal without
the right gets 403; an API call without a valid token gets 401.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Path, Request

from casework.accounts import principal_of_token
from casework.permissions import ANONYMOUS, Action, Actor, Principal, may
from casework.resident import ResidentIndex
from casework.sessions import SessionInfo, find_session
from store.runtime import Store

# An object's id in a path: a positive database integer (a bigger number is a 422, never a
# database error).
ObjectId = Annotated[int, Path(ge=1, le=2_147_483_647)]
SESSION_COOKIE = "lw_session"
PRE_CSRF_COOKIE = "lw_csrf"  # before sign-in: a double-submit token for the sign-in forms


class SignInNeeded(Exception):
    """A page asked for without a session: redirect to the sign-in page."""


@dataclass(frozen=True, slots=True)
class Caller:
    principal: Principal
    session: SessionInfo | None  # None: anonymous, or an API token
    via_token: bool = False


ANONYMOUS_CALLER = Caller(ANONYMOUS, None)


def get_store(request: Request) -> Store:
    store: Store = request.app.state.store
    return store


def get_resident(request: Request) -> ResidentIndex:
    resident: ResidentIndex = request.app.state.resident
    return resident


StoreDep = Annotated[Store, Depends(get_store)]


def current_caller(request: Request, store: StoreDep) -> Caller:
    """The session of the cookie (pages), or the staff user of a bearer token (the API)."""
    cached = getattr(request.state, "caller", None)
    if isinstance(cached, Caller):
        return cached
    caller = Caller(ANONYMOUS, None)
    auth = request.headers.get("authorization", "")
    if request.url.path.startswith("/api/"):
        # The API takes tokens only: a cookie would let any page a user visits call it.
        if auth.lower().startswith("bearer "):
            principal = principal_of_token(store, auth[7:].strip())
            if principal is None:
                raise HTTPException(401, "invalid or revoked token",
                                    headers={"WWW-Authenticate": "Bearer"})  # fmt: skip
            caller = Caller(principal, None, via_token=True)
    elif token := request.cookies.get(SESSION_COOKIE):
        info = find_session(store, token)
        if info is not None:
            caller = Caller(info.principal, info)
    request.state.caller = caller
    return caller


CallerDep = Annotated[Caller, Depends(current_caller)]


def caller_of(request: Request) -> Caller:
    """The caller the route's permission check already resolved."""
    caller = getattr(request.state, "caller", None)
    assert isinstance(caller, Caller), "a route without its permission dependency"
    return caller


def permission(action: Action) -> Any:
    """The dependency a route declares: the caller, if they may take ``action``."""

    def check(request: Request, caller: CallerDep) -> Caller:
        if may(caller.principal, action):
            return caller
        if caller.principal.actor == Actor.ANONYMOUS:
            if request.url.path.startswith("/api/"):
                raise HTTPException(401, "sign in with an API token",
                                    headers={"WWW-Authenticate": "Bearer"})  # fmt: skip
            raise SignInNeeded
        raise HTTPException(403, "not allowed")

    check.leakwatch_action = action  # type: ignore[attr-defined]  # read by the route test
    return Depends(check)


def action_of(dependency: Callable[..., Any]) -> Action | None:
    """The action a route's dependency checks (None: not a permission check)."""
    found = getattr(dependency, "leakwatch_action", None)
    return found if isinstance(found, Action) else None


def csrf_token_for(request: Request, caller: Caller) -> str:
    """The token this caller's forms carry: the session's, or (signed out) the pre-session
    cookie's, made now if missing (the response sets it: see ``app.csrf_cookie``)."""
    if caller.session is not None:
        return caller.session.csrf_token
    token = request.cookies.get(PRE_CSRF_COOKIE) or getattr(request.state, "new_csrf", None)
    if not token:
        token = secrets.token_urlsafe(32)
        request.state.new_csrf = token
    return str(token)


async def csrf_protect(request: Request, caller: CallerDep) -> None:
    """Every form POST echoes its CSRF token (API calls with a bearer token do not: they
    carry no cookie a foreign site could ride on)."""
    if caller.via_token:
        return
    form = await request.form()
    sent = form.get("csrf_token")
    expected = caller.session.csrf_token if caller.session else request.cookies.get(
        PRE_CSRF_COOKIE)  # fmt: skip
    if not isinstance(sent, str) or not expected or not hmac.compare_digest(sent, expected):
        raise HTTPException(403, "the form expired or came from elsewhere: reload the page")


CsrfDep = Depends(csrf_protect)
