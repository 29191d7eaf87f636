"""Contracts of assignment: rules, reps' availability and the assignment history."""

from __future__ import annotations

from datetime import datetime, time
from typing import Any

from pydantic import BaseModel, Field

from loopcrm.modules.sales.assignment.models import (
    AssignedRecordType,
    AssignmentMethod,
    ConditionOperator,
    HistoryMethod,
    OffHoursPolicy,
)
from loopcrm.platform.auth.schemas import Input

__all__ = [
    "AssignedRecordType",
    "AssignmentMethod",
    "AssignmentOut",
    "AvailabilityOut",
    "AvailabilityUpdate",
    "ConditionIn",
    "ConditionOperator",
    "HistoryMethod",
    "OffHoursPolicy",
    "RuleCreate",
    "RuleOut",
    "RuleUpdate",
]

# Attribute names are short identifiers such as ``source``, ``province`` or ``utm_campaign``.
ATTRIBUTE_PATTERN = r"^[a-z][a-z0-9_]{0,49}$"


class ConditionIn(Input):
    """One condition: ``field`` of the record compared by ``operator`` with ``value``.

    ``in`` / ``not_in`` take a list of texts; ``at_least`` / ``at_most`` a number (as text or
    number, compared exactly as a decimal); the others a text.
    """

    field: str = Field(pattern=ATTRIBUTE_PATTERN)
    operator: ConditionOperator
    value: str | list[str] | int | float


class ConditionOut(BaseModel):
    field: str
    operator: ConditionOperator
    value: Any


class RuleCreate(Input):
    """A new rule; it goes to the end of its record type's order unless ``position`` is given."""

    record_type: AssignedRecordType
    name: str = Field(min_length=1, max_length=200)
    is_active: bool = True
    conditions: list[ConditionIn] = Field(default_factory=list, max_length=20)
    method: AssignmentMethod = AssignmentMethod.ROUND_ROBIN
    user_ids: list[str] = Field(default_factory=list, max_length=200)
    team_ids: list[str] = Field(default_factory=list, max_length=50)
    fallback_user_id: str | None = None
    off_hours: OffHoursPolicy = OffHoursPolicy.SKIP


class RuleUpdate(Input):
    """Changes to a rule; fields left out stay as they are (the record type never changes)."""

    name: str | None = Field(default=None, min_length=1, max_length=200)
    is_active: bool | None = None
    conditions: list[ConditionIn] | None = Field(default=None, max_length=20)
    method: AssignmentMethod | None = None
    user_ids: list[str] | None = Field(default=None, max_length=200)
    team_ids: list[str] | None = Field(default=None, max_length=50)
    fallback_user_id: str | None = None
    off_hours: OffHoursPolicy | None = None


class RuleOut(BaseModel):
    id: str
    record_type: AssignedRecordType
    name: str
    position: int
    is_active: bool
    conditions: list[ConditionOut]
    method: AssignmentMethod
    user_ids: list[str]
    team_ids: list[str]
    fallback_user_id: str | None
    off_hours: OffHoursPolicy
    last_user_id: str | None
    version: int
    created_at: datetime
    updated_at: datetime


class AvailabilityUpdate(Input):
    """Changes to a rep's availability; fields left out stay as they are.

    A rep may change only their own ``away_from`` / ``away_until``; managers and admins change
    everything for the reps they reach.
    """

    capacity: int | None = Field(default=None, ge=0, le=100_000)
    weight: int | None = Field(default=None, ge=1, le=1000)
    away_from: datetime | None = None
    away_until: datetime | None = None
    working_days: list[int] | None = Field(default=None, max_length=7)
    work_start: time | None = None
    work_end: time | None = None


class AvailabilityOut(BaseModel):
    user_id: str
    user_name: str
    user_email: str
    is_active: bool
    capacity: int | None
    weight: int
    away_from: datetime | None
    away_until: datetime | None
    is_away: bool
    working_days: list[int]
    work_start: time | None
    work_end: time | None
    time_zone: str
    version: int


class AssignmentOut(BaseModel):
    """One row of the assignment history."""

    id: str
    record_type: AssignedRecordType
    record_id: str
    previous_owner_id: str | None
    owner_id: str
    rule_id: str | None
    rule_name: str | None
    method: HistoryMethod
    actor_id: str | None
    actor_label: str
    assigned_at: datetime
