"""Admins' pages: staff accounts (add with a role, disable)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from casework.accounts import AccountError, NoSuchUser, add_user, disable_user, list_users
from casework.erasure import ErasureRefused, approve, pending, request_for_household
from casework.permissions import Action
from casework.staff import NotFound
from office.web.deps import CsrfDep, ObjectId, StoreDep, caller_of, permission
from office.web.pages import render
from store.models import Role

router = APIRouter(prefix="/admin", include_in_schema=False)
MANAGE = permission(Action.MANAGE_USERS)
Text = Annotated[str, Form()]


def _page(request: Request, store: StoreDep, status: int = 200, **extra: object) -> Response:
    context: dict[str, object] = {"users": list_users(store), "roles": list(Role), "form": {},
                                  "errors": {}, "message": ""}  # fmt: skip
    return render(request, caller_of(request), "admin_users.html", status, **(context | extra))


@router.get("/users", dependencies=[MANAGE])
def users(request: Request, store: StoreDep) -> Response:
    return _page(request, store)


@router.post("/users", dependencies=[MANAGE, CsrfDep])
def add(request: Request, store: StoreDep, username: Text = "", display_name: Text = "",
        role: Text = "", password: Text = "") -> Response:  # fmt: skip
    form = {"username": username, "display_name": display_name}
    try:
        add_user(store, username, password, Role(role), actor=caller_of(request).principal
                 .audit_name, display_name=display_name.strip())  # fmt: skip
    except (AccountError, ValueError) as exc:
        return _page(request, store, 422, form=form, errors={"form": _message(exc)})
    return _page(request, store, message=f"{username} を追加しました。")


def _message(exc: Exception) -> str:
    text = str(exc)
    if "exists" in text:
        return "そのユーザー名はすでに使われています。"
    if "password" in text:
        return "パスワードは12文字以上にしてください。"
    if "user name" in text:
        return "ユーザー名は半角英数字などで1〜64文字にしてください。"
    return "役割を一覧から選んでください。"


@router.post("/users/{user_id}/disable", dependencies=[MANAGE, CsrfDep])
def disable(request: Request, store: StoreDep, user_id: ObjectId) -> Response:
    try:
        disable_user(store, user_id, actor=caller_of(request).principal.audit_name)
    except NoSuchUser:
        raise HTTPException(404, "no such user") from None
    return RedirectResponse("/admin/users", status_code=303)


ERASURE = permission(Action.MANAGE_ERASURE)


def _erasures(request: Request, store: StoreDep, status: int = 200, **extra: object) -> Response:
    caller = caller_of(request)
    context: dict[str, object] = {"requests": pending(store, caller.principal), "error": "",
                                  "message": ""}  # fmt: skip
    return render(request, caller, "admin_erasures.html", status, **(context | extra))


@router.get("/erasures", dependencies=[ERASURE])
def erasures(request: Request, store: StoreDep) -> Response:
    return _erasures(request, store)


@router.post("/erasures", dependencies=[ERASURE, CsrfDep])
def ask_erasure(request: Request, store: StoreDep, household: Text = "") -> Response:
    try:
        request_for_household(store, caller_of(request).principal, household.strip())
    except NotFound:
        return _erasures(request, store, 422, error="その世帯番号は見つかりません。")
    return RedirectResponse("/admin/erasures", status_code=303)


@router.post("/erasures/{request_id}/approve", dependencies=[ERASURE, CsrfDep])
def approve_erasure(request: Request, store: StoreDep, request_id: ObjectId) -> Response:
    try:
        done = approve(store, caller_of(request).principal, request_id)
    except ErasureRefused:
        return _erasures(request, store, 403,
                         error="依頼した管理者とは別の管理者が承認してください。")  # fmt: skip
    except NotFound:
        raise HTTPException(404, "no such request") from None
    return _erasures(request, store, message=f"{done.persons}人分の情報を削除しました。")
