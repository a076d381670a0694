"""The web app: ``create_app`` assembles the routers, the security headers, the body limit,
the error pages and the store (opened once per process, as is the match index)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from casework.accounts import active_demo_accounts
from casework.resident import ResidentIndex
from office.web import (
    admin,
    api,
    audit_pages,
    auth,
    case_pages,
    customer,
    dashboard,
    hotline,
    notice_pages,
    public,
    source_pages,
    staff,
    verify_pages,
    workspace,
)
from office.web.deps import ANONYMOUS_CALLER, Caller, SignInNeeded
from office.web.pages import render
from store.runtime import Store
from store.settings import Settings, load_settings

log = logging.getLogger("leakwatch.web")
MAX_BODY = 20 * 1024 * 1024  # three 5 MB attachments and the form, with room to spare
SECURITY_HEADERS = {
    # No script at all; styles only from this site; nothing may frame a page.
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
    "Cross-Origin-Opener-Policy": "same-origin",
}


def create_app(settings: Settings | None = None, store: Store | None = None) -> FastAPI:
    """The app on ``store`` (kept open by its owner), or on a store it opens at start-up
    from ``settings`` and closes at shutdown."""
    settings = settings or load_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if store is not None:
            yield
            return
        app.state.store = Store.open(settings)
        refuse_unsafe_production(app.state.store)
        try:
            yield
        finally:
            app.state.store.close()

    app = FastAPI(title="LeakWatch", version="0.1.0", docs_url=None, redoc_url=None,
                  lifespan=lifespan)  # fmt: skip
    app.state.store, app.state.resident = store, ResidentIndex()
    # The pages are HTML for people; the OpenAPI document describes the JSON API only.
    for module in (
        public,
        auth,
        customer,
        hotline,
        staff,
        admin,
        workspace,
        case_pages,
        notice_pages,
        source_pages,
        dashboard,
        audit_pages,
        verify_pages,
        api,
    ):
        app.include_router(module.router)
    app.mount("/static", StaticFiles(directory=Path(__file__).with_name("static")), name="static")
    app.add_exception_handler(SignInNeeded, _sign_in_first)
    app.add_exception_handler(HTTPException, _http_error)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, _invalid)  # type: ignore[arg-type]
    app.middleware("http")(_security_headers)
    app.add_middleware(BodyLimit, limit=MAX_BODY)
    return app


class UnsafeProduction(RuntimeError):
    """LEAKWATCH_ENV=production with something only a demo may have."""


def refuse_unsafe_production(store: Store) -> None:
    """In production, no account whose password a demo printed may be active."""
    if store.settings.leakwatch_env != "production":
        return
    if demo := active_demo_accounts(store):
        raise UnsafeProduction(
            f"LEAKWATCH_ENV=production, but demo accounts with printed passwords are active "
            f"({', '.join(demo)}): disable them with `leakwatch user disable NAME`"
        )


async def _security_headers(request: Request, call_next: Callable[[Request], Awaitable[Response]]
                            ) -> Response:  # fmt: skip
    response = await call_next(request)
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    if not request.url.path.startswith("/static/"):
        response.headers.setdefault("Cache-Control", "no-store")
    return response


def _caller(request: Request) -> Caller:
    caller = getattr(request.state, "caller", None)
    return caller if isinstance(caller, Caller) else ANONYMOUS_CALLER


async def _sign_in_first(request: Request, _exc: Exception) -> Response:
    target = (
        "/signin/staff"
        if request.url.path.startswith(("/staff", "/admin", "/hotline", "/account"))
        else "/signin/customer"
    )
    return RedirectResponse(target, status_code=303)


_TITLES = {401: "ログインが必要です", 403: "このページは表示できません",
           404: "ページが見つかりません", 405: "この操作はできません",
           413: "送信された内容が大きすぎます", 422: "入力内容を確認してください"}  # fmt: skip


async def _http_error(request: Request, exc: HTTPException) -> Response:
    if request.url.path.startswith("/api/") or request.url.path == "/openapi.json":
        return JSONResponse({"detail": exc.detail}, status_code=exc.status_code,
                            headers=exc.headers)  # fmt: skip
    title = _TITLES.get(exc.status_code, "エラーが発生しました")
    expired = exc.status_code == 403 and "form" in str(exc.detail)
    message = (
        "フォームの有効期限が切れたか、別のサイトから送られました。ページを読み込み直してください。"
        if expired
        else title
    )
    return render(request, _caller(request), "error.html", exc.status_code, title=title,
                  message=message)  # fmt: skip


async def _invalid(request: Request, exc: RequestValidationError) -> Response:
    if request.url.path.startswith("/api/"):
        # Field locations and messages only: the input itself may be personal data.
        problems = [{"loc": list(e.get("loc", ())), "msg": e.get("msg", ""),
                     "type": e.get("type", "value_error")} for e in exc.errors()]  # fmt: skip
        return JSONResponse({"detail": problems}, status_code=422)
    return render(request, _caller(request), "error.html", 422, title=_TITLES[422],
                  message="入力された値を読み取れませんでした。")  # fmt: skip


class BodyLimit:
    """Refuse a request body over ``limit`` bytes (413), whether or not it says its length."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            await _too_large(send)
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.limit:
                raise HTTPException(413, "request body too large")
            return message

        await self.app(scope, counted, send)


async def _too_large(send: Send) -> None:
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"text/plain; charset=utf-8")]})  # fmt: skip
    await send({"type": "http.response.body", "body": "送信された内容が大きすぎます".encode()})
