"""/verify: anyone holding a letter confirms it is ours with its 文書番号 and 確認コード
(``notices.verify``: limited per address and per reference, audited, no personal data)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import Response

from casework.limits import Locked
from casework.permissions import Action
from notices.verify import clean, verify_letter
from office.web.deps import CsrfDep, StoreDep, caller_of, permission
from office.web.pages import render

router = APIRouter(include_in_schema=False)
VERIFY = permission(Action.VERIFY_LETTER)
Text = Annotated[str, Form()]
REFUSED = "確認できませんでした。文書番号と確認コードをお確かめください。"
LOCKED = "確認の失敗が続いたため、しばらく確認できません。30分ほどしてからお試しください。"


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


@router.get("/verify", dependencies=[VERIFY])
def verify_form(request: Request, reference: Annotated[str, Query(max_length=40)] = ""
                ) -> Response:  # fmt: skip
    # The reference may come in the letter's link; the code never does (it would sit in logs).
    return render(request, caller_of(request), "verify.html", error="", letter=None,
                  reference=clean(reference))  # fmt: skip


@router.post("/verify", dependencies=[VERIFY, CsrfDep])
def verify(request: Request, store: StoreDep, reference: Text = "", code: Text = "") -> Response:
    caller = caller_of(request)
    shown = clean(reference)  # what is typed back into the form: digits and hyphens
    if not reference.strip() or not code.strip():
        return render(request, caller, "verify.html", 400, letter=None, reference=shown,
                      error="文書番号と確認コードを入力してください。")  # fmt: skip
    try:
        letter = verify_letter(store, reference, code, address=_client(request),
                               actor=caller.principal.audit_name)  # fmt: skip
    except Locked:
        return render(request, caller, "verify.html", 429, letter=None, reference=shown,
                      error=LOCKED)  # fmt: skip
    if letter is None:
        return render(request, caller, "verify.html", letter=None, reference=shown,
                      error=REFUSED)  # fmt: skip
    return render(request, caller, "verify.html", letter=letter, reference="", error="")
