"""Who may do what: one registry of actions and the kinds of principal that may take them.

Every page, API route, CLI command and job names the action it performs; ``require`` is the
only check, and ``restrict`` narrows every query to the objects the principal may see (a
customer's to its own household), so an object outside a principal's scope is simply not
found (404), never shown. Least privilege: the leak came from an insider with too much access.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import Select

from store.models import CustomerReport, ReportAttachment, Role


class Actor(enum.StrEnum):
    """The kind of principal: a staff role, a customer, or nobody signed in."""

    ANONYMOUS = "anonymous"
    CUSTOMER = "customer"
    OPERATOR = "operator"
    INVESTIGATOR = "investigator"
    LEGAL = "legal"
    ADMIN = "admin"
    AUDITOR = "auditor"


STAFF = frozenset({Actor.OPERATOR, Actor.INVESTIGATOR, Actor.LEGAL, Actor.ADMIN, Actor.AUDITOR})
EVERYONE = frozenset(Actor)
SIGNED_IN = EVERYONE - {Actor.ANONYMOUS}


class Action(enum.StrEnum):
    """Everything a principal can ask the office to do."""

    SIGN_IN = "sign_in"
    SIGN_OUT = "sign_out"
    REPORT_WITHOUT_CODE = "report_without_code"
    VIEW_OWN_HOUSEHOLD = "view_own_household"
    FILE_OWN_REPORT = "file_own_report"
    VIEW_OWN_REPORTS = "view_own_reports"
    SET_OWN_NOTIFICATIONS = "set_own_notifications"
    REQUEST_OWN_ERASURE = "request_own_erasure"
    FIND_HOUSEHOLD_BY_CODE = "find_household_by_code"
    FILE_REPORT_FOR_CALLER = "file_report_for_caller"
    VIEW_REPORTS = "view_reports"
    DOWNLOAD_ATTACHMENT = "download_attachment"
    MANAGE_USERS = "manage_users"
    MANAGE_OWN_TOKENS = "manage_own_tokens"
    VIEW_STAFF_HOME = "view_staff_home"
    VIEW_OWN_ACCOUNT = "view_own_account"
    MANAGE_CASES = "manage_cases"
    VIEW_CASES = "view_cases"
    MANAGE_ERASURE = "manage_erasure"
    VIEW_AUDIT = "view_audit"
    MANAGE_SOURCES = "manage_sources"
    VIEW_DASHBOARD = "view_dashboard"
    VIEW_NOTICES = "view_notices"
    DRAFT_NOTICE = "draft_notice"
    APPROVE_NOTICE = "approve_notice"
    SEND_NOTICE = "send_notice"
    RECORD_REPLY = "record_reply"
    EDIT_LETTERS = "edit_letters"  # the clause library and the templates
    VERIFY_LETTER = "verify_letter"  # a recipient confirms a letter is ours (/verify)


PERMISSIONS: dict[Action, frozenset[Actor]] = {
    Action.SIGN_IN: EVERYONE,
    Action.SIGN_OUT: SIGNED_IN,
    # A report from someone without the letter: contact details only, no findings shown.
    Action.REPORT_WITHOUT_CODE: frozenset({Actor.ANONYMOUS}),
    Action.VIEW_OWN_HOUSEHOLD: frozenset({Actor.CUSTOMER}),
    Action.FILE_OWN_REPORT: frozenset({Actor.CUSTOMER}),
    Action.VIEW_OWN_REPORTS: frozenset({Actor.CUSTOMER}),
    Action.SET_OWN_NOTIFICATIONS: frozenset({Actor.CUSTOMER}),
    Action.REQUEST_OWN_ERASURE: frozenset({Actor.CUSTOMER}),
    Action.FIND_HOUSEHOLD_BY_CODE: frozenset({Actor.OPERATOR}),
    Action.FILE_REPORT_FOR_CALLER: frozenset({Actor.OPERATOR}),
    # Operators see the reports they entered (restrict); the others read every report.
    Action.VIEW_REPORTS: frozenset(
        {Actor.OPERATOR, Actor.INVESTIGATOR, Actor.LEGAL, Actor.AUDITOR}
    ),
    Action.DOWNLOAD_ATTACHMENT: frozenset({Actor.INVESTIGATOR, Actor.LEGAL, Actor.AUDITOR}),
    Action.MANAGE_USERS: frozenset({Actor.ADMIN}),
    Action.MANAGE_OWN_TOKENS: STAFF,
    Action.VIEW_STAFF_HOME: STAFF,
    Action.VIEW_OWN_ACCOUNT: STAFF,  # the API: staff tokens only
    Action.MANAGE_CASES: frozenset({Actor.INVESTIGATOR}),
    Action.VIEW_CASES: frozenset({Actor.INVESTIGATOR, Actor.LEGAL, Actor.AUDITOR}),
    Action.MANAGE_ERASURE: frozenset({Actor.ADMIN}),
    Action.VIEW_AUDIT: frozenset({Actor.AUDITOR, Actor.ADMIN}),
    Action.MANAGE_SOURCES: frozenset({Actor.INVESTIGATOR}),
    Action.VIEW_DASHBOARD: frozenset({Actor.INVESTIGATOR, Actor.LEGAL, Actor.AUDITOR, Actor.ADMIN}),
    # Letters are the legal team's: investigators and the auditor read them.
    Action.VIEW_NOTICES: frozenset({Actor.INVESTIGATOR, Actor.LEGAL, Actor.AUDITOR}),
    Action.DRAFT_NOTICE: frozenset({Actor.LEGAL}),
    Action.APPROVE_NOTICE: frozenset({Actor.LEGAL}),  # never the drafter (notices.workflow)
    Action.SEND_NOTICE: frozenset({Actor.LEGAL}),
    Action.RECORD_REPLY: frozenset({Actor.LEGAL}),
    Action.EDIT_LETTERS: frozenset({Actor.LEGAL}),
    # Whoever holds a letter may confirm it (rate-limited; it shows no personal data).
    Action.VERIFY_LETTER: EVERYONE,
}


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is asking: a staff user, a customer's household, or nobody."""

    actor: Actor
    user_id: int | None = None
    household_id: int | None = None
    name: str = ""  # username, or household reference; never personal data

    @property
    def audit_name(self) -> str:
        """How the audit log names this principal."""
        if self.actor == Actor.ANONYMOUS:
            return "anonymous"
        if self.actor == Actor.CUSTOMER:
            return f"customer:{self.name}"
        return f"user:{self.name}"

    @property
    def is_staff(self) -> bool:
        return self.actor in STAFF


ANONYMOUS = Principal(Actor.ANONYMOUS)


def actor_of(role: Role) -> Actor:
    return Actor(role.value)


class Forbidden(PermissionError):
    """The principal may not take this action."""


def may(principal: Principal, action: Action) -> bool:
    return principal.actor in PERMISSIONS[action]


def require(principal: Principal, action: Action) -> None:
    if not may(principal, action):
        raise Forbidden(f"{principal.actor.value} may not {action.value}")


Q = TypeVar("Q", bound=Select[*tuple[Any, ...]])


def restrict(query: Q, principal: Principal, model: type[Any]) -> Q:
    """``query`` narrowed to the ``model`` rows ``principal`` may see (none if unknown)."""
    if model is CustomerReport:
        return _restrict_reports(query, principal)
    if model is ReportAttachment:
        return _restrict_reports(query.join(CustomerReport), principal)
    raise Forbidden(f"no scope rule for {model.__name__}")


def _restrict_reports(query: Q, principal: Principal) -> Q:
    if principal.actor == Actor.CUSTOMER:
        return query.where(CustomerReport.household_id == principal.household_id)
    if principal.actor == Actor.OPERATOR:
        return query.where(CustomerReport.entered_by_id == principal.user_id)
    if principal.actor in (Actor.INVESTIGATOR, Actor.LEGAL, Actor.AUDITOR):
        return query
    return query.where(CustomerReport.id.is_(None))  # nothing
