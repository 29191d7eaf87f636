"""Use cases of event sources: create, change, rotate the write key, read counters, dead letters
and events. Sources are managed by admins (and roles an admin grants ``cdp_source`` to)."""

from __future__ import annotations

import itertools
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from loopcrm.modules.cdp.models import ChannelType, DeadLetter, Event, EventSource, SourceMinute
from loopcrm.modules.cdp.schemas import (
    DeadLetterOut,
    EventOut,
    SourceCounters,
    SourceCreate,
    SourceCreated,
    SourceMinuteOut,
    SourceOut,
    SourceUpdate,
)
from loopcrm.platform.audit.models import AuditAction
from loopcrm.platform.audit.service import record_change
from loopcrm.platform.auth.passwords import digest
from loopcrm.platform.db import new_token, utc_now
from loopcrm.platform.errors import NotFound, StaleVersion, ValidationFailed
from loopcrm.platform.i18n import N_
from loopcrm.platform.pagination import Page, check_limit, decode_cursor, encode_cursor, paginate
from loopcrm.platform.permissions import Action, Actor, ObjectType, Scope, register_object_type, require
from loopcrm.platform.unit_of_work import UnitOfWork

# Write keys look like Segment's (32 characters of [A-Za-z0-9_-]) with a prefix that makes a
# leaked one easy to recognise in logs and code searches.
WRITE_KEY_PREFIX = "lcw_"
# How far back the counters of a source reach on its page and in the API.
COUNTER_MINUTES = 60

# Bumped after a source changes; ingestion's write-key cache in this process starts over then.
_generation = itertools.count(1)
_current_generation = 0


def sources_generation() -> int:
    """How many source changes this process has committed (ingestion compares it to its cache)."""
    return _current_generation


def _sources_changed() -> None:
    global _current_generation
    _current_generation = next(_generation)


SOURCE = register_object_type(
    ObjectType(
        key="cdp_source",
        label=N_("Event sources"),
        default_grants={
            "admin": {action: Scope.ALL for action in Action},
            # Marketing sees where events come from and how many; managing write keys stays
            # with admins unless an admin grants it (marketing ops).
            "marketer": {Action.READ: Scope.ALL},
            "analyst": {Action.READ: Scope.ALL},
        },
    )
)
# Dead letters and events hold the raw messages clients sent, personal data included.
EVENT = register_object_type(
    ObjectType(
        key="cdp_event",
        label=N_("Events and dead letters"),
        default_grants={"admin": {Action.READ: Scope.ALL}},
    )
)


def _source_out(source: EventSource) -> SourceOut:
    return SourceOut(
        id=source.id,
        name=source.name,
        channel=ChannelType(source.channel),
        write_key_prefix=source.write_key_prefix,
        is_enabled=source.is_enabled,
        allowed_origins=list(source.allowed_origins),
        rate_limit_per_second=source.rate_limit_per_second,
        created_at=source.created_at,
        updated_at=source.updated_at,
        version=source.version,
    )


def _load_source(session: Session, source_id: str) -> EventSource:
    source = session.get(EventSource, source_id)
    if source is None:
        raise NotFound("No event source {source_id}", source_id=source_id)
    return source


def write_key_digest(write_key: str) -> str:
    """What the database keeps of a write key."""
    return digest(write_key)


def _new_write_key() -> str:
    return WRITE_KEY_PREFIX + new_token(24)


def create_source(uow: UnitOfWork, actor: Actor, data: SourceCreate) -> SourceCreated:
    """Create a source with a new write key, returned this once."""
    require(actor, SOURCE.key, Action.CREATE)
    write_key = _new_write_key()
    with uow:
        source = EventSource(
            name=data.name,
            channel=data.channel.value,
            write_key_digest=write_key_digest(write_key),
            write_key_prefix=write_key[:12],
            is_enabled=True,
            allowed_origins=sorted(set(data.allowed_origins)),
            rate_limit_per_second=data.rate_limit_per_second,
            created_by=actor.user_id,
            updated_by=actor.user_id,
        )
        uow.session.add(source)
        uow.session.flush()
        record_change(
            uow,
            actor,
            AuditAction.CREATE,
            SOURCE.key,
            source.id,
            {"name": [None, source.name], "channel": [None, source.channel]},
        )
        uow.after_commit(_sources_changed)  # a key that was unknown a moment ago is known now
        created = SourceCreated(**_source_out(source).model_dump(), write_key=write_key)
        uow.commit()
    return created


def list_sources(uow: UnitOfWork, actor: Actor, *, limit: int, cursor: str | None) -> Page[SourceOut]:
    require(actor, SOURCE.key, Action.READ)
    with uow:
        return paginate(
            uow.session,
            select(EventSource),
            EventSource.id,
            limit=limit,
            cursor=cursor,
            newest_first=False,
            convert=_source_out,
        )


def get_source(uow: UnitOfWork, actor: Actor, source_id: str) -> SourceOut:
    require(actor, SOURCE.key, Action.READ)
    with uow:
        return _source_out(_load_source(uow.session, source_id))


def update_source(
    uow: UnitOfWork, actor: Actor, source_id: str, data: SourceUpdate, *, expected_version: int | None = None
) -> SourceOut:
    """Change a source; fields not given stay. Disabling refuses its write key within seconds."""
    require(actor, SOURCE.key, Action.UPDATE)
    with uow:
        source = _load_source(uow.session, source_id)
        if expected_version is not None and source.version != expected_version:
            raise StaleVersion()
        changes: dict[str, Any] = {}
        for name, value in data.model_dump(exclude_unset=True).items():
            if value is None and name != "rate_limit_per_second":
                continue
            if name == "allowed_origins":
                value = sorted(set(value))
            if name == "channel":
                value = ChannelType(value).value
            if getattr(source, name) != value:
                changes[name] = [getattr(source, name), value]
                setattr(source, name, value)
        if changes:
            source.updated_by = actor.user_id
            uow.session.flush()
            record_change(uow, actor, AuditAction.UPDATE, SOURCE.key, source.id, changes)
            uow.after_commit(_sources_changed)
        result = _source_out(source)
        uow.commit()
    return result


def rotate_write_key(
    uow: UnitOfWork, actor: Actor, source_id: str, *, expected_version: int | None = None
) -> SourceCreated:
    """Give a source a new write key (returned this once); the old one stops working at once."""
    require(actor, SOURCE.key, Action.UPDATE)
    write_key = _new_write_key()
    with uow:
        source = _load_source(uow.session, source_id)
        if expected_version is not None and source.version != expected_version:
            raise StaleVersion()
        previous_prefix = source.write_key_prefix
        source.write_key_digest = write_key_digest(write_key)
        source.write_key_prefix = write_key[:12]
        source.updated_by = actor.user_id
        uow.session.flush()
        record_change(
            uow,
            actor,
            AuditAction.UPDATE,
            SOURCE.key,
            source.id,
            {"write_key_prefix": [previous_prefix, source.write_key_prefix]},
        )
        uow.after_commit(_sources_changed)
        created = SourceCreated(**_source_out(source).model_dump(), write_key=write_key)
        uow.commit()
    return created


def source_counters(
    uow: UnitOfWork, actor: Actor, source_id: str, *, minutes: int = COUNTER_MINUTES
) -> SourceCounters:
    """Accepted, rejected and deduplicated messages per minute over the last ``minutes``."""
    require(actor, SOURCE.key, Action.READ)
    since = utc_now().replace(second=0, microsecond=0) - timedelta(minutes=minutes - 1)
    with uow:
        _load_source(uow.session, source_id)
        rows = uow.session.scalars(
            select(SourceMinute)
            .where(SourceMinute.source_id == source_id, SourceMinute.minute >= since)
            .order_by(SourceMinute.minute.desc())
        ).all()
        per_minute = [
            SourceMinuteOut(
                minute=row.minute, accepted=row.accepted, rejected=row.rejected, deduplicated=row.deduplicated
            )
            for row in rows
        ]
    return SourceCounters(
        minutes=minutes,
        accepted=sum(row.accepted for row in per_minute),
        rejected=sum(row.rejected for row in per_minute),
        deduplicated=sum(row.deduplicated for row in per_minute),
        per_minute=per_minute,
    )


def _dead_letter_out(letter: DeadLetter) -> DeadLetterOut:
    return DeadLetterOut.model_validate(letter, from_attributes=True)


def list_dead_letters(
    uow: UnitOfWork, actor: Actor, source_id: str, *, limit: int, cursor: str | None
) -> Page[DeadLetterOut]:
    """A source's refused messages, newest first, with the reason and the raw message."""
    require(actor, SOURCE.key, Action.READ)
    require(actor, EVENT.key, Action.READ)
    with uow:
        _load_source(uow.session, source_id)
        return paginate(
            uow.session,
            select(DeadLetter).where(DeadLetter.source_id == source_id),
            DeadLetter.id,
            limit=limit,
            cursor=cursor,
            convert=_dead_letter_out,
        )


def _event_out(event: Event) -> EventOut:
    return EventOut.model_validate(event, from_attributes=True)


def list_events(
    uow: UnitOfWork,
    actor: Actor,
    *,
    limit: int,
    cursor: str | None,
    source_id: str | None = None,
    user_id: str | None = None,
    anonymous_id: str | None = None,
    event: str | None = None,
) -> Page[EventOut]:
    """Events of the log, newest first (by sequence: commit order), filtered by source, event name
    or the user id / anonymous id they carry.

    The log has no index on raw user or anonymous ids (ADR 0016): such a filter reads the log
    newest first until the page is full, quick for an id that sent recently, a read of the whole
    log for one that never did. A person's events are indexed through their profile (360°).
    """
    require(actor, EVENT.key, Action.READ)
    check_limit(limit)
    statement = select(Event)
    if source_id is not None:
        statement = statement.where(Event.source_id == source_id)
    if user_id is not None:
        statement = statement.where(Event.user_id == user_id)
    if anonymous_id is not None:
        statement = statement.where(Event.anonymous_id == anonymous_id)
    if event is not None:
        statement = statement.where(Event.event == event)
    if cursor:
        before = decode_cursor(cursor)
        if not before.isdigit():
            raise ValidationFailed.single("cursor", "The cursor is not valid", "invalid_cursor")
        statement = statement.where(Event.sequence < int(before))
    with uow:
        rows = uow.session.scalars(statement.order_by(Event.sequence.desc()).limit(limit + 1)).all()
        items = [_event_out(row) for row in rows[:limit]]
    next_cursor = encode_cursor(str(items[-1].sequence)) if len(rows) > limit else None
    return Page[EventOut](items=items, next_cursor=next_cursor)


def count_events(uow: UnitOfWork, actor: Actor, *, source_id: str) -> int:
    """How many events a source has in the log."""
    require(actor, EVENT.key, Action.READ)
    with uow:
        return int(uow.session.scalar(select(func.count()).where(Event.source_id == source_id)) or 0)
