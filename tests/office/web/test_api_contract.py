"""The JSON API against its own OpenAPI document (Schemathesis, bounded): with each role's
token and anonymously, no 5xx and every response as documented; and the API at work."""

from __future__ import annotations

import os

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance
from sqlalchemy import select

from casework.accounts import create_token
from casework.permissions import Actor, Principal, actor_of
from store.models import CustomerReport, Role, User
from tests.office.web.conftest import Web

EXAMPLES = int(os.environ.get("LEAKWATCH_API_EXAMPLES", "12"))  # per operation and principal


def _token(web: Web, role: Role) -> str:
    with web.store.sessions() as s:
        user = s.scalars(select(User).where(User.username == role.value)).one()
    return create_token(web.store, Principal(actor_of(role), user_id=user.id, name=user.username),
                        "schemathesis")  # fmt: skip


@pytest.mark.parametrize("role", [None, *Role], ids=lambda r: r.value if r else "anonymous")
def test_every_operation_answers_as_documented(web: Web, role: Role | None) -> None:
    app = web.client().app
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    headers = {"Authorization": f"Bearer {_token(web, role)}"} if role else {}
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == 8  # every API operation (the pages are not in the document)
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))  # fmt: skip
        def check(case: schemathesis.Case) -> None:
            # Disabling a user would end this principal's own token midway: not here.
            if case.method == "POST" and case.path.endswith("/disable"):
                return
            # A schema-valid body may still break a rule across fields ("say what happened
            # or who called"): answered 422 as documented, not a failure of the contract.
            case.call_and_validate(headers=headers, excluded_checks=[positive_data_acceptance])

        check()


def test_an_operator_files_a_callers_report_through_the_api(web: Web) -> None:
    client = web.client()
    headers = {"Authorization": f"Bearer {_token(web, Role.OPERATOR)}"}
    me = client.get("/api/v1/me", headers=headers)
    assert me.json() == {"actor": "operator", "name": "operator"}
    sent = client.post("/api/v1/reports", headers=headers, json={
        "registration_code": web.codes[0]["registration_code"], "description": "電話",
        "business_name": "(株)API名簿"})  # fmt: skip
    assert sent.status_code == 201 and sent.json()["reference"].startswith("LW-")
    listed = client.get("/api/v1/reports", headers=headers).json()
    assert [r["reference"] for r in listed] == [sent.json()["reference"]]
    detail = client.get(f"/api/v1/reports/{sent.json()['id']}", headers=headers).json()
    assert detail["business"] == "(株)API名簿" and detail["channel"] == "hotline"
    assert client.get("/api/v1/reports", headers={"Authorization": "Bearer lw_nope"}
                      ).status_code == 401  # fmt: skip
    with web.store.sessions() as s:
        assert s.scalars(select(CustomerReport)).one().household_id is not None
    assert Actor.OPERATOR.value == "operator"
