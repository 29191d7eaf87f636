"""Profiles linked to CRM contacts: the contact feed, and the rule that creates contacts.

**The feed** reads contacts changed since its cursor from the customers module and resolves each
as an observation of identifiers: ``crm_contact`` (the contact's id), its emails, its E.164
phones and its external id as ``user_id`` (the id the customer's own systems send as Segment's
``userId``). The graph's ordinary rules then attach, create or merge, so fragments in CRM data
and in events meet whichever came first, and a profile's contact link is an identity link,
versioned, merged and unmerged like every other. A deleted contact's link is closed.

**The creation rule** (``Settings.cdp_create_contacts``, off by default) makes a CRM contact for
each profile that got an email or phone lately and has no contact, unless a live contact already
holds one of its emails, phones or its user id (the feed links that one instead). The new contact
is then fed at once, so it is linked in the same transaction.

See docs/adr/0011-profile-links.md.
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pydantic import ValidationError
from sqlalchemy import Select, or_, select
from sqlalchemy.orm import Session, aliased

from loopcrm.modules.cdp.identity.event_log import CURSOR_NAME as IDENTITY_CURSOR_NAME
from loopcrm.modules.cdp.identity.graph import IdentityGraph
from loopcrm.modules.cdp.identity.models import IdentityCursor, IdentityLink, IdentityType, Profile
from loopcrm.modules.cdp.identity.rules import normalize_identifier
from loopcrm.modules.cdp.identity.schemas import Identifier, Observation
from loopcrm.modules.customers import service as customers
from loopcrm.modules.customers.schemas import ContactCreate, CustomerSource, EmailIn, PhoneIn
from loopcrm.modules.customers.service.feeds import ContactFeedItem
from loopcrm.platform.db import utc_now
from loopcrm.platform.errors import ValidationFailed
from loopcrm.platform.permissions import Actor, system_actor
from loopcrm.platform.unit_of_work import UnitOfWork

FEED_CURSOR_NAME = "crm_contacts"
CREATION_CURSOR_NAME = "contact_creation"
# Contacts read per query; a run reads at most MAX_CONTACTS_PER_RUN (a few seconds of work).
FEED_BATCH = 1000
MAX_CONTACTS_PER_RUN = 10_000
# Profiles the creation rule looks at per run: creating a contact costs about as much as a
# person's save.
MAX_CREATED_PER_RUN = 500
# How long a transaction saving contacts may take to commit: what changed up to a minute before
# a run began is read again by the next run (feed) or looked at again (creation rule), since a
# contact saved by a transaction that committed after a later one would otherwise be skipped.
# Reading it again changes nothing.
REREAD_WINDOW = timedelta(minutes=1)
# The longest name part a contact takes (ContactCreate's limit).
MAX_NAME_LENGTH = 100


@dataclass(frozen=True)
class LinkRun:
    """What one run of contact linking did. ``creation_full`` says the creation rule stopped at
    its limit with more profiles waiting."""

    contacts_read: int
    contacts_created: int
    creation_full: bool = False


def _cursor(session: Session, name: str) -> IdentityCursor:
    cursor = session.get(IdentityCursor, name, with_for_update=True)
    if cursor is None:
        cursor = IdentityCursor(name=name, last_sequence=0)
        session.add(cursor)
        session.flush()
    return cursor


def identifiers_of_contact(item: ContactFeedItem) -> list[Identifier]:
    """The contact's identifiers in the graph's normal form; the contact link first."""
    found = [Identifier(IdentityType.CRM_CONTACT.value, item.id)]
    candidates: list[tuple[str, Any]] = [(IdentityType.USER_ID, item.external_id)]
    candidates += [(IdentityType.EMAIL, email) for email in item.emails]
    candidates += [(IdentityType.PHONE, phone) for phone in item.phones]
    for kind, value in candidates:
        identifier = normalize_identifier(kind, value)
        if identifier is not None and identifier not in found:
            found.append(identifier)
    return found


def feed_contacts(uow: UnitOfWork, *, max_contacts: int = MAX_CONTACTS_PER_RUN) -> int:
    """Resolve the contacts changed since the feed's cursor, in the caller's transaction; how
    many were read. A contact with no email, phone or external id has nothing to meet and makes
    no profile (it is fed again once it gets one, as that changes it).

    The cursor is a position in (updated_at, id) order, and a run resumes right after it, so a
    run that stops at ``max_contacts`` is followed by one that goes on from there. A run that
    reads to the end moves the cursor back to ``REREAD_WINDOW`` before its own start when it read
    past that: a contact saved by a transaction that commits later than another may carry an
    earlier time, and is read on the next run. Once nothing changed for a minute nothing is read
    again, and however many contacts change within a minute, every run makes progress.
    """
    session = uow.session
    cursor = _cursor(session, FEED_CURSOR_NAME)
    started = utc_now()
    since, after_id = cursor.last_changed_at, cursor.last_id or ""
    graph = IdentityGraph(session)
    done = 0
    while done < max_contacts:
        items = customers.contacts_changed_since(
            uow, since, after_id, limit=min(FEED_BATCH, max_contacts - done)
        )
        if not items:
            break
        observations = []
        for item in items:
            if item.is_deleted:
                graph.unlink_contact(item.id)
                continue
            identifiers = identifiers_of_contact(item)
            if len(identifiers) > 1:
                observations.append(Observation(tuple(identifiers), item.created_at, is_visit=False))
        graph.prefetch(identifier for observation in observations for identifier in observation.identifiers)
        for observation in observations:
            graph.resolve(observation)
        since, after_id = items[-1].updated_at, items[-1].id
        done += len(items)
    graph.flush()
    _move(cursor, since, after_id, drained=done < max_contacts, started=started)
    session.flush()
    return done


def _move(
    cursor: IdentityCursor, since: datetime | None, after_id: str, *, drained: bool, started: datetime
) -> None:
    """Leave a position cursor after the last row a run read, or, when the run read to the end,
    ``REREAD_WINDOW`` before the run's start if it read past that: what a transaction that
    commits late saved with an earlier time is read on the next run, and nothing is read again
    once a minute has passed with no change."""
    settled = started - REREAD_WINDOW
    if drained and since is not None and since > settled:
        since, after_id = settled, ""
    cursor.last_changed_at, cursor.last_id = since, after_id


def _name_of(traits: dict[str, Any], fallback: str) -> tuple[str, str]:
    """(family name, given name) from Segment's reserved traits, else the email or phone."""

    def text(*names: str) -> str:
        for name in names:
            value = traits.get(name)
            if isinstance(value, str) and value.strip():
                return value.strip()[:MAX_NAME_LENGTH]
        return ""

    family, given = text("lastName", "last_name"), text("firstName", "first_name")
    if family or given:
        return family, given
    return "", text("name") or fallback[:MAX_NAME_LENGTH]


def _contact_for(profile: Profile, links: Sequence[tuple[str, str]]) -> ContactCreate | None:
    emails: list[EmailIn] = []
    phones: list[PhoneIn] = []
    for kind, value in links:
        try:
            if kind == IdentityType.EMAIL:
                emails.append(EmailIn(address=value, is_primary=not emails))
            elif kind == IdentityType.PHONE:
                phones.append(PhoneIn(number=value, is_primary=not phones))
        except ValidationError:
            continue  # the graph keeps identifiers the CRM's stricter checks refuse
    if not emails and not phones:
        return None
    user_ids = [value for kind, value in links if kind == IdentityType.USER_ID]
    family, given = _name_of(profile.traits or {}, (emails[0].address if emails else phones[0].number))
    try:
        return ContactCreate(
            family_name=family,
            given_name=given,
            emails=emails,
            phones=phones,
            external_id=user_ids[0] if user_ids and len(user_ids[0]) <= MAX_NAME_LENGTH else None,
            source=CustomerSource.CDP,
            description=f"Created by the CDP for profile {profile.id}.",
        )
    except ValidationError:
        return None


def create_contacts(uow: UnitOfWork, *, max_profiles: int = MAX_CREATED_PER_RUN) -> tuple[int, bool]:
    """The creation rule, in the caller's transaction: a CRM contact (source CDP) for each live
    profile that got an email or phone since the rule's cursor and has no contact, unless a live
    contact already holds one of its emails, phones or its user id. Returns how many were
    created, and whether the run stopped at ``max_profiles`` with more waiting.

    Like the feed's, the cursor is a position, here in (link valid_from, profile id) order, and
    a run resumes right after it: profiles the rule passes over (their email belongs to a
    contact, or the CRM refuses their values) cannot hold back the ones behind, however many.
    As for the feed, a run that reads to the end leaves the cursor a minute before its start,
    so the last minute's candidates are looked at again (late commits), and then no more.
    """
    session = uow.session
    cursor = _cursor(session, CREATION_CURSOR_NAME)
    started = utc_now()
    since, after_id = cursor.last_changed_at, cursor.last_id or ""
    # One query per type, each read in the order of its (type, valid_from) index and stopped at
    # the limit, then merged: one query over both types would sort every link after the cursor
    # (the whole graph on the rule's first run) on every run.
    positions = heapq.nsmallest(
        max_profiles,
        (
            position
            for kind in (IdentityType.EMAIL, IdentityType.PHONE)
            for position in session.execute(_candidates_after(kind, since, after_id, max_profiles)).tuples()
        ),
    )
    created = 0
    actor = system_actor("cdp")
    # A profile with two new emails comes twice; it is looked at once.
    for profile_id in dict.fromkeys(profile_id for _, profile_id in positions):
        if _create_contact_for(uow, actor, profile_id):
            created += 1
    if positions:
        since, after_id = positions[-1]
    full = len(positions) >= max_profiles
    _move(cursor, since, after_id, drained=not full, started=started)
    session.flush()
    return created, full


def _candidates_after(
    kind: IdentityType, since: datetime | None, after_id: str, limit: int
) -> Select[datetime, str]:
    """(valid_from, profile id) of the first ``limit`` live ``kind`` links after the position,
    of profiles that have no contact."""
    recent = aliased(IdentityLink)
    contact = aliased(IdentityLink)
    query = (
        select(recent.valid_from, recent.profile_id)
        .where(
            recent.type == kind.value,
            recent.valid_to.is_(None),
            ~select(contact.id)
            .where(
                contact.profile_id == recent.profile_id,
                contact.type == IdentityType.CRM_CONTACT.value,
                contact.valid_to.is_(None),
            )
            .exists(),
        )
        .order_by(recent.valid_from, recent.profile_id)
        .limit(limit)
    )
    if since is None:
        return query
    # The range on valid_from is the index's; the rest of the position is checked on its rows.
    return query.where(
        recent.valid_from >= since, or_(recent.valid_from > since, recent.profile_id > after_id)
    )


def _create_contact_for(uow: UnitOfWork, actor: Actor, profile_id: str) -> bool:
    """Create the contact of one candidate profile if the rule says so; whether it did."""
    session = uow.session
    profile = session.get(Profile, profile_id)
    if profile is None or profile.merged_into is not None:
        return False
    links = [
        (kind, value)
        for kind, value in session.execute(
            select(IdentityLink.type, IdentityLink.value)
            .where(IdentityLink.profile_id == profile_id, IdentityLink.valid_to.is_(None))
            .order_by(IdentityLink.valid_from, IdentityLink.id)
        )
    ]
    holders = customers.contacts_having(
        uow,
        emails=[value for kind, value in links if kind == IdentityType.EMAIL],
        phones=[value for kind, value in links if kind == IdentityType.PHONE],
        external_ids=[value for kind, value in links if kind == IdentityType.USER_ID],
    )
    data = None if holders else _contact_for(profile, links)
    if data is None:
        return False
    try:
        customers.create_contact_in(uow, actor, data)
    except ValidationFailed:
        return False  # refused by the CRM's rules (a value taken meanwhile): nothing was written
    return True


def link_contacts(
    uow: UnitOfWork,
    *,
    create: bool,
    max_contacts: int = MAX_CONTACTS_PER_RUN,
    max_created: int = MAX_CREATED_PER_RUN,
) -> LinkRun:
    """One run of contact linking in the caller's transaction: the creation rule when ``create``,
    then the feed (which links the contacts just created too).

    It first takes the identity job's cursor lock, so the two writers of the graph take turns on
    PostgreSQL instead of racing for the same identifiers (SQLite's write lock does it already).
    """
    _cursor(uow.session, IDENTITY_CURSOR_NAME)
    created, full = create_contacts(uow, max_profiles=max_created) if create else (0, False)
    return LinkRun(
        contacts_read=feed_contacts(uow, max_contacts=max_contacts),
        contacts_created=created,
        creation_full=full,
    )


def contact_of(session: Session, profile_id: str) -> str | None:
    """The CRM contact a profile is linked to now."""
    return session.scalar(
        select(IdentityLink.value).where(
            IdentityLink.profile_id == profile_id,
            IdentityLink.type == IdentityType.CRM_CONTACT.value,
            IdentityLink.valid_to.is_(None),
        )
    )
