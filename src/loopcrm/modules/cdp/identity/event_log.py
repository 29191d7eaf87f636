"""Identity processing of the event log: read it in sequence order after a cursor, resolve each
message to a profile, record the event's profile beside the log and move the cursor, all in one
transaction.

Crash-safe and idempotent because the cursor, the profiles and the events' attribution commit
together: a run that dies changes nothing, and the next starts after the last committed batch.
The log's ``sequence`` grows in commit order (ADR 0009: one writer commits at a time), so a
cursor never skips an event that commits later with a smaller sequence.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import replace
from datetime import timedelta
from typing import Any, cast

import orjson
from sqlalchemy import Table, Text, case, func, null, select
from sqlalchemy import cast as cast_as
from sqlalchemy.orm import Session

from loopcrm.modules.cdp.identity.graph import IdentityGraph
from loopcrm.modules.cdp.identity.models import IdentityCursor, IdentityType, Profile
from loopcrm.modules.cdp.identity.rules import (
    consent_of_message,
    identifiers_of_message,
    normalize_group_id,
    normalize_identifier,
)
from loopcrm.modules.cdp.identity.schemas import Observation
from loopcrm.modules.cdp.models import Event, EventAttribution, MessageType
from loopcrm.platform.db import insert_rows, utc_now

CURSOR_NAME = "identity"
# Events per read and per flush: large enough that lookups and writes are batched, small enough
# that one batch's objects stay a few megabytes.
BATCH_SIZE = 1000
EVENTS = cast(Table, Event.__table__)
# How recently the log's newest event must have been received for ingestion to count as busy:
# the identity job's period.
RECENT_INGESTION = timedelta(seconds=5)


def observation_of(event_type: str, fields: Mapping[Any, Any]) -> Observation:
    """What one stored event tells the graph. Only identify carries the person's traits (a group
    call's traits describe the account); an alias's ``previousId`` is the anonymous id it joins."""
    message = {
        "userId": fields["user_id"],
        "anonymousId": fields["anonymous_id"],
        "context": fields["context"],
        "traits": fields["properties"] if event_type == MessageType.IDENTIFY else {},
    }
    identifiers = identifiers_of_message(message)
    if event_type == MessageType.ALIAS:
        previous = normalize_identifier(IdentityType.ANONYMOUS_ID, fields["previous_id"])
        if previous is not None and previous not in identifiers:
            identifiers.append(previous)
    traits = message["traits"] if isinstance(message["traits"], dict) else {}
    group_id = normalize_group_id(fields["group_id"]) if event_type == MessageType.GROUP else None
    return Observation(
        tuple(identifiers), fields["timestamp"], traits, consent_of_message(message), group_id=group_id
    )


def _decoded(text: str | None) -> Any:
    """A JSON column read as text; Python's parser for what orjson refuses (integers beyond 64
    bits, which the ingestion stores as JSON numbers)."""
    if not text or text == "{}":
        return {}
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)


def _observation_of_row(row: Any, seen: dict[tuple[Any, ...], Observation]) -> Observation:
    """``observation_of`` a row read as text, remembered for the run: a visitor's events repeat
    the same identifiers and context, and only their time differs (observations are never
    changed once made, so sharing their traits is safe)."""
    key = (
        row.type,
        row.user_id,
        row.anonymous_id,
        row.previous_id,
        row.group_id,
        row.context,
        row.properties,
    )
    known = seen.get(key)
    if known is None:
        fields = {
            "user_id": row.user_id,
            "anonymous_id": row.anonymous_id,
            "previous_id": row.previous_id,
            "group_id": row.group_id,
            "timestamp": row.timestamp,
            "properties": _decoded(row.properties),
            "context": _decoded(row.context),
        }
        known = seen[key] = observation_of(row.type, fields)
    return replace(known, at=row.timestamp)


ATTRIBUTIONS = cast(Table, EventAttribution.__table__)


def _attribute(session: Session, attributions: list[dict[str, Any]]) -> None:
    """Record each event's profile (``sequence``, ``profile_id``, ``timestamp``), leaving the log
    as it is (ADR 0017): one array statement on PostgreSQL (``insert_rows``); on SQLite a DBAPI
    executemany that copies each event's stored time, since SQLAlchemy's processing of every
    row's parameters cost more than the insert itself."""
    if session.get_bind().dialect.name == "postgresql":
        insert_rows(session, ATTRIBUTIONS, attributions)
        return
    session.connection().exec_driver_sql(
        "INSERT INTO cdp_event_attributions (sequence, profile_id, timestamp)"
        " SELECT sequence, ?, timestamp FROM cdp_events WHERE sequence = ?",
        [(row["profile_id"], row["sequence"]) for row in attributions],
    )


def is_being_written(session: Session, *, within: timedelta = RECENT_INGESTION) -> bool:
    """Whether ingestion is writing the log now: its newest event was received less than
    ``within`` ago. Jobs that read the log yield to it while it is (``enqueue_continuation``)."""
    newest = session.scalar(
        select(EVENTS.c.received_at).where(
            EVENTS.c.sequence == select(func.max(EVENTS.c.sequence)).scalar_subquery()
        )
    )
    return newest is not None and newest > utc_now() - within


def profile_family(session: Session, profile_id: str) -> set[str]:
    """``profile_id`` and every profile currently merged into it, directly or through others —
    the attributed profiles whose aggregates and events are this profile's (merges redirect, they
    never move events)."""
    found = {profile_id}
    frontier = [profile_id]
    while frontier:
        rows = session.scalars(select(Profile.id).where(Profile.merged_into.in_(frontier)))
        frontier = [row for row in rows if row not in found]
        found.update(frontier)
    return found


def _cursor(session: Session) -> IdentityCursor:
    # FOR UPDATE: two workers running the task at once take turns instead of resolving the same
    # events twice (on SQLite the transaction's write lock already does this).
    cursor = session.get(IdentityCursor, CURSOR_NAME, with_for_update=True)
    if cursor is None:
        cursor = IdentityCursor(name=CURSOR_NAME, last_sequence=0)
        session.add(cursor)
        session.flush()
    return cursor


def consume_event_log(session: Session, *, max_events: int) -> int:
    """Resolve up to ``max_events`` events after the cursor in the caller's transaction; returns
    how many were read (fewer than asked means the log is drained).

    The graph keeps the whole run's changes and writes them once at the end, with every event's
    attribution in one statement: a profile seen in many batches is written once.
    """
    cursor = _cursor(session)
    graph = IdentityGraph(session)
    done = 0
    attributions: list[dict[str, Any]] = []
    seen: dict[tuple[Any, ...], Observation] = {}
    last_sequence = cursor.last_sequence
    while done < max_events:
        rows = session.execute(
            select(
                EVENTS.c.sequence,
                EVENTS.c.type,
                EVENTS.c.user_id,
                EVENTS.c.anonymous_id,
                EVENTS.c.previous_id,
                EVENTS.c.group_id,
                # Only identify carries the person's traits: others' properties are not even read.
                # Both as text, decoded by orjson (several times faster than the driver's json).
                case(
                    (EVENTS.c.type == MessageType.IDENTIFY.value, cast_as(EVENTS.c.properties, Text)),
                    else_=null(),
                ).label("properties"),
                cast_as(EVENTS.c.context, Text).label("context"),
                EVENTS.c.timestamp,
            )
            .where(EVENTS.c.sequence > last_sequence)
            .order_by(EVENTS.c.sequence)
            .limit(min(BATCH_SIZE, max_events - done))
        ).all()
        if not rows:
            break
        observations = [_observation_of_row(row, seen) for row in rows]
        graph.prefetch(identifier for observation in observations for identifier in observation.identifiers)
        for row, observation in zip(rows, observations, strict=True):
            resolution = graph.resolve(observation)
            if resolution is not None:
                attributions.append(
                    {
                        "sequence": row.sequence,
                        "profile_id": resolution.profile_id,
                        "timestamp": row.timestamp,
                    }
                )
        last_sequence = rows[-1].sequence
        done += len(rows)
    graph.flush()
    if attributions:
        _attribute(session, attributions)
    cursor.last_sequence = last_sequence
    session.flush()
    return done
