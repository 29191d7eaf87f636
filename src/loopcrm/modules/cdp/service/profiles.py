"""The 360° profile: find a profile by any identifier, read its events, and its timeline, where
the profile's events meet the CRM activities of the contact it is linked to.

The timeline has one extension point, the activities module's: ``activities.register_timeline_source``.
This module registers the profile's events there as the source ``cdp_events``, answering for
subjects of type ``profile``; a profile's timeline asks the activities module for the subjects
``("profile", id)`` and, once the profile is linked, ``("contact", contact_id)``. So a module that
adds entries to record timelines (orders and tickets for contacts) shows on the profile's too, and
one that knows profiles (campaign responses) registers a source answering ``profile`` subjects.

Reading needs PROFILE read; a profile's identities and traits are INTERNAL fields, and so are the
identifiers (user, anonymous, group and previous ids) and the payload (properties, context, extra)
of its events: a reader below that clearance gets them emptied and named in ``masked_fields``.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, or_, select, text

from loopcrm.modules.activities import service as activities
from loopcrm.modules.activities.schemas import TimelineEntry, TimelinePosition
from loopcrm.modules.cdp.identity import service as identity
from loopcrm.modules.cdp.identity.event_log import profile_family
from loopcrm.modules.cdp.identity.models import IdentityLink, IdentityType, Profile
from loopcrm.modules.cdp.identity.rules import normalize_identifier
from loopcrm.modules.cdp.identity.schemas import MergeIn, MergeOut, ProfileOut, TraitStrategyIn
from loopcrm.modules.cdp.models import Event, EventAttribution, MessageType
from loopcrm.modules.cdp.schemas import (
    EventOut,
    ProfileDetail,
    ProfileTimelineEntry,
    TraitStrategyChange,
    TraitStrategyOut,
)
from loopcrm.modules.customers import service as customers
from loopcrm.platform.errors import NotFound, PermissionDenied, ValidationFailed
from loopcrm.platform.i18n import N_
from loopcrm.platform.pagination import DEFAULT_PAGE_SIZE, Page, check_limit, decode_cursor, encode_cursor
from loopcrm.platform.permissions import Action, Actor, get_object_type, mask_fields, require
from loopcrm.platform.unit_of_work import UnitOfWork

PROFILE = identity.PROFILE
PROFILE_EVENTS_SOURCE = "cdp_events"
PROFILE_SUBJECT = "profile"
CONTACT_SUBJECT = "contact"

# The timeline kinds of a profile's events (kind → English msgid of its filter chip). They are
# offered on profile timelines only: the source is registered without kinds, so record pages of
# the customers module keep their own filters.
EVENT_KIND_NAMES: dict[str, str] = {
    "cdp_track": N_("Tracked events"),
    "cdp_page": N_("Page and screen views"),
    "cdp_identify": N_("Identity and traits"),
}
_KIND_OF_TYPE: dict[str, str] = {
    MessageType.TRACK.value: "cdp_track",
    MessageType.PAGE.value: "cdp_page",
    MessageType.SCREEN.value: "cdp_page",
    MessageType.IDENTIFY.value: "cdp_identify",
    MessageType.GROUP.value: "cdp_identify",
    MessageType.ALIAS.value: "cdp_identify",
}
# A search by any identifier finds at most this many profiles: more is a shared value (an office
# phone), and the reader should name the identifier's type.
MAX_SEARCH_RESULTS = 50
# The summary of an event on the timeline: this many properties, each value cut this short.
SUMMARY_PROPERTIES = 4
SUMMARY_VALUE_LENGTH = 60

__all__ = [
    "EVENT_KIND_NAMES",
    "PROFILE",
    "PROFILE_EVENTS_SOURCE",
    "find_profiles",
    "identifier_types",
    "linked_records",
    "list_profile_merges",
    "list_profiles",
    "may_merge",
    "merge_profiles",
    "profile_detail",
    "profile_events",
    "profile_identities",
    "profile_timeline",
    "profile_timeline_kinds",
    "set_trait_strategy",
    "survivor_of",
    "undo_merge",
]


# ---------------------------------------------------------------------------------------------
# Field security


def _hidden_fields(actor: Actor) -> set[str]:
    """PROFILE fields above the actor's clearance (``identities`` and ``traits`` are INTERNAL)."""
    levels = get_object_type(PROFILE.key).field_levels
    return {name for name, level in levels.items() if level > actor.clearance}


def _detail(actor: Actor, profile: ProfileOut) -> ProfileDetail:
    shown = mask_fields(actor, PROFILE.key, {"identities": profile.identities, "traits": profile.traits})
    values = profile.model_dump()
    values["identities"] = shown.values["identities"] or []
    values["traits"] = shown.values["traits"] or {}
    return ProfileDetail(**values, masked_fields=sorted(shown.masked))


def _event_out(event: Event, hidden: set[str]) -> EventOut:
    out = EventOut.model_validate(event, from_attributes=True)
    changes: dict[str, Any] = {}
    if "identities" in hidden:
        changes |= {"user_id": None, "anonymous_id": None, "group_id": None, "previous_id": None}
    if "traits" in hidden:
        changes |= {"properties": {}, "context": {}, "extra": {}}
    return out.model_copy(update=changes) if changes else out


# ---------------------------------------------------------------------------------------------
# Reading profiles


def _require_profile(session: Any, profile_id: str) -> Profile:
    profile = session.get(Profile, profile_id)
    if profile is None:
        raise NotFound("Profile {profile_id} was not found.", profile_id=profile_id)
    return profile


@dataclass(frozen=True)
class LinkedRecord:
    """A CRM record a profile is linked to, as the reader may see it (``name`` and ``path`` are
    None when the reader may not read it)."""

    kind: str  # "contact" or "account"
    id: str
    name: str | None
    path: str | None


def _attributed_ids(session: Any, profile_id: str) -> list[str]:
    """``identity.profile_ids_of`` inside an open unit of work: the profile and every profile
    merged into it, directly or through others (its events are those attributed to any of them)."""
    return sorted(profile_family(session, profile_id))


def profile_detail(uow: UnitOfWork, actor: Actor, profile_id: str) -> ProfileDetail:
    """A profile with its current identities, traits, consent and CRM links, masked for the reader."""
    return _detail(actor, identity.get_profile(uow, actor, profile_id))


def profile_identities(uow: UnitOfWork, actor: Actor, profile_id: str) -> ProfileDetail:
    """The profile, for its identities (empty and masked for a reader below their clearance)."""
    return profile_detail(uow, actor, profile_id)


def survivor_of(uow: UnitOfWork, actor: Actor, profile_id: str) -> str:
    """The live profile a (possibly merged) profile stands for now."""
    require(actor, PROFILE.key, Action.READ)
    with uow:
        _require_profile(uow.session, profile_id)
    return identity.current_profile_id(uow, profile_id)


# Every distinct identity type currently linked, read as a loose index scan over the partial
# unique index (type, value) WHERE valid_to IS NULL: one index seek per type, however many
# identities there are, on SQLite and PostgreSQL alike (neither skips ahead by itself).
_CURRENT_TYPES = text(
    """
    WITH RECURSIVE present(type) AS (
        SELECT MIN(type) FROM cdp_identity_links WHERE valid_to IS NULL
        UNION ALL
        SELECT (
            SELECT MIN(link.type) FROM cdp_identity_links AS link
            WHERE link.valid_to IS NULL AND link.type > present.type
        )
        FROM present WHERE present.type IS NOT NULL
    )
    SELECT type FROM present WHERE type IS NOT NULL
    """
)


def _present_types(session: Any) -> list[str]:
    return [str(row) for row in session.scalars(_CURRENT_TYPES)]


def identifier_types(uow: UnitOfWork, actor: Actor) -> list[str]:
    """The identifier types one may search by: the contract's, and every typed external id some
    profile holds now (``wechat_openid:<appid>``, e-commerce buyer ids…)."""
    require(actor, PROFILE.key, Action.READ)
    with uow:
        present = _present_types(uow.session)
    return sorted(set(IdentityType) | set(present))


def _types_to_search(present: Sequence[str], identity_type: str | None) -> list[str]:
    """The stored types a search names: all of them; one; or, for a base type such as
    ``wechat_openid``, every ``wechat_openid:<appid>``. Unknown → ValidationFailed."""
    every = sorted(set(IdentityType) | set(present))
    if identity_type is None:
        return every
    wanted = identity_type.strip().lower()
    chosen = [kind for kind in every if kind == wanted or kind.startswith(wanted + ":")]
    if not chosen:
        raise ValidationFailed.single(
            "identifier_type",
            "Unknown identifier type {identifier_type}: use user_id, email, phone, anonymous_id, "
            "device_id, wechat_unionid, wechat_openid or a type of external id profiles have",
            "unknown_identifier_type",
            identifier_type=identity_type,
        )
    return chosen


def _search_ids(session: Any, identity_type: str | None, value: str) -> list[str]:
    types = _types_to_search(_present_types(session), identity_type)
    pairs = {
        identifier
        for identifier in (normalize_identifier(kind, value) for kind in types)
        if identifier is not None
    }
    if not pairs:
        if identity_type is not None:
            raise ValidationFailed.single(
                "identifier",
                "This value identifies no one as {identifier_type}: it is empty, a placeholder "
                "or not valid for the type",
                "invalid_identifier",
                identifier_type=identity_type,
            )
        return []
    condition = or_(
        *(and_(IdentityLink.type == pair.type, IdentityLink.value == pair.value) for pair in sorted(pairs))
    )
    rows = session.scalars(
        select(IdentityLink.profile_id)
        .where(IdentityLink.valid_to.is_(None), condition)
        .order_by(IdentityLink.profile_id.desc())
        .limit(MAX_SEARCH_RESULTS)
    )
    return list(dict.fromkeys(rows))


def find_profiles(
    uow: UnitOfWork, actor: Actor, identifier: str, *, identifier_type: str | None = None
) -> list[ProfileDetail]:
    """The live profiles holding ``identifier`` now, newest first.

    Without a type, the value is tried as every type, each normalised its own way (an email
    lower-cased, a phone as E.164), so one search box finds a profile by whatever one knows.
    An unknown type, or a value that cannot identify anyone as the type named, is refused.
    """
    require(actor, PROFILE.key, Action.READ)
    with uow:
        profile_ids = _search_ids(uow.session, identifier_type, identifier)
    return [profile_detail(uow, actor, profile_id) for profile_id in profile_ids]


def list_profiles(
    uow: UnitOfWork,
    actor: Actor,
    *,
    limit: int = DEFAULT_PAGE_SIZE,
    cursor: str | None = None,
    identifier: str | None = None,
    identifier_type: str | None = None,
) -> Page[ProfileDetail]:
    """Live (not merged) profiles, newest first, one page at a time; with ``identifier``, the
    profiles holding it now (:func:`find_profiles`, one page). A type needs a value."""
    require(actor, PROFILE.key, Action.READ)
    check_limit(limit)
    if identifier is not None:
        found = find_profiles(uow, actor, identifier, identifier_type=identifier_type)
        return Page[ProfileDetail](items=found[:limit], next_cursor=None)
    if identifier_type is not None:
        raise ValidationFailed.single(
            "identifier", "Give the identifier to look for with its type", "missing_identifier"
        )
    statement = select(Profile.id).where(Profile.merged_into.is_(None))
    if cursor:
        statement = statement.where(Profile.id < decode_cursor(cursor))
    with uow:
        rows = list(uow.session.scalars(statement.order_by(Profile.id.desc()).limit(limit + 1)))
    items = [profile_detail(uow, actor, profile_id) for profile_id in rows[:limit]]
    next_cursor = encode_cursor(rows[limit - 1]) if len(rows) > limit else None
    return Page[ProfileDetail](items=items, next_cursor=next_cursor)


# ---------------------------------------------------------------------------------------------
# Events


def _event_position(cursor: str) -> tuple[datetime, int]:
    moment, _, sequence = decode_cursor(cursor).partition("|")
    try:
        at = datetime.fromisoformat(moment)
    except ValueError:
        at = None
    if at is None or at.tzinfo is None or not sequence.isdigit():
        raise ValidationFailed.single("cursor", "The cursor is not valid", "invalid_cursor")
    return at, int(sequence)


def profile_events(
    uow: UnitOfWork,
    actor: Actor,
    profile_id: str,
    *,
    limit: int = DEFAULT_PAGE_SIZE,
    cursor: str | None = None,
    event: str | None = None,
    message_type: MessageType | None = None,
) -> Page[EventOut]:
    """The events of a profile and of every profile merged into it, newest first (by when they
    happened, then by arrival), one page at a time; filter by event name or message type."""
    require(actor, PROFILE.key, Action.READ)
    check_limit(limit)
    before = _event_position(cursor) if cursor else None
    hidden = _hidden_fields(actor)
    with uow:
        session = uow.session
        _require_profile(session, profile_id)
        statement = (
            select(Event)
            .join(EventAttribution, EventAttribution.sequence == Event.sequence)
            .where(EventAttribution.profile_id.in_(_attributed_ids(session, profile_id)))
        )
        if event is not None:
            statement = statement.where(Event.event == event)
        if message_type is not None:
            statement = statement.where(Event.type == message_type.value)
        if before is not None:
            at, sequence = before
            statement = statement.where(
                or_(
                    EventAttribution.timestamp < at,
                    and_(EventAttribution.timestamp == at, EventAttribution.sequence < sequence),
                )
            )
        rows = session.scalars(
            statement.order_by(EventAttribution.timestamp.desc(), EventAttribution.sequence.desc()).limit(
                limit + 1
            )
        ).all()
        items = [_event_out(row, hidden) for row in rows[:limit]]
    next_cursor = None
    if len(rows) > limit:
        last = items[-1]
        next_cursor = encode_cursor(f"{_utc(last.timestamp).isoformat()}|{last.sequence}")
    return Page[EventOut](items=items, next_cursor=next_cursor)


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC) if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


# ---------------------------------------------------------------------------------------------
# The timeline


def _event_title(event: Event) -> str:
    """What the event is called, in the sender's words: the event or page name, else the id
    the message is about (identify, group, alias)."""
    if event.event:
        return event.event
    properties = event.properties or {}
    if event.type in (MessageType.PAGE.value, MessageType.SCREEN.value):
        for key in ("name", "title", "path", "url"):
            if isinstance(properties.get(key), str) and properties[key]:
                return str(properties[key])
    for value in (event.group_id, event.previous_id, event.user_id, event.anonymous_id):
        if value:
            return value
    return event.type


def _event_summary(event: Event) -> str:
    parts = []
    for key, value in list((event.properties or {}).items())[:SUMMARY_PROPERTIES]:
        shown = value if isinstance(value, str) else repr(value)
        if len(shown) > SUMMARY_VALUE_LENGTH:
            shown = shown[: SUMMARY_VALUE_LENGTH - 1] + "…"
        parts.append(f"{key}: {shown}")
    return " · ".join(parts)


def _event_entries(
    uow: UnitOfWork,
    actor: Actor,
    subjects: Sequence[tuple[str, str]],
    *,
    kinds: Collection[str] | None,
    before: TimelinePosition | None,
    limit: int,
) -> list[TimelineEntry]:
    """The timeline source of profiles' events (see the module docstring), inside the caller's
    unit of work: events of the ``profile`` subjects, newest first by ``(timestamp, id)``."""
    profile_ids = [subject_id for subject_type, subject_id in subjects if subject_type == PROFILE_SUBJECT]
    if not profile_ids or not actor.can(PROFILE.key, Action.READ):
        return []
    types = sorted(kind for kind, name in _KIND_OF_TYPE.items() if kinds is None or name in kinds)
    if not types:
        return []
    session = uow.session
    attributed = sorted(
        {found for profile_id in profile_ids for found in _attributed_ids(session, profile_id)}
    )
    conditions: list[ColumnElement[bool]] = [EventAttribution.profile_id.in_(attributed)]
    if kinds is not None:
        conditions.append(Event.type.in_(types))
    if before is not None:
        conditions.append(
            or_(
                EventAttribution.timestamp < before.occurred_at,
                and_(EventAttribution.timestamp == before.occurred_at, Event.id < before.id),
            )
        )
    rows = session.scalars(
        select(Event)
        .join(EventAttribution, EventAttribution.sequence == Event.sequence)
        .where(*conditions)
        .order_by(EventAttribution.timestamp.desc(), Event.id.desc())
        .limit(limit)
    ).all()
    hidden = _hidden_fields(actor)
    return [
        ProfileTimelineEntry(
            id=row.id,
            source=PROFILE_EVENTS_SOURCE,
            kind=_KIND_OF_TYPE.get(row.type, "cdp_track"),
            occurred_at=_utc(row.timestamp),
            title=_event_title(row) if "identities" not in hidden or row.event else row.type,
            summary="" if "traits" in hidden else _event_summary(row),
            event=_event_out(row, hidden),
        )
        for row in rows
    ]


activities.register_timeline_source(PROFILE_EVENTS_SOURCE, _event_entries)


def profile_timeline_kinds() -> list[tuple[str, str]]:
    """The kinds a profile's timeline can filter by (kind, English msgid): the activities' and
    other modules' registered ones, then the profile's events'."""
    return [*activities.timeline_kinds(), *EVENT_KIND_NAMES.items()]


def _timeline_subjects(uow: UnitOfWork, actor: Actor, profile: ProfileOut) -> list[tuple[str, str]]:
    subjects = [(PROFILE_SUBJECT, profile.id)]
    if profile.contact_id is not None:
        try:
            with uow:
                activities.resolve_subject(uow, actor, CONTACT_SUBJECT, profile.contact_id)
        except NotFound:  # the reader may not read the contact: the profile's own entries only
            return subjects
        subjects.append((CONTACT_SUBJECT, profile.contact_id))
    return subjects


def profile_timeline(
    uow: UnitOfWork,
    actor: Actor,
    profile_id: str,
    *,
    kinds: Collection[str] | None = None,
    limit: int = DEFAULT_PAGE_SIZE,
    cursor: str | None = None,
) -> Page[ProfileTimelineEntry]:
    """Everything that happened with a person, newest first, one page at a time: the profile's
    events (its merged profiles' included), the CRM activities of its linked contact when the
    reader may read that contact, and entries of other modules' timeline sources.

    ``kinds`` keeps only those kinds (:func:`profile_timeline_kinds`); an unknown kind is refused.
    """
    profile = identity.get_profile(uow, actor, profile_id)
    known = {kind for kind, _ in profile_timeline_kinds()}
    selected = None if not kinds else set(kinds)
    if selected is not None and not selected <= known:
        raise ValidationFailed.single(
            "kind",
            "Unknown timeline kind {kind}",
            "unknown_kind",
            kind=", ".join(sorted(selected - known)),
        )
    subjects = _timeline_subjects(uow, actor, profile)
    page = activities.timeline(uow, actor, subjects, kinds=selected, limit=limit, cursor=cursor)
    return Page[ProfileTimelineEntry](
        items=[_as_profile_entry(entry) for entry in page.items], next_cursor=page.next_cursor
    )


def _as_profile_entry(entry: TimelineEntry) -> ProfileTimelineEntry:
    if isinstance(entry, ProfileTimelineEntry):
        return entry
    return ProfileTimelineEntry(**{name: getattr(entry, name) for name in TimelineEntry.model_fields})


# ---------------------------------------------------------------------------------------------
# Merges and trait strategies (the identity graph's use cases, for the API and the pages)


def list_profile_merges(uow: UnitOfWork, actor: Actor, profile_id: str) -> list[MergeOut]:
    """Every merge the profile took part in, as survivor or merged, newest first."""
    require(actor, PROFILE.key, Action.READ)
    with uow:
        _require_profile(uow.session, profile_id)
    return identity.list_merges(uow, actor, profile_id)


def merge_profiles(uow: UnitOfWork, actor: Actor, request: MergeIn) -> MergeOut:
    """A person merges two profiles they know to be one, with a note (the graph's rules apply)."""
    return identity.merge_profiles(uow, actor, request)


def undo_merge(uow: UnitOfWork, actor: Actor, merge_id: str) -> MergeOut:
    """Undo a merge exactly (identities, traits, consent and the events' attribution)."""
    return identity.unmerge(uow, actor, merge_id)


def set_trait_strategy(
    uow: UnitOfWork, actor: Actor, trait: str, change: TraitStrategyChange
) -> TraitStrategyOut:
    """Choose how one trait combines on later messages and merges."""
    identity.set_trait_strategy(uow, actor, TraitStrategyIn(trait=trait, strategy=change.strategy))
    return TraitStrategyOut(trait=trait, strategy=change.strategy)


def linked_records(uow: UnitOfWork, actor: Actor, profile: ProfileOut) -> list[LinkedRecord]:
    """The CRM contact and accounts the profile is linked to, named as the customers module shows
    them to the reader; a record the reader may not read is listed by kind only (no name, no link)."""
    found: list[LinkedRecord] = []
    if profile.contact_id is not None:
        try:
            contact = customers.get_contact(uow, actor, profile.contact_id)
            found.append(
                LinkedRecord("contact", contact.id, contact.full_name, f"/customers/contacts/{contact.id}")
            )
        except (NotFound, PermissionDenied):
            found.append(LinkedRecord("contact", profile.contact_id, None, None))
    for account_id in profile.account_ids:
        try:
            account = customers.get_account(uow, actor, account_id)
            found.append(
                LinkedRecord("account", account.id, account.name, f"/customers/accounts/{account.id}")
            )
        except (NotFound, PermissionDenied):
            found.append(LinkedRecord("account", account_id, None, None))
    return found


def may_merge(actor: Actor) -> bool:
    """Whether the reader may merge and unmerge profiles (the pages offer the forms then)."""
    return actor.can(PROFILE.key, Action.UPDATE)
