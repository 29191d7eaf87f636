"""What a merge of two records does, worked out before anything changes: the value the survivor
keeps for each field, and the phones, emails, tags, jobs, relationships and subsidiaries that move
from the merged record to the survivor. Also the exact snapshots a merge keeps for its undo.

The merge screen shows a plan, the merge applies the same plan, so what the user confirmed is what
happens. Nothing here commits or writes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Date, Numeric, inspect, or_, select
from sqlalchemy.orm import Session

from loopcrm.modules.customers.models import (
    Account,
    AccountRelationship,
    Contact,
    ContactPoint,
    ContactPointKind,
    Employment,
    RecordKind,
    Tagging,
)
from loopcrm.modules.customers.service import accounts, contacts
from loopcrm.modules.customers.service.custom_fields import CUSTOM_FIELD_PREFIX
from loopcrm.platform.db import UTCDateTime
from loopcrm.platform.errors import FieldError, ValidationFailed

SURVIVOR = "survivor"
MERGED = "merged"
# Values that mean "not known": the survivor takes the merged record's value in their place.
_UNKNOWN_VALUES: dict[str, Any] = {"gender": "unknown"}


def mergeable_fields(record_kind: str) -> tuple[str, ...]:
    """The columns a user chooses between: exactly the ones an update may change."""
    return accounts._COLUMNS if record_kind == RecordKind.ACCOUNT.value else contacts._COLUMNS


def is_blank(name: str, value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {} or _UNKNOWN_VALUES.get(name) == value


# ---------------------------------------------------------------- snapshots


def _encode(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def row_snapshot(row: Any) -> dict[str, Any]:
    """Every column of ``row`` as JSON, decodable exactly by :func:`restore_row`."""
    return {
        attribute.key: _encode(getattr(row, attribute.key)) for attribute in inspect(type(row)).column_attrs
    }


def _decode(column_type: Any, value: Any) -> Any:
    if value is None:
        return None
    if isinstance(column_type, UTCDateTime):
        return datetime.fromisoformat(value)
    if isinstance(column_type, Date):
        return date.fromisoformat(value)
    if isinstance(column_type, Numeric) and not isinstance(value, float):
        return Decimal(value)
    return value


def restore_row(row: Any, snapshot: dict[str, Any], *, skip: frozenset[str]) -> None:
    """Set every column of ``row`` back to ``snapshot``, except those in ``skip``."""
    for attribute in inspect(type(row)).column_attrs:
        if attribute.key in skip or attribute.key not in snapshot:
            continue
        value = _decode(attribute.columns[0].type, snapshot[attribute.key])
        if getattr(row, attribute.key) != value:
            setattr(row, attribute.key, value)


def record_snapshot(session: Session, record_kind: str, record: Any) -> dict[str, Any]:
    """The record as stored, with everything attached to it, for the merge's own history."""
    rows = {
        "record": row_snapshot(record),
        "contact_points": [
            row_snapshot(point)
            for point in session.scalars(
                select(ContactPoint)
                .where(ContactPoint.record_kind == record_kind, ContactPoint.record_id == record.id)
                .order_by(ContactPoint.id)
            )
        ],
        "taggings": [
            row_snapshot(tagging)
            for tagging in session.scalars(
                select(Tagging)
                .where(Tagging.record_kind == record_kind, Tagging.record_id == record.id)
                .order_by(Tagging.id)
            )
        ],
    }
    if record_kind == RecordKind.CONTACT.value:
        rows["employments"] = [
            row_snapshot(job)
            for job in session.scalars(
                select(Employment).where(Employment.contact_id == record.id).order_by(Employment.id)
            )
        ]
        return rows
    rows["employments"] = [
        row_snapshot(job)
        for job in session.scalars(
            select(Employment).where(Employment.account_id == record.id).order_by(Employment.id)
        )
    ]
    rows["relationships"] = [
        row_snapshot(relationship)
        for relationship in session.scalars(
            select(AccountRelationship)
            .where(
                or_(
                    AccountRelationship.from_account_id == record.id,
                    AccountRelationship.to_account_id == record.id,
                )
            )
            .order_by(AccountRelationship.id)
        )
    ]
    rows["children"] = sorted(session.scalars(select(Account.id).where(Account.parent_id == record.id)))
    return rows


# ---------------------------------------------------------------- choosing values


@dataclass
class FieldChoice:
    """One field whose values differ, and whose value the survivor keeps."""

    name: str
    survivor_value: Any
    merged_value: Any
    side: str
    default: str


def _default_side(name: str, survivor_value: Any, merged_value: Any) -> str:
    """The survivor's value, unless it has none and the merged record has one."""
    return MERGED if is_blank(name, survivor_value) and not is_blank(name, merged_value) else SURVIVOR


def choose_values(
    record_kind: str,
    survivor: Any,
    merged: Any,
    chosen: dict[str, str],
    hidden: set[str],
) -> list[FieldChoice]:
    """The fields whose values differ, each with the side the survivor keeps.

    ``chosen`` names sides explicitly; an unknown field, or the merged value of a field the actor
    cannot see (``hidden``), is refused. Filling a blank hidden field is allowed: it overwrites
    nothing the actor would have had to judge.
    """
    survivor_custom = dict(survivor.custom_fields or {})
    merged_custom = dict(merged.custom_fields or {})
    pairs = [(name, getattr(survivor, name), getattr(merged, name)) for name in mergeable_fields(record_kind)]
    pairs += [
        (CUSTOM_FIELD_PREFIX + key, survivor_custom.get(key), merged_custom.get(key))
        for key in sorted(set(survivor_custom) | set(merged_custom))
    ]
    known = {name for name, _, _ in pairs}
    errors = [
        FieldError(f"chosen.{name}", "This field cannot be chosen in a merge", "unknown_field")
        for name in sorted(chosen)
        if name not in known and not name.startswith(CUSTOM_FIELD_PREFIX)
    ]
    errors += [
        FieldError(f"chosen.{name}", "You may not change a field you cannot see", "field_not_allowed")
        for name, side in sorted(chosen.items())
        if side == MERGED and name in hidden
    ]
    if errors:
        raise ValidationFailed(errors)
    choices = []
    for name, survivor_value, merged_value in pairs:
        if survivor_value == merged_value or (
            is_blank(name, survivor_value) and is_blank(name, merged_value)
        ):
            continue
        default = _default_side(name, survivor_value, merged_value)
        choices.append(FieldChoice(name, survivor_value, merged_value, chosen.get(name, default), default))
    return choices


def merged_custom_fields(survivor: Any, choices: list[FieldChoice]) -> dict[str, Any]:
    values = dict(survivor.custom_fields or {})
    for choice in choices:
        if not choice.name.startswith(CUSTOM_FIELD_PREFIX):
            continue
        key = choice.name.removeprefix(CUSTOM_FIELD_PREFIX)
        value = choice.merged_value if choice.side == MERGED else choice.survivor_value
        if is_blank(choice.name, value):
            values.pop(key, None)
        else:
            values[key] = value
    return values


# ---------------------------------------------------------------- what moves


@dataclass
class MovePlan:
    """Rows that move from the merged record to the survivor, with how each looked before."""

    contact_points: list[tuple[ContactPoint, bool, int]] = field(
        default_factory=list
    )  # row, primary, position
    taggings: list[Tagging] = field(default_factory=list)
    employments: list[tuple[Employment, bool]] = field(default_factory=list)  # row, primary after
    relationships: list[tuple[AccountRelationship, bool, bool]] = field(default_factory=list)  # row, from, to
    children: list[Account] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        phones = sum(1 for point, _, _ in self.contact_points if point.kind == ContactPointKind.PHONE.value)
        return {
            "phones": phones,
            "emails": len(self.contact_points) - phones,
            "tags": len(self.taggings),
            "employments": len(self.employments),
            "relationships": len(self.relationships),
            "children": len(self.children),
        }


def _job_key(job: Employment) -> tuple[Any, ...]:
    return (job.title, job.started_on, job.ended_on)


def plan_moves(session: Session, record_kind: str, survivor: Any, merged: Any) -> MovePlan:
    """What moves: phones and emails the survivor lacks, tags it lacks, and every job,
    relationship and subsidiary of the merged record except exact repeats of the survivor's."""
    plan = MovePlan()
    points = list(
        session.scalars(
            select(ContactPoint)
            .where(
                ContactPoint.record_kind == record_kind, ContactPoint.record_id.in_([survivor.id, merged.id])
            )
            .order_by(ContactPoint.is_primary.desc(), ContactPoint.position, ContactPoint.id)
        )
    )
    kept = {(point.kind, point.value) for point in points if point.record_id == survivor.id}
    next_position = {
        kind.value: 1
        + max((p.position for p in points if p.record_id == survivor.id and p.kind == kind.value), default=-1)
        for kind in ContactPointKind
    }
    has_primary = {point.kind for point in points if point.record_id == survivor.id}
    for point in points:
        if point.record_id != merged.id or (point.kind, point.value) in kept:
            continue
        kept.add((point.kind, point.value))
        # The survivor's primary stays primary; the merged record's becomes so only when the survivor
        # has no phone (or email) at all.
        is_primary = point.is_primary and point.kind not in has_primary
        plan.contact_points.append((point, is_primary, next_position[point.kind]))
        next_position[point.kind] += 1
    tagged = set(
        session.scalars(
            select(Tagging.tag_id).where(Tagging.record_kind == record_kind, Tagging.record_id == survivor.id)
        )
    )
    plan.taggings = [
        tagging
        for tagging in session.scalars(
            select(Tagging)
            .where(Tagging.record_kind == record_kind, Tagging.record_id == merged.id)
            .order_by(Tagging.id)
        )
        if tagging.tag_id not in tagged
    ]
    if record_kind == RecordKind.CONTACT.value:
        _plan_contact_jobs(session, plan, survivor, merged)
    else:
        _plan_account_links(session, plan, survivor, merged)
    return plan


def _plan_contact_jobs(session: Session, plan: MovePlan, survivor: Contact, merged: Contact) -> None:
    jobs = list(
        session.scalars(
            select(Employment)
            .where(Employment.contact_id.in_([survivor.id, merged.id]))
            .order_by(Employment.id)
        )
    )
    kept = {(job.account_id, *_job_key(job)) for job in jobs if job.contact_id == survivor.id}
    has_primary = any(job.is_primary for job in jobs if job.contact_id == survivor.id)
    for job in jobs:
        if job.contact_id != merged.id or (job.account_id, *_job_key(job)) in kept:
            continue
        kept.add((job.account_id, *_job_key(job)))
        plan.employments.append((job, job.is_primary and not has_primary))
        has_primary = has_primary or job.is_primary


def _plan_account_links(session: Session, plan: MovePlan, survivor: Account, merged: Account) -> None:
    jobs = list(
        session.scalars(
            select(Employment)
            .where(Employment.account_id.in_([survivor.id, merged.id]))
            .order_by(Employment.id)
        )
    )
    kept = {(job.contact_id, *_job_key(job)) for job in jobs if job.account_id == survivor.id}
    for job in jobs:
        if job.account_id != merged.id or (job.contact_id, *_job_key(job)) in kept:
            continue
        kept.add((job.contact_id, *_job_key(job)))
        plan.employments.append((job, job.is_primary))
    ends = {survivor.id, merged.id}
    relationships = list(
        session.scalars(
            select(AccountRelationship)
            .where(
                or_(
                    AccountRelationship.from_account_id.in_(sorted(ends)),
                    AccountRelationship.to_account_id.in_(sorted(ends)),
                )
            )
            .order_by(AccountRelationship.id)
        )
    )
    existing = {
        (r.from_account_id, r.to_account_id, r.kind)
        for r in relationships
        if merged.id not in (r.from_account_id, r.to_account_id)
    }
    for relationship in relationships:
        moves_from = relationship.from_account_id == merged.id
        moves_to = relationship.to_account_id == merged.id
        if not (moves_from or moves_to):
            continue
        new_from = survivor.id if moves_from else relationship.from_account_id
        new_to = survivor.id if moves_to else relationship.to_account_id
        # A relationship between the two records would relate the survivor to itself, and one the
        # survivor already has would be twice: both stay with the merged record.
        if new_from == new_to or (new_from, new_to, relationship.kind) in existing:
            continue
        existing.add((new_from, new_to, relationship.kind))
        plan.relationships.append((relationship, moves_from, moves_to))
    plan.children = list(
        session.scalars(
            select(Account)
            .where(Account.parent_id == merged.id, Account.id != survivor.id)
            .order_by(Account.id)
        )
    )


def parent_after_merge(survivor: Account, merged: Account, chosen_parent: str | None) -> str | None:
    """The survivor's parent: the chosen one, unless that is one of the two records themselves
    (one was the other's subsidiary), in which case the other record's parent, or none."""
    ends = {survivor.id, merged.id}
    if chosen_parent not in ends:
        return chosen_parent
    for candidate in (survivor.parent_id, merged.parent_id):
        if candidate is not None and candidate not in ends:
            return candidate
    return None
