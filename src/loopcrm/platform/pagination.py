"""Cursor pagination over time-ordered ids: stable under inserts, one index range scan a page."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Sequence
from typing import Any, Generic, TypeVar

from pydantic import BaseModel
from sqlalchemy import Select
from sqlalchemy.orm import InstrumentedAttribute, Session

from loopcrm.platform.errors import ValidationFailed

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 500

Item = TypeVar("Item")


class Page(BaseModel, Generic[Item]):
    """One page of a list: ``next_cursor`` is ``None`` on the last page."""

    items: list[Item]
    next_cursor: str | None = None


def encode_cursor(last_id: str) -> str:
    return base64.urlsafe_b64encode(last_id.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> str:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        return base64.urlsafe_b64decode(padded.encode()).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise ValidationFailed.single("cursor", "The cursor is not valid", "invalid_cursor") from None


def check_limit(limit: int) -> int:
    if not 1 <= limit <= MAX_PAGE_SIZE:
        raise ValidationFailed.single(
            "limit", "The limit must be between 1 and {maximum}", "out_of_range", maximum=MAX_PAGE_SIZE
        )
    return limit


def paginate(
    session: Session,
    statement: Select[Any],
    id_column: InstrumentedAttribute[str],
    *,
    limit: int,
    cursor: str | None,
    newest_first: bool = True,
    convert: Callable[[Any], Item],
) -> Page[Item]:
    """Run ``statement`` for one page ordered by id; ``convert`` turns each row into an item."""
    check_limit(limit)
    if cursor:
        last_id = decode_cursor(cursor)
        statement = statement.where(id_column < last_id if newest_first else id_column > last_id)
    statement = statement.order_by(id_column.desc() if newest_first else id_column.asc()).limit(limit + 1)
    rows: Sequence[Any] = session.scalars(statement).all()
    has_more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = encode_cursor(rows[-1].id) if has_more and rows else None
    return Page[Any](items=[convert(row) for row in rows], next_cursor=next_cursor)
