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
