"""Translations: gettext catalogues compiled in memory, locale negotiation, formatting of domain messages.

The catalogues are the committed ``.po`` files under ``loopcrm/locale``. They are compiled with
Babel when first used (``read_po`` → ``write_mo`` → :class:`gettext.GNUTranslations`), so no
build step and no compiled artefact is needed. Services raise English msgids with
``{placeholders}`` (see :mod:`loopcrm.platform.errors`); entry points translate the msgid first
and fill the placeholders afterwards, so translators see one stable msgid per message.
"""

from __future__ import annotations

import gettext
import io
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from babel import Locale
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from loopcrm.platform.permissions import Action, Scope, SecurityLevel, get_object_type

# The locales the interface speaks; the first is the fallback when nothing else matches.
SUPPORTED_LOCALES = ("zh_CN", "en")
LOCALE_DIRECTORY = Path(__file__).resolve().parent.parent / "locale"
MODULES_DIRECTORY = Path(__file__).resolve().parent.parent / "modules"
DOMAIN = "messages"

# What each supported locale is called in itself, for the language switch.
LOCALE_NAMES = {"zh_CN": "中文", "en": "English"}
# The ``lang`` attribute of an HTML page in each locale (BCP 47).
HTML_LANGUAGE = {"zh_CN": "zh-CN", "en": "en"}


def N_(message: str) -> str:  # noqa: N802 — the conventional gettext no-op marker that extraction finds
    """Mark ``message`` for extraction without translating it now (it is translated when shown)."""
    return message


def fill_placeholders(message: str, params: Mapping[str, Any] | None) -> str:
    """``message`` with its ``{placeholders}`` filled from ``params``. A message whose placeholders
    do not match its parameters (a translation that renamed one, say) is shown as it is rather
    than failing where it is shown."""
    if not params:
        return message
    try:
        return message.format(**params)
    except (KeyError, IndexError, ValueError):
        return message


# Names of actions, scopes and clearances as they appear inside translated messages and pages.
ACTION_NAMES: dict[str, str] = {
    Action.CREATE.value: N_("create"),
    Action.READ.value: N_("read"),
    Action.UPDATE.value: N_("update"),
    Action.DELETE.value: N_("delete"),
}
SCOPE_NAMES: dict[str, str] = {
    Scope.NONE.value: N_("None"),
    Scope.OWN.value: N_("Own"),
    Scope.TEAM.value: N_("Team"),
    Scope.ALL.value: N_("All"),
}
CLEARANCE_NAMES: dict[str, str] = {
    SecurityLevel.PUBLIC.label: N_("Public"),
    SecurityLevel.INTERNAL.label: N_("Internal"),
    SecurityLevel.CONFIDENTIAL.label: N_("Confidential"),
    SecurityLevel.SECRET.label: N_("Secret"),
}

# Titles of the platform's domain errors (class attributes, which
# extraction cannot see); a test checks that every DomainError subclass's title is translated.
ERROR_TITLES = (
    N_("Bad request"),
    N_("Authentication required"),
    N_("You do not have permission to do this"),
    N_("Not found"),
    N_("Conflict"),
    N_("The record was changed by someone else; reload and try again"),
    N_("The input is not valid"),
    N_("Too many attempts; try again later"),
    # loopcrm.platform.backup
    N_("loopcrm backup and restore handle the embedded SQLite database; use pg_dump for PostgreSQL"),
    N_("The file is not a LoopCRM backup"),
)


def catalogue_files(locale: str) -> list[Path]:
    """The ``.po`` files of one locale: the platform's, then one per module that has its own.

    Each module keeps its messages in ``loopcrm/modules/<module>/locale``, one or more ``.po``
    files per locale (one per area of a large module), so that people adding modules or areas
    side by side never edit the same catalogue; a msgid found in several files takes its
    translation from the first.
    """
    platform_file = LOCALE_DIRECTORY / locale / "LC_MESSAGES" / f"{DOMAIN}.po"
    module_files = sorted(MODULES_DIRECTORY.glob(f"*/locale/{locale}/LC_MESSAGES/*.po"))
    return [platform_file, *module_files]


def merged_catalogue(locale: str) -> Catalog:
    """The platform's and every module's messages of ``locale`` in one catalogue.

    A message may sit in the files of several areas (each area is extracted on its own, see
    ADR 0002); a translation beats an empty entry, and otherwise the first file wins, so the files
    must agree (``tests/web/test_catalogues.py`` checks they do).
    """
    if locale not in SUPPORTED_LOCALES:
        raise ValueError(f"unsupported locale {locale!r}")
    platform_file, *module_files = catalogue_files(locale)
    with platform_file.open("rb") as po_file:
        merged = read_po(po_file, locale=locale, domain=DOMAIN)
    for po_path in module_files:
        with po_path.open("rb") as po_file:
            for message in read_po(po_file, locale=locale, domain=DOMAIN):
                if not message.id:
                    continue
                known = merged.get(message.id)
                if known is None or (not known.string and message.string):
                    merged[message.id] = message
    return merged


@cache
def catalogue(locale: str) -> gettext.GNUTranslations:
    """The compiled catalogue of one supported locale (compiled once per process)."""
    merged = merged_catalogue(locale)
    compiled = io.BytesIO()
    write_mo(compiled, merged)
    compiled.seek(0)
    return gettext.GNUTranslations(compiled)


def supported_locale(value: str | None) -> str | None:
    """``value`` mapped onto a supported locale (``zh-CN``, ``zh_Hans``, ``en-GB`` …), or ``None``."""
    if not value:
        return None
    normalized = value.strip().replace("-", "_")
    if normalized in SUPPORTED_LOCALES:
        return normalized
    language = normalized.split("_", 1)[0].lower()
    # Every Chinese variant reads the Simplified Chinese catalogue better than the English one.
    if language == "zh":
        return "zh_CN"
    if language == "en":
        return "en"
    return None


_ACCEPT_LANGUAGE_ITEM = re.compile(
    r"^\s*([A-Za-z]{1,8}(?:[-_][A-Za-z0-9]{1,8})*|\*)\s*(?:;\s*q\s*=\s*([0-9.]+))?\s*$"
)


def negotiate_locale(accept_language: str | None) -> str | None:
    """The best supported locale for an ``Accept-Language`` header, or ``None`` when none fits."""
    if not accept_language:
        return None
    ranked: list[tuple[float, int, str]] = []
    for position, item in enumerate(accept_language.split(",")[:32]):
        match = _ACCEPT_LANGUAGE_ITEM.match(item)
        if match is None:
            continue
        try:
            quality = float(match.group(2)) if match.group(2) is not None else 1.0
        except ValueError:
            continue
        if quality > 0:
            ranked.append((-quality, position, match.group(1)))
    for _, _, tag in sorted(ranked):
        found = supported_locale(tag)
        if found:
            return found
    return None


@dataclass(frozen=True)
class Translator:
    """Everything about one reader's language: gettext calls, the Babel locale, message formatting."""

    locale: str

    @property
    def translations(self) -> gettext.GNUTranslations:
        return catalogue(self.locale)

    @property
    def babel_locale(self) -> Locale:
        return _babel_locale(self.locale)

    @property
    def html_language(self) -> str:
        return HTML_LANGUAGE[self.locale]

    def gettext(self, message: str) -> str:
        return self.translations.gettext(message)

    def ngettext(self, singular: str, plural: str, count: int) -> str:
        return self.translations.ngettext(singular, plural, count)

    def message(self, msgid: str, params: Mapping[str, Any] | None = None) -> str:
        """Translate a domain message, then fill its ``{placeholders}``.

        Parameters that name an object type or an action are shown by their translated names
        (``You may not {action} {object_type}`` reads "您无权查看用户"); a message whose
        placeholders do not match its parameters is shown without filling them rather than failing.
        """
        translated = self.gettext(msgid)
        if not params:
            return translated
        return fill_placeholders(
            translated, {name: self._parameter(name, value) for name, value in params.items()}
        )

    def _parameter(self, name: str, value: Any) -> Any:
        if name == "object_type" and isinstance(value, str):
            try:
                return self.gettext(get_object_type(value).label)
            except KeyError:
                return value
        if name == "action" and isinstance(value, str) and value in ACTION_NAMES:
            return self.gettext(ACTION_NAMES[value])
        return value

    def object_type_label(self, key: str) -> str:
        try:
            return self.gettext(get_object_type(key).label)
        except KeyError:
            return key

    def choices(self, names: Mapping[str, str]) -> list[tuple[str, str]]:
        """``(value, translated name)`` pairs for a select of a declared state set."""
        return [(value, self.gettext(name)) for value, name in names.items()]


@cache
def _babel_locale(locale: str) -> Locale:
    return Locale.parse(locale)


def translator(locale: str | None, fallback: str = SUPPORTED_LOCALES[0]) -> Translator:
    """A translator for ``locale`` when supported, else for ``fallback``."""
    return Translator(supported_locale(locale) or supported_locale(fallback) or SUPPORTED_LOCALES[0])
