"""Reps' availability: capacity, weight, time away and working schedule.

Managers set it for the reps of their teams (admins for everyone); a rep sets only their own
time away. Working hours are read in the company's time zone, which the entry point passes from
the settings and which is kept on the row with the hours it applies to.
"""

from __future__ import annotations

from datetime import time
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select
from sqlalchemy.orm.exc import StaleDataError

from loopcrm.modules.sales.assignment.models import RepAvailability
from loopcrm.modules.sales.assignment.schemas import AvailabilityOut, AvailabilityUpdate
from loopcrm.modules.sales.assignment.service.engine import is_away
from loopcrm.modules.sales.assignment.service.object_types import REP_AVAILABILITY
from loopcrm.platform.audit.models import AuditAction
from loopcrm.platform.audit.service import diff, record_change
from loopcrm.platform.auth.models import User
from loopcrm.platform.db import utc_now
from loopcrm.platform.errors import FieldError, NotFound, StaleVersion, ValidationFailed
from loopcrm.platform.permissions import Action, Actor, Scope, require, require_record_access
from loopcrm.platform.unit_of_work import UnitOfWork

# What a rep may change about themselves: only when they are away (vacation, sick leave).
SELF_SERVICE_FIELDS = frozenset({"away_from", "away_until"})
_FIELDS = ("capacity", "weight", "away_from", "away_until", "working_days", "work_start", "work_end")


def _out(user: User, row: RepAvailability | None, default_time_zone: str) -> AvailabilityOut:
    return AvailabilityOut(
        user_id=user.id,
        user_name=user.name,
        user_email=user.email,
        is_active=user.is_active,
        capacity=row.capacity if row else None,
        weight=row.weight if row else 1,
        away_from=row.away_from if row else None,
        away_until=row.away_until if row else None,
        is_away=is_away(row, utc_now()),
        working_days=sorted(row.working_days) if row else [],
        work_start=row.work_start if row else None,
        work_end=row.work_end if row else None,
        time_zone=row.time_zone if row else default_time_zone,
        version=row.version if row else 0,
    )


def _row(uow: UnitOfWork, user_id: str) -> RepAvailability | None:
    return uow.session.scalars(select(RepAvailability).where(RepAvailability.user_id == user_id)).first()


def _user(uow: UnitOfWork, user_id: str) -> User:
    user = uow.session.get(User, user_id)
    if user is None:
        raise NotFound("User not found")
    return user


def list_availability(uow: UnitOfWork, actor: Actor, *, company_time_zone: str) -> list[AvailabilityOut]:
    """The reps the actor reaches (everyone, their teams' members, or themselves), by name."""
    scope = require(actor, REP_AVAILABILITY.key, Action.READ)
    with uow:
        statement = select(User).order_by(User.name, User.id)
        if scope is not Scope.ALL:
            reachable = {actor.user_id} if actor.user_id else set()
            if scope is Scope.TEAM:
                reachable |= actor.team_user_ids
            statement = statement.where(User.id.in_(sorted(reachable)))
        users = list(uow.session.scalars(statement))
        rows = {
            row.user_id: row
            for row in uow.session.scalars(
                select(RepAvailability).where(RepAvailability.user_id.in_([user.id for user in users]))
            )
        }
        return [_out(user, rows.get(user.id), company_time_zone) for user in users]


def get_availability(
    uow: UnitOfWork, actor: Actor, user_id: str, *, company_time_zone: str
) -> AvailabilityOut:
    require_record_access(actor, REP_AVAILABILITY.key, Action.READ, owner_id=user_id)
    with uow:
        return _out(_user(uow, user_id), _row(uow, user_id), company_time_zone)


def _audited(row: RepAvailability) -> dict[str, Any]:
    """The row's values as the audit log keeps them (times of day as text)."""
    values = {name: getattr(row, name) for name in _FIELDS} | {"time_zone": row.time_zone}
    for name in ("work_start", "work_end"):
        if isinstance(values[name], time):
            values[name] = values[name].isoformat()
    return values


def _check(data: AvailabilityUpdate, row: RepAvailability, given: set[str]) -> list[FieldError]:
    errors: list[FieldError] = []
    if row.away_from is not None and row.away_until is not None and row.away_until <= row.away_from:
        errors.append(FieldError("away_until", "The end must be after the start", "before_start"))
    if "working_days" in given and any(not 0 <= day <= 6 for day in data.working_days or []):
        errors.append(FieldError("working_days", "Days are 0 (Monday) to 6 (Sunday)", "out_of_range"))
    if (row.work_start is None) != (row.work_end is None):
        field = "work_end" if row.work_end is None else "work_start"
        errors.append(FieldError(field, "Give both the start and the end of the working hours", "required"))
    return errors


def update_availability(
    uow: UnitOfWork,
    actor: Actor,
    user_id: str,
    data: AvailabilityUpdate,
    *,
    company_time_zone: str,
    expected_version: int | None = None,
) -> AvailabilityOut:
    """Change the fields given (an explicit null clears one); a rep changing their own
    availability may change only their time away."""
    require_record_access(actor, REP_AVAILABILITY.key, Action.UPDATE, owner_id=user_id)
    given = set(data.model_fields_set)
    if actor.scope(REP_AVAILABILITY.key, Action.UPDATE) is Scope.OWN:
        refused = sorted(given - SELF_SERVICE_FIELDS)
        if refused:
            raise ValidationFailed(
                [FieldError(name, "Only a manager may change this", "field_not_allowed") for name in refused]
            )
    try:
        ZoneInfo(company_time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown company time zone {company_time_zone!r}") from None
    with uow:
        user = _user(uow, user_id)
        row = _row(uow, user_id)
        if row is None:
            row = RepAvailability(user_id=user_id, weight=1, working_days=[], created_by=actor.user_id)
            uow.session.add(row)
        elif expected_version is not None and row.version != expected_version:
            raise StaleVersion()
        before = _audited(row)
        for name in _FIELDS:
            if name in given:
                value = getattr(data, name)
                if name == "weight" and value is None:
                    value = 1
                if name == "working_days":
                    value = sorted(set(value or []))
                setattr(row, name, value)
        row.time_zone = company_time_zone
        errors = _check(data, row, given)
        if errors:
            raise ValidationFailed(errors)
        row.updated_by = actor.user_id
        try:
            uow.session.flush()
        except StaleDataError:
            raise StaleVersion() from None
        changes = diff(before, _audited(row))
        if changes:
            record_change(uow, actor, AuditAction.UPDATE, REP_AVAILABILITY.key, user_id, changes)
        result = _out(user, row, company_time_zone)
        uow.commit()
        return result
