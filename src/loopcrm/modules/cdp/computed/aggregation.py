"""The computed-traits consumer of the event log: read it in sequence order after its own
cursor, never past the identity job's cursor, and fold each attributed event into the
per-profile aggregates, all in the caller's transaction.

Crash-safe and idempotent for the same reason as identity processing: the cursor and the
aggregates commit together, so a run that dies changes nothing and the next starts after the last
committed batch. Events the identity job has not resolved yet are not read at all (they wait);
events it could not attribute (only placeholder identifiers) are passed over for good.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from loopcrm.modules.cdp.computed.models import (
    MAX_CURRENCY_LENGTH,
    MAX_ORDER_KEY_LENGTH,
    MONEY_SCALE,
    ComputedCursor,
    OrderOrigin,
    ProfileActivity,
    ProfileEventDay,
    ProfileOrder,
)
from loopcrm.modules.cdp.identity.models import IdentityCursor
from loopcrm.modules.cdp.models import Event, EventAttribution, EventSource, MessageType

CURSOR_NAME = "computed_traits"
# The identity job's cursor (cdp/identity/event_log.py): this consumer never reads past it, so an
# event is folded only once it has its profile.
IDENTITY_CURSOR_NAME = "identity"
# Events per read: large enough that the upserts are batched, small enough to stay a few MB.
BATCH_SIZE = 2000
# The Segment e-commerce spec's event for a placed order (properties order_id, total, revenue,
# currency). https://segment.com/docs/connections/spec/ecommerce/v2/
ORDER_COMPLETED = "Order Completed"
# Orders that name no currency are taken to be in the seeds' currency (Chinese companies).
DEFAULT_CURRENCY = "CNY"
# The time zone of day buckets when the job does not pass the installation's default.
DEFAULT_TIME_ZONE = "Asia/Shanghai"

_MONEY_STEP = Decimal(1) / MONEY_SCALE


def money_units(value: Any) -> int | None:
    """An amount as sent (a JSON number or a numeric string) in 1/MONEY_SCALE units, rounded half
    even; None when it is not a finite number. Floats go through their shortest repr, so 19.99
    sent as a JSON number is exactly 19.99."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, float):
        if not math.isfinite(value):
            return None
        value = repr(value)
    try:
        amount = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        return None
    if not amount.is_finite():
        return None
    return int(amount.quantize(_MONEY_STEP, rounding=ROUND_HALF_EVEN) * MONEY_SCALE)


def order_of(properties: Mapping[str, Any]) -> tuple[str | None, str, int]:
    """What an "Order Completed" event says: order id (None if absent), currency and amount.

    The spend is ``total`` (what the customer paid: revenue with shipping and tax, after
    discounts), else ``revenue``, else 0 — the order still counts."""
    order_id = properties.get("order_id", properties.get("orderId"))
    key = None if order_id is None or isinstance(order_id, dict | list) else str(order_id).strip() or None
    currency = properties.get("currency")
    code = (
        currency.strip().upper()[:MAX_CURRENCY_LENGTH]
        if isinstance(currency, str) and currency.strip()
        else DEFAULT_CURRENCY
    )
    amount = money_units(properties.get("total"))
    if amount is None:
        amount = money_units(properties.get("revenue"))
    return key, code, amount or 0


@dataclass
class _Batch:
    """What one batch of events adds to the aggregates, summed per key before writing."""

    days: dict[tuple[str, date, str, str, str], int] = field(default_factory=lambda: defaultdict(int))
    activity: dict[str, list[Any]] = field(default_factory=dict)  # profile → [first, last, count]
    orders: dict[tuple[str, str, str], dict[str, Any]] = field(default_factory=dict)


def _cursor(session: Session, time_zone: str) -> ComputedCursor:
    # FOR UPDATE: two workers running the job at once take turns (on SQLite the write lock does it).
    cursor = session.get(ComputedCursor, CURSOR_NAME, with_for_update=True)
    if cursor is None:
        cursor = ComputedCursor(name=CURSOR_NAME, last_sequence=0, time_zone=time_zone)
        session.add(cursor)
        session.flush()
    return cursor


def stored_time_zone(session: Session) -> str:
    """The time zone of the day buckets (the default until the consumer first runs)."""
    zone = session.scalar(select(ComputedCursor.time_zone).where(ComputedCursor.name == CURSOR_NAME))
    return zone or DEFAULT_TIME_ZONE


def processed_through(session: Session) -> int:
    """The last sequence of the event log folded into the aggregates."""
    last = session.scalar(select(ComputedCursor.last_sequence).where(ComputedCursor.name == CURSOR_NAME))
    return int(last or 0)


def identity_position(session: Session) -> int:
    """The last sequence the identity job has resolved (read-only use of its cursor table)."""
    last = session.scalar(
        select(IdentityCursor.last_sequence).where(IdentityCursor.name == IDENTITY_CURSOR_NAME)
    )
    return int(last or 0)


def _events_after(after: int, through: int, limit: int) -> Select[Any]:
    return (
        select(
            Event.sequence,
            Event.id,
            EventAttribution.profile_id,
            Event.type,
            Event.event,
            Event.timestamp,
            Event.properties,
            EventSource.channel,
        )
        .join(EventSource, EventSource.id == Event.source_id)
        .outerjoin(EventAttribution, EventAttribution.sequence == Event.sequence)
        .where(Event.sequence > after, Event.sequence <= through)
        .order_by(Event.sequence)
        .limit(limit)
    )


def _fold(batch: _Batch, row: Any, zone: ZoneInfo) -> None:
    profile_id: str = row.profile_id
    at: datetime = row.timestamp
    day = at.astimezone(zone).date()
    name = (row.event or "") if row.type in (MessageType.TRACK, MessageType.PAGE, MessageType.SCREEN) else ""
    batch.days[(profile_id, day, row.type, name, row.channel)] += 1
    activity = batch.activity.get(profile_id)
    if activity is None:
        batch.activity[profile_id] = [at, at, 1]
    else:
        activity[0] = min(activity[0], at)
        activity[1] = max(activity[1], at)
        activity[2] += 1
    if row.type == MessageType.TRACK and row.event == ORDER_COMPLETED:
        properties = row.properties if isinstance(row.properties, dict) else {}
        order_id, currency, amount = order_of(properties)
        key = (order_id or row.id)[:MAX_ORDER_KEY_LENGTH]
        batch.orders.setdefault(
            (profile_id, OrderOrigin.EVENT.value, key),
            {"currency": currency, "amount": amount, "ordered_at": at, "day": day},
        )


def _insert(session: Session) -> Any:
    return postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert


def _earliest(session: Session, left: Any, right: Any) -> ColumnElement[Any]:
    # Two-argument min/max are scalar functions on SQLite; PostgreSQL calls them least/greatest.
    if session.get_bind().dialect.name == "postgresql":
        return func.least(left, right)
    return func.min(left, right)


def _latest(session: Session, left: Any, right: Any) -> ColumnElement[Any]:
    if session.get_bind().dialect.name == "postgresql":
        return func.greatest(left, right)
    return func.max(left, right)


def _write(session: Session, batch: _Batch) -> None:
    insert = _insert(session)
    if batch.days:
        statement = insert(ProfileEventDay)
        session.execute(
            statement.on_conflict_do_update(
                index_elements=["profile_id", "day", "type", "name", "channel"],
                set_={"count": ProfileEventDay.count + statement.excluded.count},
            ),
            [
                {"profile_id": p, "day": d, "type": t, "name": n, "channel": c, "count": count}
                for (p, d, t, n, c), count in batch.days.items()
            ],
        )
    if batch.activity:
        statement = insert(ProfileActivity)
        session.execute(
            statement.on_conflict_do_update(
                index_elements=["profile_id"],
                set_={
                    "first_event_at": _earliest(
                        session, ProfileActivity.first_event_at, statement.excluded.first_event_at
                    ),
                    "last_event_at": _latest(
                        session, ProfileActivity.last_event_at, statement.excluded.last_event_at
                    ),
                    "event_count": ProfileActivity.event_count + statement.excluded.event_count,
                },
            ),
            [
                {"profile_id": p, "first_event_at": first, "last_event_at": last, "event_count": count}
                for p, (first, last, count) in batch.activity.items()
            ],
        )
    if batch.orders:
        session.execute(
            insert(ProfileOrder).on_conflict_do_nothing(index_elements=["profile_id", "origin", "order_key"]),
            [
                {"profile_id": p, "origin": origin, "order_key": key, **values}
                for (p, origin, key), values in batch.orders.items()
            ],
        )


def consume_event_log(session: Session, *, max_events: int, time_zone: str = DEFAULT_TIME_ZONE) -> int:
    """Fold up to ``max_events`` resolved events after the cursor into the aggregates, in the
    caller's transaction; returns how many were read (fewer than asked: caught up with identity).

    ``time_zone`` fixes the day buckets the first time only; afterwards the cursor's zone holds.
    """
    cursor = _cursor(session, time_zone)
    zone = ZoneInfo(cursor.time_zone)
    through = identity_position(session)
    done = 0
    while done < max_events and cursor.last_sequence < through:
        rows = session.execute(
            _events_after(cursor.last_sequence, through, min(BATCH_SIZE, max_events - done))
        ).all()
        if not rows:
            cursor.last_sequence = through  # the rest was erased from the log
            break
        batch = _Batch()
        for row in rows:
            if row.profile_id is not None:
                _fold(batch, row, zone)
        _write(session, batch)
        cursor.last_sequence = rows[-1].sequence
        done += len(rows)
    session.flush()
    return done
