"""Writing the rows a chunk creates with one multi-row INSERT per table.

An ORM object per new record, phone, email, tag, job and audit entry cost more than the rest of
an imported row (ADR 0006, docs/benchmarks.md), so :class:`ChunkWriter` keeps their column values
and writes each table's rows in one statement (insertmanyvalues on SQLite and psycopg alike).
An updated record's own row still goes through the ORM, whose version counter undo relies on;
its replaced phones, emails and tags are deleted and inserted with the chunk's other rows. Rows
are written in foreign-key order, before anything that must read them: the duplicate search, an
update of a record the chunk created, and the end of the chunk.
"""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import Table, delete, insert
from sqlalchemy.orm import Session

from loopcrm.modules.customers.models import ContactPoint, Employment, Tagging
from loopcrm.platform.audit.models import AuditAction, AuditEntry
from loopcrm.platform.audit.service import json_value
from loopcrm.platform.db import in_batches
from loopcrm.platform.permissions import Actor


class NewRecord:
    """An account or contact the chunk creates, as plain attributes until it is written: what
    ``apply_derived`` and ``row_values`` read and set, without an ORM object's bookkeeping."""

    id: str

    def __init__(self, **values: Any) -> None:
        self.__dict__.update(values)


# Left to the columns' defaults (the time each row is written, as an ORM flush would set them).
_DEFAULTED = frozenset({"created_at", "updated_at"})


class ChunkWriter:
    """The rows a chunk adds, kept until :meth:`write` (or :meth:`write_records`) sends them."""

    def __init__(self, session: Session, actor: Actor, record_model: Any, record_kind: str) -> None:
        self.session = session
        self.actor = actor
        self.record_table = cast(Table, record_model.__table__)
        self.record_kind = record_kind
        self.records: list[dict[str, Any]] = []
        self.points: list[dict[str, Any]] = []
        # Updated records whose phones and emails, or tags, are replaced: record id → new rows.
        self.replaced_points: dict[str, list[dict[str, Any]]] = {}
        self.replaced_tags: dict[str, list[str]] = {}
        self.taggings: list[dict[str, Any]] = []
        self.employments: list[dict[str, Any]] = []
        self.audit_entries: list[dict[str, Any]] = []

    def add_record(self, record: NewRecord) -> None:
        self.records.append({name: value for name, value in vars(record).items() if name not in _DEFAULTED})

    def add_points(self, rows: list[dict[str, Any]]) -> None:
        self.points.extend(rows)

    def add_tagging(self, tag_id: str, record_id: str) -> None:
        self.taggings.append({"tag_id": tag_id, "record_kind": self.record_kind, "record_id": record_id})

    def replace_points(self, record_id: str, rows: list[dict[str, Any]]) -> None:
        """A stored record's phones and emails become ``rows``, as ``records.set_contact_points``."""
        self.replaced_points[record_id] = rows

    def replace_tags(self, record_id: str, tag_ids: list[str]) -> None:
        """A stored record's tags become ``tag_ids``, as ``records.set_tags``."""
        self.replaced_tags[record_id] = list(dict.fromkeys(tag_ids))

    def add_employment(self, values: dict[str, Any]) -> None:
        self.employments.append(values)

    def add_audit_entry(
        self, action: AuditAction, object_type: str, object_id: str, changes: dict[str, Any]
    ) -> None:
        """The entry ``audit.service.record_change`` would add, written with the chunk's rows."""
        actor = self.actor
        self.audit_entries.append(
            {
                "actor_id": actor.user_id,
                "actor_label": actor.label,
                "action": action.value,
                "object_type": object_type,
                "object_id": object_id,
                "changes": json_value(changes),
                "request_id": actor.request_id,
                "ip": actor.ip,
            }
        )

    def write_records(self) -> None:
        """Write the new records and their phones and emails: what a duplicate search reads."""
        self._insert(self.record_table, self.records)
        self._delete_replaced(ContactPoint, self.replaced_points)
        for rows in self.replaced_points.values():
            self.points.extend(rows)
        self.replaced_points.clear()
        self._insert(cast(Table, ContactPoint.__table__), self.points)

    def write(self) -> None:
        """Write everything kept so far. Tags the chunk made are ORM objects: flushed first."""
        self.session.flush()
        self.write_records()
        self._delete_replaced(Tagging, self.replaced_tags)
        for record_id, tag_ids in self.replaced_tags.items():
            for tag_id in tag_ids:
                self.add_tagging(tag_id, record_id)
        self.replaced_tags.clear()
        self._insert(cast(Table, Tagging.__table__), self.taggings)
        self._insert(cast(Table, Employment.__table__), self.employments)
        self._insert(cast(Table, AuditEntry.__table__), self.audit_entries)

    def _delete_replaced(self, model: Any, replaced: dict[str, Any]) -> None:
        for batch in in_batches(sorted(replaced)):
            self.session.execute(
                delete(model).where(model.record_kind == self.record_kind, model.record_id.in_(batch))
            )

    def _insert(self, table: Table, rows: list[dict[str, Any]]) -> None:
        if rows:
            self.session.execute(insert(table), rows)
            rows.clear()
