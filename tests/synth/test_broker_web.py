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
