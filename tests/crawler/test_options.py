"""Source options: one typed model checks them (one-line refusals) and stores them as before."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from crawler.checks import CrawlError
from crawler.options import SourceOptions
from crawler.sources import add_source
from office.cli import app
from store.models import Source
from store.runtime import Store

# dicts as the CLI, the demo, the benchmark and the tests stored them before SourceOptions
STORED_BEFORE = [
    {},
    {"depth": 6},
    {"depth": 10, "page_limit": 510},
    {"allowed_domains": ["127.0.0.1", "10.0.0.1"], "max_response_bytes": 2 * 1024 * 1024},
    {"depth": 2, "javascript": True, "throttle": False},
    {
        "depth": 6,
        "login": {"url": "https://b.example/login", "username_env": "U", "password_env": "P"},
        "column_map": {"顧客名": "name"},
        "selectors": {"record": "div.person", "fields": {"name": ".nm"}},
    },
]


@pytest.mark.parametrize("stored", STORED_BEFORE)
def test_stored_options_load_and_keep_their_shape(stored: dict[str, object]) -> None:
    assert SourceOptions.parse(stored).stored() == stored


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"depth": 2, "speed": 9, "colour": 1}, "unknown source option(s): colour, speed"),
        ({"login": "https://b.example/login"}, "login takes url, username_env, password_env"),
        ({"login": {"url": "https://b.example/", "username_env": "U"}}, "login takes url"),
        (
            {"login": {"url": "https://b.example/", "username_env": "U", "password_env": "pw!"}},
            "login password_env must name an environment variable",
        ),
        (
            {"login": {"url": "ftp://b.example/", "username_env": "U", "password_env": "P"}},
            "login url is not an http(s) URL: 'ftp://b.example/'",
        ),
        ({"column_map": {"顧客名": "salary"}}, "column_map values must be among row_id"),
        ({"selectors": {"record": "div"}}, 'selectors: selectors take "record"'),
        ({"page_limit": 0}, "option page_limit: Input should be greater than or equal to 1"),
        ({"depth": "deep"}, "option depth: Input should be a valid integer"),
    ],
)
def test_bad_options_are_refused_in_one_line(raw: dict[str, object], message: str) -> None:
    with pytest.raises(CrawlError) as refused:
        SourceOptions.parse(raw)
    text = str(refused.value)
    assert text.startswith(message) and "\n" not in text
    assert refused.value.__cause__ is None and refused.value.__suppress_context__


def test_a_password_in_the_login_url_is_never_repeated() -> None:
    login = {"url": "https://u:hunter2@b.example/", "username_env": "U", "password_env": "P"}
    with pytest.raises(CrawlError, match="holds a user name or password") as refused:
        SourceOptions.parse({"login": login})
    assert "hunter2" not in str(refused.value)


def test_unset_options_are_not_stored_and_read_as_defaults() -> None:
    opts = SourceOptions.parse({"page_limit": 7, "throttle": None})
    assert opts.stored() == {"page_limit": 7}
    assert (opts.depth, opts.page_limit, opts.throttle, opts.login) == (6, 7, None, None)


def _options_of(store: Store, name: str) -> object:
    with store.sessions() as s:
        return s.scalars(select(Source.options).where(Source.name == name)).one()


def test_cli_stores_the_options_given(env: dict[str, str], store: Store) -> None:
    """The flags fill SourceOptions; what is stored has the shape it always had."""
    runner = CliRunner()
    r = runner.invoke(app, ["source", "add", "plain", "https://b.example/"])
    assert r.exit_code == 0, r.output
    assert _options_of(store, "plain") == {"depth": 6}
    r = runner.invoke(
        app,
        [
            "source", "add", "full", "https://b.example/", "--depth", "3", "--page-limit", "9",
            "--max-bytes", "4096", "--allowed-domain", "b.example", "--login-url",
            "https://b.example/login", "--login-user-env", "B_USER", "--login-password-env",
            "B_PASS", "--column-map", '{"顧客名": "name"}',
            "--selectors", '{"record": "li", "fields": {"phone": ".tel"}}',
        ],
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    assert _options_of(store, "full") == {
        "allowed_domains": ["b.example"],
        "depth": 3,
        "page_limit": 9,
        "max_response_bytes": 4096,
        "login": {"url": "https://b.example/login", "username_env": "B_USER",
                  "password_env": "B_PASS"},
        "column_map": {"顧客名": "name"},
        "selectors": {"record": "li", "fields": {"phone": ".tel"}},
    }  # fmt: skip


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--login-url", "https://b.example/l"], "--login-url needs --login-user-env"),
        (["--column-map", "{nope"], "--column-map is not JSON"),
        (["--column-map", '{"x": "salary"}'], "column_map values must be among"),
        (["--selectors", "[1"], "--selectors is not JSON"),
    ],
)
def test_cli_refuses_bad_flags_in_one_line(
    env: dict[str, str], store: Store, flags: list[str], message: str
) -> None:
    r = CliRunner().invoke(app, ["source", "add", "s", "https://b.example/", *flags])
    assert r.exit_code == 2 and message in " ".join(r.output.split()), r.output
    assert "Traceback" not in r.output


def test_add_source_takes_the_model_too(store: Store) -> None:
    add_source(store, "m", ["https://b.example/"], actor="t", options=SourceOptions(depth=1))
    assert _options_of(store, "m") == {"depth": 1}
