"""Signing in and out: customers with the letter's code and key, staff with name and password.

A new server-side session at every sign-in (the cookie a browser had before is never
promoted); the cookie is HttpOnly, SameSite=Lax, and Secure over HTTPS.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from casework.accounts import SignInFailed, sign_in_customer, sign_in_staff
from casework.limits import Locked
from casework.permissions import Action, Principal
from casework.sessions import end_session, start_session
from office.web.deps import SESSION_COOKIE, CsrfDep, StoreDep, caller_of, permission
from office.web.pages import render

router = APIRouter(include_in_schema=False)
SIGN_IN = permission(Action.SIGN_IN)
Text = Annotated[str, Form()]


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _signed_in(request: Request, store: StoreDep, principal: Principal, to: str) -> Response:
    token, _ = start_session(store, principal)
    response = RedirectResponse(to, status_code=303)
    response.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="lax",
                        secure=request.url.scheme == "https", path="/")  # fmt: skip
    return response


@router.get("/signin/customer", dependencies=[SIGN_IN])
def customer_form(request: Request) -> Response:
    return render(request, caller_of(request), "signin_customer.html", error="", code="")


@router.post("/signin/customer", dependencies=[SIGN_IN, CsrfDep])
def customer_sign_in(request: Request, store: StoreDep, code: Text = "", key: Text = ""
                     ) -> Response:  # fmt: skip
    if not code.strip() or not key.strip():
        error = "登録番号とログインキーを入力してください。"
        return render(request, caller_of(request), "signin_customer.html", 400, error=error,
                      code=code[:20])  # fmt: skip
    try:
        principal = sign_in_customer(store, code, key, _client(request))
    except Locked:
        error = (
            "入力の誤りが続いたため、この登録番号はしばらく使えません。"
            "30分ほどしてからお試しください。"
        )
        return render(request, caller_of(request), "signin_customer.html", 429, error=error,
                      code=code[:20])  # fmt: skip
    except SignInFailed:
        error = "登録番号かログインキーが違います。お手紙の記載をご確認ください。"
        return render(request, caller_of(request), "signin_customer.html", 401, error=error,
                      code=code[:20])  # fmt: skip
    return _signed_in(request, store, principal, "/me")


@router.get("/signin/staff", dependencies=[SIGN_IN])
def staff_form(request: Request) -> Response:
    return render(request, caller_of(request), "signin_staff.html", error="", username="")


@router.post("/signin/staff", dependencies=[SIGN_IN, CsrfDep])
def staff_sign_in(request: Request, store: StoreDep, username: Text = "", password: Text = ""
                  ) -> Response:  # fmt: skip
    if not username.strip() or not password:
        error = "ユーザー名とパスワードを入力してください。"
        return render(request, caller_of(request), "signin_staff.html", 400, error=error,
                      username=username[:64])  # fmt: skip
    try:
        principal = sign_in_staff(store, username, password, _client(request))
    except Locked:
        error = "ログインの失敗が続いたため、しばらくログインできません。"
        return render(request, caller_of(request), "signin_staff.html", 429, error=error,
                      username=username[:64])  # fmt: skip
    except SignInFailed:
        error = "ユーザー名かパスワードが違います。"
        return render(request, caller_of(request), "signin_staff.html", 401, error=error,
                      username=username[:64])  # fmt: skip
    return _signed_in(request, store, principal, "/staff")


@router.post("/signout", dependencies=[permission(Action.SIGN_OUT), CsrfDep])
def sign_out(request: Request, store: StoreDep) -> Response:
    session = caller_of(request).session
    if session is not None:
        end_session(store, session.session_id)
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
