"""Merging two accounts or two contacts that are the same customer, and undoing a merge.

A merge keeps one record (the survivor) and soft-deletes the other. The survivor takes, per
field, the value the user chose; phones, emails and tags are unioned; jobs, relationships,
subsidiaries and activities move to the survivor. Everything happens in one transaction, is
written to both records' audit logs, and is recorded in a :class:`CustomerMerge` row with the
exact state of both records before, so the merge can be undone exactly — as long as neither
record changed since (their versions tell), because an undo would otherwise drop that change.

Merging needs *update* on the survivor and *delete* on the merged record (it disappears), the
same rights as editing one and deleting the other by hand; undoing needs the same two.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, select
from sqlalchemy.orm import Session

from loopcrm.modules.activities import service as activities
from loopcrm.modules.customers.models import (
    Account,
    AccountRelationship,
    ContactPoint,
    CustomerMerge,
    Employment,
    RecordKind,
    Tag,
    Tagging,
)
from loopcrm.modules.customers.schemas import MergeField, MergeIn, MergeOut, MergePreview
from loopcrm.modules.customers.service import accounts, contacts, records
from loopcrm.modules.customers.service.duplicates import labels_of
from loopcrm.modules.customers.service.merge_plan import (
    MERGED,
    FieldChoice,
    MovePlan,
    choose_values,
    merged_custom_fields,
    parent_after_merge,
    plan_moves,
    record_snapshot,
    restore_row,
)
from loopcrm.modules.customers.service.object_types import OBJECT_TYPE_OF_KIND
from loopcrm.platform.audit.models import AuditAction
from loopcrm.platform.audit.service import diff, record_change
from loopcrm.platform.db import utc_now
from loopcrm.platform.errors import Conflict, NotFound, ValidationFailed
from loopcrm.platform.pagination import Page, paginate
from loopcrm.platform.permissions import (
    Action,
    Actor,
    can_reach_record,
    get_object_type,
    require,
    require_record_access,
    scope_condition,
)
from loopcrm.platform.unit_of_work import UnitOfWork

# Columns an undo leaves as they are: the row's identity, and the stamp of its last write (the
# undo is a write: the version must move on so stale clients get 412, and the time and author
# of the last change are the undo's).
_NOT_RESTORED = frozenset({"id", "version", "updated_at", "updated_by"})
_CONSENTS = ("email_opt_in", "sms_opt_in", "wechat_opt_in")


def _module(record_kind: str) -> Any:
    return accounts if record_kind == RecordKind.ACCOUNT.value else contacts


def _label(record: Any) -> str:
    return str(record.name if isinstance(record, Account) else record.full_name)


def _hidden_fields(session: Session, actor: Actor, record_kind: str) -> set[str]:
    """Fields above the actor's clearance, named as the merge names them."""
    object_type = OBJECT_TYPE_OF_KIND[record_kind].key
    levels = {**get_object_type(object_type).field_levels, **records.custom_levels(session, record_kind)}
    return {name for name, level in levels.items() if level > actor.clearance}


def _load_pair(
    uow: UnitOfWork, actor: Actor, record_kind: str, survivor_id: str, merged_id: str
) -> tuple[Any, Any]:
    """Both live records, if the actor may change the survivor and delete the merged one."""
    object_type = OBJECT_TYPE_OF_KIND[record_kind].key
    require(actor, object_type, Action.UPDATE)
    require(actor, object_type, Action.DELETE)
    if survivor_id == merged_id:
        raise ValidationFailed.single("merged_id", "A record cannot be merged with itself", "same_record")
    module = _module(record_kind)
    survivor = module.load(uow, actor, survivor_id, Action.UPDATE)
    merged = module.load(uow, actor, merged_id, Action.DELETE)
    return survivor, merged


def _values(session: Session, record_kind: str, record: Any) -> dict[str, Any]:
    return dict(_module(record_kind).values_of(session, record))


# ---------------------------------------------------------------- preview


def merge_preview(
    uow: UnitOfWork, actor: Actor, record_kind: str, survivor_id: str, merged_id: str
) -> MergePreview:
    """What merging ``merged_id`` into ``survivor_id`` would do, for the merge screen: both
    records as the actor may see them, the fields that differ with the default choice, and how
    many phones, emails, tags, jobs, relationships, subsidiaries and activities would move."""
    with uow:
        session = uow.session
        survivor, merged = _load_pair(uow, actor, record_kind, survivor_id, merged_id)
        hidden = _hidden_fields(session, actor, record_kind)
        choices = choose_values(record_kind, survivor, merged, {}, hidden)
        plan = plan_moves(session, record_kind, survivor, merged)
        module = _module(record_kind)
        levels = records.custom_levels(session, record_kind)
        out = module.account_out if record_kind == RecordKind.ACCOUNT.value else module.contact_out
        survivor_out = out(uow, actor, survivor, _values(session, record_kind, survivor), levels)
        merged_out = out(uow, actor, merged, _values(session, record_kind, merged), levels)
        fields = [
            MergeField(
                field=choice.name,
                survivor_value=None if choice.name in hidden else records.plain(choice.survivor_value),
                merged_value=None if choice.name in hidden else records.plain(choice.merged_value),
                default=choice.default,  # type: ignore[arg-type]
                is_hidden=choice.name in hidden,
            )
            for choice in choices
        ]
        preview = MergePreview(
            record_kind=record_kind,  # type: ignore[arg-type]
            survivor=survivor_out,
            merged=merged_out,
            fields=fields,
            # The same count the finished merge reports: every link of the merged record moves.
            moves={
                **plan.counts(),
                "activities": activities.count_links(uow, OBJECT_TYPE_OF_KIND[record_kind].key, merged.id),
            },
        )
        uow.commit()  # the audit entries of sensitive reads
        return preview


# ---------------------------------------------------------------- merge


def _apply_fields(
    session: Session, actor: Actor, record_kind: str, survivor: Any, merged: Any, choices: list[FieldChoice]
) -> None:
    """Give the survivor the chosen values, then check what a normal update would check."""
    object_type = OBJECT_TYPE_OF_KIND[record_kind].key
    original = {
        name: getattr(survivor, name)
        for name in ("owner_id", "team_id", *_CONSENTS)
        if hasattr(survivor, name)
    }
    chosen_parent = getattr(survivor, "parent_id", None)
    for choice in choices:
        if choice.side != MERGED or choice.name.startswith("custom_fields."):
            continue
        if choice.name == "parent_id":
            chosen_parent = choice.merged_value
        else:
            setattr(survivor, choice.name, choice.merged_value)
    survivor.custom_fields = merged_custom_fields(survivor, choices)
    if (survivor.owner_id, survivor.team_id) != (original["owner_id"], original["team_id"]):
        records.check_owner_and_team(
            session, actor, object_type, Action.UPDATE, survivor.owner_id, survivor.team_id
        )
    if isinstance(survivor, Account):
        survivor.parent_id = parent_after_merge(survivor, merged, chosen_parent)
    elif not (survivor.family_name or survivor.given_name):
        raise ValidationFailed.single(
            "chosen.family_name", "A contact needs a family name or a given name", "required"
        )
    elif any(original[name] != getattr(survivor, name) for name in _CONSENTS):
        # The survivor now carries the other record's consent: keep when that one was given.
        survivor.consent_updated_at = merged.consent_updated_at or utc_now()


def _apply_moves(
    uow: UnitOfWork, actor: Actor, record_kind: str, survivor: Any, merged: Any, plan: MovePlan
) -> dict[str, Any]:
    """Move the planned rows to the survivor; returns what the undo needs to move them back."""
    moved: dict[str, Any] = {
        "contact_points": [],
        "taggings": [],
        "employments": [],
        "relationships": [],
        "children": [],
    }
    for point, is_primary, position in plan.contact_points:
        moved["contact_points"].append(
            {"id": point.id, "kind": point.kind, "is_primary": point.is_primary, "position": point.position}
        )
        point.record_id, point.is_primary, point.position = survivor.id, is_primary, position
    for tagging in plan.taggings:
        moved["taggings"].append(tagging.id)
        tagging.record_id = survivor.id
    for job, is_primary in plan.employments:
        moved["employments"].append({"id": job.id, "is_primary": job.is_primary})
        if record_kind == RecordKind.CONTACT.value:
            job.contact_id, job.is_primary = survivor.id, is_primary
        else:
            job.account_id = survivor.id
            record_change(
                uow,
                actor,
                AuditAction.UPDATE,
                OBJECT_TYPE_OF_KIND["contact"].key,
                job.contact_id,
                {"employments": [_label(merged), _label(survivor)]},
            )
    for relationship, moves_from, moves_to in plan.relationships:
        moved["relationships"].append({"id": relationship.id, "from": moves_from, "to": moves_to})
        if moves_from:
            relationship.from_account_id = survivor.id
        if moves_to:
            relationship.to_account_id = survivor.id
    for child in plan.children:
        moved["children"].append(child.id)
        child.parent_id = survivor.id
        child.updated_by = actor.user_id
        record_change(
            uow,
            actor,
            AuditAction.UPDATE,
            OBJECT_TYPE_OF_KIND["account"].key,
            child.id,
            {"parent_id": [merged.id, survivor.id]},
        )
    return moved


def merge_records(uow: UnitOfWork, actor: Actor, record_kind: str, data: MergeIn) -> MergeOut:
    """Merge ``data.merged_id`` into ``data.survivor_id``: the survivor stays, the other is
    deleted, and the merge is recorded so :func:`undo_merge` can take it back."""
    object_type = OBJECT_TYPE_OF_KIND[record_kind].key
    module = _module(record_kind)
    with uow:
        session = uow.session
        survivor, merged = _load_pair(uow, actor, record_kind, data.survivor_id, data.merged_id)
        records.check_version(survivor, data.survivor_version)
        records.check_version(merged, data.merged_version)
        snapshots = (
            record_snapshot(session, record_kind, survivor),
            record_snapshot(session, record_kind, merged),
        )
        before = _values(session, record_kind, survivor)
        choices = choose_values(
            record_kind, survivor, merged, dict(data.chosen), _hidden_fields(session, actor, record_kind)
        )
        plan = plan_moves(session, record_kind, survivor, merged)
        now = utc_now()
        # The merged record goes first, so its credit code and external id are free for the survivor.
        merged.deleted_at, merged.updated_by, merged.updated_at = now, actor.user_id, now
        records.flush(session)
        with session.no_autoflush:  # one UPDATE of the survivor: its version moves by one
            _apply_fields(session, actor, record_kind, survivor, merged, choices)
            moved = _apply_moves(uow, actor, record_kind, survivor, merged, plan)
            if isinstance(survivor, Account):
                accounts._check_parent(session, survivor.id, survivor.parent_id)
            module.apply_derived(survivor)
            survivor.updated_by, survivor.updated_at = actor.user_id, now
        records.flush(session)
        moved["activity_links"] = activities.reassign_links(uow, actor, object_type, merged.id, survivor.id)
        after = _values(session, record_kind, survivor)
        changes = diff(records.audit_snapshot(before), records.audit_snapshot(after))
        changes["merged_from"] = [None, f"{_label(merged)} ({merged.id})"]
        record_change(uow, actor, AuditAction.UPDATE, object_type, survivor.id, changes)
        record_change(
            uow,
            actor,
            AuditAction.DELETE,
            object_type,
            merged.id,
            {"deleted_at": [None, now], "merged_into": [None, f"{_label(survivor)} ({survivor.id})"]},
        )
        merge = CustomerMerge(
            record_kind=record_kind,
            survivor_id=survivor.id,
            merged_id=merged.id,
            chosen={choice.name: choice.side for choice in choices},
            survivor_before=snapshots[0],
            merged_before=snapshots[1],
            moved=moved,
            survivor_version=survivor.version,
            merged_version=merged.version,
            created_by=actor.user_id,
            updated_by=actor.user_id,
        )
        session.add(merge)
        records.flush(session)
        result = _merge_out(
            merge, {survivor.id: _label(survivor), merged.id: _label(merged)}, survivor, merged
        )
        uow.commit()
        return result


def _points(session: Session, record_kind: str, record_id: str) -> dict[str, Any]:
    return records.contact_points_of(session, record_kind, [record_id])[record_id]


# ---------------------------------------------------------------- reading merges


def _counts(moved: dict[str, Any]) -> dict[str, int]:
    points = moved.get("contact_points", [])
    phones = sum(1 for point in points if point.get("kind") == "phone")
    return {
        "phones": phones,
        "emails": len(points) - phones,
        "tags": len(moved.get("taggings", [])),
        "employments": len(moved.get("employments", [])),
        "relationships": len(moved.get("relationships", [])),
        "children": len(moved.get("children", [])),
        "activities": len(moved.get("activity_links", [])),
    }


def _is_unchanged(merge: CustomerMerge, survivor: Any, merged: Any) -> bool:
    return (
        survivor is not None
        and merged is not None
        and survivor.deleted_at is None
        and merged.deleted_at is not None
        and survivor.version == merge.survivor_version
        and merged.version == merge.merged_version
    )


def _merge_out(merge: CustomerMerge, labels: dict[str, str], survivor: Any, merged: Any) -> MergeOut:
    return MergeOut(
        id=merge.id,
        record_kind=merge.record_kind,  # type: ignore[arg-type]
        survivor_id=merge.survivor_id,
        survivor_label=labels.get(merge.survivor_id, ""),
        merged_id=merge.merged_id,
        merged_label=labels.get(merge.merged_id, ""),
        chosen=merge.chosen,  # type: ignore[arg-type]
        moved=_counts(merge.moved),
        created_at=merge.created_at,
        created_by=merge.created_by,
        undone_at=merge.undone_at,
        undone_by=merge.undone_by,
        is_undoable=merge.undone_at is None and _is_unchanged(merge, survivor, merged),
        version=merge.version,
    )


def _load_merge(uow: UnitOfWork, actor: Actor, merge_id: str) -> tuple[CustomerMerge, Any, Any]:
    """The merge and both records, if the actor may read the survivor; otherwise "not found"."""
    session = uow.session
    merge = session.get(CustomerMerge, merge_id)
    if merge is None:
        raise NotFound("Merge not found")
    model: Any = records.MODEL_OF_KIND[merge.record_kind]
    survivor, merged = session.get(model, merge.survivor_id), session.get(model, merge.merged_id)
    object_type = OBJECT_TYPE_OF_KIND[merge.record_kind].key
    if survivor is None or not can_reach_record(
        actor, object_type, Action.READ, owner_id=survivor.owner_id, team_id=survivor.team_id
    ):
        raise NotFound("Merge not found")
    return merge, survivor, merged


def get_merge(uow: UnitOfWork, actor: Actor, merge_id: str) -> MergeOut:
    with uow:
        merge, survivor, merged = _load_merge(uow, actor, merge_id)
        return _merge_out(merge, {survivor.id: _label(survivor), merged.id: _label(merged)}, survivor, merged)


def list_merges(
    uow: UnitOfWork,
    actor: Actor,
    record_kind: str,
    *,
    record_id: str | None = None,
    limit: int,
    cursor: str | None,
) -> Page[MergeOut]:
    """Merges of ``record_kind`` whose survivor the actor may read, newest first; with
    ``record_id``, only the merges that record took part in."""
    object_type = OBJECT_TYPE_OF_KIND[record_kind].key
    model: Any = records.MODEL_OF_KIND[record_kind]
    with uow:
        session = uow.session
        visible = scope_condition(
            actor, object_type, Action.READ, owner_column=model.owner_id, team_column=model.team_id
        )
        statement = (
            select(CustomerMerge)
            .join(model, and_(model.id == CustomerMerge.survivor_id))
            .where(CustomerMerge.record_kind == record_kind, visible)
        )
        if record_id:
            statement = statement.where(
                (CustomerMerge.survivor_id == record_id) | (CustomerMerge.merged_id == record_id)
            )
        found = paginate(
            session, statement, CustomerMerge.id, limit=limit, cursor=cursor, convert=lambda row: row
        )
        ids = {merge.survivor_id for merge in found.items} | {merge.merged_id for merge in found.items}
        rows = (
            {row.id: row for row in session.scalars(select(model).where(model.id.in_(sorted(ids))))}
            if ids
            else {}
        )
        labels = labels_of(session, record_kind, sorted(ids))
        return Page[MergeOut](
            items=[
                _merge_out(merge, labels, rows.get(merge.survivor_id), rows.get(merge.merged_id))
                for merge in found.items
            ],
            next_cursor=found.next_cursor,
        )


# ---------------------------------------------------------------- undo


def _refuse_unsafe_undo(session: Session, merge: CustomerMerge, survivor: Any, merged: Any) -> None:
    """Refuse (409) when undoing would overwrite or lose a change made after the merge."""
    if merge.undone_at is not None:
        raise Conflict("This merge has already been undone")
    if survivor.deleted_at is not None or survivor.version != merge.survivor_version:
        raise Conflict(
            "{name} was changed after the merge (later edits, merges or a delete); undoing the merge now "
            "would overwrite those changes, so nothing was undone",
            name=_label(survivor),
        )
    if merged is None or merged.deleted_at is None or merged.version != merge.merged_version:
        raise Conflict(
            "The merged record {name} was restored or changed after the merge, so the merge cannot be undone",
            name=_label(merged) if merged is not None else merge.merged_id,
        )
    moved = merge.moved
    kind = merge.record_kind
    for entry in moved.get("contact_points", []):
        point = session.get(ContactPoint, entry["id"])
        if point is None or (point.record_kind, point.record_id) != (kind, survivor.id):
            raise Conflict(
                "A phone or email that the merge moved has changed since, so the merge cannot be undone"
            )
    for tagging_id in moved.get("taggings", []):
        tagging = session.get(Tagging, tagging_id)
        if tagging is None:
            continue  # the tag was deleted everywhere; there is nothing to give back
        if tagging.record_id != survivor.id:
            raise Conflict("A tag that the merge moved has changed since, so the merge cannot be undone")
    side = "contact_id" if kind == RecordKind.CONTACT.value else "account_id"
    for entry in moved.get("employments", []):
        job = session.get(Employment, entry["id"])
        if job is None or getattr(job, side) != survivor.id:
            raise Conflict("A job that the merge moved has changed since, so the merge cannot be undone")
    for entry in moved.get("relationships", []):
        relationship = session.get(AccountRelationship, entry["id"])
        if relationship is None or (
            (entry["from"] and relationship.from_account_id != survivor.id)
            or (entry["to"] and relationship.to_account_id != survivor.id)
        ):
            raise Conflict(
                "A relationship that the merge moved has changed since, so the merge cannot be undone"
            )
    for child_id in moved.get("children", []):
        child = session.get(Account, child_id)
        if child is None or child.parent_id != survivor.id:
            raise Conflict(
                "A subsidiary that the merge moved has changed since, so the merge cannot be undone"
            )


def _move_back(uow: UnitOfWork, actor: Actor, merge: CustomerMerge, survivor: Any, merged: Any) -> None:
    session = uow.session
    moved = merge.moved
    for entry in moved.get("contact_points", []):
        point = session.get(ContactPoint, entry["id"])
        if point is not None:
            point.record_id, point.is_primary, point.position = (
                merged.id,
                entry["is_primary"],
                entry["position"],
            )
    for tagging_id in moved.get("taggings", []):
        tagging = session.get(Tagging, tagging_id)
        if tagging is not None and session.get(Tag, tagging.tag_id) is not None:
            tagging.record_id = merged.id
    for entry in moved.get("employments", []):
        job = session.get(Employment, entry["id"])
        if job is None:
            continue
        if merge.record_kind == RecordKind.CONTACT.value:
            job.contact_id, job.is_primary = merged.id, entry["is_primary"]
        else:
            job.account_id = merged.id
            record_change(
                uow,
                actor,
                AuditAction.UPDATE,
                "contact",
                job.contact_id,
                {"employments": [_label(survivor), _label(merged)]},
            )
    for entry in moved.get("relationships", []):
        relationship = session.get(AccountRelationship, entry["id"])
        if relationship is None:
            continue
        if entry["from"]:
            relationship.from_account_id = merged.id
        if entry["to"]:
            relationship.to_account_id = merged.id
    for child_id in moved.get("children", []):
        child = session.get(Account, child_id)
        if child is not None:
            child.parent_id = merged.id
            child.updated_by = actor.user_id
            record_change(
                uow, actor, AuditAction.UPDATE, "account", child.id, {"parent_id": [survivor.id, merged.id]}
            )
    activities.restore_links(uow, actor, moved.get("activity_links", []), merged.id)


def _carry_versions(session: Session, merge: CustomerMerge, survivor: Any, merged: Any) -> None:
    """Let earlier merges be undone after this one, newest first.

    The undo gave both records exactly the content they had before this merge, under a new
    version. An earlier merge that left a record at that content (its version then is the one
    this merge's snapshot holds) may still be undone: it now expects the new version.
    """
    for record, snapshot in ((survivor, merge.survivor_before), (merged, merge.merged_before)):
        version_before = snapshot["record"]["version"]
        earlier = session.scalars(
            select(CustomerMerge).where(
                CustomerMerge.record_kind == merge.record_kind,
                CustomerMerge.survivor_id == record.id,
                CustomerMerge.survivor_version == version_before,
                CustomerMerge.undone_at.is_(None),
            )
        )
        for other in earlier:
            other.survivor_version = record.version
    records.flush(session)


def undo_merge(uow: UnitOfWork, actor: Actor, merge_id: str) -> MergeOut:
    """Take a merge back: both records exactly as they were before it (every field, custom field,
    phone, email, tag, job, relationship, subsidiary and activity link), the merged one live again.

    Refused (409, nothing changed) once either record changed after the merge, or something the
    merge moved was changed since: restoring the snapshot would silently drop that later work.
    Only ``version``, ``updated_at`` and ``updated_by`` differ from before the merge: the undo is
    itself a change, and optimistic locking needs the version to move forward.
    """
    with uow:
        session = uow.session
        merge, survivor, merged = _load_merge(uow, actor, merge_id)
        record_kind = merge.record_kind
        object_type = OBJECT_TYPE_OF_KIND[record_kind].key
        require_record_access(
            actor, object_type, Action.UPDATE, owner_id=survivor.owner_id, team_id=survivor.team_id
        )
        if merged is not None:
            require_record_access(
                actor, object_type, Action.DELETE, owner_id=merged.owner_id, team_id=merged.team_id
            )
        _refuse_unsafe_undo(session, merge, survivor, merged)
        before = _values(session, record_kind, survivor)
        now = utc_now()
        restore_row(survivor, merge.survivor_before["record"], skip=_NOT_RESTORED)
        survivor.updated_by, survivor.updated_at = actor.user_id, now
        records.flush(session)
        _move_back(uow, actor, merge, survivor, merged)
        deleted_at = merged.deleted_at
        restore_row(merged, merge.merged_before["record"], skip=_NOT_RESTORED)
        merged.updated_by, merged.updated_at = actor.user_id, now
        records.flush(session)
        after = _values(session, record_kind, survivor)
        changes = diff(records.audit_snapshot(before), records.audit_snapshot(after))
        changes["merged_from"] = [f"{_label(merged)} ({merged.id})", None]
        record_change(uow, actor, AuditAction.UPDATE, object_type, survivor.id, changes)
        record_change(
            uow,
            actor,
            AuditAction.RESTORE,
            object_type,
            merged.id,
            {"deleted_at": [deleted_at, None], "merged_into": [f"{_label(survivor)} ({survivor.id})", None]},
        )
        merge.undone_at, merge.undone_by, merge.updated_by = now, actor.user_id, actor.user_id
        records.flush(session)
        _carry_versions(session, merge, survivor, merged)
        result = _merge_out(
            merge, {survivor.id: _label(survivor), merged.id: _label(merged)}, survivor, merged
        )
        uow.commit()
        return result
