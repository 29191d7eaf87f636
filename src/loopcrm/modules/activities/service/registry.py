"""The extension points other modules plug into at import time: record types activities can be
linked to, and sources of timeline entries. The activities module imports no other module;
other modules call these registries from their own ``service``.

A module owning a kind of record registers a resolver::

    # loopcrm/modules/customers/service/__init__.py
    from loopcrm.modules.activities import service as activities


    def _resolve_contact(uow, actor, contact_id) -> activities.SubjectRef:
        contact = ...  # read inside the caller's open unit of work; raise NotFound when the
        # contact does not exist or the actor may not read it
        return activities.SubjectRef(
            "contact", contact.id, contact.full_name, f"/customers/contacts/{contact.id}"
        )


    activities.register_subject_type("contact", _resolve_contact)

and, to add its entries to timelines (orders, tickets, events), a source::

    activities.register_timeline_source("orders", list_order_entries, kinds={"order": N_("Orders")})
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from loopcrm.modules.activities.schemas import TimelineEntry, TimelinePosition
from loopcrm.platform.errors import NotFound, PermissionDenied, ValidationFailed
from loopcrm.platform.permissions import (
    Action,
    Actor,
    ObjectType,
    Scope,
    SecurityLevel,
    register_object_type,
)
from loopcrm.platform.unit_of_work import UnitOfWork

_OWN = {action: Scope.OWN for action in Action}
_TEAM = {action: Scope.TEAM for action in Action}

# Permissions on activities follow their owner (the user who logged them): reps change their own,
# managers their teams', admins all. Reading an activity is also open to whoever may read a
# record it is linked to, to its task's assignee and to the users taking part (see service).
EMAIL_ADDRESSES = "email_addresses"
ACTIVITY = register_object_type(
    ObjectType(
        key="activity",
        label="Activities",
        default_grants={
            "admin": {action: Scope.ALL for action in Action},
            "sales_manager": {**_TEAM, Action.CREATE: Scope.OWN},
            "sales_rep": _OWN,
            "marketer": _OWN,
            "service_agent": _OWN,
            "analyst": {Action.READ: Scope.ALL},
            "read_only": {Action.READ: Scope.ALL},
        },
        # The addresses of an email are the contacts' emails, internal on the contact too: a
        # reader who may not see those does not see them on the timeline either.
        field_levels={EMAIL_ADDRESSES: SecurityLevel.INTERNAL},
    )
)


@dataclass(frozen=True)
class SubjectRef:
    """How a linked record is shown: its label and its web path."""

    subject_type: str
    subject_id: str
    label: str
    path: str


SubjectResolver = Callable[[UnitOfWork, Actor, str], SubjectRef]
"""Looks a record up *inside the caller's open unit of work* (use ``uow.session``; never enter
or commit it) and returns how to show it. Raises :class:`~loopcrm.platform.errors.NotFound`
when the record does not exist or the actor may not read it."""


class TimelineSource(Protocol):
    """Another module's timeline entries for some records, newest first.

    Called inside the caller's open unit of work. Return at most ``limit`` entries linked to
    any of ``subjects`` (each once), ordered by ``(occurred_at, id)`` descending and strictly
    older than ``before`` when it is given; only entries of ``kinds`` when that is not ``None``.
    Ids must be unique across sources (UUIDv7 strings are).
    """

    def __call__(
        self,
        uow: UnitOfWork,
        actor: Actor,
        subjects: Sequence[tuple[str, str]],
        *,
        kinds: Collection[str] | None,
        before: TimelinePosition | None,
        limit: int,
    ) -> list[TimelineEntry]: ...


@dataclass(frozen=True)
class RegisteredSource:
    name: str
    source: TimelineSource
    kinds: Mapping[str, str]  # kind → English msgid of its name, for the timeline's filter chips


_resolvers: dict[str, SubjectResolver] = {}
_sources: dict[str, RegisteredSource] = {}


def register_subject_type(subject_type: str, resolver: SubjectResolver) -> None:
    """Let activities be linked to records of ``subject_type``; call once, at import time.

    Registering the same resolver again is harmless; another resolver for a known type is an error.
    """
    existing = _resolvers.get(subject_type)
    if existing is not None and existing is not resolver:
        raise ValueError(f"subject type {subject_type!r} is already registered with another resolver")
    _resolvers[subject_type] = resolver


def register_timeline_source(
    name: str, source: TimelineSource, *, kinds: Mapping[str, str] | None = None
) -> None:
    """Merge another module's entries into every timeline. ``kinds`` names the entry kinds the
    source produces (kind → English msgid), so the timeline can offer them as filters and skip
    the source when the reader filters to other kinds."""
    if name == "activities":
        raise ValueError('the source name "activities" is the module\'s own')
    existing = _sources.get(name)
    registered = RegisteredSource(name, source, dict(kinds or {}))
    if existing is not None and existing != registered:
        raise ValueError(f"timeline source {name!r} is already registered differently")
    _sources[name] = registered


def subject_types() -> list[str]:
    return sorted(_resolvers)


def timeline_sources() -> list[RegisteredSource]:
    return list(_sources.values())


def is_known_subject_type(subject_type: str) -> bool:
    return subject_type in _resolvers


def resolve_subject(uow: UnitOfWork, actor: Actor, subject_type: str, subject_id: str) -> SubjectRef:
    """The record as the actor may see it, or :class:`NotFound` (also when the actor may not read
    it, or its type is unknown), so a refusal never confirms that a record exists."""
    resolver = _resolvers.get(subject_type)
    if resolver is None:
        raise NotFound("Record not found")
    try:
        return resolver(uow, actor, subject_id)
    except PermissionDenied:
        raise NotFound("Record not found") from None


def may_read_subject(uow: UnitOfWork, actor: Actor, subject_type: str, subject_id: str) -> bool:
    try:
        resolve_subject(uow, actor, subject_type, subject_id)
    except NotFound:
        return False
    return True


_SUBJECT_TEXT = re.compile(r"^([a-z][a-z0-9_]{0,31}):([A-Za-z0-9_.:-]{1,64})$")


def parse_subject(text: str, field_name: str = "subject") -> tuple[str, str]:
    """``"contact:0190…"`` as ``("contact", "0190…")``, as the API's and pages' queries write it."""
    match = _SUBJECT_TEXT.match(text.strip())
    if match is None:
        raise ValidationFailed.single(
            field_name, "Name a record as kind:id, such as contact:0190ab…", "invalid_subject"
        )
    return match.group(1), match.group(2)
