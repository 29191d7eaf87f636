"""A record's field history, read from the audit log: who changed which field, when, from what
to what. Values of fields above the reader's clearance are hidden here too.

The audit log keeps every column the service wrote, among them keys the service derives from
the fields a person edits (pinyin, matching and search keys, the full name, the domain) and the
stamps of every write. Those change whenever their source does, so listing them would only
repeat a change in a form nobody typed; the history leaves them out. Values that are ids (owner,
team, parent account, user custom fields) come with the name a person knows them by.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from loopcrm.modules.customers.models import Account, CustomFieldKind
from loopcrm.modules.customers.schemas import FieldChange
from loopcrm.modules.customers.service import accounts, contacts, records
from loopcrm.modules.customers.service.custom_fields import CUSTOM_FIELD_PREFIX, definitions
from loopcrm.modules.customers.service.object_types import OBJECT_TYPE_OF_KIND
from loopcrm.platform.audit.service import entries_of_record
from loopcrm.platform.auth.models import Team
from loopcrm.platform.permissions import Action, Actor, SecurityLevel
from loopcrm.platform.unit_of_work import UnitOfWork

MAX_ENTRIES = 500
MASK = "••••"

# Keys the service derives from other fields (they change with the name, the website or a
# consent), and the stamps every write moves: never a change of their own.
DERIVED_FIELDS = frozenset(
    {
        "full_name",
        "name_pinyin",
        "name_initials",
        "name_key",
        "search_text",
        "domain",
        "consent_updated_at",
        "id",
        "created_at",
        "updated_at",
        "created_by",
        "updated_by",
        "version",
    }
)


def _names(
    session: Session, kind_of_field: dict[str, str], changes: list[FieldChange]
) -> dict[str, dict[str, str]]:
    """``{"user"|"team"|"account": {id: name}}`` for the ids the changes hold."""
    wanted: dict[str, set[str]] = {"user": set(), "team": set(), "account": set()}
    for change in changes:
        kind = kind_of_field.get(change.field)
        if kind is not None:
            wanted[kind] |= {value for value in (change.old, change.new) if isinstance(value, str) and value}
    return {
        "user": records.user_names(session, wanted["user"]),
        "team": _rows(session, Team.id, Team.name, wanted["team"]),
        "account": _rows(session, Account.id, Account.name, wanted["account"]),
    }


def _rows(session: Session, key: Any, name: Any, ids: set[str]) -> dict[str, str]:
    if not ids:
        return {}
    statement = select(key, name).where(key.in_(sorted(ids)))
    return {row_id: row_name for row_id, row_name in session.execute(statement)}


def field_history(uow: UnitOfWork, actor: Actor, record_kind: str, record_id: str) -> list[FieldChange]:
    """Changes of the record, newest first; reading it needs only read access to the record.

    Derived keys and write stamps are left out (see :data:`DERIVED_FIELDS`); an owner, team,
    parent account or user custom field carries the name of its old and new value besides the id.
    """
    object_type = OBJECT_TYPE_OF_KIND[record_kind]
    with uow:
        session = uow.session
        (accounts.load if record_kind == "account" else contacts.load)(uow, actor, record_id, Action.READ)
        custom = definitions(session, record_kind)
        levels = {
            **object_type.field_levels,
            **records.custom_levels(session, record_kind),
        }
        kind_of_field = {"owner_id": "user", "team_id": "team", "parent_id": "account"}
        kind_of_field.update(
            {
                CUSTOM_FIELD_PREFIX + field.key: "user"
                for field in custom
                if field.kind == CustomFieldKind.USER
            }
        )
        entries = entries_of_record(session, object_type.key, record_id, limit=MAX_ENTRIES)
        changes = []
        for entry in entries:
            if entry.action == "read" or not isinstance(entry.changes, dict):
                continue
            for field, values in sorted(entry.changes.items()):
                if field in DERIVED_FIELDS:
                    continue
                old, new = [*values, None, None][:2] if isinstance(values, list) else (None, values)
                if levels.get(field, SecurityLevel.PUBLIC) > actor.clearance:
                    old = new = None if old is None and new is None else MASK
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
        names = _names(session, kind_of_field, changes)
        for change in changes:
            kind = kind_of_field.get(change.field)
            if kind is not None:
                change.old_label = names[kind].get(change.old) if isinstance(change.old, str) else None
                change.new_label = names[kind].get(change.new) if isinstance(change.new, str) else None
        return changes
