"""Times: ISO 8601 text only in API input, and the time zone a user reads times in.

Pydantic would also read a bare number as Unix time; a client sending ``until=1700000000`` most
likely made a mistake, and accepting it would make the schema a lie.
"""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BeforeValidator


def _refuse_numbers(value: Any) -> Any:
    if isinstance(value, int | float) and not isinstance(value, bool):
        raise ValueError("must be an ISO 8601 date-time such as 2026-11-23T09:00:00+08:00")
    if isinstance(value, str) and value.strip().lstrip("+-").replace(".", "", 1).isdigit():
        raise ValueError("must be an ISO 8601 date-time such as 2026-11-23T09:00:00+08:00")
    return value


IsoDateTime = Annotated[datetime, BeforeValidator(_refuse_numbers)]


@lru_cache(maxsize=256)
def time_zone(name: str) -> ZoneInfo:
    """A user's time zone by its IANA name; a name this system does not know (its tz database
    may be older than the one the name was chosen from) reads as UTC rather than failing a page."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")
