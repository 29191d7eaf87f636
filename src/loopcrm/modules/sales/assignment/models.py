"""Tables of assignment: ordered rules per record type, reps' availability, and the history of
every owner change (automatic or by hand)."""

from __future__ import annotations

from datetime import datetime, time
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Time
from sqlalchemy.orm import Mapped, mapped_column

from loopcrm.platform.db import Base, Record, new_id, utc_now


class AssignedRecordType(StrEnum):
    """The kinds of record assignment rules distribute."""

    LEAD = "lead"  # a sales lead (销售线索)
    OPPORTUNITY = "opportunity"  # a deal (商机)


class AssignmentMethod(StrEnum):
    """How a rule picks one of its available candidates."""

    ROUND_ROBIN = "round_robin"  # the next candidate after the one the rule picked last, in turn
    LOAD_BALANCED = "load_balanced"  # the candidate with the fewest open records
    WEIGHTED = "weighted"  # the fewest open records relative to the rep's capacity (or weight)


class HistoryMethod(StrEnum):
    """How an owner came to be set, as the history records it."""

    ROUND_ROBIN = "round_robin"  # a rule's round robin
    LOAD_BALANCED = "load_balanced"  # a rule's load balancing
    WEIGHTED = "weighted"  # a rule's weighting by capacity
    FALLBACK = "fallback"  # nobody of a rule's candidates was available: the rule's fallback user
    MANUAL = "manual"  # a user chose the owner by hand


class ConditionOperator(StrEnum):
    """How a rule condition compares a record attribute with its value."""

    EQUALS = "equals"  # the attribute is exactly the value (text, case-insensitive)
    IN = "in"  # the attribute is one of the listed values
    NOT_IN = "not_in"  # the attribute is none of the listed values (a missing attribute matches)
    CONTAINS = "contains"  # the attribute's text contains the value (case-insensitive)
    AT_LEAST = "at_least"  # the attribute is a number ≥ the value
    AT_MOST = "at_most"  # the attribute is a number ≤ the value


class OffHoursPolicy(StrEnum):
    """What a rule does with a rep who is outside their working days or hours."""

    SKIP = "skip"  # pass over the rep to the next one who is at work (the default)
    ASSIGN = "assign"  # assign regardless of working time (24/7 queues)


class AssignmentRule(Record, Base):
    """One rule: when its conditions all match a new record, one of its candidates gets it.

    Rules of a record type are evaluated by ``position``; the first matching rule that finds an
    available candidate (or has a fallback) decides. ``last_user_id`` is the round-robin state,
    kept on the rule row, which is locked while a pick is made so processes take turns fairly.
    """

    __tablename__ = "sales_assignment_rules"

    record_type: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(200))
    position: Mapped[int] = mapped_column(Integer, default=0)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    # [{"field": "province", "operator": "in", "value": ["广东", "福建"]}, …]; all must match.
    conditions: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    method: Mapped[str] = mapped_column(String(20), default=AssignmentMethod.ROUND_ROBIN.value)
    user_ids: Mapped[list[str]] = mapped_column(JSON, default=list)  # candidates, in turn order
    team_ids: Mapped[list[str]] = mapped_column(JSON, default=list)  # their members are candidates too
    fallback_user_id: Mapped[str | None] = mapped_column(ForeignKey("users.id"), default=None)
    off_hours: Mapped[str] = mapped_column(String(10), default=OffHoursPolicy.SKIP.value)
    last_user_id: Mapped[str | None] = mapped_column(String(36), default=None)

    __table_args__ = (Index("ix_sales_assignment_rules_type_position", "record_type", "position"),)


class RepAvailability(Record, Base):
    """When and how much a rep can take: capacity, weight, time away and a working schedule.

    A rep without a row is always available with no capacity limit and weight 1. Working hours
    are wall-clock times in ``time_zone`` (the company's time zone when the row was written).
    """

    __tablename__ = "sales_rep_availability"

    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), unique=True)
    capacity: Mapped[int | None] = mapped_column(Integer, default=None)  # max open records; None: no limit
    weight: Mapped[int] = mapped_column(Integer, default=1)  # share when no capacity is set
    away_from: Mapped[datetime | None] = mapped_column(default=None)
    away_until: Mapped[datetime | None] = mapped_column(default=None)
    working_days: Mapped[list[int]] = mapped_column(JSON, default=list)  # 0 = Monday … 6; empty: every day
    work_start: Mapped[time | None] = mapped_column(Time, default=None)  # None: all day
    work_end: Mapped[time | None] = mapped_column(Time, default=None)
    time_zone: Mapped[str] = mapped_column(String(64), default="Asia/Shanghai")


class AssignmentHistory(Base):
    """One owner change of a lead or opportunity, automatic or by hand; never changed."""

    __tablename__ = "sales_assignment_history"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    record_type: Mapped[str] = mapped_column(String(20))
    record_id: Mapped[str] = mapped_column(String(36))
    previous_owner_id: Mapped[str | None] = mapped_column(String(36), default=None)
    owner_id: Mapped[str] = mapped_column(String(36))
    rule_id: Mapped[str | None] = mapped_column(String(36), default=None)  # kept if the rule is deleted
    rule_name: Mapped[str | None] = mapped_column(String(200), default=None)
    method: Mapped[str] = mapped_column(String(20))
    actor_id: Mapped[str | None] = mapped_column(String(36), default=None)
    actor_label: Mapped[str] = mapped_column(String(320))
    assigned_at: Mapped[datetime] = mapped_column(default=utc_now)

    __table_args__ = (
        Index("ix_sales_assignment_history_record", "record_type", "record_id", "id"),
        Index("ix_sales_assignment_history_owner", "owner_id", "id"),
    )
