"""Tables of computed traits: the consumer's cursor and the per-profile aggregates it maintains.

Every aggregate row is keyed by the profile an event was *attributed* to (``cdp_event_attributions``),
never by the survivor of a merge: a merge or an unmerge changes which rows a profile's traits
sum, not the rows themselves (the same rule as the event log's attribution, ADR 0010).
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import BigInteger, Date, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from loopcrm.modules.cdp.models import MAX_EVENT_NAME_LENGTH
from loopcrm.platform.db import Base, utc_now

# Money is kept as an integer of ten-thousandths of the currency unit, so that sums are exact on
# SQLite too (its NUMERIC is a float). Four places cover every currency's minor unit (at most 3)
# with room for unit prices; amounts with more places are rounded half-even to four.
MONEY_SCALE = 10_000
MAX_ORDER_KEY_LENGTH = 255
MAX_CURRENCY_LENGTH = 8
# SQLite's INTEGER is 64-bit already; PostgreSQL needs BIGINT for sequences and sums of money.
LargeInteger = BigInteger().with_variant(Integer(), "sqlite")


class OrderOrigin(StrEnum):
    """Where an order row came from; CRM orders (issue 4) add their own origin."""

    EVENT = "event"  # an "Order Completed" event of the log (Segment e-commerce spec)
    CRM = "crm"  # reserved: an order record of the sales module, once it exists


class ComputedCursor(Base):
    """How far the computed-traits consumer has folded the event log: the last sequence it
    committed, and the time zone its day buckets use (fixed when the first event is folded, so a
    change of the installation's default time zone does not split one day over two zones)."""

    __tablename__ = "cdp_computed_cursors"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    last_sequence: Mapped[int] = mapped_column(LargeInteger, default=0)
    time_zone: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(default=utc_now, onupdate=utc_now)


class ProfileEventDay(Base):
    """How many events of one type and name one profile sent on one day through one channel.

    ``name`` is the event name of a track call, the page or screen name of a page or screen call,
    and empty for identify, group and alias. ``day`` is the calendar day in the cursor's time zone.
    """

    __tablename__ = "cdp_profile_event_days"
    __table_args__ = (Index("ix_cdp_profile_event_days_name_day", "type", "name", "day"),)

    profile_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    type: Mapped[str] = mapped_column(String(16), primary_key=True)  # a MessageType
    name: Mapped[str] = mapped_column(String(MAX_EVENT_NAME_LENGTH), primary_key=True)
    channel: Mapped[str] = mapped_column(String(32), primary_key=True)  # the source's ChannelType
    count: Mapped[int] = mapped_column(LargeInteger, default=0)


class ProfileActivity(Base):
    """When one attributed profile's first and last events happened, and how many it has."""

    __tablename__ = "cdp_profile_activity"

    profile_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    first_event_at: Mapped[datetime] = mapped_column()
    last_event_at: Mapped[datetime] = mapped_column()
    event_count: Mapped[int] = mapped_column(LargeInteger, default=0)


class ProfileOrder(Base):
    """One order of one attributed profile: its key (the order id, or the event id when the event
    named none), currency, amount and time. The first event of an order wins; a re-sent
    "Order Completed" with the same ``order_id`` is not counted twice."""

    __tablename__ = "cdp_profile_orders"
    __table_args__ = (Index("ix_cdp_profile_orders_ordered_at", "ordered_at"),)

    profile_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    origin: Mapped[str] = mapped_column(String(16), primary_key=True)  # an OrderOrigin
    order_key: Mapped[str] = mapped_column(String(MAX_ORDER_KEY_LENGTH), primary_key=True)
    currency: Mapped[str] = mapped_column(String(MAX_CURRENCY_LENGTH))
    amount: Mapped[int] = mapped_column(LargeInteger)  # in 1/MONEY_SCALE of the currency unit
    ordered_at: Mapped[datetime] = mapped_column()
    day: Mapped[date] = mapped_column(Date)  # ordered_at's day in the cursor's time zone
