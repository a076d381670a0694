"""The dashboard: the office's figures as plots (SVG, drawn on the server) and as CSV."""

from __future__ import annotations

import csv
import io

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response

from casework.dashboard import Figure, figures
from casework.permissions import Action
from office.web.deps import StoreDep, caller_of, permission
from office.web.pages import render
from office.web.plots import svg

router = APIRouter(prefix="/work/dashboard", include_in_schema=False)
DASHBOARD = permission(Action.VIEW_DASHBOARD)


@router.get("", dependencies=[DASHBOARD])
def dashboard(request: Request, store: StoreDep) -> Response:
    caller = caller_of(request)
    return render(request, caller, "dashboard.html", figures=figures(store, caller.principal))


@router.get("/{name}.svg", dependencies=[DASHBOARD])
def plot(request: Request, store: StoreDep, name: str) -> Response:
    figure = _figure(request, store, name)
    # matplotlib styles its drawing inline; an image can run nothing, so that is all it gets.
    return Response(svg(figure), media_type="image/svg+xml",
                    headers={"Content-Security-Policy": "default-src 'none'; "
                             "style-src 'unsafe-inline'"})  # fmt: skip


@router.get("/{name}.csv", dependencies=[DASHBOARD])
def table(request: Request, store: StoreDep, name: str) -> Response:
    figure = _figure(request, store, name)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(figure.columns)
    writer.writerows(figure.rows)
    return Response(
        out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f"attachment; filename={name}.csv"},
    )


def _figure(request: Request, store: StoreDep, name: str) -> Figure:
    found = [f for f in figures(store, caller_of(request).principal) if f.name == name]
    if not found:
        raise HTTPException(404, "no such figure")
    return found[0]
