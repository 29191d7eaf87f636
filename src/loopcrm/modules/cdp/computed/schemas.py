"""Contracts of computed traits: windows, what a profile's computed traits look like, and the
condition segments use to select profiles by a computed trait."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from pydantic import BaseModel, Field

from loopcrm.modules.cdp.computed.models import MAX_CURRENCY_LENGTH
from loopcrm.modules.cdp.models import MAX_EVENT_NAME_LENGTH, MessageType
from loopcrm.platform.auth.schemas import Input


class Window(StrEnum):
    """A look-back window: the last N calendar days up to and including the reference day, in
    the aggregates' time zone, or all time."""

    LAST_7_DAYS = "7d"  # the reference day and the 6 days before it
    LAST_30_DAYS = "30d"  # the reference day and the 29 days before it
    LAST_90_DAYS = "90d"  # the reference day and the 89 days before it
    ALL_TIME = "all"  # every folded event up to the reference day

    @property
    def days(self) -> int | None:
        return {"7d": 7, "30d": 30, "90d": 90}.get(self.value)


class EventCountOut(BaseModel):
    """How many events of one type and name a profile sent in each window."""

    type: MessageType
    name: str  # the event, page or screen name; empty for identify, group and alias
    counts: dict[Window, int]


class MoneyOut(BaseModel):
    currency: str
    amount: Decimal  # exact; amounts are kept to four decimal places


class OrderWindowOut(BaseModel):
    """Orders and spend of a profile in one window; spend is per currency (never converted)."""

    window: Window
    order_count: int
    spend: list[MoneyOut]


class ComputedTraitsOut(BaseModel):
    """A profile's computed traits as of ``as_of``, summed over the profile and every profile
    merged into it (``profile_ids``). ``processed_through`` is the last event sequence folded:
    events after it (still being resolved or folded) are not counted yet."""

    profile_id: str
    profile_ids: list[str]
    as_of: date
    time_zone: str
    processed_through: int
    first_seen_at: datetime | None
    last_seen_at: datetime | None
    event_count: int  # all events, all time
    event_counts: list[EventCountOut]
    channels: list[str]  # channel types of the sources the profile's events came through
    orders: list[OrderWindowOut]
    last_order_at: datetime | None


class Measure(StrEnum):
    """What a computed-trait condition compares."""

    EVENT_COUNT = "event_count"  # events of ``event_type`` (and ``event`` name, if given) in the window
    ORDER_COUNT = "order_count"  # distinct orders in the window
    SPEND = "spend"  # total spend in ``currency`` in the window
    DAYS_SINCE_LAST_SEEN = "days_since_last_seen"  # whole days from the last event's day to as_of


class Comparison(StrEnum):
    GREATER_OR_EQUAL = "gte"
    GREATER = "gt"
    LESS_OR_EQUAL = "lte"
    LESS = "lt"
    EQUAL = "eq"

    def holds(self, left: Decimal, right: Decimal) -> bool:
        if self is Comparison.GREATER_OR_EQUAL:
            return left >= right
        if self is Comparison.GREATER:
            return left > right
        if self is Comparison.LESS_OR_EQUAL:
            return left <= right
        if self is Comparison.LESS:
            return left < right
        return left == right


class TraitCondition(Input):
    """One condition over a computed trait, the building block segments use: for example
    ``{"measure": "event_count", "event": "Product Viewed", "window": "30d", "comparison": "gte",
    "value": 3}`` or ``{"measure": "spend", "currency": "CNY", "window": "all", "comparison":
    "gt", "value": "1000"}``. A profile without any matching event counts as 0 (and as never seen
    for ``days_since_last_seen``, which then does not hold)."""

    measure: Measure
    window: Window = Window.ALL_TIME
    comparison: Comparison
    value: Decimal = Field(ge=0, max_digits=20, decimal_places=4)
    event_type: MessageType = MessageType.TRACK
    event: str | None = Field(default=None, min_length=1, max_length=MAX_EVENT_NAME_LENGTH)
    currency: str | None = Field(default=None, min_length=3, max_length=MAX_CURRENCY_LENGTH)
    as_of: date | None = None  # the reference day; today in the aggregates' time zone if omitted
