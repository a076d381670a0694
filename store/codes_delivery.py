"""Delivering login keys: the codes export that the customers' letters are printed from.

An import seals each new household's login key in the store as undelivered. A codes export
writes every undelivered key to a new file (0600, under a temporary name until complete,
fsynced, never over an existing file) and only then forgets the keys, keeping their hashes
for sign-in. So a key is never lost: an interrupted import, a full disk or a crash leaves it
undelivered, and the next export delivers it. A crash between the file and the database
leaves the keys undelivered too; the next export writes them again (the same keys).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from store.interrupts import Interrupts
from store.models import Household, RunKind, utcnow
from store.private_files import OutputError, file_sha256, private_text
from store.sealed import LOGIN_KEY
from store.vault import Vault
from store.work_runs import tracked_run

CODES_HEADER = ["household_id", "registration_code", "login_key"]
MARK_BATCH = 10_000


@dataclass(frozen=True, slots=True)
class CodesExport:
    path: Path | None  # None when there was nothing to deliver
    delivered: int
    run_id: int


def undelivered(session: Session) -> int:
    """Households whose login key no codes export has written yet."""
    query = select(func.count()).where(Household.login_key_sealed.is_not(None))
    return session.scalar(query) or 0


def export_codes(
    sessions: sessionmaker[Session],
    vault: Vault,
    out: Path,
    *,
    actor: str,
    interrupts: Interrupts | None = None,
) -> CodesExport:
    """Write every undelivered key to ``out`` (which must not exist), then mark them
    delivered. The caller holds the writer lock (no household appears meanwhile)."""
    interrupts = interrupts or Interrupts()
    with tracked_run(sessions, RunKind.CODES_EXPORT, actor, out.name) as run:
        with sessions() as session:
            pending = undelivered(session)
        if not pending:
            run.counts = {"delivered": 0}
            return CodesExport(None, 0, run.id)
        try:
            first_id, last_id, written = _write_codes(sessions, vault, out, interrupts)
        except OutputError as exc:
            raise OutputError(
                f"{exc}; every login key stays undelivered: run `leakwatch codes export` again "
                "once it can be written"
            ) from None
        digest = file_sha256(out)
        # The file is on disk under its name: only now may the keys go.
        _mark_delivered(sessions, first_id - 1, last_id, interrupts)
        run.counts = {"delivered": written, "file_sha256": digest}
        return CodesExport(out, written, run.id)


def _write_codes(
    sessions: sessionmaker[Session], vault: Vault, out: Path, interrupts: Interrupts
) -> tuple[int, int, int]:
    """(first and last household id written, how many)."""
    query = (
        select(Household.id, Household.household_ref, Household.registration_code,
               Household.login_key_sealed)
        .where(Household.login_key_sealed.is_not(None))
        .order_by(Household.id)
        .execution_options(yield_per=2000)
    )  # fmt: skip
    first_id = last_id = written = 0
    with sessions() as session, private_text(out, durable=True, replace=False) as handle:
        writer = csv.writer(handle)
        writer.writerow(CODES_HEADER)
        for hid, ref, code, sealed in session.execute(query):
            assert sealed is not None
            interrupts.check()  # the file is not named yet: stopping leaves no file
            writer.writerow([ref, code, vault.open(sealed, LOGIN_KEY).decode("ascii")])
            first_id = first_id or hid
            last_id, written = hid, written + 1
    return first_id, last_id, written


def _mark_delivered(
    sessions: sessionmaker[Session], low: int, last_id: int, interrupts: Interrupts
) -> None:
    """Forget the keys of ids in (low, last_id] in batches (a crash midway only leaves
    some undelivered)."""
    now = utcnow()
    while low < last_id:
        interrupts.check()  # keys not yet marked stay undelivered: the next export has them
        high = min(low + MARK_BATCH, last_id)
        with sessions.begin() as session:
            session.execute(
                update(Household)
                .where(Household.id > low, Household.id <= high,
                       Household.login_key_sealed.is_not(None))
                .values(login_key_sealed=None, key_delivered_at=now)
            )  # fmt: skip
        low = high
