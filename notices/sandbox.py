"""The Jinja2 environment letters are rendered in, and the filters a template may call.

Owns the sandbox: templates come from the package (``notices/templates``) unless the legal
team's edited source for one template is passed in, and every template, packaged or edited,
runs in an ``ImmutableSandboxedEnvironment`` with ``StrictUndefined``. HTML templates are
autoescaped because the facts carry crawled text (a listing's identifier is whatever the broker
published). Anything a template does wrong (unsafe attribute, mutation, unknown name, syntax,
an error inside a filter) comes out as one ``TemplateRefused`` naming the template and line.
"""

from __future__ import annotations

import dataclasses
import enum
import operator
import re
import traceback
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime, timedelta, timezone
from functools import cache
from typing import Any

from jinja2 import (
    BaseLoader,
    ChoiceLoader,
    PackageLoader,
    StrictUndefined,
    TemplateError,
    TemplateNotFound,
    TemplateSyntaxError,
    select_autoescape,
)
from jinja2.sandbox import ImmutableSandboxedEnvironment

JST = timezone(timedelta(hours=9), "JST")  # Japan keeps no summer time: a fixed offset is exact

# Reiwa began on 1 May 2019, Heisei on 8 January 1989; letters never date anything earlier
# than the leak (2014), so two eras are all a letter prints.
_ERAS: tuple[tuple[date, str], ...] = ((date(2019, 5, 1), "令和"), (date(1989, 1, 8), "平成"))

# Largest string or sequence an operator may build: far above any letter, far below memory.
_MAX_SIZE = 100_000
_MAX_BITS = 100_000  # about 30,000 digits

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")
_BREAKS = re.compile(r"[\r\n\t\u2028\u2029]+")
_ZENKAKU = str.maketrans("0123456789", "０１２３４５６７８９")


class TemplateRefused(Exception):
    """A letter template that may not run: unsafe, malformed, or using an unknown name."""

    def __init__(self, template: str, line: int | None, reason: str) -> None:
        where = f"{template}:{line}" if line else template
        super().__init__(f"template {where} refused: {reason}")
        self.template = template
        self.line = line
        self.reason = reason


class _LetterSandbox(ImmutableSandboxedEnvironment):
    """The immutable sandbox, plus a bound on ``*`` and ``**`` so that an edited template
    cannot exhaust memory with ``'x' * 10**9`` or ``9 ** 9 ** 9``."""

    intercepted_binops = frozenset({"*", "**"})

    def call_binop(self, context: Any, operator_: str, left: Any, right: Any) -> Any:
        if operator_ == "**":
            _check_power(left, right)
        if operator_ == "*":
            _check_repeat(left, right)
            _check_repeat(right, left)
        return _BINOPS[operator_](left, right)


_BINOPS: Mapping[str, Callable[[Any, Any], Any]] = {"*": operator.mul, "**": operator.pow}


def _check_power(base: Any, exponent: Any) -> None:
    # Jinja's ** is left-associative: (9 ** 99) ** 99 ** 99 grows with each step, so the
    # size of the result is bounded, not the exponent alone.
    integers = isinstance(base, int) and isinstance(exponent, int)
    if integers and abs(base) > 1 and base.bit_length() * exponent > _MAX_BITS:
        raise ArithmeticError(f"{base.bit_length()}-bit number to the power {exponent}")


def _check_repeat(sequence: Any, times: Any) -> None:
    sized = isinstance(sequence, str | bytes | list | tuple) and isinstance(times, int)
    if sized and len(sequence) * times > _MAX_SIZE:
        raise MemoryError(f"result of * longer than {_MAX_SIZE}")


def printable(value: Any) -> Any:
    """``value`` with every string in it (through dataclasses and tuples) cleaned for print:
    control and direction-override characters out (crawled text can reorder what a reader
    sees with U+202E), line breaks folded to a space (an identifier must not open a paragraph
    of its own in the text form). Enums, dates and numbers are kept as they are."""
    if isinstance(value, enum.Enum):
        return value
    if isinstance(value, str):
        return _CONTROL.sub("", _BREAKS.sub(" ", value))
    if isinstance(value, tuple):
        return tuple(printable(item) for item in value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = {f.name: printable(getattr(value, f.name)) for f in dataclasses.fields(value)}
        return dataclasses.replace(value, **fields)
    return value


def wareki(day: date) -> str:
    """令和8年12月6日 (the first year of an era is 元年)."""
    for start, era in _ERAS:
        if day >= start:
            year = day.year - start.year + 1
            return f"{era}{'元' if year == 1 else year}年{day.month}月{day.day}日"
    raise ValueError(f"{day} is before the eras a letter prints")


def seireki(day: date) -> str:
    """2026年12月6日."""
    return f"{day.year}年{day.month}月{day.day}日"


def jst(moment: datetime) -> str:
    """A capture time in Japan time, to the minute: 2026年11月20日 14時05分. Naive times are
    UTC, as the facts store them."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    local = moment.astimezone(JST)
    return f"{seireki(local.date())} {local.hour}時{local.minute:02d}分"


def zen(value: object) -> str:
    """Digits in full width, for list markers such as （１）: a letter never prints ①, which
    JIS X 0208 lacks (the Word export and the 内容証明 refuse it)."""
    return str(value).translate(_ZENKAKU)


def number(value: int) -> str:
    """A count with thousands separators: 1,234."""
    return f"{value:,}"


FILTERS: Mapping[str, Callable[..., str]] = {
    "wareki": wareki,
    "seireki": seireki,
    "jst": jst,
    "zen": zen,
    "number": number,
}


@cache
def _environment() -> _LetterSandbox:
    env = _LetterSandbox(
        loader=PackageLoader("notices", "templates"),
        # .txt is plain text for mail bodies and 内容証明; anything else, including an edited
        # template passed as a string, is escaped
        autoescape=select_autoescape(
            enabled_extensions=("html",), disabled_extensions=("txt",), default=True
        ),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(FILTERS)
    return env


def render(name: str, context: Mapping[str, Any], override: str | None = None) -> str:
    """Render the packaged template ``name``, or ``override`` (edited source) in its place.

    An override may extend or include the packaged templates (the shared page layout).
    """
    env = _environment()
    if override is not None:
        assert env.loader is not None
        # never cached: the next call may bring another edit of the same template
        env = env.overlay(loader=ChoiceLoader([_Edited(name, override), env.loader]), cache_size=0)
    try:
        return env.get_template(name).render(context)
    except TemplateSyntaxError as exc:
        raise TemplateRefused(exc.name or name, exc.lineno, exc.message or str(exc)) from exc
    except _REFUSED as exc:
        raise TemplateRefused(*_where(exc, name), f"{type(exc).__name__}: {exc}") from exc


# Besides Jinja's own errors (SecurityError, UndefinedError, ...): what a filter or an
# operation on the facts raises when an edited template misuses them, and the bounds above.
_REFUSED = (
    TemplateError,
    TemplateNotFound,
    ArithmeticError,
    MemoryError,
    RecursionError,
    TypeError,
    ValueError,
    LookupError,
    AttributeError,
)


class _Edited(BaseLoader):
    """One template's edited source, under its own name (so errors point at it)."""

    def __init__(self, name: str, source: str) -> None:
        self.name = name
        self.source = source

    def get_source(self, environment: Any, template: str) -> tuple[str, str, Callable[[], bool]]:
        if template != self.name:
            raise TemplateNotFound(template)
        return self.source, template, lambda: False


def _where(exc: BaseException, default: str) -> tuple[str, int | None]:
    """The template and line an error was raised at: Jinja rewrites the traceback so that
    template frames carry the template's file name and line."""
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        if not frame.filename.endswith(".py"):
            return frame.filename.rsplit("/", 1)[-1], frame.lineno
    return default, None
