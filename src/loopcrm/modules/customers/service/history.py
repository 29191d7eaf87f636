"""A record's field history, read from the audit log: who changed which field, when, from what
to what. Values of fields above the reader's clearance are hidden here too."""

from __future__ import annotations

from loopcrm.modules.customers.schemas import FieldChange
from loopcrm.modules.customers.service import accounts, contacts, records
from loopcrm.modules.customers.service.object_types import ACCOUNT, CONTACT
from loopcrm.platform.audit.service import entries_of_record
from loopcrm.platform.permissions import Action, Actor, SecurityLevel, get_object_type
from loopcrm.platform.unit_of_work import UnitOfWork

MAX_ENTRIES = 500


def field_history(uow: UnitOfWork, actor: Actor, record_kind: str, record_id: str) -> list[FieldChange]:
    """Changes of the record, newest first; reading it needs only read access to the record."""
    object_type = ACCOUNT if record_kind == "account" else CONTACT
    with uow:
        (accounts.load if record_kind == "account" else contacts.load)(uow, actor, record_id, Action.READ)
        levels = {
            **get_object_type(object_type.key).field_levels,
            **records.custom_levels(uow.session, record_kind),
        }
        entries = entries_of_record(uow.session, object_type.key, record_id, limit=MAX_ENTRIES)
        changes = []
        for entry in entries:
            if entry.action == "read" or not isinstance(entry.changes, dict):
                continue
            for field, values in sorted(entry.changes.items()):
                old, new = [*values, None, None][:2] if isinstance(values, list) else (None, values)
                if levels.get(field, SecurityLevel.PUBLIC) > actor.clearance:
                    old = new = None if old is None and new is None else "••••"
                changes.append(
                    FieldChange(
                        at=entry.at,
                        actor=entry.actor_label,
                        action=entry.action,
                        field=field,
                        old=old,
                        new=new,
                    )
                )
        return changes
