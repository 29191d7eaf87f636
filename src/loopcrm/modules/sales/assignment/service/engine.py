"""Picking an owner for a new record, and recording every owner change (automatic or by hand).

Called by the leads and opportunities services inside their open transaction (``*_in``), so a
record and its assignment commit together or not at all.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select, update

from loopcrm.modules.sales.assignment.models import (
    AssignedRecordType,
    AssignmentHistory,
    AssignmentMethod,
    AssignmentRule,
    ConditionOperator,
    HistoryMethod,
    OffHoursPolicy,
    RepAvailability,
)
from loopcrm.platform.audit.models import AuditAction
from loopcrm.platform.audit.service import record_change
from loopcrm.platform.auth.models import TeamMembership, User
from loopcrm.platform.db import utc_now
from loopcrm.platform.i18n import N_
from loopcrm.platform.notifications.models import NotificationKind
from loopcrm.platform.notifications.service import notify
from loopcrm.platform.permissions import Actor
from loopcrm.platform.unit_of_work import JoinedUnitOfWork, UnitOfWork

# counter(uow, user_ids) -> {user_id: number of open records they own}; users left out count 0.
OpenLoadCounter = Callable[[UnitOfWork, Sequence[str]], Mapping[str, int]]

_open_load_counters: dict[str, OpenLoadCounter] = {}


def register_open_load(record_type: str, counter: OpenLoadCounter | None) -> None:
    """Declare how open records of ``record_type`` are counted per owner (load balancing and
    capacity). The owning area calls it at import time; registering again replaces the counter
    and ``None`` removes it (tests put their own in place and restore the previous one)."""
    key = AssignedRecordType(record_type).value
    if counter is None:
        _open_load_counters.pop(key, None)
    else:
        _open_load_counters[key] = counter


def registered_open_load(record_type: str) -> OpenLoadCounter | None:
    """The counter registered for ``record_type``, if any."""
    return _open_load_counters.get(AssignedRecordType(record_type).value)


def open_loads(uow: UnitOfWork, record_type: str, user_ids: Sequence[str]) -> dict[str, int]:
    """Open records per user as the registered counter reports them; 0 for everyone when no
    counter is registered for the record type (then capacity cannot be enforced)."""
    counter = _open_load_counters.get(record_type)
    counts = dict(counter(uow, list(user_ids))) if counter is not None and user_ids else {}
    return {user_id: int(counts.get(user_id, 0)) for user_id in user_ids}


_AUTOMATIC_MESSAGES = {
    AssignedRecordType.LEAD: N_("A lead was assigned to you by the rule {rule}"),
    AssignedRecordType.OPPORTUNITY: N_("An opportunity was assigned to you by the rule {rule}"),
}
_MANUAL_MESSAGES = {
    AssignedRecordType.LEAD: N_("{actor} assigned a lead to you"),
    AssignedRecordType.OPPORTUNITY: N_("{actor} assigned an opportunity to you"),
}
_PATHS = {
    AssignedRecordType.LEAD: "/sales/leads/{id}",
    AssignedRecordType.OPPORTUNITY: "/sales/opportunities/{id}",
}


# ---------------------------------------------------------------- conditions


def _text(value: Any) -> str:
    return str(value).strip().casefold()


def _number(value: Any) -> Decimal | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def condition_matches(condition: Mapping[str, Any], attributes: Mapping[str, Any]) -> bool:
    """Whether one stored condition holds for a record's attributes.

    A missing (or empty) attribute matches only ``not_in``: "not from these provinces" includes
    a lead whose province is unknown, every other operator needs a value to compare.
    """
    operator = ConditionOperator(condition["operator"])
    expected = condition["value"]
    actual = attributes.get(condition["field"])
    if actual is None or (isinstance(actual, str) and not actual.strip()):
        return operator is ConditionOperator.NOT_IN
    if operator is ConditionOperator.EQUALS:
        return _text(actual) == _text(expected)
    if operator is ConditionOperator.CONTAINS:
        return _text(expected) in _text(actual)
    if operator in (ConditionOperator.IN, ConditionOperator.NOT_IN):
        listed = {_text(item) for item in expected}
        return (_text(actual) in listed) == (operator is ConditionOperator.IN)
    number, bound = _number(actual), _number(expected)
    if number is None or bound is None:
        return False
    return number >= bound if operator is ConditionOperator.AT_LEAST else number <= bound


def rule_matches(rule: AssignmentRule, attributes: Mapping[str, Any]) -> bool:
    """All conditions hold (a rule without conditions matches every record)."""
    return all(condition_matches(condition, attributes) for condition in rule.conditions)


# ---------------------------------------------------------------- availability


def is_away(availability: RepAvailability | None, now: datetime) -> bool:
    """Away between ``away_from`` and ``away_until`` (either end may be open)."""
    if availability is None or (availability.away_from is None and availability.away_until is None):
        return False
    started = availability.away_from is None or availability.away_from <= now
    not_ended = availability.away_until is None or now < availability.away_until
    return started and not_ended


def is_at_work(availability: RepAvailability | None, now: datetime) -> bool:
    """Within the rep's working days and hours, read in the schedule's time zone.

    No row, no days and no hours mean always at work; hours whose end is before their start
    run past midnight (a night shift 22:00–06:00).
    """
    if availability is None:
        return True
    local = now.astimezone(ZoneInfo(availability.time_zone))
    if availability.working_days and local.weekday() not in availability.working_days:
        return False
    start, end = availability.work_start, availability.work_end
    if start is None or end is None or start == end:
        return True
    moment = local.time().replace(tzinfo=None)
    if start < end:
        return start <= moment < end
    return moment >= start or moment < end


@dataclass(frozen=True)
class Candidate:
    """A rule's candidate as the pick sees them."""

    user_id: str
    open_count: int
    availability: RepAvailability | None

    @property
    def share(self) -> Fraction:
        """Open records relative to capacity (or weight when the rep has no capacity)."""
        availability = self.availability
        if availability is not None and availability.capacity:
            return Fraction(self.open_count, availability.capacity)
        weight = availability.weight if availability is not None else 1
        return Fraction(self.open_count, max(weight, 1))


def candidate_user_ids(uow: UnitOfWork, rule: AssignmentRule) -> list[str]:
    """The rule's users in their order, then its teams' members by name; each once."""
    ordered: list[str] = list(dict.fromkeys(rule.user_ids))
    if rule.team_ids:
        members = uow.session.execute(
            select(TeamMembership.user_id)
            .join(User, User.id == TeamMembership.user_id)
            .where(TeamMembership.team_id.in_(list(rule.team_ids)))
            .order_by(User.name, User.id)
        ).scalars()
        for user_id in members:
            if user_id not in ordered:
                ordered.append(user_id)
    return ordered


def _rotated(user_ids: list[str], last_user_id: str | None) -> list[str]:
    """The turn order starting after the user picked last, so ties and turns go round."""
    if last_user_id not in user_ids:
        return user_ids
    index = user_ids.index(last_user_id) + 1
    return user_ids[index:] + user_ids[:index]


def _available_candidates(
    uow: UnitOfWork, rule: AssignmentRule, record_type: str, now: datetime
) -> list[Candidate]:
    user_ids = _rotated(candidate_user_ids(uow, rule), rule.last_user_id)
    if not user_ids:
        return []
    active = set(uow.session.scalars(select(User.id).where(User.id.in_(user_ids), User.is_active)).all())
    availabilities = {
        row.user_id: row
        for row in uow.session.scalars(select(RepAvailability).where(RepAvailability.user_id.in_(user_ids)))
    }
    respects_hours = rule.off_hours == OffHoursPolicy.SKIP.value
    present = [
        user_id
        for user_id in user_ids
        if user_id in active
        and not is_away(availabilities.get(user_id), now)
        and (not respects_hours or is_at_work(availabilities.get(user_id), now))
    ]
    counts = open_loads(uow, record_type, present)
    candidates = []
    for user_id in present:
        availability = availabilities.get(user_id)
        capacity = availability.capacity if availability is not None else None
        if capacity is not None and counts[user_id] >= capacity:
            continue  # at capacity: the next rep in turn takes it
        candidates.append(Candidate(user_id, counts[user_id], availability))
    return candidates


def _pick(method: AssignmentMethod, candidates: list[Candidate]) -> Candidate:
    """The candidate the method chooses; ties go to the earliest in turn order (min is stable)."""
    if method is AssignmentMethod.LOAD_BALANCED:
        return min(candidates, key=lambda candidate: candidate.open_count)
    if method is AssignmentMethod.WEIGHTED:
        return min(candidates, key=lambda candidate: candidate.share)
    return candidates[0]


def _lock_rule(uow: UnitOfWork, rule_id: str) -> AssignmentRule:
    """Read the rule again under a row lock, so concurrent picks of one rule take turns.

    On PostgreSQL this is SELECT … FOR UPDATE; SQLite serialises writers (transactions begin
    IMMEDIATE), so the lock is already held.
    """
    statement = (
        select(AssignmentRule)
        .where(AssignmentRule.id == rule_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return uow.session.scalars(statement).one()


def _active_user(uow: UnitOfWork, user_id: str | None) -> bool:
    if user_id is None:
        return False
    return bool(uow.session.scalar(select(User.is_active).where(User.id == user_id)))


# ---------------------------------------------------------------- recording


def _record(
    uow: UnitOfWork,
    actor: Actor,
    *,
    record_type: AssignedRecordType,
    record_id: str,
    previous_owner_id: str | None,
    owner_id: str,
    method: HistoryMethod,
    rule: AssignmentRule | None,
) -> None:
    """History row, audit entry and the new owner's notification, all in the open transaction:
    the notification exists (and is shown) exactly when the assignment has committed."""
    uow.session.add(
        AssignmentHistory(
            record_type=record_type.value,
            record_id=record_id,
            previous_owner_id=previous_owner_id,
            owner_id=owner_id,
            rule_id=rule.id if rule is not None else None,
            rule_name=rule.name if rule is not None else None,
            method=method.value,
            actor_id=actor.user_id,
            actor_label=actor.label,
            assigned_at=utc_now(),
        )
    )
    changes: dict[str, Any] = {
        "owner_id": [previous_owner_id, owner_id],
        "assignment_method": [None, method.value],
    }
    if rule is not None:
        changes["assignment_rule"] = [None, rule.name]
    record_change(uow, actor, AuditAction.UPDATE, record_type.value, record_id, changes)
    if owner_id == actor.user_id:
        return  # taking a record yourself needs no notice
    path = _PATHS[record_type].format(id=record_id)
    if rule is not None:
        message, params = _AUTOMATIC_MESSAGES[record_type], {"rule": rule.name}
    else:
        message, params = _MANUAL_MESSAGES[record_type], {"actor": actor.display_name or actor.label}
    notify(uow, owner_id, NotificationKind.ASSIGNED_TO_YOU, message, params, path)


# ---------------------------------------------------------------- use cases


def _assign_owner(
    uow: UnitOfWork,
    actor: Actor,
    *,
    record_type: str,
    record_id: str,
    attributes: Mapping[str, Any],
    previous_owner_id: str | None,
    now: datetime | None,
) -> str | None:
    kind = AssignedRecordType(record_type)
    moment = now or utc_now()
    with uow:
        rules = uow.session.scalars(
            select(AssignmentRule)
            .where(AssignmentRule.record_type == kind.value, AssignmentRule.is_active)
            .order_by(AssignmentRule.position, AssignmentRule.id)
        ).all()
        for listed in rules:
            if not rule_matches(listed, attributes):
                continue
            rule = _lock_rule(uow, listed.id)
            candidates = _available_candidates(uow, rule, kind.value, moment)
            if candidates:
                chosen = _pick(AssignmentMethod(rule.method), candidates).user_id
                method = HistoryMethod(rule.method)
                # A plain UPDATE: the turn is not an edit of the rule (no new version, no ETag change).
                uow.session.execute(
                    update(AssignmentRule)
                    .where(AssignmentRule.id == rule.id)
                    .values(last_user_id=chosen)
                    .execution_options(synchronize_session=False)
                )
                uow.session.expire(rule, ["last_user_id"])
            elif _active_user(uow, rule.fallback_user_id):
                chosen, method = rule.fallback_user_id or "", HistoryMethod.FALLBACK
            else:
                continue  # nobody of this rule is available: the next matching rule may have someone
            if chosen != previous_owner_id:
                _record(
                    uow,
                    actor,
                    record_type=kind,
                    record_id=record_id,
                    previous_owner_id=previous_owner_id,
                    owner_id=chosen,
                    method=method,
                    rule=rule,
                )
            uow.commit()
            return chosen
        uow.commit()
        return None


def assign_owner_in(
    uow: UnitOfWork,
    actor: Actor,
    *,
    record_type: str,
    record_id: str,
    attributes: Mapping[str, Any],
    previous_owner_id: str | None = None,
    now: datetime | None = None,
) -> str | None:
    """Pick the owner of a new record by the first matching active rule, inside the caller's
    open transaction; returns the user id, or None (no rule matches, nobody is available).

    Rules of ``record_type`` are tried by position; all conditions of a rule must hold for
    ``attributes``. A matching rule skips inactive and away users, users at capacity and (unless
    the rule assigns around the clock) users outside their working time; if none is left its
    fallback user takes the record, and without one the next matching rule is tried. The pick
    is recorded (history + audit) and the new owner notified when the caller commits.
    """
    return _assign_owner(
        JoinedUnitOfWork(uow),
        actor,
        record_type=record_type,
        record_id=record_id,
        attributes=attributes,
        previous_owner_id=previous_owner_id,
        now=now,
    )


def _record_manual_assignment(
    uow: UnitOfWork,
    actor: Actor,
    *,
    record_type: str,
    record_id: str,
    previous_owner_id: str | None,
    owner_id: str,
) -> None:
    kind = AssignedRecordType(record_type)
    with uow:
        if owner_id != previous_owner_id:
            _record(
                uow,
                actor,
                record_type=kind,
                record_id=record_id,
                previous_owner_id=previous_owner_id,
                owner_id=owner_id,
                method=HistoryMethod.MANUAL,
                rule=None,
            )
        uow.commit()


def record_manual_assignment_in(
    uow: UnitOfWork,
    actor: Actor,
    *,
    record_type: str,
    record_id: str,
    previous_owner_id: str | None,
    owner_id: str,
) -> None:
    """Record that a user reassigned a record by hand (history + audit) and tell the new owner,
    inside the caller's open transaction. The caller has checked that the actor may change the
    record's owner; giving a record to its current owner records nothing."""
    _record_manual_assignment(
        JoinedUnitOfWork(uow),
        actor,
        record_type=record_type,
        record_id=record_id,
        previous_owner_id=previous_owner_id,
        owner_id=owner_id,
    )
