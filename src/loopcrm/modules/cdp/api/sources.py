"""REST routes of event sources (``/api/v1/cdp/sources``) and the event log (``/api/v1/cdp/events``).

Conventions of ADR 0005: problem documents, ``ETag`` with the source's version and ``If-Match``
on PATCH, cursor pages, ``Idempotency-Key`` on POST (the middleware's).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from loopcrm.modules.cdp import service as cdp
from loopcrm.modules.cdp.models import MAX_EVENT_NAME_LENGTH, MAX_IDENTIFIER_LENGTH
from loopcrm.modules.cdp.schemas import (
    DeadLetterOut,
    EventOut,
    SourceCounters,
    SourceCreate,
    SourceCreated,
    SourceOut,
    SourceUpdate,
)
from loopcrm.platform.http.concurrency import expected_version, with_etag
from loopcrm.platform.http.dependencies import DEFAULT_PAGE_SIZE, CurrentActor, Cursor, IfMatch, Limit, Uow
from loopcrm.platform.pagination import Page

router = APIRouter(prefix="/cdp", tags=["cdp"])

Identifier = Annotated[str | None, Query(min_length=1, max_length=MAX_IDENTIFIER_LENGTH)]


@router.get("/sources", response_model=Page[SourceOut])
def list_sources(
    actor: CurrentActor, uow: Uow, limit: Limit = DEFAULT_PAGE_SIZE, cursor: Cursor = None
) -> Page[SourceOut]:
    """Event sources, oldest first."""
    return cdp.list_sources(uow, actor, limit=limit, cursor=cursor)


@router.post("/sources", response_model=SourceCreated, status_code=status.HTTP_201_CREATED)
def create_source(data: SourceCreate, actor: CurrentActor, uow: Uow, response: Response) -> SourceCreated:
    """Create a source; the answer carries its write key, which is never shown again."""
    return with_etag(response, cdp.create_source(uow, actor, data), created_in="/api/v1/cdp/sources")


@router.get("/sources/{source_id}", response_model=SourceOut)
def read_source(source_id: str, actor: CurrentActor, uow: Uow, response: Response) -> SourceOut:
    return with_etag(response, cdp.get_source(uow, actor, source_id))


@router.patch("/sources/{source_id}", response_model=SourceOut)
def update_source(
    source_id: str,
    data: SourceUpdate,
    actor: CurrentActor,
    uow: Uow,
    response: Response,
    if_match: IfMatch = None,
) -> SourceOut:
    """Rename, enable or disable a source, change its origins or rate limit."""
    source = cdp.update_source(uow, actor, source_id, data, expected_version=expected_version(if_match))
    return with_etag(response, source)


@router.post("/sources/{source_id}/write-key", response_model=SourceCreated)
def rotate_write_key(
    source_id: str, actor: CurrentActor, uow: Uow, response: Response, if_match: IfMatch = None
) -> SourceCreated:
    """Replace the source's write key; the new key is in the answer, the old one stops working."""
    source = cdp.rotate_write_key(uow, actor, source_id, expected_version=expected_version(if_match))
    return with_etag(response, source)


@router.get("/sources/{source_id}/counters", response_model=SourceCounters)
def read_counters(source_id: str, actor: CurrentActor, uow: Uow) -> SourceCounters:
    """Accepted, rejected and deduplicated messages per minute over the last hour."""
    return cdp.source_counters(uow, actor, source_id)


@router.get("/sources/{source_id}/dead-letters", response_model=Page[DeadLetterOut])
def list_dead_letters(
    source_id: str, actor: CurrentActor, uow: Uow, limit: Limit = DEFAULT_PAGE_SIZE, cursor: Cursor = None
) -> Page[DeadLetterOut]:
    """Messages the source sent that were refused, newest first, with the reason and raw text."""
    return cdp.list_dead_letters(uow, actor, source_id, limit=limit, cursor=cursor)


@router.get("/events", response_model=Page[EventOut])
def list_events(
    actor: CurrentActor,
    uow: Uow,
    source_id: Annotated[str | None, Query(min_length=1, max_length=36)] = None,
    user_id: Identifier = None,
    anonymous_id: Identifier = None,
    event: Annotated[str | None, Query(min_length=1, max_length=MAX_EVENT_NAME_LENGTH)] = None,
    limit: Limit = DEFAULT_PAGE_SIZE,
    cursor: Cursor = None,
) -> Page[EventOut]:
    """Events of the log, newest first; filter by source, user id, anonymous id or event name."""
    return cdp.list_events(
        uow,
        actor,
        limit=limit,
        cursor=cursor,
        source_id=source_id,
        user_id=user_id,
        anonymous_id=anonymous_id,
        event=event,
    )
