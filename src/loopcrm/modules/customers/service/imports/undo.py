"""Undoing an import: records the run created are deleted (softly, so they can be restored),
records it updated get back the values it overwrote.

A record changed after the import (its version moved on), deleted since, or out of the undoer's
scope is left as it is and counted as skipped: restoring the old values would silently throw
away someone's later work. Like the import, the undo is a job that reverses a few hundred
records per step, each step committed with its audit entries.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select

from loopcrm.modules.customers.models import (
    Account,
    Contact,
    Employment,
    ImportRowOutcome,
    ImportRowResult,
    ImportRun,
    ImportStatus,
    ImportUndoOutcome,
    RecordKind,
    Tag,
)
from loopcrm.modules.customers.schemas import EmailIn, PhoneIn
from loopcrm.modules.customers.service import accounts, contacts, records
from loopcrm.modules.customers.service.imports.access import IMPORT, load_run, run_out
from loopcrm.modules.customers.service.imports.contracts import ImportRunOut
from loopcrm.modules.customers.service.imports.landing import restore_value
from loopcrm.modules.customers.service.object_types import OBJECT_TYPE_OF_KIND
from loopcrm.platform.audit.models import AuditAction
from loopcrm.platform.audit.service import diff, record_change
from loopcrm.platform.auth.models import User
from loopcrm.platform.auth.service import build_actor
from loopcrm.platform.db import new_id, utc_now
from loopcrm.platform.errors import Conflict
from loopcrm.platform.i18n import N_
from loopcrm.platform.jobs.registry import JobContext
from loopcrm.platform.jobs.service import enqueue, must_make_room, next_step_at
from loopcrm.platform.permissions import Action, Actor, can_reach_record
from loopcrm.platform.unit_of_work import UnitOfWork

UNDO_TASK = "customers.undo_import"
# Records per step: each is a few queries (its current values for the audit diff), so a step
# stays well under a second.
UNDO_CHUNK_RECORDS = 200
# Records per step while the step makes room for busy ingestion (see ``run_import_step``).
UNDO_CHUNK_RECORDS_MAKING_ROOM = 25
_WRITTEN = (ImportRowOutcome.CREATED.value, ImportRowOutcome.UPDATED.value)


def undo_import(uow: UnitOfWork, actor: Actor, run_id: str) -> ImportRunOut:
    """Queue the reversal of a finished run; a worker deletes what it created and restores what
    it updated, skipping records changed since (see the run's counts once it is undone)."""
    with uow:
        run = load_run(uow.session, actor, run_id, Action.UPDATE, for_update=True)
        if run.status not in (ImportStatus.COMPLETED, ImportStatus.FAILED):
            raise Conflict("Only a finished import can be undone; this one is {status}", status=run.status)
        before = run.status
        run.status = ImportStatus.UNDOING.value
        run.undone_by = actor.user_id
        # Each request for an undo starts a chain of steps of its own (``chain``): one asked for
        # again after a chain gave up must not find that chain's jobs by their keys.
        chain = new_id()
        enqueue(
            uow,
            UNDO_TASK,
            {"run_id": run.id, "after": "", "chain": chain},
            idempotency_key=f"{UNDO_TASK}:{run.id}:{chain}",
        )
        record_change(uow, actor, AuditAction.UPDATE, IMPORT.key, run.id, {"status": [before, run.status]})
        result = run_out(run)
        uow.commit()
        return result


def give_up_undo(uow: UnitOfWork, payload: dict[str, Any]) -> None:
    """An undo step failed its last attempt: the run is finished again, with the reason, and
    what was reversed so far stays reversed."""
    run = uow.session.scalar(select(ImportRun).where(ImportRun.id == payload["run_id"]).with_for_update())
    if run is None or run.status != ImportStatus.UNDOING:
        return
    run.status = ImportStatus.COMPLETED.value
    run.error = {"message": N_("The undo stopped after repeated errors; part of the import was undone")}


def run_undo_step(uow: UnitOfWork, payload: dict[str, Any], context: JobContext) -> None:
    """Reverse the next records of the run, in record id order (inside the job's unit of work).
    Like an import step, it takes fewer records and pauses after them while it makes room for
    busy ingestion."""
    making_room = must_make_room(uow, context, counting_the_process=False)
    session = uow.session
    run = session.scalar(select(ImportRun).where(ImportRun.id == payload["run_id"]).with_for_update())
    if run is None or run.status != ImportStatus.UNDOING:
        return
    user = session.get(User, run.undone_by) if run.undone_by else None
    if user is None or not user.is_active:
        run.status = ImportStatus.COMPLETED.value
        run.error = {
            "message": N_("The user who asked for the undo was deactivated; nothing more was undone")
        }
        return
    actor = build_actor(session, user)
    after = str(payload["after"])
    record_ids: list[str] = [
        record_id
        for record_id in session.scalars(
            select(ImportRowResult.record_id)
            .where(
                ImportRowResult.run_id == run.id,
                ImportRowResult.outcome.in_(_WRITTEN),
                ImportRowResult.record_id > after,
            )
            .group_by(ImportRowResult.record_id)
            .order_by(ImportRowResult.record_id)
            .limit(UNDO_CHUNK_RECORDS_MAKING_ROOM if making_room else UNDO_CHUNK_RECORDS)
        )
        if record_id is not None
    ]
    if not record_ids:
        run.status = ImportStatus.UNDONE.value
        run.undone_at = utc_now()
        return
    rows: dict[str, list[ImportRowResult]] = {}
    for row in session.scalars(
        select(ImportRowResult)
        .where(
            ImportRowResult.run_id == run.id,
            ImportRowResult.outcome.in_(_WRITTEN),
            ImportRowResult.record_id.in_(record_ids),
        )
        .order_by(ImportRowResult.id.desc())
    ):
        rows.setdefault(str(row.record_id), []).append(row)
    reversal = _Reversal(uow, actor, run.record_kind)
    for record_id in record_ids:
        group = rows[record_id]  # newest first
        outcome = reversal.reverse(record_id, group)
        for row in group:
            row.undo_outcome = outcome.value
        if outcome is ImportUndoOutcome.REVERSED:
            run.reversed_count += 1
        else:
            run.undo_skipped_count += 1
    records.flush(session)
    enqueue(
        uow,
        UNDO_TASK,
        {"run_id": run.id, "after": record_ids[-1], "chain": payload.get("chain", "")},
        idempotency_key=f"{UNDO_TASK}:{run.id}:{payload.get('chain', '')}:{record_ids[-1]}",
        run_at=next_step_at(context, making_room=making_room),
    )


class _Reversal:
    def __init__(self, uow: UnitOfWork, actor: Actor, record_kind: str) -> None:
        self.uow = uow
        self.session = uow.session
        self.actor = actor
        self.kind = record_kind
        self.is_account = record_kind == RecordKind.ACCOUNT.value
        self.model: Any = Account if self.is_account else Contact
        self.service: Any = accounts if self.is_account else contacts
        self.object_type = OBJECT_TYPE_OF_KIND[record_kind]
        self.now = utc_now()

    def reverse(self, record_id: str, rows: list[ImportRowResult]) -> ImportUndoOutcome:
        record = self.session.get(self.model, record_id)
        if (
            record is None
            or record.deleted_at is not None
            or record.version != rows[0].record_version
            or not can_reach_record(
                self.actor,
                self.object_type.key,
                Action.UPDATE,
                owner_id=record.owner_id,
                team_id=record.team_id,
            )
        ):
            return ImportUndoOutcome.SKIPPED
        if any(row.outcome == ImportRowOutcome.CREATED for row in rows):
            record.deleted_at = self.now
            record.updated_by = self.actor.user_id
            record_change(
                self.uow,
                self.actor,
                AuditAction.DELETE,
                self.object_type.key,
                record.id,
                {"deleted_at": [None, self.now]},
            )
            return ImportUndoOutcome.REVERSED
        before = self.service.values_of(self.session, record)
        for row in rows:  # newest first, so the oldest row's values are the ones left
            self._restore(record, row.previous or {})
        if not self.is_account and any(
            name in (rows[-1].previous or {}).get("columns", {}) for name in contacts._CONSENTS
        ):
            record.consent_updated_at = self.now
        self.service.apply_derived(record)
        self.session.flush()
        change_log = diff(
            records.audit_snapshot(before),
            records.audit_snapshot(self.service.values_of(self.session, record)),
        )
        record.updated_by = self.actor.user_id
        record.updated_at = self.now
        record_change(self.uow, self.actor, AuditAction.UPDATE, self.object_type.key, record.id, change_log)
        return ImportUndoOutcome.REVERSED

    def _restore(self, record: Any, previous: dict[str, Any]) -> None:
        """Put back what one row overwrote."""
        for name, value in previous.get("columns", {}).items():
            setattr(record, name, restore_value(name, value))
        if "custom_fields" in previous:
            record.custom_fields = dict(previous["custom_fields"])
        if "phones" in previous or "emails" in previous:
            phones = [
                PhoneIn(number=p["value"], label=p["label"], is_primary=p["is_primary"])
                for p in previous["phones"]
            ]
            addresses = [
                EmailIn(address=e["value"], label=e["label"], is_primary=e["is_primary"])
                for e in previous["emails"]
            ]
            records.set_contact_points(self.session, self.kind, record.id, phones, addresses)
        if "tag_ids" in previous:
            existing = set(self.session.scalars(select(Tag.id).where(Tag.id.in_(previous["tag_ids"]))))
            records.set_tags(
                self.session, self.kind, record.id, [t for t in previous["tag_ids"] if t in existing]
            )
        if "employments" in previous:
            self.session.execute(delete(Employment).where(Employment.contact_id == record.id))
            for job in previous["employments"]:
                self.session.add(
                    Employment(
                        contact_id=record.id,
                        account_id=job["account_id"],
                        title=job["title"],
                        started_on=restore_value("started_on", job["started_on"]),
                        ended_on=restore_value("ended_on", job["ended_on"]),
                        is_primary=job["is_primary"],
                    )
                )
