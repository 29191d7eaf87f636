"""Use cases of accounts (companies): create, read, change, delete and restore, relationships
between accounts, and the hierarchy of parent companies."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from loopcrm.modules.customers.identifiers import domain_of
from loopcrm.modules.customers.models import Account, AccountRelationship, RecordKind
from loopcrm.modules.customers.names import normalize_name_for_matching
from loopcrm.modules.customers.schemas import (
    AccountCreate,
    AccountOut,
    AccountUpdate,
    RelationshipIn,
    RelationshipOut,
)
from loopcrm.modules.customers.service import records
from loopcrm.modules.customers.service.custom_fields import clean_values
from loopcrm.modules.customers.service.duplicates import find_duplicates
from loopcrm.modules.customers.service.object_types import ACCOUNT
from loopcrm.platform.audit.models import AuditAction
from loopcrm.platform.audit.service import record_change
from loopcrm.platform.errors import NotFound, ValidationFailed
from loopcrm.platform.i18n import N_
from loopcrm.platform.permissions import (
    Action,
    Actor,
    SecurityLevel,
    can_reach_record,
    require,
)
from loopcrm.platform.unit_of_work import UnitOfWork

KIND = RecordKind.ACCOUNT.value
# Plain columns an update copies from the input as they are.
_COLUMNS = (
    "name",
    "name_en",
    "credit_code",
    "industry",
    "employee_count",
    "annual_revenue",
    "province",
    "city",
    "address",
    "website",
    "legal_representative",
    "operating_status",
    "parent_id",
    "source",
    "owner_id",
    "team_id",
    "external_id",
    "description",
)
MAX_HIERARCHY_DEPTH = 20


def values_of(session: Session, account: Account) -> dict[str, Any]:
    points = records.contact_points_of(session, KIND, [account.id])[account.id]
    return row_values(account, points, records.tags_of(session, KIND, [account.id])[account.id])


def row_values(account: Account, points: dict[str, Any], tags: list[Any]) -> dict[str, Any]:
    """Every field of the account as the API shows it, before masking."""
    values = {name: getattr(account, name) for name in _COLUMNS}
    values.update(
        id=account.id,
        domain=account.domain,
        phones=points["phones"],
        emails=points["emails"],
        tags=tags,
        custom_fields=dict(account.custom_fields or {}),
        created_at=account.created_at,
        updated_at=account.updated_at,
        created_by=account.created_by,
        updated_by=account.updated_by,
        deleted_at=account.deleted_at,
        version=account.version,
    )
    return values


def account_out(
    uow: UnitOfWork,
    actor: Actor,
    account: Account,
    values: dict[str, Any],
    levels: dict[str, SecurityLevel],
    *,
    is_read: bool = True,
) -> AccountOut:
    session = uow.session
    names = records.user_names(session, [account.owner_id])
    parent_name = None
    if account.parent_id:
        parent_name = session.scalar(select(Account.name).where(Account.id == account.parent_id))
    shown = records.present(uow, actor, ACCOUNT.key, account.id, dict(values), levels, is_read=is_read)
    return AccountOut(
        **shown.values,
        owner_name=names.get(account.owner_id or ""),
        parent_name=parent_name,
        masked_fields=list(shown.masked),
    )


def _check_parent(session: Session, account_id: str | None, parent_id: str | None) -> None:
    """The parent must exist and must not be the account itself or one of its descendants.

    Walked without autoflush: an update has already set the new parent id, and flushing an
    unknown one would break the foreign key (a server error) instead of answering this error.
    """
    if parent_id is None:
        return
    seen: set[str] = set()
    current: str | None = parent_id
    with session.no_autoflush:
        while current is not None:
            if current == account_id or current in seen or len(seen) > MAX_HIERARCHY_DEPTH:
                raise ValidationFailed.single(
                    "parent_id", "An account cannot be its own parent or its descendants' child", "cycle"
                )
            seen.add(current)
            parent = session.get(Account, current)
            if parent is None or parent.deleted_at is not None:
                if current == parent_id:
                    raise ValidationFailed.single("parent_id", "No account has this id", "unknown_account")
                break
            current = parent.parent_id


def apply_derived(account: Account) -> None:
    """Set what is worked out from the account's own fields: domain, matching key, search text."""
    account.domain = domain_of(account.website) if account.website else None
    account.name_key = normalize_name_for_matching(account.name)
    account.search_text = records.build_search_text(
        [account.name, account.name_en], [account.credit_code, account.external_id]
    )


def create_account(uow: UnitOfWork, actor: Actor, data: AccountCreate) -> AccountOut:
    """Create an account; the creator owns it unless another owner is given."""
    require(actor, ACCOUNT.key, Action.CREATE)
    owner_id = data.owner_id if "owner_id" in data.model_fields_set else actor.user_id
    with uow:
        session = uow.session
        records.check_owner_and_team(session, actor, ACCOUNT.key, Action.CREATE, owner_id, data.team_id)
        _check_parent(session, None, data.parent_id)
        tag_ids = records.check_tags(session, data.tag_ids)
        custom = clean_values(session, KIND, data.custom_fields)
        account = Account(
            **{name: records.plain(getattr(data, name)) for name in _COLUMNS if name != "owner_id"},
            owner_id=owner_id,
            custom_fields=custom,
            created_by=actor.user_id,
            updated_by=actor.user_id,
        )
        apply_derived(account)
        session.add(account)
        records.flush(session)
        records.set_contact_points(session, KIND, account.id, data.phones, data.emails)
        records.set_tags(session, KIND, account.id, tag_ids)
        records.flush(session)
        values = values_of(session, account)
        record_change(
            uow,
            actor,
            AuditAction.CREATE,
            ACCOUNT.key,
            account.id,
            {
                name: [None, value]
                for name, value in records.audit_snapshot(values).items()
                if value not in (None, [], "")
            },
        )
        records.notify_new_owner(uow, actor, KIND, account.id, account.name, account.owner_id)
        result = account_out(uow, actor, account, values, records.custom_levels(session, KIND), is_read=False)
        result.possible_duplicates = find_duplicates(uow, actor, KIND, data, exclude_id=account.id)
        uow.commit()
        return result


def load(uow: UnitOfWork, actor: Actor, account_id: str, action: Action, *, deleted: bool = False) -> Account:
    """The account if the actor may reach it for ``action``; a record the actor may not even read
    is "not found", so its existence does not leak."""
    return records.load_record(
        uow,
        actor,
        Account,
        ACCOUNT.key,
        account_id,
        action,
        deleted=deleted,
        not_found=N_("Account not found"),
    )


def get_account(uow: UnitOfWork, actor: Actor, account_id: str) -> AccountOut:
    require(actor, ACCOUNT.key, Action.READ)
    with uow:
        account = load(uow, actor, account_id, Action.READ)
        session = uow.session
        result = account_out(
            uow, actor, account, values_of(session, account), records.custom_levels(session, KIND)
        )
        uow.commit()  # the audit entry of a sensitive read
        return result


def update_account(
    uow: UnitOfWork,
    actor: Actor,
    account_id: str,
    data: AccountUpdate,
    *,
    expected_version: int | None = None,
) -> AccountOut:
    """Change the fields given; others stay. Masked fields cannot be changed by whoever cannot see them."""
    with uow:
        account = load(uow, actor, account_id, Action.UPDATE)
        update = records.begin_update(uow, actor, account, KIND, data, _COLUMNS, values_of, expected_version)
        if "name" in update.given and not account.name:
            raise ValidationFailed.single("name", "This field is required", "required")
        update.check_owner_and_team()
        if "parent_id" in update.given:
            _check_parent(uow.session, account.id, account.parent_id)
        update.set_shared_fields()
        apply_derived(account)
        after = update.finish(account.name)
        result = account_out(uow, actor, account, after, update.levels, is_read=False)
        uow.commit()
        return result


def delete_account(
    uow: UnitOfWork, actor: Actor, account_id: str, *, expected_version: int | None = None
) -> None:
    """Hide the account (soft delete, audited); it can be restored."""
    with uow:
        account = load(uow, actor, account_id, Action.DELETE)
        records.mark_deleted(uow, actor, account, ACCOUNT.key, expected_version)
        uow.commit()


def restore_account(uow: UnitOfWork, actor: Actor, account_id: str) -> AccountOut:
    """Bring a deleted account back, unless its credit code or external id was taken meanwhile."""
    with uow:
        session = uow.session
        account = load(uow, actor, account_id, Action.DELETE, deleted=True)
        records.mark_restored(uow, actor, account, ACCOUNT.key)
        result = account_out(
            uow,
            actor,
            account,
            values_of(session, account),
            records.custom_levels(session, KIND),
            is_read=False,
        )
        uow.commit()
        return result


# ---------------------------------------------------------------- relationships


def _relationship_out(relationship: AccountRelationship, names: dict[str, str]) -> RelationshipOut:
    """The relationship as shown, ``names`` holding the names of both its accounts by id."""
    return RelationshipOut(
        id=relationship.id,
        from_account_id=relationship.from_account_id,
        from_account_name=names.get(relationship.from_account_id, ""),
        to_account_id=relationship.to_account_id,
        to_account_name=names.get(relationship.to_account_id, ""),
        kind=relationship.kind,  # type: ignore[arg-type]
        note=relationship.note,
    )


def add_relationship(uow: UnitOfWork, actor: Actor, account_id: str, data: RelationshipIn) -> RelationshipOut:
    """Record that this account is a customer, partner, supplier or competitor of another."""
    with uow:
        session = uow.session
        account = load(uow, actor, account_id, Action.UPDATE)
        try:
            other = load(uow, actor, data.to_account_id, Action.READ)
        except NotFound:
            raise ValidationFailed.single(
                "to_account_id", "No account has this id", "unknown_account"
            ) from None
        if other.id == account.id:
            raise ValidationFailed.single("to_account_id", "An account cannot relate to itself", "self")
        exists = session.scalar(
            select(AccountRelationship.id).where(
                AccountRelationship.from_account_id == account.id,
                AccountRelationship.to_account_id == other.id,
                AccountRelationship.kind == data.kind.value,
            )
        )
        if exists:
            raise ValidationFailed.single("to_account_id", "This relationship already exists", "duplicate")
        relationship = AccountRelationship(
            from_account_id=account.id, to_account_id=other.id, kind=data.kind.value, note=data.note
        )
        session.add(relationship)
        session.flush()
        record_change(
            uow,
            actor,
            AuditAction.UPDATE,
            ACCOUNT.key,
            account.id,
            {"relationships": [None, f"{data.kind.value} {other.name}"]},
        )
        result = _relationship_out(relationship, {account.id: account.name, other.id: other.name})
        uow.commit()
        return result


def list_relationships(uow: UnitOfWork, actor: Actor, account_id: str) -> list[RelationshipOut]:
    """Relationships from and to the account, with the other accounts the actor may read."""
    with uow:
        session = uow.session
        account = load(uow, actor, account_id, Action.READ)
        relationships = session.scalars(
            select(AccountRelationship)
            .where(
                (AccountRelationship.from_account_id == account.id)
                | (AccountRelationship.to_account_id == account.id)
            )
            .order_by(AccountRelationship.id)
        ).all()
        other_ids = {
            relationship.to_account_id
            if relationship.from_account_id == account.id
            else relationship.from_account_id
            for relationship in relationships
        }
        readable = {account.id: account.name}
        if other_ids:
            for other in session.scalars(
                select(Account).where(Account.id.in_(sorted(other_ids)), Account.deleted_at.is_(None))
            ):
                if can_reach_record(
                    actor, ACCOUNT.key, Action.READ, owner_id=other.owner_id, team_id=other.team_id
                ):
                    readable[other.id] = other.name
        return [
            _relationship_out(relationship, readable)
            for relationship in relationships
            if relationship.from_account_id in readable and relationship.to_account_id in readable
        ]


def remove_relationship(uow: UnitOfWork, actor: Actor, account_id: str, relationship_id: int) -> None:
    with uow:
        session = uow.session
        account = load(uow, actor, account_id, Action.UPDATE)
        relationship = session.get(AccountRelationship, relationship_id)
        if relationship is None or account.id not in (
            relationship.from_account_id,
            relationship.to_account_id,
        ):
            raise NotFound("Relationship not found")
        names = session.execute(
            select(Account.id, Account.name).where(
                Account.id.in_([relationship.from_account_id, relationship.to_account_id])
            )
        )
        description = _relationship_out(relationship, {key: value for key, value in names})
        session.delete(relationship)
        record_change(
            uow,
            actor,
            AuditAction.UPDATE,
            ACCOUNT.key,
            account.id,
            {"relationships": [f"{description.kind.value} {description.to_account_name}", None]},
        )
        uow.commit()


def child_accounts(uow: UnitOfWork, actor: Actor, account_id: str) -> list[tuple[str, str]]:
    """``(id, name)`` of the account's direct subsidiaries the actor may read."""
    with uow:
        load(uow, actor, account_id, Action.READ)
        rows = uow.session.execute(
            select(Account.id, Account.name, Account.owner_id, Account.team_id)
            .where(Account.parent_id == account_id, Account.deleted_at.is_(None))
            .order_by(Account.name)
        )
        return [
            (row.id, row.name)
            for row in rows
            if can_reach_record(actor, ACCOUNT.key, Action.READ, owner_id=row.owner_id, team_id=row.team_id)
        ]
