"""Times in API input: ISO 8601 text only, as the OpenAPI schema says (``format: date-time``).

Pydantic would also read a bare number as Unix time; a client sending ``until=1700000000`` most
likely made a mistake, and accepting it would make the schema a lie.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BeforeValidator


def _refuse_numbers(value: Any) -> Any:
    if isinstance(value, int | float) and not isinstance(value, bool):
        raise ValueError("must be an ISO 8601 date-time such as 2026-11-23T09:00:00+08:00")
    if isinstance(value, str) and value.strip().lstrip("+-").replace(".", "", 1).isdigit():
        raise ValueError("must be an ISO 8601 date-time such as 2026-11-23T09:00:00+08:00")
    return value


IsoDateTime = Annotated[datetime, BeforeValidator(_refuse_numbers)]
