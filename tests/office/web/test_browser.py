"""The web app in a real browser: Debian's Chromium driven by Playwright against `leakwatch
serve` running as its own process (nothing is downloaded: the system browser is used)."""

from __future__ import annotations

import csv
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import select

from store.models import CustomerReport, ReportChannel, User
from tests.office.web.conftest import PASSWORD, Web
from tests.office.web.test_pages import PNG, _confirmed_finding, _member

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists() and not os.environ.get("LEAKWATCH_REQUIRE_BROWSER"),
    reason="Debian's chromium is not installed (CI installs it)",
)
# Chromium as root, headless, with nothing reaching out of this machine.
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@dataclass
class Server:
    url: str
    log: Path


@pytest.fixture
def server(web: Web, tmp_path: Path) -> Iterator[Server]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    log = tmp_path / "server.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "office", "serve", "--port", str(port), "--access-log"],
            stdout=out, stderr=subprocess.STDOUT, env=dict(os.environ),
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            assert proc.poll() is None, log.read_text()
            time.sleep(0.1)
        yield Server(f"http://127.0.0.1:{port}", log)
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


def _page(browser: object):  # type: ignore[no-untyped-def]
    return browser.new_page(locale="ja-JP")  # type: ignore[attr-defined]


def test_a_customer_signs_in_sees_findings_and_files_a_report(
    web: Web, server: Server, browser: object, tmp_path: Path
) -> None:
    _confirmed_finding(web, "株式会社テスト名簿")
    code = web.codes[0]
    page = _page(browser)
    page.goto(server.url + "/")
    page.click("text=登録番号でログインする")
    page.fill("#code", code["registration_code"].lower().replace("-", ""))  # as typed
    page.fill("#key", code["login_key"])
    page.click("button:has-text('ログイン')")
    assert page.url.endswith("/me")
    assert page.locator(".card").first.inner_text().count("株式会社テスト名簿") == 1
    assert "氏名" in page.content() and _member(web, 0)["name"] not in page.content()
    page.click("text=不審な連絡を届け出る")
    page.select_option("#contact_kind", "call")
    page.fill("#business_name", "株式会社テスト名簿")
    page.fill("#description", "教材の営業電話があった")
    photo = tmp_path / "dm.png"
    photo.write_bytes(PNG)
    page.set_input_files("#attachments", str(photo))
    page.click("button:has-text('届け出る')")
    reference = page.locator(".big").inner_text()
    assert re.fullmatch(r"LW-[0-9A-Z]{8}", reference)
    page.click("text=この届出の状況を見る")
    assert reference in page.content() and "事業者ごとの調査に加えました" in page.content()
    page.screenshot(path=str(tmp_path / "customer.png"), full_page=True)


def test_an_operator_enters_a_report_for_a_caller(web: Web, server: Server, browser: object
                                                  ) -> None:  # fmt: skip
    page = _page(browser)
    page.goto(server.url + "/signin/staff")
    page.fill("#username", "operator")
    page.fill("#password", PASSWORD)
    page.click("button:has-text('ログイン')")
    page.click("nav >> text=電話での届出を入力")
    page.fill("#registration_code", web.codes[1]["registration_code"])
    page.fill("#description", "営業電話があったとのこと")
    page.fill("#business_phone", "03-0000-0000")
    page.click("button:has-text('届け出る')")
    assert "届出を受け付けました" in page.content()
    with web.store.sessions() as s:
        report = s.scalars(select(CustomerReport)).one()
        assert report.channel == ReportChannel.HOTLINE and report.household_id is not None


def test_an_admin_adds_a_user(web: Web, server: Server, browser: object) -> None:
    page = _page(browser)
    page.goto(server.url + "/signin/staff")
    page.fill("#username", "admin")
    page.fill("#password", PASSWORD)
    page.click("button:has-text('ログイン')")
    page.click("nav >> text=利用者の管理")
    page.fill("#username", "new-investigator")
    page.select_option("#role", "investigator")
    page.fill("#password", "a long enough password")
    page.click("button:has-text('追加する')")
    assert "new-investigator を追加しました" in page.content()
    with web.store.sessions() as s:
        assert s.scalars(select(User).where(User.username == "new-investigator")).one().active


def test_five_wrong_keys_lock_the_code_and_the_log_holds_no_personal_value(
    web: Web, server: Server, browser: object
) -> None:
    code = web.codes[2]
    page = _page(browser)
    for _ in range(5):
        page.goto(server.url + "/signin/customer")
        page.fill("#code", code["registration_code"])
        page.fill("#key", "WRONG-KEY0-0000-0000")
        page.click("button:has-text('ログイン')")
        assert "登録番号かログインキーが違います" in page.content()
    page.goto(server.url + "/signin/customer")
    page.fill("#code", code["registration_code"])
    page.fill("#key", code["login_key"])
    page.click("button:has-text('ログイン')")
    assert "しばらく使えません" in page.content() and not page.url.endswith("/me")
    # The server's own log (access log on): no name, address, phone, code or key in clear.
    time.sleep(0.3)
    log = server.log.read_text(encoding="utf-8", errors="replace")
    assert "POST /signin/customer" in log  # the log is there, and was written
    secrets_ = [code["registration_code"], code["login_key"]]
    for person in web.watchlist:
        secrets_ += [person["name"], person["address"], person["phone"]]
    assert [value for value in secrets_ if value and value in log] == []


def test_the_codes_export_signs_a_customer_in(web: Web, server: Server, browser: object) -> None:
    """The keys from the import's codes export are the ones that work."""
    page = _page(browser)
    with open(Path(web.store.settings.home).parent / "codes.csv", encoding="utf-8") as handle:
        row = next(csv.DictReader(handle))
    page.goto(server.url + "/signin/customer")
    page.fill("#code", row["registration_code"])
    page.fill("#key", row["login_key"])
    page.click("button:has-text('ログイン')")
    assert page.url.endswith("/me") and "ご家族の状況" in page.content()


def _staff(browser: object, server: Server, username: str):  # type: ignore[no-untyped-def]
    page = _page(browser)
    page.goto(server.url + "/signin/staff")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("button:has-text('ログイン')")
    return page


def test_an_investigator_reviews_in_the_browser(web: Web, server: Server, browser: object
                                                ) -> None:  # fmt: skip
    from store.models import AuditEvent
    from tests.office.web.test_workspace import _listing_with_candidate

    _listing_with_candidate(web, "株式会社ブラウザ名簿")
    page = _staff(browser, server, "investigator")
    page.click("nav >> text=確認待ち")
    page.click("text=子供名簿")
    assert "証拠の強さ" in page.content() and "流出データの記録と一致" in page.content()
    page.click("summary:has-text('値を1つ表示する')")
    page.select_option("details select[name=field]", "phone")
    page.fill("details input[name=reason]", "電話の届出と照合")
    page.click("details button:has-text('表示する')")
    assert _member(web, 0)["phone"] in page.locator(".notice").inner_text()
    with web.store.sessions() as s:
        assert (
            s.scalars(select(AuditEvent.reason).where(AuditEvent.action == "pii.revealed")).one()
            == "電話の届出と照合"
        )
    # From the keyboard: focus the confirm button and press Enter.
    page.focus("button:has-text('同一人物')")
    page.keyboard.press("Enter")
    page.wait_for_url("**/work/listings/*")
    assert "confirmed" in page.locator("section h2").last.inner_text()
    page.click("nav >> text=案件")
    page.click("text=株式会社ブラウザ名簿")
    assert "1件" in page.locator("tr:has-text('確定した一致')").inner_text()


def test_the_auditor_and_the_dashboard_in_the_browser(web: Web, server: Server, browser: object
                                                      ) -> None:  # fmt: skip
    page = _staff(browser, server, "auditor")
    page.click("nav >> text=監査記録")
    assert "改ざんは見つかりません" in page.content() and "user.signed_in" in page.content()
    assert page.locator("form[action^='/work'], form[action^='/admin']").count() == 0
    page.click("nav >> text=ダッシュボード")
    page.wait_for_load_state("networkidle")  # the plots are drawn as they are asked for
    images = page.locator("main img")
    assert images.count() == 4
    for i in range(4):  # every plot drawn (loaded, with a size)
        assert images.nth(i).evaluate("img => img.complete && img.naturalWidth > 0")
