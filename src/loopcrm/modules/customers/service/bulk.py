"""Bulk actions over many accounts or contacts: assign an owner, add or remove tags, delete.

All or nothing: every record is checked as if it were edited alone (scope, clearance, owner
rules); if one fails, none changes and the error names it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select

from loopcrm.modules.customers.models import Tagging
from loopcrm.modules.customers.schemas import BulkAction, BulkResult
from loopcrm.modules.customers.service import records
from loopcrm.modules.customers.service.object_types import OBJECT_TYPE_OF_KIND
from loopcrm.platform.audit.models import AuditAction
from loopcrm.platform.audit.service import record_change
from loopcrm.platform.db import utc_now
from loopcrm.platform.errors import FieldError, ValidationFailed
from loopcrm.platform.permissions import Action, Actor, can_reach_record, require
from loopcrm.platform.unit_of_work import UnitOfWork


def run_bulk_action(uow: UnitOfWork, actor: Actor, record_kind: str, data: BulkAction) -> BulkResult:
    object_type = OBJECT_TYPE_OF_KIND[record_kind]
    action = Action.DELETE if data.action == "delete" else Action.UPDATE
    require(actor, object_type.key, action)
    model: Any = records.MODEL_OF_KIND[record_kind]
    ids = list(dict.fromkeys(data.record_ids))
    with uow:
        session = uow.session
        found: dict[str, Any] = {
            row.id: row for row in session.scalars(select(model).where(model.id.in_(ids)))
        }
        errors = []
        for index, record_id in enumerate(ids):
            row = found.get(record_id)
            if (
                row is None
                or row.deleted_at is not None
                or not can_reach_record(
                    actor, object_type.key, action, owner_id=row.owner_id, team_id=row.team_id
                )
            ):
                errors.append(
                    FieldError(f"record_ids.{index}", "You may not change this record", "not_allowed")
                )
        if errors:
            raise ValidationFailed(errors)
        tag_ids = records.check_tags(session, data.tag_ids) if data.tag_ids else []
        tagged: dict[str, set[str]] = {record_id: set() for record_id in ids}
        tag_names: dict[str, str] = {}
        if data.action in ("add_tags", "remove_tags"):
            for record_id, tag_id in session.execute(
                select(Tagging.record_id, Tagging.tag_id).where(
                    Tagging.record_kind == record_kind, Tagging.record_id.in_(ids)
                )
            ):
                tagged[record_id].add(tag_id)
            tag_names = records.tag_names(session, sorted(set(tag_ids).union(*tagged.values())))
        now = utc_now()
        changed: list[str] = []
        for record_id in ids:
            row = found[record_id]
            if data.action == "assign_owner":
                records.check_owner_and_team(
                    session, actor, object_type.key, Action.UPDATE, data.owner_id, row.team_id
                )
                if row.owner_id == data.owner_id:
                    continue
                change = {"owner_id": [row.owner_id, data.owner_id]}
                row.owner_id = data.owner_id
                name = row.name if record_kind == "account" else row.full_name
                records.notify_new_owner(uow, actor, record_kind, record_id, name, data.owner_id)
            elif data.action == "delete":
                row.deleted_at = now
                change = {"deleted_at": [None, now]}
            else:
                before = tagged[record_id]
                after = before | set(tag_ids) if data.action == "add_tags" else before - set(tag_ids)
                if after == before:
                    continue
                session.execute(
                    delete(Tagging).where(Tagging.record_kind == record_kind, Tagging.record_id == record_id)
                )
                for tag_id in sorted(after):
                    session.add(Tagging(tag_id=tag_id, record_kind=record_kind, record_id=record_id))
                change = {"tags": [sorted(tag_names[t] for t in before), sorted(tag_names[t] for t in after)]}
            row.updated_by = actor.user_id
            row.updated_at = now
            record_change(
                uow,
                actor,
                AuditAction.DELETE if data.action == "delete" else AuditAction.UPDATE,
                object_type.key,
                record_id,
                change,
            )
            changed.append(record_id)
        records.flush(session)
        uow.commit()
        return BulkResult(changed=len(changed), record_ids=changed)
