"""Writing the demo plan into the database, as the demo admin, in one unit of work.

Creating 6,000 records one service call at a time costs a transaction each (about 5 ms per account
and 6 ms per contact on SQLite here, over 30 s in all), so the loader builds the rows in a single
unit of work instead, with the same rules as ``create_account`` and ``create_contact``:

* every record is read through the API's input schemas (``AccountCreate``, ``ContactCreate``,
  ``RelationshipIn``), which normalise phones, emails, websites and credit codes and refuse what
  the API refuses;
* custom field values go through ``clean_values``, owners and teams through
  ``check_owner_and_team``, tags through ``check_tags``, parents through the hierarchy check;
* derived columns (domain, name keys, pinyin, search text), phones and emails, tags and jobs are
  written by the service's own helpers (``apply_derived``, ``set_contact_points``, ``set_tags``,
  ``_set_employments``);
* every record gets the same "created" audit entry the service writes, by the demo admin, so the
  field history of a demo record starts like any other (relationships get theirs too).

What the service does on create and the loader leaves out, on purpose: the duplicate hints of the
create response (nothing is stored; the planted duplicates are for the duplicate finder), and the
"assigned to you" notification per record: the demo sends only the three newest per owner, so a
rep's bell shows a few notices instead of hundreds.

Tags and custom field definitions are few and go through the service functions themselves.
``tests/customers/test_demo_data.py`` compares a loaded record with the same input created by the
service, so the two paths cannot drift apart unnoticed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from loopcrm.modules.customers.demo.plan import (
    CUSTOM_FIELDS,
    DEMO_ACCOUNTS,
    DEMO_CONTACTS,
    DEMO_SEED,
    TAGS,
    plan_demo_customers,
)
from loopcrm.modules.customers.demo.planned import DemoPlan, RelationshipPlan
from loopcrm.modules.customers.models import Account, AccountRelationship, Contact, RecordKind
from loopcrm.modules.customers.schemas import AccountCreate, ContactCreate, RelationshipIn
from loopcrm.modules.customers.service import accounts as account_rules
from loopcrm.modules.customers.service import contacts as contact_rules
from loopcrm.modules.customers.service import (
    create_custom_field,
    create_tag,
    list_custom_fields,
    list_tags,
    records,
)
from loopcrm.modules.customers.service.custom_fields import clean_values, definitions
from loopcrm.modules.customers.service.object_types import ACCOUNT, CONTACT
from loopcrm.platform.audit.models import AuditAction
from loopcrm.platform.audit.service import record_change
from loopcrm.platform.auth.demo import DEMO_ADMIN_EMAIL, DEMO_TEAMS
from loopcrm.platform.auth.models import Team, User
from loopcrm.platform.auth.service import actor_for_user
from loopcrm.platform.db import new_id, utc_now
from loopcrm.platform.permissions import Action, Actor
from loopcrm.platform.unit_of_work import UnitOfWork

# Records are written, audited and let go in chunks of this many (see _finish_chunk).
_CHUNK = 500
NOTIFIED_PER_OWNER = 3


@dataclass(frozen=True)
class DemoCustomers:
    """What the loader did. ``subjects`` are ``(subject_type, subject_id, owner_user_id)`` of
    every account and contact it created, for the activities demo to give them a history."""

    created: bool  # False when the demo customers were already there
    accounts: int = 0
    contacts: int = 0
    subjects: list[tuple[str, str, str]] = field(default_factory=list)


def load_demo_customers(
    new_uow: Callable[[], UnitOfWork],
    *,
    seed: int = DEMO_SEED,
    accounts: int = DEMO_ACCOUNTS,
    contacts: int = DEMO_CONTACTS,
    today: date | None = None,
) -> DemoCustomers:
    """Create the demo customers once, as the demo admin; running it again changes nothing.

    Needs the demo people (``create_demo_people``). The demo admin having created any account is
    the marker that the demo customers exist: the records are written in one transaction, so they
    are either all there or none are.
    """
    with new_uow() as uow:
        admin_id = uow.session.scalar(select(User.id).where(User.email == DEMO_ADMIN_EMAIL))
        if admin_id is None:
            raise RuntimeError("the demo people must be created before the demo customers")
        if uow.session.scalar(select(Account.id).where(Account.created_by == admin_id).limit(1)):
            return DemoCustomers(created=False)
    actor = actor_for_user(new_uow(), admin_id)
    plan = plan_demo_customers(seed, accounts=accounts, contacts=contacts, today=today or utc_now().date())
    tag_ids = _ensure_tags(new_uow, actor)
    _ensure_custom_fields(new_uow, actor)
    with new_uow() as uow:
        subjects = _write(uow, actor, plan, tag_ids)
        uow.commit()
    return DemoCustomers(True, len(plan.accounts), len(plan.contacts), subjects)


def _ensure_tags(new_uow: Callable[[], UnitOfWork], actor: Actor) -> dict[str, str]:
    """The demo tags' ids by name, creating the ones missing (a tag of that name may exist)."""
    existing = {tag.name: tag.id for tag in list_tags(new_uow(), actor)}
    for tag in TAGS:
        if tag.name not in existing:
            existing[tag.name] = create_tag(new_uow(), actor, tag).id
    return existing


def _ensure_custom_fields(new_uow: Callable[[], UnitOfWork], actor: Actor) -> None:
    existing = {(field.record_kind, field.key) for field in list_custom_fields(new_uow(), actor)}
    for definition in CUSTOM_FIELDS:
        if (definition.record_kind, definition.key) not in existing:
            create_custom_field(new_uow(), actor, definition)


def _ids_by(session: Session, column: Any, key: Any, names: Iterable[str]) -> dict[str, str]:
    wanted = sorted(set(names))
    found = {name: value for name, value in session.execute(select(key, column).where(key.in_(wanted)))}
    missing = [name for name in wanted if name not in found]
    if missing:
        raise RuntimeError(f"the demo people or teams are incomplete: {', '.join(missing)} missing")
    return found


def _write(
    uow: UnitOfWork, actor: Actor, plan: DemoPlan, tag_ids: dict[str, str]
) -> list[tuple[str, str, str]]:
    session = uow.session
    owners = [account.owner for account in plan.accounts] + [contact.owner for contact in plan.contacts]
    people = _ids_by(session, User.id, User.email, owners)
    teams = _ids_by(session, Team.id, Team.name, DEMO_TEAMS)
    checked: set[tuple[str, str, str | None]] = set()

    def owner_and_team(object_type: str, owner: str, team: str | None) -> dict[str, str | None]:
        owner_id, team_id = people[owner], teams[team] if team else None
        if (object_type, owner_id, team_id) not in checked:
            records.check_owner_and_team(session, actor, object_type, Action.CREATE, owner_id, team_id)
            checked.add((object_type, owner_id, team_id))
        return {"owner_id": owner_id, "team_id": team_id}

    # The helpers' DELETEs (replacing phones, tags and jobs) never match a row of a new record, so
    # there is nothing in the session to synchronise with them; skipping the search saves seconds.
    session.execution_options = session.execution_options.union({"synchronize_session": False})
    # Ids are drawn up front so parents, jobs and relationships can name accounts not written yet.
    account_ids = [new_id() for _ in plan.accounts]
    account_names: list[str] = []
    subjects: list[tuple[str, str, str]] = []
    with session.no_autoflush:
        for chunk in _chunks(range(len(plan.accounts))):
            rows: list[Account] = []
            for index in chunk:
                item = plan.accounts[index]
                parent_id = account_ids[item.parent] if item.parent is not None else None
                if parent_id is not None and parent_id in {row.id for row in rows}:
                    records.flush(session)  # the hierarchy check reads the parent back
                data = AccountCreate.model_validate(
                    {
                        **item.payload,
                        **owner_and_team(ACCOUNT.key, item.owner, item.team),
                        "parent_id": parent_id,
                        "tag_ids": [tag_ids[name] for name in item.tags],
                    }
                )
                rows.append(_add_account(session, actor, account_ids[index], data))
                account_names.append(rows[-1].name)
            _finish_chunk(uow, actor, rows, [])
            subjects += [(RecordKind.ACCOUNT.value, row.id, row.owner_id or "") for row in rows]
        _notify_owners(uow, actor, account_ids, account_names, plan)
        for chunk in _chunks(range(len(plan.contacts))):
            people_rows: list[Contact] = []
            # Loaded for the job checks, and held so the session keeps them while the chunk is built.
            employers = _load_accounts(
                session, {account_ids[job.account] for i in chunk for job in plan.contacts[i].employments}
            )
            for index in chunk:
                person = plan.contacts[index]
                contact_data = ContactCreate.model_validate(
                    {
                        **person.payload,
                        **owner_and_team(CONTACT.key, person.owner, person.team),
                        "tag_ids": [tag_ids[name] for name in person.tags],
                        "employments": [
                            {
                                "account_id": account_ids[job.account],
                                "title": job.title,
                                "started_on": job.started_on,
                                "ended_on": job.ended_on,
                            }
                            for job in person.employments
                        ],
                    }
                )
                people_rows.append(_add_contact(uow, actor, new_id(), contact_data))
            _finish_chunk(uow, actor, [], people_rows)
            subjects += [(RecordKind.CONTACT.value, row.id, row.owner_id or "") for row in people_rows]
            del employers
        for relationship in plan.relationships:
            _add_relationship(
                uow,
                actor,
                account_ids[relationship.from_account],
                account_ids[relationship.to_account],
                account_names[relationship.to_account],
                relationship,
            )
        records.flush(session)
    return subjects


def _notify_owners(
    uow: UnitOfWork, actor: Actor, account_ids: list[str], account_names: list[str], plan: DemoPlan
) -> None:
    """ "王芳 assigned you …" for each owner's three newest accounts (see the module docstring)."""
    newest: dict[str, list[int]] = {}
    for index in reversed(range(len(plan.accounts))):
        indexes = newest.setdefault(plan.accounts[index].owner, [])
        if len(indexes) < NOTIFIED_PER_OWNER:
            indexes.append(index)
    owners = _ids_by(uow.session, User.id, User.email, newest)
    for owner, indexes in newest.items():
        for index in indexes:
            records.notify_new_owner(
                uow, actor, RecordKind.ACCOUNT.value, account_ids[index], account_names[index], owners[owner]
            )


def _load_accounts(session: Session, account_ids: set[str]) -> list[Account]:
    return list(session.scalars(select(Account).where(Account.id.in_(sorted(account_ids)))))


def _finish_chunk(uow: UnitOfWork, actor: Actor, accounts: list[Account], contacts: list[Contact]) -> None:
    """Write the chunk, audit it, and let the session forget it, so the session (and the work of
    each flush and each ORM statement over its objects) stays the size of a chunk, not of the
    whole demo."""
    session = uow.session
    records.flush(session)
    _audit_creations(uow, actor, accounts, contacts)
    records.flush(session)
    session.expunge_all()


def _custom_values(session: Session, record_kind: str, submitted: dict[str, Any]) -> dict[str, Any]:
    """``clean_values`` of a new record, asked only when it can find something to refuse.

    Without submitted values and without a required field, ``clean_values`` returns ``{}``
    whatever else is defined; skipping that call saves a query for most demo records.
    """
    if not submitted and not _has_required_field(session, record_kind):
        return {}
    return clean_values(session, record_kind, submitted)


def _has_required_field(session: Session, record_kind: str) -> bool:
    cached = session.info.setdefault("demo_required_fields", {})
    if record_kind not in cached:
        cached[record_kind] = any(
            field.is_required for field in definitions(session, record_kind, active_only=True)
        )
    return bool(cached[record_kind])


def _add_account(session: Session, actor: Actor, account_id: str, data: AccountCreate) -> Account:
    """``create_account`` without its own transaction and read-back (see the module docstring)."""
    account_rules._check_parent(session, None, data.parent_id)
    tag_ids = records.check_tags(session, data.tag_ids)
    account = Account(
        **{name: records.plain(getattr(data, name)) for name in account_rules._COLUMNS},
        id=account_id,
        custom_fields=_custom_values(session, RecordKind.ACCOUNT.value, data.custom_fields),
        created_by=actor.user_id,
        updated_by=actor.user_id,
    )
    account_rules.apply_derived(account)
    session.add(account)
    records.set_contact_points(session, RecordKind.ACCOUNT.value, account.id, data.phones, data.emails)
    records.set_tags(session, RecordKind.ACCOUNT.value, account.id, tag_ids)
    return account


def _add_contact(uow: UnitOfWork, actor: Actor, contact_id: str, data: ContactCreate) -> Contact:
    """``create_contact`` without its own transaction and read-back."""
    session = uow.session
    tag_ids = records.check_tags(session, data.tag_ids)
    contact = Contact(
        **{name: records.plain(getattr(data, name)) for name in contact_rules._COLUMNS},
        id=contact_id,
        custom_fields=_custom_values(session, RecordKind.CONTACT.value, data.custom_fields),
        consent_updated_at=utc_now()
        if any(getattr(data, name) for name in contact_rules._CONSENTS)
        else None,
        created_by=actor.user_id,
        updated_by=actor.user_id,
    )
    contact_rules.apply_derived(contact)
    session.add(contact)
    records.set_contact_points(session, RecordKind.CONTACT.value, contact.id, data.phones, data.emails)
    records.set_tags(session, RecordKind.CONTACT.value, contact.id, tag_ids)
    contact_rules._set_employments(uow, actor, contact.id, data.employments)
    return contact


def _add_relationship(
    uow: UnitOfWork, actor: Actor, account_id: str, other_id: str, other_name: str, planned: RelationshipPlan
) -> None:
    """``add_relationship``: the row and the audit line on the account it starts from."""
    data = RelationshipIn.model_validate(
        {"to_account_id": other_id, "kind": planned.kind.value, "note": planned.note}
    )
    uow.session.add(
        AccountRelationship(
            from_account_id=account_id, to_account_id=other_id, kind=data.kind.value, note=data.note
        )
    )
    record_change(
        uow,
        actor,
        AuditAction.UPDATE,
        ACCOUNT.key,
        account_id,
        {"relationships": [None, f"{data.kind.value} {other_name}"]},
    )


def _chunks(rows: Sequence[int]) -> Iterable[Sequence[int]]:
    for start in range(0, len(rows), _CHUNK):
        yield rows[start : start + _CHUNK]


def _audit_creations(uow: UnitOfWork, actor: Actor, accounts: list[Account], contacts: list[Contact]) -> None:
    """One "created" entry per record with the values the service would log, read back in bulk."""
    session = uow.session
    ids = [row.id for row in accounts]
    points = records.contact_points_of(session, RecordKind.ACCOUNT.value, ids)
    tags = records.tags_of(session, RecordKind.ACCOUNT.value, ids)
    for account in accounts:
        values = account_rules.row_values(account, points[account.id], tags[account.id])
        changes = {
            name: [None, value]
            for name, value in records.audit_snapshot(values).items()
            if value not in (None, [], "")
        }
        record_change(uow, actor, AuditAction.CREATE, ACCOUNT.key, account.id, changes)
    ids = [row.id for row in contacts]
    points = records.contact_points_of(session, RecordKind.CONTACT.value, ids)
    tags = records.tags_of(session, RecordKind.CONTACT.value, ids)
    jobs = contact_rules.employments_of(session, ids)
    for contact in contacts:
        values = contact_rules.row_values(contact, points[contact.id], tags[contact.id], jobs[contact.id])
        changes = {
            name: [None, value]
            for name, value in records.audit_snapshot(values).items()
            if value not in (None, [], "", False)
        }
        record_change(uow, actor, AuditAction.CREATE, CONTACT.key, contact.id, changes)
