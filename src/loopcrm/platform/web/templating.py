"""The Jinja2 environment of every page: autoescape, gettext per render, locale-aware filters.

One environment serves the whole process (templates are code). What differs per reader — the
translations, the time zone — is set for the duration of one render in a context variable, so
``_()``, ``{% trans %}`` and the date and number filters work the same in a page, in its
layout and in imported macros.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from babel import dates, numbers
from jinja2 import ChoiceLoader, Environment, FileSystemLoader, StrictUndefined, select_autoescape

from loopcrm.platform.i18n import Translator
from loopcrm.platform.timestamps import time_zone
from loopcrm.platform.web.forms import FormState

TEMPLATE_DIRECTORY = Path(__file__).resolve().parent / "templates"


@dataclass(frozen=True)
class RenderLocale:
    """The reader's language and time zone during one render."""

    translator: Translator
    timezone: str

    @property
    def tzinfo(self) -> ZoneInfo:
        return time_zone(self.timezone)


_current: ContextVar[RenderLocale | None] = ContextVar("loopcrm_render_locale", default=None)


def current_locale() -> RenderLocale:
    """The locale of the render in progress (Simplified Chinese in Shanghai outside of one)."""
    return _current.get() or RenderLocale(Translator("zh_CN"), "Asia/Shanghai")


@contextmanager
def rendering_for(locale: RenderLocale) -> Iterator[None]:
    token = _current.set(locale)
    try:
        yield
    finally:
        _current.reset(token)


def _gettext(message: str) -> str:
    return current_locale().translator.gettext(message)


def _ngettext(singular: str, plural: str, count: int) -> str:
    return current_locale().translator.ngettext(singular, plural, count)


# ------------------------------------------------------------------ filters


def local_datetime(value: datetime) -> datetime:
    """``value`` in the reader's time zone (stored times are UTC; a naive time is taken as UTC)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(current_locale().tzinfo)


def format_datetime(value: datetime | None, format: str = "medium") -> str:
    """A moment in the reader's time zone and locale: "2026年11月23日 17:29" / "Nov 23, 2026, 5:29 PM".

    ``format`` is ``medium`` (date and minutes), ``short`` (numeric date and minutes) or
    ``full`` (with seconds and the zone's name).
    """
    if value is None:
        return ""
    reader = current_locale()
    locale = reader.translator.babel_locale
    moment = local_datetime(value)
    if format == "full":
        return (
            dates.format_datetime(moment, "medium", tzinfo=reader.tzinfo, locale=locale)
            + " "
            + (dates.get_timezone_name(reader.tzinfo, width="short", locale=locale))
        )
    day = dates.format_skeleton(
        "yMd" if format == "short" else "yMMMd", moment, tzinfo=reader.tzinfo, locale=locale
    )
    time = dates.format_time(moment, "short", tzinfo=reader.tzinfo, locale=locale)
    pattern = str(dates.get_datetime_format("medium", locale=locale))
    return pattern.replace("{1}", day).replace("{0}", time)


def format_date(value: date | datetime | None, format: str = "medium") -> str:
    """A calendar day in the reader's locale; a moment is first moved into the reader's time zone."""
    if value is None:
        return ""
    reader = current_locale()
    if isinstance(value, datetime):
        value = local_datetime(value).date()
    skeleton = "yMd" if format == "short" else "yMMMd"
    return dates.format_skeleton(skeleton, value, locale=reader.translator.babel_locale)


def iso_datetime(value: datetime | None) -> str:
    """The machine-readable form for ``<time datetime=…>``."""
    if value is None:
        return ""
    moment = local_datetime(value)
    return moment.isoformat(timespec="seconds")


def format_number(value: int | float | Decimal | None, format: str | None = None) -> str:
    if value is None:
        return ""
    return numbers.format_decimal(value, format=format, locale=current_locale().translator.babel_locale)


def format_money(value: int | float | Decimal | None, currency: str = "CNY") -> str:
    """An amount with its currency in the reader's locale: "¥1,234.50" / "CN¥1,234.50"."""
    if value is None:
        return ""
    return numbers.format_currency(value, currency, locale=current_locale().translator.babel_locale)


def format_percent(value: int | float | Decimal | None) -> str:
    if value is None:
        return ""
    return numbers.format_percent(value, locale=current_locale().translator.babel_locale)


def translate_message(msgid: str, params: Mapping[str, Any] | None = None) -> str:
    """A domain message (English msgid with ``{placeholders}``) in the reader's language."""
    return current_locale().translator.message(msgid, params)


# ------------------------------------------------------------------ environment


_extra_directories: list[Path] = []


@lru_cache(maxsize=1)
def environment() -> Environment:
    """The process's template environment; modules add directories with :func:`add_template_directory`."""
    env = Environment(
        loader=ChoiceLoader([FileSystemLoader(str(TEMPLATE_DIRECTORY))]),
        autoescape=select_autoescape(
            enabled_extensions=("html", "htm", "xml", "svg"), default_for_string=True
        ),
        extensions=["jinja2.ext.i18n"],
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
    )
    env.install_gettext_callables(_gettext, _ngettext, newstyle=True)  # type: ignore[attr-defined]
    env.filters.update(
        {
            "datetime": format_datetime,
            "date": format_date,
            "isodatetime": iso_datetime,
            "number": format_number,
            "money": format_money,
            "percent": format_percent,
            "message": translate_message,
        }
    )
    # A form filled from plain values, for a part of a page whose data comes from a service (a
    # service hands over values, never a web form).
    env.globals["initial_form"] = FormState.initial
    return env


def add_template_directory(directory: Path) -> None:
    """Let pages of a module find their templates (``<module>/templates``); searched after the platform's."""
    loader = environment().loader
    if not isinstance(loader, ChoiceLoader):
        raise TypeError("the template environment's loader was replaced")
    if directory not in _extra_directories:
        _extra_directories.append(directory)
        loader.loaders = [*loader.loaders, FileSystemLoader(str(directory))]


def render_template(name: str, context: Mapping[str, Any], locale: RenderLocale) -> str:
    """Render one template for one reader."""
    with rendering_for(locale):
        return environment().get_template(name).render(context)
