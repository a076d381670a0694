"""The auditor's pages: the audit chain, verified, a page at a time (read-only)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from casework.audit_view import chain_page
from casework.permissions import Action
from office.web.deps import StoreDep, caller_of, permission
from office.web.pages import render

router = APIRouter(include_in_schema=False)


@router.get("/audit", dependencies=[permission(Action.VIEW_AUDIT)])
def chain(request: Request, store: StoreDep,
          page: Annotated[int, Query(ge=1, le=10_000_000)] = 1) -> Response:  # fmt: skip
    caller = caller_of(request)
    return render(request, caller, "audit.html", chain=chain_page(store, caller.principal, page))
