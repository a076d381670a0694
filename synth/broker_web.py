"""The fixture broker web: a real HTTP server on 127.0.0.1 serving synthetic broker sites.

Every site is built from ``synth`` listings (deterministic by seed) in a different shape, and
:func:`build_fixture` gives tests the exact rows each site publishes, so extraction can be
measured against ground truth. Run it with ``python -m synth.broker_web --port 8765``.

Sites (all linked from ``/``):

=================  ===============================================================
``/meibo/list``    paginated table (40 rows a page, ``?page=N``) in Shift_JIS (CP932)
``/catalog/``      catalog → detail pages: a headed table (UTF-8), a headerless
                   table, and a page linking a CP932 CSV and an XLSX sample
``/paste/``        paste-style ``<pre>`` text page in EUC-JP, one record per line
``/liar/``         header charset lies: says UTF-8 for CP932, Shift_JIS for EUC-JP
``/takedown/``     a listing that ``/_control/takedown?mode=remove|shrink|restore``
                   removes (404), halves or restores
``/hostile/``      script tags, event handlers, giant cells, broken tables, markup
``/trap/``         redirects to private addresses, a 5 MB page
``/bench/N/``      N table pages in a tree of 10 links a page (benchmarks; not linked)
``/members/``      members-only broker (not linked): a login form at ``/members/login``
                   (``MEMBER_USER`` / ``MEMBER_PASSWORD``, a CSRF field, a decoy search
                   form) sets a session cookie; ``/members/list.html`` (2 pages, a logout
                   link) redirects to the login form without it
``/cards/``        records as nested ``<div>``/``<span>`` with class names only, no labels
                   (not linked): what the generic extraction cannot read, a CSS selector
                   override can
``/slow/``         a page that answers after ``?s=`` seconds (at most 30) and links the
                   next one (``?n=``), without end (not linked): for timeouts and
                   interruptions
``/pastes/``       raw pastes of ``label：value`` blocks served as ``text/plain`` and
                   ``application/octet-stream`` with ``.txt`` names or none
                   (``synth.broker_scripted``)
``/spa/``          a script-only list: rows shipped encoded, put into the DOM by script,
                   the next page reachable only through a 次へ button the script makes
``/jsbench/N/``,   script-rendered benchmark pages; a page whose script requests given
``/jsprobe/``,     URLs; pages that loop, open popups, ask for permissions, download
``/jshostile/``    (not linked; ``synth.broker_scripted``)
=================  ===============================================================

``/robots.txt`` disallows ``/meibo/private/`` (linked from the list) and ``/_control/``;
``/_control/hits?path=P`` tells how often a path was requested (for the robots test), and
``/_control/log?since=N`` what the server saw from request number N on, as JSON: method,
path, query, User-Agent and time of each request (control requests are not logged), so
tests check politeness (user agent, page limit) on the server side.
"""

from __future__ import annotations

import argparse
import csv
import html
import io
import json
import secrets
import subprocess
import sys
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.cookies import CookieError, SimpleCookie
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from synth import broker_scripted
from synth.broker_scripted import PASTES, paste_published, paste_share
from synth.listing import generate_listing
from synth.watchlist import generate_watchlist

FIELDS = [
    "name", "name_kana", "gender", "birthdate", "age", "grade", "guardian_name",
    "postal_code", "address", "phone", "email",
]  # fmt: skip
# Three broker vocabularies for the same columns.
LABELS_A = [
    "氏名", "フリガナ", "性別", "生年月日", "年齢", "学年", "保護者名", "〒", "住所", "電話番号",
    "メール",
]  # fmt: skip
LABELS_B = [
    "お名前", "ふりがな", "男女", "誕生日", "歳", "学齢", "保護者氏名", "郵便番号", "所在地",
    "TEL", "E-mail",
]  # fmt: skip
LABELS_C = [
    "名前", "カナ", "性別", "生年月日", "年齢", "学年", "保護者", "郵便番号", "ご住所", "連絡先",
    "メールアドレス",
]  # fmt: skip
PAGE_ROWS = 40
BIG_BYTES = 5 * 1024 * 1024
HIT_LOG_SIZE = 50_000  # requests remembered for /_control/log (a bench crawl makes thousands)
SLOW_MAX_S = 30.0
# The members-only site's one account (synthetic; tests put these in the environment).
MEMBER_USER = "lw-member-0417"
MEMBER_PASSWORD = "Fixture-Pw-7q!Zr93"  # noqa: S105 - a fixture's made-up password
MEMBER_COOKIE = "member_session"
MAX_POST_BYTES = 64 * 1024
# The class names of the /cards/ page, per field (the selector override a test configures).
CARD_CLASSES = {
    "name": "nm", "name_kana": "kn", "gender": "sx", "birthdate": "bd", "age": "ag",
    "grade": "gr", "guardian_name": "gd", "postal_code": "zp", "address": "ad", "phone": "tl",
    "email": "ml",
}  # fmt: skip

SHAPES = (
    "paginated_sjis_table", "catalog_headed_table", "headerless_table", "csv_cp932",
    "xlsx", "paste_eucjp", "lying_charset", "takedown", "script_only", "paste_text",
)  # fmt: skip
# shapes that need a browser to be read (a source marked --javascript)
SCRIPT_SHAPES = ("script_only",)


# What Japanese tools write for a character EUC-JP has no code for: a full-width minus is
# written as a hyphen, which a browser and Python decode alike (0xA1DD, the minus, they do not)
_EUC_SUBSTITUTES = str.maketrans({"－": "‐"})


def _published(row: dict[str, str], encodings: tuple[str, ...]) -> dict[str, str]:
    """The row as it reads after the site's encodings (unencodable characters become ?)."""
    out = {}
    for k in FIELDS:
        v = row.get(k, "")
        for enc in encodings:
            if enc.startswith("euc"):
                v = v.translate(_EUC_SUBSTITUTES)
            v = v.encode(enc, errors="replace").decode(enc)
        out[k] = v
    return out


@dataclass
class Fixture:
    seed: int
    watchlist: list[dict[str, str]]
    truth: list[dict[str, str]]  # synth ground truth (record_id per row_id)
    shapes: dict[str, list[dict[str, str]]] = field(default_factory=dict)  # published rows
    row_ids: dict[str, list[str]] = field(default_factory=dict)  # synth row_id per row
    members: list[dict[str, str]] = field(default_factory=list)  # the members-only list
    cards: list[dict[str, str]] = field(default_factory=list)  # the /cards/ page
    # the paste site's rows before the marks its pastes add (〒, FAX lines): what it serves
    paste_rows: list[dict[str, str]] = field(default_factory=list)


_ENCODINGS: dict[str, tuple[str, ...]] = {
    "paginated_sjis_table": ("cp932",), "catalog_headed_table": (),
    "headerless_table": (), "csv_cp932": ("cp932",), "xlsx": (),
    "paste_eucjp": ("euc_jp",), "lying_charset": ("cp932", "euc_jp"), "takedown": (),
    "script_only": (), "paste_text": (),  # the paste site's CP932 file: _paste_rows
}  # fmt: skip


def _paste_rows(rows: list[dict[str, str]]) -> list[dict[str, str]]:
    """The paste site's rows as its files can carry them (one of them is CP932)."""
    out = []
    for n in range(len(PASTES)):
        encodings = ("cp932",) if PASTES[n][2] == "cp932" else ()
        out += [_published(r, encodings) for r in paste_share(rows, n)]
    return out


def build_fixture(seed: int = 2014, persons: int = 1500, rows: int = 1500) -> Fixture:
    """The watchlist, ground truth and what each shape publishes (deterministic by seed)."""
    watchlist = list(generate_watchlist(persons, seed))
    listing, truth = generate_listing(watchlist, rows, seed, listings=len(SHAPES))
    by_listing: dict[str, list[dict[str, str]]] = {}
    for r in listing:
        by_listing.setdefault(r["listing_id"], []).append(r)
    fx = Fixture(seed, watchlist, truth)
    # the largest list is the paginated one, so it spans several pages
    ordered = sorted(by_listing, key=lambda lid: (-len(by_listing[lid]), lid))
    for shape, lid in zip(SHAPES, ordered, strict=True):
        fx.shapes[shape] = [_published(r, _ENCODINGS[shape]) for r in by_listing[lid]]
        fx.row_ids[shape] = [r["row_id"] for r in by_listing[lid]]
    fx.paste_rows = _paste_rows(by_listing[ordered[SHAPES.index("paste_text")]])
    fx.shapes["paste_text"] = paste_published(fx.paste_rows)
    # two more lists, apart from SHAPES (the whole-web crawl never reaches them)
    more, _ = generate_listing(watchlist, 100, seed + 1, listings=2)
    first = more[0]["listing_id"]
    fx.members = [_published(r, ()) for r in more if r["listing_id"] == first]
    fx.cards = [_published(r, ()) for r in more if r["listing_id"] != first]
    return fx


# --- rendering --------------------------------------------------------------------------


def _e(s: str) -> str:
    return html.escape(s, quote=True)


def _page(title: str, body: str, charset: str = "utf-8", meta: bool = True) -> str:
    head = f'<meta charset="{charset}">' if meta else ""
    return (
        f"<!DOCTYPE html><html lang='ja'><head>{head}<title>{_e(title)}</title></head>"
        f"<body><h1>{_e(title)}</h1>{body}</body></html>"
    )


def _page_of(
    rows: Sequence[dict[str, str]], query: dict[str, list[str]]
) -> tuple[Sequence[dict[str, str]], int, int] | None:
    """(the rows of ``?page=``, page, pages) for a list shown PAGE_ROWS a page; None when the
    page does not exist (a bad number means page 1)."""
    pages = max(1, -(-len(rows) // PAGE_ROWS))
    try:
        page = int(query.get("page", ["1"])[0])
    except ValueError:
        page = 1
    if not 1 <= page <= pages:
        return None
    return rows[(page - 1) * PAGE_ROWS : page * PAGE_ROWS], page, pages


def _table(
    rows: Sequence[dict[str, str]],
    labels: Sequence[str] | None,
    number_from: int = 0,
    extra: str | None = None,
) -> str:
    out = ["<table border='1'>"]
    if labels is not None:
        cols = (["No."] if number_from else []) + list(labels) + ([extra] if extra else [])
        out.append("<tr>" + "".join(f"<th>{_e(c)}</th>" for c in cols) + "</tr>")
    for i, r in enumerate(rows):
        cells = [str(number_from + i)] if number_from else []
        cells += [r[f] for f in FIELDS]
        if extra:
            cells.append("資料請求可" if i % 3 == 0 else "")
        out.append("<tr>" + "".join(f"<td>{_e(c)}</td>" for c in cells) + "</tr>")
    out.append("</table>")
    return "\n".join(out)


def _paste_line(r: dict[str, str]) -> str:
    cells = []
    for f in FIELDS:
        v = r[f]
        if not v:
            continue
        if f == "age":
            v += "歳"
        elif f == "guardian_name":
            v = "保護者:" + v
        elif f == "phone":
            v = "TEL:" + v
        cells.append(v)
    return " | ".join(cells)


def _csv_bytes(rows: Sequence[dict[str, str]], encoding: str) -> bytes:
    buf = io.StringIO(newline="")
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(LABELS_A)
    for r in rows:
        w.writerow([r[f] for f in FIELDS])
    return buf.getvalue().encode(encoding, errors="replace")


def _xlsx_bytes(rows: Sequence[dict[str, str]]) -> bytes:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "サンプル"
    ws.append(["会員サンプルデータ（抜粋）"])
    ws.append([])
    ws.append(LABELS_C)
    for r in rows:
        ws.append([r[f] for f in FIELDS])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


HOSTILE_HTML = """<!DOCTYPE html><html><head><meta charset="utf-8"><title>hostile</title>
<script>document.location='http://169.254.169.254/'</script></head><body>
<table><tr><th>氏名</th><th>住所</th><th>電話番号</th></tr>
<tr><td><script>alert('name')</script>危険 太郎</td><td>東京都千代田区九段南1-2-3</td>
<td>03-1111-2222</td></tr>
<tr><td>&lt;script&gt;alert(1)&lt;/script&gt;</td><td>東京都港区芝公園4-2-8</td>
<td>03-3333-4444</td></tr>
<tr><td><img src=x onerror="alert(2)">画像 花子</td><td>大阪府大阪市北区梅田1-1-1</td>
<td>06-5555-6666</td></tr>
<tr><td>[bold red]markup[/] \x1b[31m赤\x1b[0m 次郎</td><td>=HYPERLINK("http://evil.example","x")</td>
<td>045-777-8888</td></tr>
<tr><td>巨大 セル</td><td>東京都新宿区西新宿2-8-1GIANT</td><td>03-9999-0000</td></tr>
<tr><td>壊れ 表<td>北海道札幌市中央区北1条西2丁目<td>011-222-3333
<tr><td>閉じない 行</td><td>福岡県福岡市中央区天神1-1-1</td><td>092-444-5555
</table></body></html>"""
GIANT_CELL_CHARS = 300_000


class Broker:
    """Renders every site; holds the takedown state and the hit counter (thread-safe)."""

    def __init__(self, fixture: Fixture) -> None:
        self.fx = fixture
        self.hits: Counter[str] = Counter()
        # what was asked, by whom, when: (seq, method, path, query, user agent, unix time)
        self.hit_log: deque[tuple[int, str, str, str, str, float]] = deque(maxlen=HIT_LOG_SIZE)
        self.hit_seq = 0
        self.takedown = "restore"
        self.lock = threading.Lock()
        self._xlsx = _xlsx_bytes(fixture.shapes["xlsx"])
        self._csv = _csv_bytes(fixture.shapes["csv_cp932"], "cp932")
        self._bench_rows = [r for rows in fixture.shapes.values() for r in rows][:500]
        self._csrf = secrets.token_hex(8)
        self.sessions: set[str] = set()
        hostile = HOSTILE_HTML.replace("GIANT", "あ" * GIANT_CELL_CHARS)
        self._hostile = hostile.encode("utf-8")

    def saw(self, method: str, path: str, query: str, user_agent: str) -> None:
        """Log one request (control requests are the tests talking, not the crawler)."""
        if path.startswith("/_control/"):
            return
        with self.lock:
            self.hit_log.append(
                (self.hit_seq, method, path, query[:300], user_agent[:300], time.time())
            )
            self.hit_seq += 1

    # (status, headers, body) or a streaming callable for big bodies
    def route(
        self, path: str, query: dict[str, list[str]], cookie: str = ""
    ) -> tuple[int, dict[str, str], bytes]:
        with self.lock:
            self.hits[path] += 1
        html_utf8 = {"Content-Type": "text/html; charset=utf-8"}
        if path == "/robots.txt":
            body = b"User-agent: *\nDisallow: /meibo/private/\nDisallow: /_control/\n"
            return 200, {"Content-Type": "text/plain"}, body
        if path == "/":
            links = [
                ("/meibo/list", "名簿一覧"), ("/catalog/", "名簿カタログ"), ("/paste/", "貼り付け"),
                ("/liar/", "文字コード"), ("/takedown/", "掲載名簿"), ("/hostile/", "危険"),
                ("/trap/", "罠"), ("/spa/", "新システム"), ("/pastes/", "貼り付けサイト"),
            ]  # fmt: skip
            index = "".join(f"<p><a href='{u}'>{_e(t)}</a></p>" for u, t in links)
            return 200, html_utf8, _page("名簿ブローカー", index).encode()
        if path.startswith("/_control/"):
            return self._control(path, query)
        if path.startswith("/meibo/"):
            return self._meibo(path, query)
        if path.startswith("/catalog/"):
            return self._catalog(path)
        if path.startswith("/paste/"):
            return self._paste(path)
        if path.startswith("/liar/"):
            return self._liar(path)
        if path.startswith("/takedown/"):
            return self._takedown()
        if path.startswith("/hostile/"):
            return 200, html_utf8, self._hostile
        if path.startswith("/trap/"):
            return self._trap(path)
        if path.startswith("/bench/"):
            return self._bench(path)
        if path.startswith("/members/"):
            return self._members(path, query, cookie)
        if path == "/cards/":
            return 200, html_utf8, self._cards_page()
        if path == "/slow/":
            return self._slow(query)
        found = self._scripted(path, query)
        if found is not None:
            return found
        return 404, html_utf8, _page("404", "<p>not found</p>").encode()

    def _scripted(
        self, path: str, query: dict[str, list[str]]
    ) -> tuple[int, dict[str, str], bytes] | None:
        """The shapes of ``synth.broker_scripted``: pastes, script-only pages, probes."""
        bs = broker_scripted
        if path.startswith("/pastes/"):
            return bs.pastes(path, self.fx.paste_rows, FIELDS)
        if path.startswith("/spa/"):
            return bs.spa(path, query, self.fx.shapes["script_only"], FIELDS, LABELS_A)
        if path.startswith("/jsbench/"):
            return bs.jsbench(path, self._bench_rows, FIELDS, LABELS_A)
        if path == "/jsprobe/":
            return bs.jsprobe(query)
        if path.startswith("/jshostile/"):
            return bs.jshostile(path)
        return None

    # --- the members-only site -----------------------------------------------------------

    def post(self, path: str, form: dict[str, list[str]]) -> tuple[int, dict[str, str], bytes]:
        """A form submission: only the members' login takes one."""
        with self.lock:
            self.hits["POST " + path] += 1
        html_utf8 = {"Content-Type": "text/html; charset=utf-8"}
        if path != "/members/login":
            return 405, html_utf8, _page("405", "<p>method not allowed</p>").encode()

        def one(name: str) -> str:
            return (form.get(name) or [""])[0]

        if (
            secrets.compare_digest(one("csrf"), self._csrf)
            and secrets.compare_digest(one("login_id").encode(), MEMBER_USER.encode())
            and secrets.compare_digest(one("passwd").encode(), MEMBER_PASSWORD.encode())
        ):
            token = secrets.token_hex(16)
            with self.lock:
                self.sessions.add(token)
            return 302, {
                "Location": "/members/list.html",
                "Set-Cookie": f"{MEMBER_COOKIE}={token}; Path=/members; HttpOnly",
                "Content-Type": "text/html; charset=utf-8",
            }, b""  # fmt: skip
        # as many sites do: the form again, with a message, status 200
        return 200, html_utf8, self._login_page("IDまたはパスワードが正しくありません")

    def _login_page(self, message: str = "") -> bytes:
        body = (
            "<form method='get' action='/members/search'><input type='text' name='q'>"
            "<input type='submit' value='検索'></form>"
            + (f"<p class='error'>{_e(message)}</p>" if message else "")
            + "<form method='post' action='/members/login'>"
            f"<input type='hidden' name='csrf' value='{_e(self._csrf)}'>"
            "<p>会員ID <input type='text' name='login_id'></p>"
            "<p>パスワード <input type='password' name='passwd'></p>"
            "<p><input type='submit' name='go' value='ログイン'></p></form>"
        )
        return _page("会員ログイン", body).encode()

    def _session_ok(self, cookie: str) -> bool:
        try:
            jar = SimpleCookie(cookie)
        except CookieError:
            return False
        morsel = jar.get(MEMBER_COOKIE)
        with self.lock:
            return morsel is not None and morsel.value in self.sessions

    def _members(
        self, path: str, query: dict[str, list[str]], cookie: str
    ) -> tuple[int, dict[str, str], bytes]:
        ct = {"Content-Type": "text/html; charset=utf-8"}
        to_login = {"Location": "/members/login", **ct}
        if path in ("/members/", "/members/login"):
            return 200, ct, self._login_page()
        if path == "/members/logout":
            try:
                morsel = SimpleCookie(cookie).get(MEMBER_COOKIE)
            except CookieError:
                morsel = None
            if morsel is not None:
                with self.lock:
                    self.sessions.discard(morsel.value)
            return 302, to_login, b""
        if path != "/members/list.html":
            return 404, ct, _page("404", "").encode()
        if not self._session_ok(cookie):
            return 302, to_login, b""
        found = _page_of(self.fx.members, query)
        if found is None:
            return 404, ct, _page("404", "").encode()
        chunk, page, pages = found
        nav = " ".join(
            f"<a href='/members/list.html?page={p}'>{p}</a>" if p != page else f"<b>{p}</b>"
            for p in range(1, pages + 1)
        )
        body = (
            "<p><a href='/members/logout'>ログアウト</a></p>"
            f"<p>会員限定 名簿データ ({page}/{pages})</p>"
            + _table(chunk, LABELS_B) + f"<p>{nav}</p>"
        )  # fmt: skip
        return 200, ct, _page("会員専用 名簿", body).encode()

    def _cards_page(self) -> bytes:
        cards = []
        for r in self.fx.cards:
            spans = "".join(
                f"<span class='{CARD_CLASSES[f]}'>{_e(r[f])}</span>" for f in FIELDS if r[f]
            )
            cards.append(f"<div class='person'><div class='in'><div>{spans}</div></div></div>")
        body = "<div class='cards'>" + "".join(cards) + "</div>"
        return _page("名簿カード", body).encode()

    def _control(self, path: str, query: dict[str, list[str]]) -> tuple[int, dict[str, str], bytes]:
        plain = {"Content-Type": "text/plain; charset=utf-8"}
        if path == "/_control/takedown":
            mode = query.get("mode", ["remove"])[0]
            if mode not in ("remove", "shrink", "restore"):
                return 400, plain, b"mode: remove|shrink|restore"
            self.takedown = mode
            return 200, plain, mode.encode()
        if path == "/_control/hits":
            want = query.get("path", [""])[0]
            with self.lock:
                return 200, plain, str(self.hits[want]).encode()
        if path == "/_control/log":
            try:
                since = int(query.get("since", ["0"])[0])
            except ValueError:
                return 400, plain, b"since: a request number"
            with self.lock:
                hits = [
                    {"seq": n, "method": m, "path": p, "query": q, "user_agent": ua, "time": t}
                    for n, m, p, q, ua, t in self.hit_log
                    if n >= since
                ]
                body = {"next": self.hit_seq, "hits": hits}
            return 200, {"Content-Type": "application/json"}, json.dumps(body).encode()
        return 404, plain, b"unknown control"

    def _slow(self, query: dict[str, list[str]]) -> tuple[int, dict[str, str], bytes]:
        try:
            seconds = min(SLOW_MAX_S, max(0.0, float(query.get("s", ["1"])[0])))
            n = int(query.get("n", ["0"])[0])
        except ValueError:
            return 400, {"Content-Type": "text/plain"}, b"s: seconds, n: a number"
        time.sleep(seconds)  # this request's own thread (ThreadingHTTPServer)
        link = f"<a href='/slow/?n={n + 1}&amp;s={seconds:g}'>次へ</a>"
        return 200, {"Content-Type": "text/html; charset=utf-8"}, _page(f"slow {n}", link).encode()

    def _meibo(self, path: str, query: dict[str, list[str]]) -> tuple[int, dict[str, str], bytes]:
        sjis = {"Content-Type": "text/html; charset=Shift_JIS"}
        if path.startswith("/meibo/private/"):
            page_ = _page("非公開", "<p>robots.txt で禁止</p>", "Shift_JIS")
            return 200, sjis, page_.encode("cp932")
        rows = self.fx.shapes["paginated_sjis_table"]
        found = _page_of(rows, query)
        if found is None:
            return 404, sjis, _page("404", "", "Shift_JIS").encode("cp932")
        chunk, page, pages = found
        nav = []
        if page > 1:
            nav.append(f"<a href='/meibo/list?page={page - 1}'>前へ</a>")
        nav += [
            f"<a href='/meibo/list?page={p}'>{p}</a>" if p != page else f"<b>{p}</b>"
            for p in range(1, pages + 1)
        ]
        if page < pages:
            nav.append(f"<a href='/meibo/list?page={page + 1}' rel='next'>次へ</a>")
        body = (
            f"<p>子供名簿 2015年版 全{len(rows)}件 ({page}/{pages})</p>"
            + _table(chunk, LABELS_A, number_from=(page - 1) * PAGE_ROWS + 1)
            + "<p>"
            + " ".join(nav)
            + "</p>"
            + "<p><a href='/meibo/private/full.html'>全件データ（会員限定）</a></p>"
        )
        return 200, sjis, _page("子供名簿", body, "Shift_JIS").encode("cp932", errors="replace")

    def _catalog(self, path: str) -> tuple[int, dict[str, str], bytes]:
        ct = {"Content-Type": "text/html; charset=utf-8"}
        if path == "/catalog/":
            items = [
                ("/catalog/item/1.html", "小学生名簿 首都圏版"),
                ("/catalog/item/2.html", "幼児名簿 全国版"),
                ("/catalog/item/3.html", "ファミリー名簿 データ販売"),
            ]
            body = "<ul>" + "".join(f"<li><a href='{u}'>{_e(t)}</a></li>" for u, t in items)
            return 200, ct, _page("名簿カタログ", body + "</ul>").encode()
        if path == "/catalog/item/1.html":
            rows = self.fx.shapes["catalog_headed_table"]
            body = "<p>サンプルデータ</p>" + _table(rows, LABELS_B, extra="備考")
            return 200, ct, _page("小学生名簿 首都圏版", body).encode()
        if path == "/catalog/item/2.html":
            rows = self.fx.shapes["headerless_table"]
            return 200, ct, _page("幼児名簿 全国版", _table(rows, None)).encode()
        if path == "/catalog/item/3.html":
            body = (
                "<p><a href='/catalog/files/sample.csv'>サンプルCSV</a></p>"
                "<p><a href='/catalog/files/sample.xlsx'>サンプルExcel</a></p>"
            )
            return 200, ct, _page("ファミリー名簿 データ販売", body).encode()
        if path == "/catalog/files/sample.csv":
            return 200, {"Content-Type": "text/csv; charset=Shift_JIS"}, self._csv
        if path == "/catalog/files/sample.xlsx":
            xlsx = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
            return 200, {"Content-Type": xlsx}, self._xlsx
        return 404, ct, _page("404", "").encode()

    def _paste(self, path: str) -> tuple[int, dict[str, str], bytes]:
        if path == "/paste/":
            body = "<p><a href='/paste/raw/x7Kq2'>名簿 貼り付け (2015)</a></p>"
            return 200, {"Content-Type": "text/html; charset=utf-8"}, _page("paste", body).encode()
        if path == "/paste/raw/x7Kq2":
            rows = self.fx.shapes["paste_eucjp"]
            text = "\n".join(_paste_line(r) for r in rows)
            body = "<p>流出名簿 一部公開</p><pre>" + _e(text) + "</pre>"
            page = _page("名簿 貼り付け", body, "EUC-JP").encode("euc_jp", errors="replace")
            return 200, {"Content-Type": "text/html; charset=EUC-JP"}, page
        return 404, {"Content-Type": "text/html"}, b"not found"

    def _liar(self, path: str) -> tuple[int, dict[str, str], bytes]:
        rows = self.fx.shapes["lying_charset"]
        half = len(rows) // 2
        if path == "/liar/":
            body = "<p><a href='/liar/a.html'>名簿A</a> <a href='/liar/b.html'>名簿B</a></p>"
            return 200, {"Content-Type": "text/html; charset=utf-8"}, _page("liar", body).encode()
        if path == "/liar/a.html":  # says UTF-8, is CP932 (no meta)
            page = _page("名簿A", _table(rows[:half], LABELS_A), meta=False)
            lie = {"Content-Type": "text/html; charset=UTF-8"}
            return 200, lie, page.encode("cp932", "replace")
        if path == "/liar/b.html":  # says Shift_JIS in header and meta, is EUC-JP
            page = _page("名簿B", _table(rows[half:], LABELS_C), charset="Shift_JIS")
            return (
                200,
                {"Content-Type": "text/html; charset=Shift_JIS"},
                page.encode("euc_jp", "replace"),
            )
        return 404, {"Content-Type": "text/html"}, b"not found"

    def _takedown(self) -> tuple[int, dict[str, str], bytes]:
        ct = {"Content-Type": "text/html; charset=utf-8"}
        if self.takedown == "remove":
            return 404, ct, _page("削除されました", "<p>この名簿は掲載を終了しました</p>").encode()
        rows = self.fx.shapes["takedown"]
        if self.takedown == "shrink":
            rows = rows[: len(rows) // 2]
        return 200, ct, _page("掲載名簿", _table(rows, LABELS_C)).encode()

    def _trap(self, path: str) -> tuple[int, dict[str, str], bytes]:
        ct = {"Content-Type": "text/html; charset=utf-8"}
        if path == "/trap/":
            body = (
                "<a href='/trap/metadata'>m</a> <a href='/trap/intranet'>i</a> "
                "<a href='/trap/loopback'>l</a> <a href='/trap/big.html'>big</a>"
            )
            return 200, ct, _page("trap", body).encode()
        if path == "/trap/metadata":
            return 302, {"Location": "http://169.254.169.254/latest/meta-data/"}, b""
        if path == "/trap/loopback":  # same host, another port: not the source's own server
            return 302, {"Location": "http://127.0.0.1:9/private"}, b""
        if path == "/trap/intranet":
            return 302, {"Location": "http://10.0.0.1/admin"}, b""
        return 404, ct, b"not found"

    def _bench(self, path: str) -> tuple[int, dict[str, str], bytes]:
        # /bench/N/ or /bench/N/p/K : page K of N, linking to pages 10K+1 .. 10K+10
        parts = path.strip("/").split("/")
        try:
            total = int(parts[1])
            k = int(parts[3]) if len(parts) >= 4 else 0
        except (IndexError, ValueError):
            return 404, {}, b"not found"
        links = [c for c in range(10 * k + 1, 10 * k + 11) if c <= total]
        rows = [self._bench_rows[(k * 10 + i) % len(self._bench_rows)] for i in range(10)]
        body = _table(rows, LABELS_A) + "".join(
            f"<a href='/bench/{total}/p/{c}'>{c}</a> " for c in links
        )
        return 200, {"Content-Type": "text/html; charset=utf-8"}, _page(f"p{k}", body).encode()


def make_handler(broker: Broker) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "FixtureBroker/1.0"
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            pass  # quiet: tests and benchmarks make thousands of requests

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            broker.saw("GET", parts.path, parts.query, self.headers.get("User-Agent", ""))
            if parts.path == "/trap/big.html":
                self._big()
                return
            cookie = self.headers.get("Cookie", "")
            self._send(*broker.route(parts.path, parse_qs(parts.query), cookie))

        def do_POST(self) -> None:
            try:
                length = int(self.headers.get("Content-Length") or 0)
            except ValueError:
                length = -1
            if not 0 <= length <= MAX_POST_BYTES:
                self._send(413, {"Content-Type": "text/plain"}, b"too large")
                return
            data = self.rfile.read(length).decode("utf-8", "replace")
            path = urlsplit(self.path).path
            broker.saw("POST", path, "", self.headers.get("User-Agent", ""))
            self._send(*broker.post(path, parse_qs(data, keep_blank_values=True)))

        def _send(self, status: int, headers: dict[str, str], body: bytes) -> None:
            self.send_response(status)
            for k, v in headers.items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _big(self) -> None:
            with broker.lock:
                broker.hits["/trap/big.html"] += 1
            chunk = ("<p>" + "大" * 1000 + "</p>\n").encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(BIG_BYTES))
            self.end_headers()
            sent = 0
            try:
                while sent < BIG_BYTES:
                    part = chunk[: BIG_BYTES - sent]
                    self.wfile.write(part)
                    sent += len(part)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the crawler hung up at its size limit, as it should

    return Handler


def serve(
    port: int, host: str = "127.0.0.1", seed: int = 2014, ready: Callable[[int], None] | None = None
) -> None:
    broker = Broker(build_fixture(seed))
    server = ThreadingHTTPServer((host, port), make_handler(broker))
    server.daemon_threads = True
    if ready is not None:
        ready(server.server_address[1])
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()


@contextmanager
def running(seed: int = 2014, port: int = 0) -> Iterator[str]:
    """This web in a subprocess on 127.0.0.1 (port 0: a free one); yields its base URL."""
    proc = subprocess.Popen(  # noqa: S603 - our own interpreter and module, fixed arguments
        [sys.executable, "-m", "synth.broker_web", "--port", str(port), "--seed", str(seed)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()  # "fixture broker web on http://127.0.0.1:PORT/"
        if " on http://" not in line:
            raise RuntimeError(f"the fixture broker web did not start: {line!r}")
        yield line.strip().split(" on ", 1)[1].rstrip("/")
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def main(argv: Sequence[str] | None = None) -> None:
    p = argparse.ArgumentParser(description="Serve the synthetic broker sites (tests, demo).")
    p.add_argument("--port", type=int, default=8765, help="0 picks a free port")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--seed", type=int, default=2014)
    a = p.parse_args(argv)

    def ready(port: int) -> None:
        print(f"fixture broker web on http://{a.host}:{port}/", flush=True)

    try:
        serve(a.port, a.host, a.seed, ready)
    except KeyboardInterrupt:
        sys.exit(0)
    except OSError as exc:
        # e.g. the port is taken: one line where the URL would be (running() reads it)
        print(f"fixture broker web could not start at {a.host}:{a.port}: {exc.strerror}")
        sys.exit(1)


if __name__ == "__main__":
    main()
