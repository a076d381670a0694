"""The legal team's letters in the web app: drafted from a case page, approved by a second
legal user who saw the digest (never the drafter, never an investigator), sent by e-mail into
the outbox with its PDF, answered; crawled text shown escaped; the files; the clause and
template editors; and /verify for recipients (no body, no personal data, the same refusal
for a wrong code and an unknown reference, rate-limited)."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage

from fastapi.testclient import TestClient
from sqlalchemy import select

from casework.accounts import add_user
from casework.permissions import Actor
from notices.docx_letter import check_docx
from notices.facts import thaw
from notices.naiyo import Layout
from store.models import (
    AuditEvent,
    Business,
    CandidateMatch,
    Case,
    CaseStatus,
    Decision,
    EvidenceCapture,
    Listing,
    ListingRow,
    Notice,
    NoticeStatus,
    ReviewState,
    Role,
    WatchlistPerson,
)
from store.sealed import LISTING_ROW_PII
from tests.office.web.conftest import PASSWORD, Web, csrf_of, sign_in
from tests.office.web.test_pages import _member

HOSTILE = "<script>alert(1)</script>"
CAPTURE_SHA = hashlib.sha256(b"the broker's page").hexdigest()
CAPTURE_URL = "http://127.0.0.1:9/meibo/list.html"


@dataclass
class Letters:
    case_id: int
    drafter: TestClient
    approver: TestClient
    person: dict[str, str]


def _confirmed_case(web: Web) -> tuple[int, dict[str, str]]:
    """A business whose listing (a hostile title) holds one confirmed match, captured once;
    its open case."""
    person = _member(web, 0)
    with web.store.sessions.begin() as s:
        biz = Business(name="株式会社テスト名簿", representative="代表取締役 試験 一郎")
        s.add(biz)
        s.flush()
        case = Case(business_id=biz.id, title="テスト名簿の件")
        listing = Listing(key="/meibo", business_id=biz.id, title=HOSTILE, url=CAPTURE_URL,
                          row_count=1)  # fmt: skip
        capture = EvidenceCapture(url=CAPTURE_URL, fetched_at=datetime(2026, 11, 2, 1, 15,
                                  tzinfo=UTC), sha256=CAPTURE_SHA, size=10, warc_path="x.warc.gz",
                                  warc_offset=0, warc_length=10)  # fmt: skip
        s.add_all([case, listing, capture])
        s.flush()
        pii = {"name": person["name"], "address": person["address"], "phone": person["phone"]}
        row = ListingRow(listing_id=listing.id, row_ref="r1", evidence_id=capture.id,
                         pii=web.store.vault.seal_json(pii, LISTING_ROW_PII))  # fmt: skip
        s.add(row)
        s.flush()
        pid = s.scalars(select(WatchlistPerson.id).where(
            WatchlistPerson.record_ref == person["record_id"])).one()  # fmt: skip
        s.add(CandidateMatch(listing_row_id=row.id, person_id=pid, score=0.99,
                             decision=Decision.MATCH, explanation={"fields": []},
                             review_state=ReviewState.CONFIRMED))  # fmt: skip
        return case.id, person


def _letters(web: Web) -> Letters:
    case_id, person = _confirmed_case(web)
    add_user(web.store, "legal2", PASSWORD, Role.LEGAL, actor="test")
    approver = web.client()
    sign_in(approver, "/signin/staff", {"username": "legal2", "password": PASSWORD})
    return Letters(case_id, web.signed_in(Actor.LEGAL), approver, person)


def _post(client: TestClient, path: str, data: dict[str, str] | None = None) -> int:
    response = client.post(path, data=(data or {}) | {"csrf_token": csrf_of(client)},
                           follow_redirects=False)  # fmt: skip
    return response.status_code


def _draft(web: Web, letters: Letters) -> Notice:
    page = letters.drafter.get(f"/work/cases/{letters.case_id}").text
    assert "下書きを作る" in page  # the button, for the legal team
    response = letters.drafter.post(f"/work/cases/{letters.case_id}/notices",
                                    data={"csrf_token": csrf_of(letters.drafter),
                                          "kind": "cease_use"}, follow_redirects=False)  # fmt: skip
    assert response.status_code == 303, response.text[:300]
    with web.store.sessions() as s:
        notice = s.scalars(select(Notice)).one()
    assert response.headers["location"] == f"/work/notices/{notice.id}"
    return notice


def _events(web: Web) -> list[AuditEvent]:
    with web.store.sessions() as s:
        return list(s.scalars(select(AuditEvent).order_by(AuditEvent.seq)))


def test_draft_approve_by_another_send_by_mail_and_record_the_reply(web: Web) -> None:
    letters = _letters(web)
    notice = _draft(web, letters)
    base = f"/work/notices/{notice.id}"
    own = letters.drafter.get(base).text
    assert "承認は別の法務担当者が行います" in own and f"{base}/approve" not in own
    assert notice.facts_sha256 and notice.facts_sha256 in own  # the digest is shown
    digest = {"facts_sha256": notice.facts_sha256}
    assert _post(letters.drafter, f"{base}/approve", digest) == 422  # four eyes
    investigator = web.signed_in(Actor.INVESTIGATOR)
    assert investigator.get(base).status_code == 200  # reads it ...
    assert _post(investigator, f"{base}/approve", digest) == 403  # ... decides nothing
    assert _post(investigator, f"/work/cases/{letters.case_id}/notices") == 403
    shown = letters.approver.get(base).text
    found = re.search(r'name="facts_sha256" value="([0-9a-f]{64})"', shown)
    assert found and found.group(1) == notice.facts_sha256  # approves what was shown
    assert _post(letters.approver, f"{base}/approve", {"facts_sha256": "0" * 64}) == 422
    assert _post(letters.approver, f"{base}/approve", {"facts_sha256": found.group(1)}) == 303
    assert web.store.settings.leakwatch_smtp_host is None  # so: the outbox
    sent = {"channel": "email", "email": "info@broker.example"}
    assert _post(letters.approver, f"{base}/send", sent) == 303
    mail = _mail(web)
    assert mail["To"] == "info@broker.example" and notice.reference in mail["Subject"]
    pdf = [p for p in mail.walk() if p.get_content_type() == "application/pdf"]
    content = pdf[0].get_payload(decode=True)
    assert isinstance(content, bytes) and content.startswith(b"%PDF")
    reply = {"kind": "complied", "summary": "削除証明書を受領"}
    assert _post(letters.drafter, f"{base}/reply", reply) == 303
    with web.store.sessions() as s:
        stored, case = s.get(Notice, notice.id), s.get(Case, letters.case_id)
        assert stored is not None and case is not None
        assert stored.status is NoticeStatus.REPLIED and case.status is CaseStatus.COMPLIED
        assert stored.pdf_sha256 == hashlib.sha256(content).hexdigest()
    page = letters.drafter.get(base).text
    for action in ("notice.drafted", "notice.approved", "notice.sent", "notice.reply"):
        assert action in page  # the letter's history
    assert "削除証明書を受領" in page


def _mail(web: Web) -> EmailMessage:
    (path,) = web.store.settings.outbox_dir.glob("*.eml")
    return message_from_bytes(path.read_bytes(), policy=policy.default)  # type: ignore[return-value]


def test_crawled_text_is_escaped_and_the_files_download(web: Web) -> None:
    letters = _letters(web)
    notice = _draft(web, letters)
    page = letters.drafter.get(f"/work/notices/{notice.id}").text
    assert HOSTILE not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert CAPTURE_SHA in page and CAPTURE_URL in page  # the evidence summary
    assert letters.person["name"] not in page and letters.person["phone"] not in page
    auditor = web.signed_in(Actor.AUDITOR)
    pdf = auditor.get(f"/work/notices/{notice.id}.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.headers["content-disposition"].startswith("attachment;")
    assert pdf.headers["x-content-type-options"] == "nosniff"
    naiyo = auditor.get(f"/work/notices/{notice.id}.txt?layout=20x26")
    assert naiyo.status_code == 200 and notice.reference in naiyo.text
    assert naiyo.headers["content-disposition"].endswith("-20x26.txt")
    assert auditor.get(f"/work/notices/{notice.id}.txt?layout=9x9").status_code == 422
    # The e-内容証明 Word file, in its own grid: five pages at most, every rule kept.
    word = auditor.get(f"/work/notices/{notice.id}.docx")
    assert word.status_code == 200 and word.content.startswith(b"PK")
    (web.store.settings.home / "w.docx").write_bytes(word.content)
    nouns = thaw(notice.letter_facts or "").proper_nouns()
    assert check_docx(web.store.settings.home / "w.docx", Layout.WORD, nouns) == []
    assert any(e.action == "notice.downloaded" and e.actor == "user:auditor"
               for e in _events(web))  # fmt: skip


def test_the_clause_library_and_templates_are_edited_by_legal(web: Web) -> None:
    legal = web.signed_in(Actor.LEGAL)
    page = legal.get("/work/letters/clauses").text
    key = re.search(r'name="key" value="([^"]+)"', page)
    assert key
    edit = {"key": key.group(1), "title": "見出しの改訂", "text": "改訂した本文です。"}
    assert _post(legal, "/work/letters/clauses", edit) == 200
    assert "改訂した本文です。" in legal.get("/work/letters/clauses").text
    assert _post(legal, "/work/letters/clauses", edit | {"text": " "}) == 422
    broken = legal.post("/work/letters/templates/cease_use.txt",
                        data={"csrf_token": csrf_of(legal), "source": "{% if %}"})  # fmt: skip
    assert broken.status_code == 422 and "{% if %}" in broken.text  # kept for fixing
    assert legal.get("/work/letters/templates/nothing.txt").status_code == 404
    assert _post(web.signed_in(Actor.INVESTIGATOR), "/work/letters/clauses", edit) == 403


def _verify(client: TestClient, reference: str, code: str) -> tuple[int, str]:
    response = client.post("/verify", data={"csrf_token": csrf_of(client, "/verify"),
                                            "reference": reference, "code": code})  # fmt: skip
    # What differs between two answers that must be the same: the token, the echoed input.
    text = re.sub(r'value="[^"]*"', 'value=""', response.text)
    return response.status_code, text


def test_a_recipient_verifies_a_sent_letter_and_guessing_is_refused(web: Web) -> None:
    letters = _letters(web)
    notice = _draft(web, letters)
    facts = thaw(notice.letter_facts or "")
    reference, code = notice.reference or "", facts.verify_code
    anyone = web.client()
    assert "確認できませんでした" in _verify(anyone, reference, code)[1]  # a draft: not sent
    base = f"/work/notices/{notice.id}"
    assert _post(letters.approver, f"{base}/approve", {"facts_sha256": notice.facts_sha256 or ""}
                 ) == 303  # fmt: skip
    posted = {"channel": "post", "posted_reference": "第1号"}
    assert _post(letters.approver, f"{base}/send", posted) == 303
    status, page = _verify(anyone, reference, code)
    assert status == 200 and "送付済み" in page and "株式会社テスト名簿" in page
    assert CAPTURE_SHA in page and CAPTURE_URL in page  # the captures it cites
    assert "&lt;script&gt;" not in page  # listing identifiers are not among them
    for clause in facts.clauses:  # nothing of the body
        assert clause.text[:20] not in page
    assert letters.person["name"] not in page and code not in page
    wrong = _verify(anyone, reference, f"{(int(code) + 1) % 10**8:08d}")
    unknown = _verify(anyone, "2026-999999", code)
    assert wrong == unknown and "確認できませんでした" in wrong[1]
    assert _post(letters.drafter, f"{base}/rescind", {"reason": "宛先の誤り"}) == 303
    assert "撤回されています" in _verify(anyone, reference, code)[1]
    locked = [_verify(anyone, "2026-999998", "00000000")[0] for _ in range(10)]
    assert locked[-1] == 429  # ten wrong pairs from one address in all: locked
    assert _verify(anyone, reference, code)[0] == 429  # even the right pair, for a while
    attempts = [e for e in _events(web) if e.action.startswith("notice.verif")]
    assert len(attempts) >= 8
    assert all(code not in f"{e.object_id} {e.details} {e.reason}" for e in attempts)
