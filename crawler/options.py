"""A source's crawl options: the typed :class:`SourceOptions`, validated here and nowhere else.

Options are stored as JSON in ``Source.options`` (only the options given, so a stored row keeps
the shape it had when options were a plain dict) and read back through
:meth:`SourceOptions.parse` by everything that uses them: the launcher's Scrapy settings
(``crawler.launch.scrapy_settings``), the spider, the CLI. A bad option is refused with a
one-line :class:`~crawler.checks.CrawlError` naming it (an unknown option, an environment
variable name that looks like a secret, a URL with credentials, a bad CSS selector ...).

Adding an option: a field here (with its validation, if any) and its use where it takes effect
(``scrapy_settings`` for a Scrapy setting, the spider for extraction); the CLI adds its flag.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from crawler.checks import CrawlError, url_problem

if TYPE_CHECKING:
    from crawler.tables import Selectors

DEFAULT_DEPTH = 6  # link depth from a start URL when a source does not say (DEPTH_LIMIT)
_ENV_NAME = re.compile(r"[A-Z_][A-Z0-9_]{0,99}")
_LOGIN_SHAPE = "login takes url, username_env, password_env (names of variables)"


class LoginOptions(BaseModel):
    """A members-only site's login form. Credentials are never stored: only the names of the
    environment variables that hold them, read by the crawl process when it logs in."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    url: str
    username_env: str
    password_env: str

    @field_validator("url", mode="before")
    @classmethod
    def _http_url(cls, value: object) -> str:
        url = str(value)
        problem = url_problem(url, "login url")
        if problem is not None:
            raise ValueError(problem)
        return url

    @field_validator("username_env", "password_env", mode="before")
    @classmethod
    def _variable_name(cls, value: object, info: ValidationInfo) -> str:
        # a name, never the secret itself: the options are stored in the clear
        if not isinstance(value, str) or not _ENV_NAME.fullmatch(value):
            raise ValueError(
                f"login {info.field_name} must name an environment variable (A-Z, 0-9, _), "
                "not hold the credential"
            )
        return value


class SourceOptions(BaseModel):
    """How one source is crawled; every field is optional (None: the default applies)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    allowed_domains: list[str] | None = None  # default: the start URLs' hosts
    depth: int = Field(default=DEFAULT_DEPTH, ge=0)
    page_limit: int | None = Field(default=None, ge=1)  # default: crawler_page_limit
    max_response_bytes: int | None = Field(default=None, ge=1024)  # crawler_max_response_bytes
    login: LoginOptions | None = None
    javascript: bool | None = None  # pages rendered in headless Chromium (crawler.rendering)
    column_map: dict[str, str] | None = None  # published header -> listing column
    throttle: bool | None = None  # default: crawler_autothrottle, off for local sources
    selectors: dict[str, Any] | None = None  # {"record": CSS, "fields": {field: CSS}}

    @field_validator("column_map", mode="before")
    @classmethod
    def _listing_columns(cls, value: object) -> object:
        from crawler.fields import LISTING_COLUMNS  # with the matcher's tables: when needed

        if value is not None and (
            not isinstance(value, dict) or not set(value.values()) <= set(LISTING_COLUMNS)
        ):
            raise ValueError(f"column_map values must be among {', '.join(LISTING_COLUMNS)}")
        return value

    @field_validator("selectors", mode="before")
    @classmethod
    def _compiles(cls, value: object) -> object:
        if value is not None:
            from crawler.tables import compile_selectors  # lxml, the matcher: when needed

            try:
                compile_selectors(value)
            except ValueError as exc:
                raise ValueError(f"selectors: {exc}") from None
        return value

    @classmethod
    def parse(cls, raw: SourceOptions | Mapping[str, Any] | None) -> SourceOptions:
        """The options in ``raw`` (a stored or given dict; None values count as not given),
        validated; :class:`CrawlError` with a one-line message if any is bad."""
        if isinstance(raw, SourceOptions):
            return raw
        given = {k: v for k, v in (raw or {}).items() if v is not None}
        try:
            return cls.model_validate(given)
        except ValidationError as exc:
            # the message only: a ValidationError's text would quote the input (a URL's
            # password included), so it is neither shown nor chained
            raise CrawlError(_one_line(exc)) from None

    def stored(self) -> dict[str, Any]:
        """The JSON stored in ``Source.options``: the options given, nothing else."""
        return self.model_dump(mode="json", exclude_unset=True, exclude_none=True)

    def compiled_selectors(self) -> Selectors | None:
        """The selector override compiled for the spider, or None."""
        if self.selectors is None:
            return None
        from crawler.tables import compile_selectors

        return compile_selectors(self.selectors)


def _one_line(exc: ValidationError) -> str:
    """The first problem of ``exc`` as one line, in the order the checks were always made:
    unknown options; the login's shape, its variable names, its URL; then field order."""
    errors = exc.errors(include_url=False, include_input=False)
    unknown = sorted(
        str(e["loc"][0]) for e in errors if e["type"] == "extra_forbidden" and len(e["loc"]) == 1
    )
    if unknown:
        return f"unknown source option(s): {', '.join(unknown)}"
    login = [e for e in errors if e["loc"][0] == "login"]
    if any(e["type"] != "value_error" for e in login):
        return _LOGIN_SHAPE  # not a mapping, or a key missing or one too many
    # the variable names first: a credential put there is the worse mistake
    login.sort(key=lambda e: e["loc"][-1] == "url")
    first = login[0] if login else errors[0]
    if first["type"] == "value_error":
        return str(first["ctx"]["error"])  # our own message, complete
    return f"option {'.'.join(str(part) for part in first['loc'])}: {first['msg']}"
