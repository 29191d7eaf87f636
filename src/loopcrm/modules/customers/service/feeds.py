"""What the customers module tells the CDP's identity graph: contacts changed since a moment
(with their emails, phones and external id), which live contacts hold given contact points, which
account a ``group`` call's group id names, and a contact created inside the caller's transaction.

Every function here runs inside the caller's open unit of work (the identity jobs' transaction);
none commits. The system reads them: no actor, no masking, no audit of reads.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, or_, select

from loopcrm.modules.customers.identifiers import phone_search_key
from loopcrm.modules.customers.models import Account, Contact, ContactPoint, ContactPointKind, RecordKind
from loopcrm.modules.customers.schemas import ContactCreate
from loopcrm.modules.customers.service.contacts import create_contact
from loopcrm.platform.permissions import Actor
from loopcrm.platform.unit_of_work import JoinedUnitOfWork, UnitOfWork

_CONTACT = RecordKind.CONTACT.value
_ACCOUNT = RecordKind.ACCOUNT.value
# Values per IN (...) list: far below SQLite's and PostgreSQL's bound-parameter limits.
_CHUNK = 500


@dataclass(frozen=True)
class ContactFeedItem:
    """One contact as the identity graph sees it: its identifiers and when it last changed."""

    id: str
    external_id: str | None
    emails: tuple[str, ...]  # lower-cased
    phones: tuple[str, ...]  # E.164
    created_at: datetime
    updated_at: datetime
    is_deleted: bool


def contacts_changed_since(
    uow: UnitOfWork, since: datetime | None, after_id: str, *, limit: int
) -> list[ContactFeedItem]:
    """Contacts (deleted ones too) whose ``updated_at`` is after ``(since, after_id)`` in
    (updated_at, id) order, at most ``limit``; keyset pagination over the updated-at index."""
    session = uow.session
    query = select(
        Contact.id, Contact.external_id, Contact.created_at, Contact.updated_at, Contact.deleted_at
    ).order_by(Contact.updated_at, Contact.id)
    if since is not None:
        query = query.where(
            or_(Contact.updated_at > since, and_(Contact.updated_at == since, Contact.id > after_id))
        )
    rows = session.execute(query.limit(limit)).all()
    points: dict[str, tuple[list[str], list[str]]] = {row.id: ([], []) for row in rows}
    ids = list(points)
    for start in range(0, len(ids), _CHUNK):
        found = session.execute(
            select(ContactPoint.record_id, ContactPoint.kind, ContactPoint.value)
            .where(
                ContactPoint.record_kind == _CONTACT, ContactPoint.record_id.in_(ids[start : start + _CHUNK])
            )
            .order_by(ContactPoint.record_id, ContactPoint.is_primary.desc(), ContactPoint.position)
        )
        for record_id, kind, value in found:
            emails, phones = points[record_id]
            (phones if kind == ContactPointKind.PHONE.value else emails).append(
                value if kind == ContactPointKind.PHONE.value else value.lower()
            )
    return [
        ContactFeedItem(
            id=row.id,
            external_id=row.external_id,
            emails=tuple(points[row.id][0]),
            phones=tuple(points[row.id][1]),
            created_at=row.created_at,
            updated_at=row.updated_at,
            is_deleted=row.deleted_at is not None,
        )
        for row in rows
    ]


def contacts_having(
    uow: UnitOfWork,
    *,
    emails: Iterable[str] = (),
    phones: Iterable[str] = (),
    external_ids: Iterable[str] = (),
) -> set[str]:
    """Ids of live contacts that hold any of the emails, E.164 phones or external ids."""
    session = uow.session
    keys = [(ContactPointKind.EMAIL.value, email.lower()) for email in emails]
    for phone in phones:
        try:
            keys.append((ContactPointKind.PHONE.value, phone_search_key(phone)))
        except ValueError:
            continue
    found: set[str] = set()
    for start in range(0, len(keys), _CHUNK):
        chunk = keys[start : start + _CHUNK]
        found.update(
            session.scalars(
                select(ContactPoint.record_id)
                .join(Contact, Contact.id == ContactPoint.record_id)
                .where(
                    ContactPoint.record_kind == _CONTACT,
                    or_(
                        *(
                            and_(ContactPoint.kind == kind, ContactPoint.search_key == key)
                            for kind, key in chunk
                        )
                    ),
                    Contact.deleted_at.is_(None),
                )
            )
        )
    external = sorted(set(external_ids))
    if external:
        found.update(
            session.scalars(
                select(Contact.id).where(Contact.external_id.in_(external), Contact.deleted_at.is_(None))
            )
        )
    return found


def accounts_of_groups(uow: UnitOfWork, group_ids: Sequence[str]) -> dict[str, str]:
    """The live account each group id names: the account whose external id is the group id, else
    the account with that id, else the one whose website's domain is the group id (lower-cased).
    Group ids that name no account are left out."""
    wanted = sorted(set(group_ids))
    session = uow.session
    live = Account.deleted_at.is_(None)
    oldest_first = (Account.created_at, Account.id)
    found: dict[str, str] = {}
    if not wanted:
        return found
    rows = session.execute(
        select(Account.external_id, Account.id)
        .where(Account.external_id.in_(wanted), live)
        .order_by(*oldest_first)
    )
    for external_id, account_id in rows:
        found.setdefault(str(external_id), account_id)
    rest = [group_id for group_id in wanted if group_id not in found]
    if rest:
        found.update(
            (account_id, account_id)
            for account_id in session.scalars(select(Account.id).where(Account.id.in_(rest), live))
        )
    by_domain: dict[str, list[str]] = {}
    for group_id in wanted:
        if group_id not in found and "." in group_id:
            by_domain.setdefault(group_id.lower(), []).append(group_id)
    if by_domain:
        rows = session.execute(
            select(Account.domain, Account.id)
            .where(Account.domain.in_(sorted(by_domain)), live)
            .order_by(*oldest_first)
        )
        for domain, account_id in rows:
            for group_id in by_domain.get(str(domain), []):
                found.setdefault(group_id, account_id)
    return found


def create_contact_in(uow: UnitOfWork, actor: Actor, data: ContactCreate) -> str:
    """``create_contact`` inside the caller's open transaction (a savepoint: a refused contact
    changes nothing); the new contact's id. Duplicate warnings are the caller's to handle."""
    return create_contact(JoinedUnitOfWork(uow), actor, data).id
