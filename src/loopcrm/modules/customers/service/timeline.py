"""Accounts and contacts on the interaction timeline.

Activities can be linked to accounts and contacts because this module registers how to find
them (and whether the reader may read them) with the activities module. An account's timeline
shows its own activities and those of every contact who works or worked there, so a call with
the buyer appears on the company's page too.
"""

from __future__ import annotations

from collections.abc import Collection

from loopcrm.modules.activities import service as activities
from loopcrm.modules.activities.schemas import TimelineEntry
from loopcrm.modules.customers.models import RecordKind
from loopcrm.modules.customers.service import accounts, contacts
from loopcrm.platform.pagination import DEFAULT_PAGE_SIZE, Page
from loopcrm.platform.permissions import Action, Actor
from loopcrm.platform.unit_of_work import UnitOfWork


def _resolve_account(uow: UnitOfWork, actor: Actor, account_id: str) -> activities.SubjectRef:
    account = accounts.load(uow, actor, account_id, Action.READ)
    return activities.SubjectRef("account", account.id, account.name, f"/customers/accounts/{account.id}")


def _resolve_contact(uow: UnitOfWork, actor: Actor, contact_id: str) -> activities.SubjectRef:
    contact = contacts.load(uow, actor, contact_id, Action.READ)
    return activities.SubjectRef(
        "contact", contact.id, contact.full_name, f"/customers/contacts/{contact.id}"
    )


activities.register_subject_type(RecordKind.ACCOUNT.value, _resolve_account)
activities.register_subject_type(RecordKind.CONTACT.value, _resolve_contact)


def timeline_subjects(
    uow: UnitOfWork, actor: Actor, record_kind: str, record_id: str
) -> list[tuple[str, str]]:
    """The records whose activities make up this record's timeline, after checking the reader
    may read it: the record itself and, for an account, the contacts of it the reader may read
    (at most the timeline's limit of subjects, most recently created contacts first)."""
    with uow:
        if record_kind == RecordKind.ACCOUNT.value:
            account = accounts.load(uow, actor, record_id, Action.READ)
            people = contacts.contact_ids_of_account(uow, actor, account.id)
            people = sorted(people, reverse=True)[: activities.MAX_TIMELINE_SUBJECTS - 1]
            return [(record_kind, account.id), *((RecordKind.CONTACT.value, person) for person in people)]
        contact = contacts.load(uow, actor, record_id, Action.READ)
        return [(RecordKind.CONTACT.value, contact.id)]


def timeline(
    uow: UnitOfWork,
    actor: Actor,
    record_kind: str,
    record_id: str,
    *,
    kinds: Collection[str] | None = None,
    limit: int = DEFAULT_PAGE_SIZE,
    cursor: str | None = None,
) -> Page[TimelineEntry]:
    """The timeline of an account or contact, newest first; NotFound when the reader may not read it."""
    subjects = timeline_subjects(uow, actor, record_kind, record_id)
    return activities.timeline(uow, actor, subjects, kinds=kinds, limit=limit, cursor=cursor)
