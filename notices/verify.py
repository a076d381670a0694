"""/verify: a recipient confirms that a letter in our name is ours, with the 文書番号 and the
確認コード printed in it.

It answers with what the letter itself states about its sending and its proof — reference,
kind, issue date, sender, recipient business, whether it stands or was withdrawn, deadline,
and the captures it cites (address, time, SHA-256) — and nothing else: no personal data, no
body. Only a letter that was sent verifies. A wrong pair gets the same answer whether the
reference exists or not. Attempts are limited per client address and per reference (the
code is eight digits: it must withstand guessing), like sign-in, and each attempt is
audited, never with the code.
"""

from __future__ import annotations

import hmac
import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select

from casework import limits
from notices.render import TITLES
from notices.sandbox import JST
from notices.workflow import LETTER_KIND, letter_facts, verify_hash
from store import audit
from store.models import Notice, NoticeStatus
from store.runtime import Store

REFERENCE = re.compile(r"\d{4}-\d{6}")
CODE = re.compile(r"\d{8}")
# Ten wrong pairs from one address in 15 minutes, or for one reference in 30, lock them.
ADDRESS_LIMIT = limits.Limit(10, timedelta(minutes=15), timedelta(minutes=15))
REFERENCE_LIMIT = limits.Limit(10, timedelta(minutes=30), timedelta(minutes=30))
_NO_HASH = "0" * 64  # compared against when the reference is unknown: the same work


@dataclass(frozen=True, slots=True)
class VerifiedCapture:
    url: str
    fetched_at: datetime  # Japan time
    sha256: str


@dataclass(frozen=True, slots=True)
class VerifiedLetter:
    reference: str
    title: str  # 通知書, 催告書 or 最終通告書
    issued_on: date
    sender: str
    recipient: str
    withdrawn: bool
    deadline: date
    captures: tuple[VerifiedCapture, ...]

    @property
    def status(self) -> str:
        return "withdrawn" if self.withdrawn else "sent"


def clean(text: str, width: int = 20) -> str:
    """Full-width digits and hyphens folded (a letter prints them so), spaces dropped."""
    folded = unicodedata.normalize("NFKC", text or "")[: width * 2]
    return re.sub(r"\s", "", folded.replace("ー", "-").replace("−", "-"))[:width]


def verify_letter(store: Store, reference: str, code: str, *, address: str,
                  actor: str = "anonymous") -> VerifiedLetter | None:  # fmt: skip
    """The sent letter of this reference and code, or None; ``limits.Locked`` while the
    address or the reference is locked by wrong pairs."""
    ref, given = clean(reference), clean(code)
    addr = "verify:" + limits.address_key(store.vault.ring.current.mac_key, address)
    ref_key = f"letter:{ref}" if REFERENCE.fullmatch(ref) else None
    with store.sessions.begin() as s:
        limits.check(s, addr)
        if ref_key:
            limits.check(s, ref_key)
        notice = s.scalars(select(Notice).where(Notice.reference == ref)).first() if ref_key \
            else None  # fmt: skip
        stored = notice.verify_hash if notice is not None and notice.sent_at else None
        ok = hmac.compare_digest(stored or _NO_HASH, verify_hash(ref, given)) and bool(stored)
        if ok and notice is not None:
            if ref_key:
                limits.clear(s, ref_key)
            audit.record(s, actor, "notice.verified", object_type="notice",
                         object_id=notice.id)  # fmt: skip
            return _answer(notice)
        locked = limits.fail(s, addr, ADDRESS_LIMIT)
        if ref_key:
            locked = limits.fail(s, ref_key, REFERENCE_LIMIT) or locked
        # The attempt, never the code: by letter if it exists, else by the reference typed
        # when it has a reference's shape (anything else might be what someone pasted).
        where = ("notice", str(notice.id)) if notice is not None else (
            "notice_reference", ref if ref_key else "malformed")  # fmt: skip
        audit.record(s, actor, "notice.verify_failed", object_type=where[0], object_id=where[1],
                     details={"locked": locked})  # fmt: skip
    return None


def _answer(notice: Notice) -> VerifiedLetter:
    facts = letter_facts(notice)
    captures = dict.fromkeys(
        VerifiedCapture(c.url, _jst(c.fetched_at), c.sha256)
        for listing in facts.listings
        for c in listing.captures
    )
    return VerifiedLetter(
        reference=facts.reference, title=TITLES[LETTER_KIND[notice.kind]],
        issued_on=facts.issued_on, sender=facts.sender.name, recipient=facts.recipient.name,
        withdrawn=notice.status is NoticeStatus.WITHDRAWN, deadline=facts.deadline,
        captures=tuple(captures),
    )  # fmt: skip


def _jst(moment: datetime) -> datetime:
    if moment.tzinfo is None:  # the facts keep UTC
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(JST)
