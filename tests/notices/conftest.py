"""Synthetic letter facts: the demo sender (store.settings defaults), a made-up broker, two
listings with Latin identifiers on 127.0.0.1, captures with SHA-256 digests, counts and the
grade's reasons. No real person, company or site."""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable
from datetime import UTC, date, datetime

import pytest

from notices.clauses import clauses_for, library
from notices.letter import (
    Capture,
    LetterFacts,
    LetterKind,
    ListingEvidence,
    Party,
    PriorNotice,
)
from store.settings import Settings


def _digest(label: str) -> str:
    return hashlib.sha256(label.encode()).hexdigest()


def sender() -> Party:
    settings = Settings()
    return Party(
        name=settings.leakwatch_sender_name,
        representative=settings.leakwatch_sender_representative,
        department=settings.leakwatch_sender_department,
        address=settings.leakwatch_sender_address,
        contact=settings.leakwatch_sender_contact,
    )


def listings() -> tuple[ListingEvidence, ...]:
    base = "http://127.0.0.1:8765"
    return (
        ListingEvidence(
            identifier="KIDS-2024-TOKYO",
            url=f"{base}/lists/kids-2024-tokyo.html",
            first_seen=datetime(2026, 11, 2, 1, 15, tzinfo=UTC),
            last_seen=datetime(2026, 11, 20, 5, 5, tzinfo=UTC),
            rows=1200,
            matched=842,
            captures=(
                Capture(
                    f"{base}/lists/kids-2024-tokyo.html",
                    datetime(2026, 11, 2, 1, 15, tzinfo=UTC),
                    _digest("capture-1"),
                ),
                Capture(
                    f"{base}/lists/kids-2024-tokyo.csv",
                    datetime(2026, 11, 20, 5, 5, tzinfo=UTC),
                    _digest("capture-2"),
                ),
            ),
        ),
        ListingEvidence(
            identifier="MAMA-SAITAMA-2023",
            url=f"{base}/lists/mama-saitama-2023.html",
            first_seen=datetime(2026, 11, 5, 23, 40, tzinfo=UTC),  # 6 Nov in Japan
            last_seen=datetime(2026, 11, 21, 2, 0, tzinfo=UTC),
            rows=560,
            matched=311,
            captures=(
                Capture(
                    f"{base}/lists/mama-saitama-2023.html",
                    datetime(2026, 11, 5, 23, 40, tzinfo=UTC),
                    _digest("capture-3"),
                ),
            ),
        ),
    )


def make_facts(kind: LetterKind = LetterKind.CEASE_USE) -> LetterFacts:
    prior: tuple[PriorNotice, ...] = ()
    if kind is not LetterKind.CEASE_USE:
        prior = (PriorNotice("2026-0001", date(2026, 12, 6), date(2026, 12, 20)),)
    if kind is LetterKind.FINAL:
        prior += (PriorNotice("2026-0017", date(2026, 12, 24), date(2027, 1, 7)),)
    return LetterFacts(
        kind=kind,
        reference={"cease_use": "2026-0001", "reminder": "2026-0017", "final": "2027-0003"}[kind],
        verify_code="48213907",
        verify_url="http://127.0.0.1:8000/verify",
        issued_on={"cease_use": date(2026, 12, 6), "reminder": date(2026, 12, 24)}.get(
            kind, date(2027, 1, 12)
        ),
        deadline={"cease_use": date(2026, 12, 20), "reminder": date(2027, 1, 7)}.get(
            kind, date(2027, 1, 26)
        ),
        sender=sender(),
        recipient=Party(
            name="株式会社サンプル名簿",
            representative="代表取締役 名簿 花子",
            address="〒150-0000 東京都渋谷区見本二丁目3番4号",
        ),
        listings=listings(),
        matched_total=842 + 311,
        grade_reasons=(
            "掲載された記録のうち一致するものの割合が、偶然に一致する割合を大きく上回っています。",
            "当社が保有するデータに特有の表記が、そのまま再現されています。",
            "名簿の作成時期が、流出の時期と合致しています。",
        ),
        clauses=clauses_for(kind, library()),
        prior=prior,
    )


@pytest.fixture
def facts() -> LetterFacts:
    """A cease-use request (通知書) to a made-up broker."""
    return make_facts(LetterKind.CEASE_USE)


@pytest.fixture(params=list(LetterKind), ids=lambda k: str(k))
def any_facts(request: pytest.FixtureRequest) -> LetterFacts:
    """Facts of every letter kind (reminders and final notices cite the earlier ones)."""
    kind: LetterKind = request.param
    return make_facts(kind)


@pytest.fixture
def facts_of() -> Callable[[LetterKind], LetterFacts]:
    """The facts of a letter of the given kind."""
    return make_facts


def _with_identifier(facts: LetterFacts, identifier: str) -> LetterFacts:
    first = dataclasses.replace(facts.listings[0], identifier=identifier)
    return dataclasses.replace(facts, listings=(first, *facts.listings[1:]))


@pytest.fixture
def with_identifier() -> Callable[[LetterFacts, str], LetterFacts]:
    """The same facts with the first listing's identifier as a broker could publish it."""
    return _with_identifier
