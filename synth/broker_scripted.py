"""Fixture broker shapes that lie about what they are, or show nothing without JavaScript.

Part of the fixture broker web (``synth.broker_web`` routes to these):

=====================  ===========================================================
``/pastes/``           a pastebin-style index linking raw pastes of ``label：value``
                       blocks (``氏名：…``, ``郵便番号：〒…``, a blank line between
                       records, some with a ``FAX：`` line after the ``電話：`` line):
                       ``raw/<id>.txt`` as ``text/plain`` (UTF-8), ``raw/<id>.txt`` as
                       ``application/octet-stream`` (CP932), ``raw/<id>`` without an
                       extension (``text/plain``, no charset)
``/spa/list``          a script-only list: the rows ship encoded (XOR, base64) in the
                       page and in ``/spa/data?page=N``; a script puts them into a table,
                       and the next page exists only as a 次へ button it creates
``/jsbench/N/``        N script-rendered pages (10 rows, 10 links made by script each), for
                       the JavaScript crawl benchmark (not linked)
``/jsprobe/?u=URL``    a page whose script requests every ``u`` (fetch, XHR, beacon,
                       WebSocket) and shows two records: for the browser's address guard
``/jshostile/``        pages that loop for ever, open popups, ask for permissions, register
                       service workers, start downloads (not linked)
=====================  ===========================================================

Every value reaches the page through ``textContent`` or JSON escaped for a script: the fixture
is built to be read, not to attack its reader (the hostile pages do that on purpose).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from urllib.parse import quote

Page = tuple[int, dict[str, str], bytes]
HTML = {"Content-Type": "text/html; charset=utf-8"}
XOR_KEY = 0x5A
SPA_PAGE_ROWS = 20

# The paste files: (path, content type, encoding, labels, postal prefix, with FAX lines).
PASTE_LABELS_1 = {
    "name": "氏名", "name_kana": "ふりがな", "gender": "性別", "birthdate": "生年月日",
    "age": "年齢", "grade": "学年", "guardian_name": "保護者", "postal_code": "郵便番号",
    "address": "住所", "phone": "電話", "email": "メール",
}  # fmt: skip
PASTE_LABELS_2 = {
    "name": "お名前", "name_kana": "フリガナ", "gender": "男女", "birthdate": "誕生日",
    "age": "歳", "grade": "学齢", "guardian_name": "保護者氏名", "postal_code": "〒",
    "address": "所在地", "phone": "TEL", "email": "E-mail",
}  # fmt: skip
PASTES = (
    ("/pastes/raw/k3Vd9.txt", "text/plain; charset=utf-8", "utf-8", PASTE_LABELS_1, "〒", True),
    ("/pastes/raw/Qm72x.txt", "application/octet-stream", "cp932", PASTE_LABELS_2, "", False),
    ("/pastes/raw/pZ04t", "text/plain", "utf-8", PASTE_LABELS_1, "〒", True),
)


def paste_share(rows: Sequence[dict[str, str]], n: int) -> list[dict[str, str]]:
    """The rows of paste ``n`` (contiguous thirds)."""
    third = -(-len(rows) // len(PASTES))
    return list(rows[n * third : (n + 1) * third])


def fax_of(phone: str) -> str:
    """A made-up fax number next to a phone number ("" for a masked one)."""
    if not phone or not phone[-1].isdigit() or any(c in phone for c in "*xX"):
        return ""
    return phone[:-1] + str((int(phone[-1]) + 1) % 10)


def paste_published(rows: Sequence[dict[str, str]]) -> list[dict[str, str]]:
    """The rows as the paste site publishes them (what a reader should find): the postal code
    with the 〒 the paste writes before it, and every 4th phone with its fax number."""
    out = []
    for n in range(len(PASTES)):
        _, _, _, _, postal_mark, faxes = PASTES[n]
        for i, row in enumerate(paste_share(rows, n)):
            r = dict(row)
            if r["postal_code"] and postal_mark and not r["postal_code"].startswith("〒"):
                r["postal_code"] = postal_mark + r["postal_code"]
            fax = fax_of(r["phone"]) if faxes and i % 4 == 1 else ""
            if fax:
                r["phone"] = f"{r['phone']} / FAX {fax}"
            out.append(r)
    return out


def _paste_text(rows: Sequence[dict[str, str]], n: int, fields: Sequence[str]) -> str:
    _, _, _, labels, postal_mark, faxes = PASTES[n]
    lines = [f"【流出】子供名簿 2015年度版 抜粋 その{n + 1}", "掲載日：2015年3月2日", ""]
    for i, row in enumerate(paste_share(rows, n)):
        for f in fields:
            value = row[f]
            if not value:
                continue
            if f == "postal_code" and postal_mark and not value.startswith("〒"):
                value = postal_mark + value
            elif f == "age" and n == 0:
                value += "歳"
            lines.append(f"{labels[f]}：{value}")
            fax = fax_of(value) if f == "phone" and faxes and i % 4 == 1 else ""
            if fax:
                lines.append(f"FAX：{fax}")
        lines.append("")
    lines.append("※転載禁止")
    return "\n".join(lines) + "\n"


def pastes(path: str, rows: Sequence[dict[str, str]], fields: Sequence[str]) -> Page | None:
    """The paste site's pages (``rows``: the shape's rows before the paste's own marks)."""
    if path == "/pastes/":
        links = "".join(
            f"<li><a href='{p}'>貼り付け {i + 1}</a></li>" for i, (p, *_) in enumerate(PASTES)
        )
        return 200, HTML, _page("貼り付け一覧", f"<ul>{links}</ul>")
    for n, (p, ctype, encoding, *_) in enumerate(PASTES):
        if path == p:
            body = _paste_text(rows, n, fields).encode(encoding, errors="replace")
            return 200, {"Content-Type": ctype}, body
    return None


# --- script-only pages -----------------------------------------------------------------------


def encode_rows(rows: Sequence[Sequence[str]]) -> str:
    """Rows as the script-only site ships them: JSON, XOR'd, base64."""
    data = json.dumps([list(r) for r in rows], ensure_ascii=False).encode("utf-8")
    return base64.b64encode(bytes(b ^ XOR_KEY for b in data)).decode("ascii")


def _js(value: object) -> str:
    """A value as a script literal that cannot end the script element."""
    return json.dumps(value, ensure_ascii=True).replace("</", "<\\/")


_SPA_SCRIPT = """
const LABELS = %(labels)s, PAGES = %(pages)s;
function decode(s) {
  const b = atob(s), u = new Uint8Array(b.length);
  for (let i = 0; i < b.length; i++) u[i] = b.charCodeAt(i) ^ %(key)s;
  return JSON.parse(new TextDecoder().decode(u));
}
function show(rows, page) {
  const app = document.getElementById('app');
  app.replaceChildren();
  const status = document.createElement('p');
  status.textContent = '全' + PAGES + 'ページ中 ' + page + 'ページ目';
  app.appendChild(status);
  const table = document.createElement('table');
  const head = table.insertRow();
  for (const l of LABELS) { const th = document.createElement('th'); th.textContent = l;
                            head.appendChild(th); }
  for (const r of rows) { const tr = table.insertRow();
                          for (const v of r) tr.insertCell().textContent = v; }
  app.appendChild(table);
  if (page < PAGES) {
    const next = document.createElement('button');
    next.textContent = '次へ';
    next.addEventListener('click', () => {
      next.disabled = true;
      fetch('/spa/data?page=' + (page + 1)).then(r => r.text())
        .then(t => setTimeout(() => show(decode(t), page + 1), 50));
    });
    app.appendChild(next);
  }
}
show(decode(%(first)s), 1);
"""


def spa(
    path: str, query: dict[str, list[str]], rows: Sequence[dict[str, str]],
    fields: Sequence[str], labels: Sequence[str],
) -> Page | None:  # fmt: skip
    """The script-only list: nothing readable without running its script."""
    pages = max(1, -(-len(rows) // SPA_PAGE_ROWS))
    chunks = [
        [[r[f] for f in fields] for r in rows[i * SPA_PAGE_ROWS : (i + 1) * SPA_PAGE_ROWS]]
        for i in range(pages)
    ]
    if path == "/spa/":
        return 200, HTML, _page("名簿 (新システム)", "<p><a href='/spa/list'>名簿を見る</a></p>")
    if path == "/spa/list":
        script = _SPA_SCRIPT % {
            "labels": _js(list(labels)), "pages": pages, "key": XOR_KEY,
            "first": _js(encode_rows(chunks[0])),
        }  # fmt: skip
        body = (
            "<noscript>JavaScript を有効にしてください</noscript><div id='app'></div>"
            f"<script>{script}</script>"
        )
        return 200, HTML, _page("子供名簿 (JavaScript版)", body)
    if path == "/spa/data":
        try:
            n = int(query.get("page", ["1"])[0])
        except ValueError:
            n = 0
        if not 1 <= n <= pages:
            return 404, {"Content-Type": "text/plain"}, b"no such page"
        return 200, {"Content-Type": "text/plain"}, encode_rows(chunks[n - 1]).encode()
    return None


_BENCH_SCRIPT = """
const LABELS = %(labels)s, ROWS = %(rows)s, LINKS = %(links)s;
const t = document.createElement('table'), h = t.insertRow();
for (const l of LABELS) { const th = document.createElement('th'); th.textContent = l;
                          h.appendChild(th); }
for (const r of ROWS) { const tr = t.insertRow();
                        for (const v of r) tr.insertCell().textContent = v; }
document.body.appendChild(t);
for (const [href, text] of LINKS) { const a = document.createElement('a'); a.href = href;
  a.textContent = text; document.body.appendChild(a); }
"""


def jsbench(path: str, rows: Sequence[dict[str, str]], fields: Sequence[str],
            labels: Sequence[str]) -> Page | None:  # fmt: skip
    """/jsbench/N/ or /jsbench/N/p/K: page K of N, its table and its links made by script."""
    parts = path.strip("/").split("/")
    try:
        total = int(parts[1])
        k = int(parts[3]) if len(parts) >= 4 else 0
    except (IndexError, ValueError):
        return None
    links = [[f"/jsbench/{total}/p/{c}", str(c)] for c in range(10 * k + 1, 10 * k + 11)
             if c <= total]  # fmt: skip
    chosen = [[rows[(k * 10 + i) % len(rows)][f] for f in fields] for i in range(10)]
    script = _BENCH_SCRIPT % {"labels": _js(list(labels)), "rows": _js(chosen), "links": _js(links)}
    return 200, HTML, _page(f"js p{k}", f"<script>{script}</script>")


_PROBE_SCRIPT = """
const TARGETS = %(targets)s;
for (const u of TARGETS) {
  fetch(u, {mode: 'no-cors'}).catch(() => 0);
  try { const x = new XMLHttpRequest(); x.open('GET', u); x.send(); } catch (e) {}
  try { navigator.sendBeacon(u, 'x'); } catch (e) {}
  try { new WebSocket(u.replace(/^http/, 'ws')); } catch (e) {}
}
const t = document.createElement('table');
for (const r of [['氏名', '電話', '住所'], ['試験 太郎', '03-1111-2222', '東京都千代田区1-2-3'],
                 ['試験 花子', '06-3333-4444', '大阪府大阪市北区1-2-3']]) {
  const tr = t.insertRow(); for (const v of r) tr.insertCell().textContent = v; }
document.body.appendChild(t);
"""


def jsprobe(query: dict[str, list[str]]) -> Page:
    """A page whose script asks for every ``u`` in its query, every way a script can."""
    targets = [u for u in query.get("u", []) if u.startswith(("http://", "https://"))][:10]
    script = _PROBE_SCRIPT % {"targets": _js(targets)}
    return 200, HTML, _page("probe", f"<script>{script}</script>")


_HOSTILE = {
    "/jshostile/loop": "while (true) {}",
    # each attempt writes what it got into the page: the rendered DOM (evidence) shows it
    "/jshostile/popup": """
function say(id, text) { const p = document.createElement('p'); p.id = id;
                         p.textContent = id + ':' + text; document.body.appendChild(p); }
const w = window.open('/jshostile/popup-target'); say('popup', w ? 'opened' : 'blocked');
say('alert', String(alert('x'))); say('confirm', String(confirm('y')));
try { Notification.requestPermission().then(p => say('notification', p),
                                             e => say('notification', 'error')); }
catch (e) { say('notification', 'error'); }
try { navigator.geolocation.getCurrentPosition(() => say('geo', 'granted'),
                                               e => say('geo', 'denied')); }
catch (e) { say('geo', 'error'); }
try { navigator.serviceWorker.register('/jshostile/sw.js').then(() => say('sw', 'registered'),
                                                               e => say('sw', 'refused')); }
catch (e) { say('sw', 'unavailable'); }
const a = document.createElement('a'); a.href = '/jshostile/download';
a.download = 'list.csv'; document.body.appendChild(a); a.click();
document.body.insertAdjacentHTML('beforeend',
  '<p>試験 三郎 | 03-5555-6666 | 東京都港区芝公園1-2-3</p>');
""",
    "/jshostile/huge": (
        "const p = document.createElement('pre'); p.textContent = 'あ'.repeat(1024 * 1024);"
        "document.body.appendChild(p);"
    ),
}


def jshostile(path: str) -> Page | None:
    if path == "/jshostile/":
        links = "".join(f"<a href='{quote(p)}'>{p}</a> " for p in _HOSTILE)
        return 200, HTML, _page("hostile scripts", links)
    if path in _HOSTILE:
        return 200, HTML, _page("hostile", f"<script>{_HOSTILE[path]}</script>")
    if path == "/jshostile/download":
        disposition = {"Content-Disposition": "attachment; filename=list.csv"}
        return 200, {"Content-Type": "text/csv", **disposition}, "氏名,電話\n".encode()
    if path in ("/jshostile/popup-target", "/jshostile/sw.js"):
        return 200, {"Content-Type": "text/javascript"}, b"// reached"
    return None


def _page(title: str, body: str) -> bytes:
    return (
        "<!DOCTYPE html><html lang='ja'><head><meta charset='utf-8'>"
        f"<title>{title}</title></head><body><h1>{title}</h1>{body}</body></html>"
    ).encode()
