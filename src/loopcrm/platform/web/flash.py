"""Flash messages: a short note shown on the page a redirect leads to ("Saved", "Signed out").

The messages travel in a signed cookie as msgids with parameters and are translated when shown,
so a message reads in the language of the page that displays it.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from loopcrm.platform.i18n import Translator
from loopcrm.platform.web.cookies import FLASH_COOKIE, delete_cookie, load_signed, serializer, set_cookie

# A flash is for the very next page; one that was never shown goes stale after five minutes.
FLASH_MAX_AGE_SECONDS = 300
_PURPOSE = "flash"


class FlashLevel(StrEnum):
    """How a flash message looks."""

    SUCCESS = "success"  # something was saved or done
    INFO = "info"  # neutral news
    WARNING = "warning"  # done, but look at this
    ERROR = "error"  # not done


@dataclass(frozen=True)
class Flash:
    """A flash message as a page shows it."""

    level: FlashLevel
    text: str


@dataclass(frozen=True)
class PendingFlash:
    """A flash message on its way: the msgid and its parameters."""

    level: FlashLevel
    msgid: str
    params: dict[str, Any]


def set_flashes(request: Request, response: Response, flashes: list[PendingFlash]) -> None:
    payload = [[flash.level.value, flash.msgid, flash.params] for flash in flashes]
    set_cookie(request, response, FLASH_COOKIE, serializer(request, _PURPOSE).dumps(payload))


def pending_flashes(request: Request, translator: Translator) -> list[Flash]:
    """The messages the previous response left for this page, translated."""
    payload = load_signed(request, FLASH_COOKIE, _PURPOSE, FLASH_MAX_AGE_SECONDS)
    if not isinstance(payload, list):
        return []
    shown: list[Flash] = []
    for item in payload:
        try:
            level, msgid, params = item
            shown.append(Flash(FlashLevel(level), translator.message(str(msgid), dict(params))))
        except (TypeError, ValueError):
            continue
    return shown


def clear_flashes(request: Request, response: Response) -> None:
    delete_cookie(request, response, FLASH_COOKIE)
