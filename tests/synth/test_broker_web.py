"""The fixture broker web: deterministic content, the encodings it claims (and lies about)."""

from __future__ import annotations

from synth.broker_web import SHAPES, Broker, build_fixture


def test_fixture_is_deterministic_and_every_shape_publishes_rows() -> None:
    a, b = (
        build_fixture(seed=7, persons=300, rows=240),
        build_fixture(seed=7, persons=300, rows=240),
    )
    assert a.shapes == b.shapes
    assert set(a.shapes) == set(SHAPES) and all(a.shapes[s] for s in SHAPES)


def test_sites_are_served_in_their_encodings() -> None:
    broker = Broker(build_fixture(seed=7, persons=300, rows=240))
    status, headers, body = broker.route("/meibo/list", {"page": ["1"]})
    assert status == 200 and "Shift_JIS" in headers["Content-Type"]
    body.decode("cp932")
    _, headers, body = broker.route("/liar/a.html", {})
    assert "UTF-8" in headers["Content-Type"]
    try:
        body.decode("utf-8")
        raise AssertionError("the liar page should not be UTF-8")
    except UnicodeDecodeError:
        pass
    assert broker.route("/robots.txt", {})[2].startswith(
        b"User-agent: *\nDisallow: /meibo/private/"
    )
    assert broker.route("/trap/metadata", {})[1]["Location"].startswith("http://169.254.169.254/")
    broker.takedown = "remove"
    assert broker.route("/takedown/", {})[0] == 404


def test_members_site_needs_the_login_cookie() -> None:
    from synth.broker_web import MEMBER_COOKIE, MEMBER_PASSWORD, MEMBER_USER

    broker = Broker(build_fixture(seed=7, persons=300, rows=240))
    status, headers, _ = broker.route("/members/list.html", {})
    assert status == 302 and headers["Location"] == "/members/login"
    form = {"csrf": [broker._csrf], "login_id": [MEMBER_USER], "passwd": ["nope"]}
    status, _, body = broker.post("/members/login", form)
    assert status == 200 and "正しくありません" in body.decode()
    status, headers, _ = broker.post("/members/login", {**form, "passwd": [MEMBER_PASSWORD]})
    assert status == 302 and headers["Set-Cookie"].startswith(MEMBER_COOKIE + "=")
    cookie = headers["Set-Cookie"].split(";", 1)[0]
    status, _, body = broker.route("/members/list.html", {}, cookie)
    assert status == 200 and "会員限定" in body.decode()
    broker.route("/members/logout", {}, cookie)
    assert broker.route("/members/list.html", {}, cookie)[0] == 302


def test_paste_site_lies_about_names_and_types() -> None:
    from synth.broker_scripted import PASTES

    fx = build_fixture()  # the default web: shapes large enough
    broker = Broker(fx)
    status, _, body = broker.route("/pastes/", {})
    assert status == 200 and all(p.encode() in body for p, *_ in PASTES)
    kinds = {broker.route(p, {})[1]["Content-Type"] for p, *_ in PASTES}
    assert kinds == {"text/plain; charset=utf-8", "application/octet-stream", "text/plain"}
    _, _, first = broker.route(PASTES[0][0], {})
    text = first.decode("utf-8")
    assert "氏名：" in text and "郵便番号：〒" in text and "\n\n氏名：" in text
    # the ground truth is what the pastes publish: the 〒 they add, the FAX lines they keep
    truth = fx.shapes["paste_text"]
    assert len(truth) == len(fx.paste_rows)
    assert any(" / FAX " in r["phone"] for r in truth)
    assert all(r["postal_code"].startswith("〒") for r in truth[:5] if r["postal_code"])


def test_script_only_site_shows_nothing_without_its_script() -> None:
    import base64
    import json

    from synth.broker_scripted import SPA_PAGE_ROWS, XOR_KEY

    fx = build_fixture()  # the default web: shapes large enough
    broker = Broker(fx)
    rows = fx.shapes["script_only"]
    _, _, page = broker.route("/spa/list", {})
    assert not any(r["name"].encode() in page for r in rows)  # encoded, never in clear
    assert b"<table" not in page and "次へ".encode() in page  # the script makes both
    _, _, data = broker.route("/spa/data", {"page": ["2"]})
    decoded = json.loads(bytes(b ^ XOR_KEY for b in base64.b64decode(data)).decode())
    assert decoded[0][0] == rows[SPA_PAGE_ROWS]["name"]
    assert broker.route("/spa/data", {"page": ["99"]})[0] == 404
