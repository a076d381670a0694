"""Businesses as customers name them: ``resolve_business`` finds the business a report names
— by corporate number (check digit validated) first, then by the name's or an alias's
comparison key (``store.business_names``: 株式会社ヤマダ名簿 = (株)ヤマダ名簿 = ㈱ヤマダ名簿) —
or registers it, so reports about one business gather in one case.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from store.business_names import name_key
from store.corporate_number import InvalidCorporateNumber, normalise_corporate_number
from store.models import Business, BusinessAlias


def resolve_business(
    session: Session, name: str, corporate_number: str | None = None, *, create: bool = True
) -> Business | None:
    """The known business ``name`` (and its number) refer to; a new one if none and
    ``create``. A number that fails its check digit is ignored (customers mistype)."""
    number = None
    if corporate_number:
        try:
            number = normalise_corporate_number(corporate_number)
        except InvalidCorporateNumber:
            number = None
    if number is not None:
        found = session.scalars(select(Business).where(Business.corporate_number == number)).first()
        if found is not None:
            return found
    key = name_key(name)
    if key:
        found = session.scalars(select(Business).where(Business.name_key == key)).first()
        if found is not None:
            return found
        alias = session.scalars(select(BusinessAlias).where(BusinessAlias.alias_key == key)
                                ).first()  # fmt: skip
        if alias is not None:
            return alias.business
    if not create or not (key or number):
        return None
    business = Business(name=name.strip()[:300] or number or "?", corporate_number=number,
                        notes="registered from a customer report")  # fmt: skip
    session.add(business)
    session.flush()
    return business
