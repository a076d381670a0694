"""The JSON API under /api/v1: the same operations as the staff pages, for staff users with a
per-user token (``Authorization: Bearer lw_…``; made on the tokens page). FastAPI's OpenAPI
document at /openapi.json is its contract."""

from __future__ import annotations

from datetime import date, datetime

from fastapi import APIRouter, HTTPException, Request
from pydantic import BaseModel, ConfigDict, Field

from casework.accounts import AccountError, NoSuchUser, add_user, disable_user, list_users
from casework.intake import FormProblems, ReportForm, file_report, process_report
from casework.permissions import Action
from casework.staff import NotFound, find_household, list_reports, view_report
from office.web.deps import ObjectId, StoreDep, caller_of, get_resident, permission
from store.models import ContactKind, ReportChannel, ReportStatus, Role

ERRORS = {401: {"description": "no valid API token"}, 403: {"description": "not allowed"}}
router = APIRouter(prefix="/api/v1", responses=ERRORS)  # type: ignore[arg-type]


class Me(BaseModel):
    actor: str
    name: str


class ReportOut(BaseModel):
    id: int
    reference: str
    channel: ReportChannel
    status: ReportStatus
    contact_kind: ContactKind
    contact_date: date | None
    created_at: datetime
    business: str | None


class ReportDetail(ReportOut):
    masked: dict[str, str] = Field(description="every personal value, masked")
    attachments: list[str]


class ReportIn(BaseModel):
    """A caller's report, as the hotline page takes it."""

    model_config = ConfigDict(extra="forbid")
    registration_code: str = Field("", max_length=40)
    contact_kind: ContactKind = ContactKind.CALL
    contact_date: date | None = None
    business_name: str = Field("", max_length=500)
    business_phone: str = Field("", max_length=500)
    business_address: str = Field("", max_length=500)
    business_url: str = Field("", max_length=500)
    business_number: str = Field("", max_length=500)
    addressed_name: str = Field("", max_length=500)
    addressed_address: str = Field("", max_length=500)
    addressed_phone: str = Field("", max_length=500)
    addressed_email: str = Field("", max_length=500)
    description: str = Field("", max_length=4000)
    reporter_name: str = Field("", max_length=500)
    reporter_phone: str = Field("", max_length=500)
    reporter_email: str = Field("", max_length=500)


class Filed(BaseModel):
    id: int
    reference: str


class UserOut(BaseModel):
    id: int
    username: str
    display_name: str
    role: Role
    active: bool


class UserIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    username: str = Field(pattern=r"^[!-~]{1,64}$", description="printable ASCII, no spaces")
    password: str = Field(min_length=12, max_length=200)
    role: Role
    display_name: str = Field("", max_length=200)


@router.get("/me", dependencies=[permission(Action.VIEW_OWN_ACCOUNT)])
def me(request: Request) -> Me:
    principal = caller_of(request).principal
    return Me(actor=principal.actor.value, name=principal.name)


@router.get("/reports", dependencies=[permission(Action.VIEW_REPORTS)])
def reports(request: Request, store: StoreDep) -> list[ReportOut]:
    found = list_reports(store, caller_of(request).principal)
    return [ReportOut.model_validate(r, from_attributes=True) for r in found]


@router.get("/reports/{report_id}", dependencies=[permission(Action.VIEW_REPORTS)],
            responses={404: {"description": "no such report in your scope"}})  # fmt: skip
def report(request: Request, store: StoreDep, report_id: ObjectId) -> ReportDetail:
    try:
        view = view_report(store, caller_of(request).principal, report_id)
    except NotFound:
        raise HTTPException(404, "no such report") from None
    base = ReportOut.model_validate(view.summary, from_attributes=True)
    return ReportDetail(**base.model_dump(), masked=view.masked,
                        attachments=[a.filename for a in view.attachments])  # fmt: skip


@router.post("/reports", status_code=201, dependencies=[permission(Action.FILE_REPORT_FOR_CALLER)],
             responses={404: {"description": "no household has this registration code"},
                        422: {"description": "a field is wrong"}})  # fmt: skip
def file_for_caller(request: Request, store: StoreDep, body: ReportIn) -> Filed:
    principal = caller_of(request).principal
    household = None
    if body.registration_code.strip():
        try:
            household = find_household(store, principal, body.registration_code).id
        except NotFound:
            raise HTTPException(404, "no household has this registration code") from None
    form = ReportForm(**body.model_dump(exclude={"registration_code"}))
    try:
        filed = file_report(store, principal, form, [], household_id=household)
    except FormProblems as problems:
        # As FastAPI's own validation errors are documented: a list of (where, what).
        raise HTTPException(
            422,
            [
                {"loc": ["body", name], "msg": message, "type": "value_error"}
                for name, message in problems.fields.items()
            ],
        ) from None
    process_report(store, filed.report_id, get_resident(request))
    return Filed(id=filed.report_id, reference=filed.reference)


class CodeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    registration_code: str = Field(min_length=1, max_length=40)


class HouseholdOut(BaseModel):
    household: str = Field(description="the household's reference in the watchlist")


NO_HOUSEHOLD = {404: {"description": "no household has this registration code"}}


@router.post("/households/lookup", dependencies=[permission(Action.FIND_HOUSEHOLD_BY_CODE)],
             responses=NO_HOUSEHOLD)  # type: ignore[arg-type]  # fmt: skip
def household_lookup(request: Request, store: StoreDep, body: CodeIn) -> HouseholdOut:
    """The household a caller's registration code belongs to (audited)."""
    try:
        found = find_household(store, caller_of(request).principal, body.registration_code)
    except NotFound:
        raise HTTPException(404, "no household has this registration code") from None
    return HouseholdOut(household=found.reference)


@router.get("/users", dependencies=[permission(Action.MANAGE_USERS)])
def users(store: StoreDep) -> list[UserOut]:
    return [UserOut.model_validate(u, from_attributes=True) for u in list_users(store)]


@router.post("/users", status_code=201, dependencies=[permission(Action.MANAGE_USERS)],
             responses={409: {"description": "the name is taken"}})  # fmt: skip
def new_user(request: Request, store: StoreDep, body: UserIn) -> UserOut:
    try:
        uid = add_user(store, body.username, body.password, body.role,
                       actor=caller_of(request).principal.audit_name,
                       display_name=body.display_name)  # fmt: skip
    except AccountError as exc:  # the model checked the rest: the name is taken
        raise HTTPException(409, str(exc)) from None
    return UserOut(id=uid, username=body.username.strip(),
                   display_name=body.display_name or body.username, role=body.role,
                   active=True)  # fmt: skip


@router.post("/users/{user_id}/disable", status_code=204,
             dependencies=[permission(Action.MANAGE_USERS)],
             responses={404: {"description": "no such user"}})  # fmt: skip
def disable(request: Request, store: StoreDep, user_id: ObjectId) -> None:
    try:
        disable_user(store, user_id, actor=caller_of(request).principal.audit_name)
    except NoSuchUser:
        raise HTTPException(404, "no such user") from None
