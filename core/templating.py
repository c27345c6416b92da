"""Rendering administrators' templates safely: a sandbox, plain data, and limits.

Templates are Jinja2 in an immutable sandbox: no attribute starting with an underscore,
no method that changes data, and only the globals given here. They get plain data
(dicts, strings, numbers, dates) built for them, never ORM objects, sessions or
settings, so there is nothing to climb from. Data is only ever a value: a donor named
``{{7*7}}`` appears as written, and HTML in it is escaped.

A runaway template is stopped: every call, attribute and operator checks a deadline,
multiplying or raising to a power may not build anything huge, and the output stops at
a size. Any problem (syntax, an unknown name, a limit) is a ``TemplateProblem`` naming
the line, never an exception of the web server.

``{% include "letterhead.html" %}`` (and ``import``/``extends``) reach only the shared
parts registered in ``INCLUDES`` (``core.documents.PARTIALS`` fills it): no file, no
other name, whatever the name is made of. An included part runs in the same sandbox,
within the same limits, and a problem in it is reported at the line that includes it.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Mapping
from contextvars import ContextVar
from datetime import date, datetime
from decimal import Decimal

from babel.dates import format_date, format_datetime
from babel.numbers import format_currency, format_decimal
from flask_babel import gettext as _
from jinja2 import (
    FunctionLoader,
    StrictUndefined,
    TemplateError,
    TemplateNotFound,
    TemplateSyntaxError,
    nodes,
)
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError
from num2words import num2words

from core.errors import ValidationError

# Of the rendering thread's own processor time: a template that loops is stopped, one
# that merely waits for a machine busy with other work is not.
MAX_SECONDS = 2.0
MAX_OUTPUT = 2_000_000  # characters
MAX_ITEMS = 100_000  # the longest string or list an operator may build
FILENAME = "<template>"

# The parts a template may include, by name: "letterhead.html" -> its Jinja source.
INCLUDES: dict[str, str] = {}

_deadline: ContextVar[float] = ContextVar("kartoteka_template_deadline", default=0.0)


class TemplateProblem(ValidationError):
    """A template that cannot be rendered; ``errors`` names the field and the line."""

    def __init__(self, field: str, message: str, line: int | None = None):
        text = _("Line %(line)d: %(message)s", line=line, message=message) if line \
            else message
        super().__init__({field: text})
        self.line = line


class _Stopped(Exception):
    pass


class Sandbox(ImmutableSandboxedEnvironment):
    """The sandbox with a time limit on everything a template does."""

    intercepted_binops = frozenset({"*", "**", "+"})

    def _check(self) -> None:
        deadline = _deadline.get()
        if deadline and time.thread_time() > deadline:
            raise _Stopped(_("The template took longer than %(n)s seconds and was stopped.",
                             n=int(MAX_SECONDS)))

    def call(__self, __context, __obj, *args, **kwargs):  # noqa: N805 (Jinja's signature)
        __self._check()
        return super().call(__context, __obj, *args, **kwargs)

    def getattr(self, obj, attribute):
        self._check()
        return super().getattr(obj, attribute)

    def getitem(self, obj, argument):
        self._check()
        return super().getitem(obj, argument)

    def call_binop(self, context, operator, left, right):
        self._check()
        if operator == "**" and isinstance(right, int | float) and abs(right) > 100:
            raise _Stopped(_("A power that large is not allowed in a template."))
        if operator == "*":
            for seq, times in ((left, right), (right, left)):
                if isinstance(seq, str | list | tuple) and isinstance(times, int) \
                        and len(seq) * times > MAX_ITEMS:
                    raise _Stopped(_("The template builds a text or list that is too long."))
        result = super().call_binop(context, operator, left, right)
        if isinstance(result, str | list | tuple) and len(result) > MAX_OUTPUT:
            raise _Stopped(_("The template builds a text or list that is too long."))
        return result


def _include(name: str):
    """A registered part's source, under a file name of its own (so the line reported
    for a problem in it is the including template's), or None: not found."""
    source = INCLUDES.get(name) if isinstance(name, str) else None
    if source is None:
        return None
    return source, f"<{name}>", lambda: INCLUDES.get(name) is source


def _environment(autoescape: bool) -> Sandbox:
    env = Sandbox(undefined=StrictUndefined, autoescape=autoescape, trim_blocks=True,
                  lstrip_blocks=True, loader=FunctionLoader(_include))
    env.globals = {"range": env.globals["range"], "money": money, "words": words,
                   "day": day, "moment": moment, "number": number}
    env.filters.update(money=money, words=words, day=day, moment=moment, number=number)
    return env


# --- Formatting helpers (available in every template) ----------------------------------

def _locale() -> str:
    from core.terms import _locale as current

    return current()


def money(value, currency: str = "PLN") -> str:
    """12 500,00 zł"""
    if value in (None, ""):
        return ""
    return format_currency(Decimal(str(value)), currency, locale=_locale())


def number(value, places: int = 2) -> str:
    if value in (None, ""):
        return ""
    return format_decimal(Decimal(str(value)), format=f"#,##0.{'0' * places}" if places
                          else "#,##0", locale=_locale())


def words(value, currency: str | None = "PLN") -> str:
    """An amount in words, as Polish invoices and contracts write it: "dwanaście tysięcy
    pięćset złotych, pięćdziesiąt groszy"."""
    if value in (None, ""):
        return ""
    amount = Decimal(str(value))
    if currency:
        return num2words(amount, lang=_locale(), to="currency", currency=currency)
    return num2words(amount, lang=_locale())


def day(value, style: str = "long") -> str:
    """6 grudnia 2026"""
    if not value:
        return ""
    if isinstance(value, str):
        value = date.fromisoformat(value[:10])
    if isinstance(value, datetime):
        value = value.date()
    return format_date(value, format=style if style in ("short", "medium", "long")
                       else "long", locale=_locale())


def moment(value, style: str = "short") -> str:
    if not value:
        return ""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    from core.tasks import local_zone

    return format_datetime(value, format=style if style in ("short", "medium", "long")
                           else "short", tzinfo=local_zone(), locale=_locale())


# --- Rendering -----------------------------------------------------------------------------

_HTML = _environment(autoescape=True)
_TEXT = _environment(autoescape=False)


def check(source: str, field: str = "body") -> None:
    """Refuse a template that does not even parse, naming the line."""
    try:
        parsed = _HTML.parse(source)
    except TemplateSyntaxError as exc:
        raise TemplateProblem(field, exc.message or str(exc), exc.lineno) from exc
    for node in parsed.find_all((nodes.Include, nodes.Import, nodes.FromImport,
                                 nodes.Extends)):
        name = node.template
        if isinstance(name, nodes.Const) and name.value not in INCLUDES:
            raise TemplateProblem(field, _missing(name.value), node.lineno)


def variables(source: str) -> set[str]:
    """The top-level names a template reads (for the editor's hints)."""
    from jinja2 import meta

    try:
        return meta.find_undeclared_variables(_HTML.parse(source))
    except TemplateSyntaxError:
        return set()


def render(source: str, context: Mapping, field: str = "body", html: bool = True) -> str:
    """``source`` filled with ``context``, within the limits, or a TemplateProblem."""
    env = _HTML if html else _TEXT
    token = _deadline.set(time.thread_time() + MAX_SECONDS)
    try:
        template = _compiled(html, source)
        out, size = [], 0
        for chunk in template.generate(**dict(context)):
            size += len(chunk)
            if size > MAX_OUTPUT:
                raise _Stopped(_("The document would be longer than %(n)d characters.",
                                 n=MAX_OUTPUT))
            out.append(chunk)
            env._check()
        return "".join(out)
    except TemplateSyntaxError as exc:
        raise TemplateProblem(field, exc.message or str(exc), exc.lineno) from exc
    except _Stopped as exc:
        raise TemplateProblem(field, str(exc), _line(exc)) from exc
    except TemplateNotFound as exc:
        raise TemplateProblem(field, _missing(exc.name), _line(exc)) from exc
    except SecurityError as exc:
        raise TemplateProblem(field, _("The template reaches for something it may not use."),
                              _line(exc)) from exc
    except (TemplateError, ArithmeticError, TypeError, ValueError, LookupError) as exc:
        raise TemplateProblem(field, _problem(exc), _line(exc)) from exc
    finally:
        _deadline.reset(token)


@functools.lru_cache(maxsize=256)
def _compiled(html: bool, source: str):
    """A template compiled once for all the records it is filled for (a mailing's
    thousands of recipients); compiled templates are safe to share between threads."""
    return (_HTML if html else _TEXT).from_string(source)


def _missing(name) -> str:
    return _("There is no part “%(name)s” to include; the parts are: %(names)s.",
             name=name, names=", ".join(sorted(INCLUDES)))


def _problem(exc: Exception) -> str:
    message = getattr(exc, "message", None) or str(exc)
    if " is undefined" in message:
        name = message.split(" is undefined")[0].strip("'")
        return _("There is no “%(name)s” here.", name=name)
    return message


def _line(exc: BaseException) -> int | None:
    """The template's line where ``exc`` arose (Jinja puts template frames in the
    traceback with the template's own line numbers)."""
    found, tb = None, exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == FILENAME:
            found = tb.tb_lineno
        tb = tb.tb_next
    return found
