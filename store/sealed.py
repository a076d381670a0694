"""Every sealed column in the schema, and how to re-derive its row's keyed values.

Key rotation walks this registry, so a new table with personal data is rotated as soon as it
is listed here (and the rotation test fails until it is).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from store.lookup_keys import email_key, phone_key, postal_key
from store.models import (
    Base,
    CustomerReport,
    Household,
    ListingRow,
    ReportAttachment,
    WatchlistPerson,
)
from store.vault import Vault

PERSON_PII = "watchlist_person.pii"
LISTING_ROW_PII = "listing_row.pii"
REPORT_FACTS = "customer_report.facts"
LOGIN_KEY = "household.login_key"  # until a codes export has delivered it
NOTIFY_EMAIL = "household.notify_email"
REPORT_DETAILS = "customer_report.details"
ATTACHMENT = "report_attachment.content"


def person_indexes(vault: Vault, pii: dict[str, str]) -> dict[str, bytes | None]:
    return {
        "phone_bidx": vault.blind_index("phone", phone_key(pii.get("phone", ""))),
        "fax_bidx": vault.blind_index("phone", phone_key(pii.get("fax", ""))),
        "email_bidx": vault.blind_index("email", email_key(pii.get("email", ""))),
        "postal_bidx": vault.blind_index("postal", postal_key(pii.get("postal_code", ""))),
    }


def listing_row_indexes(vault: Vault, pii: dict[str, str]) -> dict[str, bytes | None]:
    return {
        "phone_bidx": vault.blind_index("phone", phone_key(pii.get("phone", ""))),
        "email_bidx": vault.blind_index("email", email_key(pii.get("email", ""))),
        "postal_bidx": vault.blind_index("postal", postal_key(pii.get("postal_code", ""))),
    }


FINGERPRINT_PREFIX = "fp:"


def listing_row_fingerprint(vault: Vault, record: dict[str, str]) -> str:
    """Keyed identity of a published record within its listing, so a re-crawl recognises it.

    Keyed, never a plain hash: a plain hash of a phone number is a guessing oracle. Keys that
    start with "_" are our own bookkeeping (where it was found, extra columns), not the record.
    """
    fields = sorted((k, v) for k, v in record.items() if not k.startswith("_"))
    mac = vault.blind_index("listing_row", json.dumps(fields, ensure_ascii=False))
    assert mac is not None  # the body is never empty
    return FINGERPRINT_PREFIX + mac.hex()


def refingerprint(vault: Vault, record: dict[str, str], old_ref: str) -> str:
    """The fingerprint under the vault's current key, keeping a duplicate's "#n" suffix.

    References that are not fingerprints (a row_id given by the source) are kept as they are.
    """
    if not old_ref.startswith(FINGERPRINT_PREFIX):
        return old_ref
    _, hash_mark, suffix = old_ref.partition("#")
    return listing_row_fingerprint(vault, record) + (hash_mark + suffix)


def person_digest(vault: Vault, household_ref: str, sealed_plaintext: bytes) -> bytes:
    """Keyed digest of what we store: spots unchanged rows without being a guessing oracle."""
    message = b"row\x00" + household_ref.encode() + b"\x00" + sealed_plaintext
    return hmac.digest(vault.ring.current.mac_key, message, hashlib.sha256)


@dataclass(frozen=True, slots=True)
class SealedColumn:
    model: type[Base]
    column: str
    context: str
    # Re-derives keyed columns (blind indexes) from the opened payload; None if there are none.
    reindex: Callable[[Vault, dict[str, Any]], dict[str, bytes | None]] | None
    # Rows re-sealed per transaction when not the rotation's default (big values: fewer).
    rows_per_batch: int | None = None


SEALED_COLUMNS: tuple[SealedColumn, ...] = (
    SealedColumn(WatchlistPerson, "pii", PERSON_PII, person_indexes),
    SealedColumn(ListingRow, "pii", LISTING_ROW_PII, listing_row_indexes),
    SealedColumn(CustomerReport, "facts", REPORT_FACTS, None),
    SealedColumn(Household, "login_key_sealed", LOGIN_KEY, None),
    SealedColumn(Household, "notify_email_sealed", NOTIFY_EMAIL, None),
    SealedColumn(CustomerReport, "details_sealed", REPORT_DETAILS, None),
    # Attachments are up to 5 MB each: a few per transaction keep the rotation's memory flat.
    SealedColumn(ReportAttachment, "content_sealed", ATTACHMENT, None, rows_per_batch=8),
)
