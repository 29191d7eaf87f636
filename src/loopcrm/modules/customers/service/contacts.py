"""Use cases of contacts (people): create, read, change, delete and restore, and where they work.

A contact's name is kept in three more forms the service derives on every write: the display
name (王芳 / Jane Doe), full pinyin and pinyin initials (so "wf" finds 王芳), and the matching
key duplicate detection compares.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from loopcrm.modules.customers.models import Account, Contact, Employment, RecordKind
from loopcrm.modules.customers.names import display_name, normalize_name_for_matching, pinyin_keys
from loopcrm.modules.customers.schemas import (
    ContactCreate,
    ContactOut,
    ContactUpdate,
    EmploymentIn,
    EmploymentOut,
)
from loopcrm.modules.customers.service import records
from loopcrm.modules.customers.service.custom_fields import clean_values
from loopcrm.modules.customers.service.duplicates import find_duplicates
from loopcrm.modules.customers.service.object_types import ACCOUNT, CONTACT
from loopcrm.platform.audit.models import AuditAction
from loopcrm.platform.audit.service import record_change
from loopcrm.platform.db import utc_now
from loopcrm.platform.errors import FieldError, ValidationFailed
from loopcrm.platform.i18n import N_
from loopcrm.platform.permissions import (
    Action,
    Actor,
    SecurityLevel,
    can_reach_record,
    require,
)
from loopcrm.platform.unit_of_work import UnitOfWork

KIND = RecordKind.CONTACT.value
_COLUMNS = (
    "family_name",
    "given_name",
    "gender",
    "title",
    "department",
    "wechat_id",
    "province",
    "city",
    "address",
    "birthday",
    "source",
    "owner_id",
    "team_id",
    "external_id",
    "description",
    "email_opt_in",
    "sms_opt_in",
    "wechat_opt_in",
)
_CONSENTS = ("email_opt_in", "sms_opt_in", "wechat_opt_in")


def employments_of(session: Session, contact_ids: Sequence[str]) -> dict[str, list[EmploymentOut]]:
    """Where each contact works and worked: current jobs first, then by start date, newest first."""
    found: dict[str, list[EmploymentOut]] = {contact_id: [] for contact_id in contact_ids}
    if not contact_ids:
        return found
    rows = session.execute(
        select(Employment, Account.name)
        .join(Account, Account.id == Employment.account_id)
        .where(Employment.contact_id.in_(sorted(set(contact_ids))))
        .order_by(
            Employment.ended_on.is_not(None), Employment.is_primary.desc(), Employment.started_on.desc()
        )
    )
    for employment, account_name in rows:
        found[employment.contact_id].append(
            EmploymentOut(
                account_id=employment.account_id,
                account_name=account_name,
                title=employment.title,
                started_on=employment.started_on,
                ended_on=employment.ended_on,
                is_primary=employment.is_primary,
            )
        )
    return found


def values_of(session: Session, contact: Contact) -> dict[str, Any]:
    points = records.contact_points_of(session, KIND, [contact.id])[contact.id]
    tags = records.tags_of(session, KIND, [contact.id])[contact.id]
    return row_values(contact, points, tags, employments_of(session, [contact.id])[contact.id])


def row_values(
    contact: Contact, points: dict[str, Any], tags: list[Any], employments: list[EmploymentOut]
) -> dict[str, Any]:
    """Every field of the contact as the API shows it, before masking."""
    values = {name: getattr(contact, name) for name in _COLUMNS}
    values.update(
        id=contact.id,
        full_name=contact.full_name,
        name_pinyin=contact.name_pinyin,
        name_initials=contact.name_initials,
        phones=points["phones"],
        emails=points["emails"],
        tags=tags,
        employments=employments,
        consent_updated_at=contact.consent_updated_at,
        custom_fields=dict(contact.custom_fields or {}),
        created_at=contact.created_at,
        updated_at=contact.updated_at,
        created_by=contact.created_by,
        updated_by=contact.updated_by,
        deleted_at=contact.deleted_at,
        version=contact.version,
    )
    return values


def contact_out(
    uow: UnitOfWork,
    actor: Actor,
    contact: Contact,
    values: dict[str, Any],
    levels: dict[str, SecurityLevel],
    *,
    owner_names: dict[str, str] | None = None,
    is_read: bool = True,
) -> ContactOut:
    names = owner_names if owner_names is not None else records.user_names(uow.session, [contact.owner_id])
    shown = records.present(uow, actor, CONTACT.key, contact.id, dict(values), levels, is_read=is_read)
    return ContactOut(
        **shown.values, owner_name=names.get(contact.owner_id or ""), masked_fields=list(shown.masked)
    )


def _set_employments(
    uow: UnitOfWork, actor: Actor, contact_id: str, employments: Sequence[EmploymentIn]
) -> None:
    """Replace where the contact works. An account new to the contact must be live and readable by
    the actor; a job the contact already has may stay even when its account was deleted since or is
    out of the actor's reach (saving a contact must not fail on a job nobody is changing)."""
    session = uow.session
    held = set(session.scalars(select(Employment.account_id).where(Employment.contact_id == contact_id)))
    errors = []
    for index, employment in enumerate(employments):
        if employment.account_id in held:
            continue
        account = session.get(Account, employment.account_id)
        if (
            account is None
            or account.deleted_at is not None
            or not can_reach_record(
                actor, ACCOUNT.key, Action.READ, owner_id=account.owner_id, team_id=account.team_id
            )
        ):
            errors.append(
                FieldError(f"employments.{index}.account_id", "No account has this id", "unknown_account")
            )
    if errors:
        raise ValidationFailed(errors)
    session.execute(delete(Employment).where(Employment.contact_id == contact_id))
    current = [employment for employment in employments if employment.ended_on is None]
    primary = next((e for e in current if e.is_primary), current[0] if current else None)
    for employment in employments:
        session.add(
            Employment(
                contact_id=contact_id,
                account_id=employment.account_id,
                title=employment.title,
                started_on=employment.started_on,
                ended_on=employment.ended_on,
                is_primary=employment is primary,
            )
        )


def apply_derived(contact: Contact) -> None:
    """Set what is worked out from the contact's own fields: full name, pinyin, matching key, search text."""
    contact.full_name = display_name(contact.family_name, contact.given_name)
    full_pinyin, initials = pinyin_keys(contact.full_name, family_name_length=len(contact.family_name))
    contact.name_pinyin, contact.name_initials = full_pinyin, initials
    contact.name_key = normalize_name_for_matching(contact.full_name)
    contact.search_text = records.build_search_text([contact.full_name], [contact.external_id])


def create_contact(uow: UnitOfWork, actor: Actor, data: ContactCreate) -> ContactOut:
    """Create a contact; the creator owns it unless another owner is given."""
    require(actor, CONTACT.key, Action.CREATE)
    owner_id = data.owner_id if "owner_id" in data.model_fields_set else actor.user_id
    with uow:
        session = uow.session
        records.check_owner_and_team(session, actor, CONTACT.key, Action.CREATE, owner_id, data.team_id)
        tag_ids = records.check_tags(session, data.tag_ids)
        custom = clean_values(session, KIND, data.custom_fields)
        contact = Contact(
            **{name: records.plain(getattr(data, name)) for name in _COLUMNS if name != "owner_id"},
            owner_id=owner_id,
            custom_fields=custom,
            consent_updated_at=utc_now() if any(getattr(data, name) for name in _CONSENTS) else None,
            created_by=actor.user_id,
            updated_by=actor.user_id,
        )
        apply_derived(contact)
        session.add(contact)
        records.flush(session)
        records.set_contact_points(session, KIND, contact.id, data.phones, data.emails)
        records.set_tags(session, KIND, contact.id, tag_ids)
        _set_employments(uow, actor, contact.id, data.employments)
        records.flush(session)
        values = values_of(session, contact)
        record_change(
            uow,
            actor,
            AuditAction.CREATE,
            CONTACT.key,
            contact.id,
            {
                name: [None, value]
                for name, value in records.audit_snapshot(values).items()
                if value not in (None, [], "", False)
            },
        )
        records.notify_new_owner(uow, actor, KIND, contact.id, contact.full_name, contact.owner_id)
        result = contact_out(uow, actor, contact, values, records.custom_levels(session, KIND), is_read=False)
        result.possible_duplicates = find_duplicates(uow, actor, KIND, data, exclude_id=contact.id)
        uow.commit()
        return result


def load(uow: UnitOfWork, actor: Actor, contact_id: str, action: Action, *, deleted: bool = False) -> Contact:
    """The contact if the actor may reach it for ``action``; one the actor may not read is "not found"."""
    return records.load_record(
        uow,
        actor,
        Contact,
        CONTACT.key,
        contact_id,
        action,
        deleted=deleted,
        not_found=N_("Contact not found"),
    )


def get_contact(uow: UnitOfWork, actor: Actor, contact_id: str) -> ContactOut:
    require(actor, CONTACT.key, Action.READ)
    with uow:
        contact = load(uow, actor, contact_id, Action.READ)
        session = uow.session
        result = contact_out(
            uow, actor, contact, values_of(session, contact), records.custom_levels(session, KIND)
        )
        uow.commit()  # the audit entry of a sensitive read
        return result


def update_contact(
    uow: UnitOfWork,
    actor: Actor,
    contact_id: str,
    data: ContactUpdate,
    *,
    expected_version: int | None = None,
) -> ContactOut:
    """Change the fields given; others stay. Changing a consent stamps when it changed."""
    with uow:
        contact = load(uow, actor, contact_id, Action.UPDATE)
        update = records.begin_update(uow, actor, contact, KIND, data, _COLUMNS, values_of, expected_version)
        if not (contact.family_name or contact.given_name):
            raise ValidationFailed.single(
                "family_name", "A contact needs a family name or a given name", "required"
            )
        update.check_owner_and_team()
        update.set_shared_fields()
        if "employments" in update.given:
            _set_employments(uow, actor, contact.id, data.employments)
        if any(update.before[name] != getattr(contact, name) for name in _CONSENTS):
            contact.consent_updated_at = utc_now()
        apply_derived(contact)
        after = update.finish(contact.full_name)
        result = contact_out(uow, actor, contact, after, update.levels, is_read=False)
        uow.commit()
        return result


def delete_contact(
    uow: UnitOfWork, actor: Actor, contact_id: str, *, expected_version: int | None = None
) -> None:
    """Hide the contact (soft delete, audited); it can be restored."""
    with uow:
        contact = load(uow, actor, contact_id, Action.DELETE)
        records.mark_deleted(uow, actor, contact, CONTACT.key, expected_version)
        uow.commit()


def restore_contact(uow: UnitOfWork, actor: Actor, contact_id: str) -> ContactOut:
    with uow:
        session = uow.session
        contact = load(uow, actor, contact_id, Action.DELETE, deleted=True)
        records.mark_restored(uow, actor, contact, CONTACT.key)
        result = contact_out(
            uow,
            actor,
            contact,
            values_of(session, contact),
            records.custom_levels(session, KIND),
            is_read=False,
        )
        uow.commit()
        return result


def contact_ids_of_account(uow: UnitOfWork, actor: Actor, account_id: str) -> list[str]:
    """Ids of the contacts who work or worked at the account and whom the actor may read
    (for the account's timeline, which includes its contacts' activities)."""
    rows = uow.session.execute(
        select(Contact.id, Contact.owner_id, Contact.team_id)
        .join(Employment, Employment.contact_id == Contact.id)
        .where(Employment.account_id == account_id, Contact.deleted_at.is_(None))
        .distinct()
    )
    return [
        row.id
        for row in rows
        if can_reach_record(actor, CONTACT.key, Action.READ, owner_id=row.owner_id, team_id=row.team_id)
    ]
