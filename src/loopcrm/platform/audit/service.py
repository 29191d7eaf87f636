"""Writing and reading the audit log.

Services call :func:`record_change` inside their own unit of work, so an audit entry exists
exactly when the change it describes was committed.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from loopcrm.platform.audit.models import AuditAction, AuditEntry
from loopcrm.platform.audit.schemas import AuditEntryOut, AuditFilter
from loopcrm.platform.pagination import Page, paginate
from loopcrm.platform.permissions import Action, Actor, ObjectType, Scope, register_object_type, require
from loopcrm.platform.unit_of_work import UnitOfWork

AUDIT_ENTRY = register_object_type(
    ObjectType(
        key="audit_entry",
        label="Audit log",
        default_grants={"admin": {Action.READ: Scope.ALL}},
    )
)


# Values kept as they are; checked first, by exact type, as most values are one of these.
_PLAIN_TYPES = frozenset({str, int, float, bool, type(None)})


def json_value(value: Any) -> Any:
    """A value as it is kept in the audit log's JSON: exact decimals and ISO times as text."""
    if type(value) in _PLAIN_TYPES:
        return value
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    # Items of plain types are kept without a call each: an audited change is a dict of lists.
    if isinstance(value, list | tuple | set | frozenset):
        return [item if type(item) in _PLAIN_TYPES else json_value(item) for item in value]
    if isinstance(value, dict):
        return {
            str(key): item if type(item) in _PLAIN_TYPES else json_value(item) for key, item in value.items()
        }
    return value


def diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list[Any]]:
    """Fields whose value differs, as ``{field: [old, new]}``."""
    changes: dict[str, list[Any]] = {}
    for name in sorted(set(before) | set(after)):
        old, new = json_value(before.get(name)), json_value(after.get(name))
        if old != new:
            changes[name] = [old, new]
    return changes


def record_change(
    uow: UnitOfWork,
    actor: Actor,
    action: AuditAction,
    object_type: str,
    object_id: str | None,
    changes: dict[str, Any] | None = None,
) -> None:
    """Append an entry in the caller's transaction; it commits or rolls back with the change."""
    uow.session.add(
        AuditEntry(
            actor_id=actor.user_id,
            actor_label=actor.label,
            action=action.value,
            object_type=object_type,
            object_id=object_id,
            changes=json_value(changes or {}),
            request_id=actor.request_id,
            ip=actor.ip,
        )
    )


def record_sensitive_read(
    uow: UnitOfWork, actor: Actor, object_type: str, object_id: str, fields: tuple[str, ...]
) -> None:
    """Note that a person saw confidential or secret fields of a record (names, never values).

    The system actor (jobs, CLI) reads on nobody's behalf and is not recorded.
    """
    if fields and not actor.is_system:
        record_change(uow, actor, AuditAction.READ, object_type, object_id, {name: None for name in fields})


def list_entries(
    uow: UnitOfWork, actor: Actor, filters: AuditFilter, *, limit: int, cursor: str | None
) -> Page[AuditEntryOut]:
    """Entries matching the filters, newest first. Only roles granted ``audit_entry`` read see them."""
    require(actor, AUDIT_ENTRY.key, Action.READ)
    with uow:
        statement = select(AuditEntry)
        if filters.object_type:
            statement = statement.where(AuditEntry.object_type == filters.object_type)
        if filters.object_id:
            statement = statement.where(AuditEntry.object_id == filters.object_id)
        if filters.actor_id:
            statement = statement.where(AuditEntry.actor_id == filters.actor_id)
        if filters.action:
            statement = statement.where(AuditEntry.action == filters.action.value)
        if filters.since:
            statement = statement.where(AuditEntry.at >= filters.since)
        if filters.until:
            statement = statement.where(AuditEntry.at < filters.until)
        return paginate(
            uow.session,
            statement,
            AuditEntry.id,
            limit=limit,
            cursor=cursor,
            convert=AuditEntryOut.model_validate,
        )


def entries_of_record(session: Session, object_type: str, object_id: str, *, limit: int) -> list[AuditEntry]:
    """The newest ``limit`` entries of one record, for a module's field history.

    The caller has checked that the reader may read the record; a record's own history needs no
    access to the whole audit log.
    """
    statement = (
        select(AuditEntry)
        .where(AuditEntry.object_type == object_type, AuditEntry.object_id == object_id)
        .order_by(AuditEntry.id.desc())
        .limit(limit)
    )
    return list(session.scalars(statement))
