"""REST routes of the 360° profile (``/api/v1/cdp/profiles``), merges (``/api/v1/cdp/merges``) and
trait strategies (``/api/v1/cdp/trait-strategies``).

Conventions of ADR 0005: problem documents (an unknown identifier type or timeline kind is 422),
``ETag`` with the profile's version, cursor pages, ``Idempotency-Key`` on POST (the middleware's).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response, status

from loopcrm.modules.cdp import service as cdp
from loopcrm.modules.cdp.identity.schemas import IdentityOut, MergeIn, MergeOut
from loopcrm.modules.cdp.models import MAX_EVENT_NAME_LENGTH, MAX_IDENTIFIER_LENGTH, MessageType
from loopcrm.modules.cdp.schemas import (
    EventOut,
    ProfileDetail,
    ProfileTimelineEntry,
    TraitStrategyChange,
    TraitStrategyOut,
)
from loopcrm.platform.http.concurrency import with_etag
from loopcrm.platform.http.dependencies import DEFAULT_PAGE_SIZE, CurrentActor, Cursor, Limit, Uow
from loopcrm.platform.pagination import Page

router = APIRouter(prefix="/cdp", tags=["cdp"])

IdentifierValue = Annotated[
    str | None,
    Query(min_length=1, max_length=MAX_IDENTIFIER_LENGTH, description="any identifier's value; normalised"),
]
IdentifierType = Annotated[
    str | None,
    Query(
        min_length=1,
        max_length=64,
        description="user_id, email, phone, anonymous_id, device_id, wechat_unionid, wechat_openid "
        "(every app) or wechat_openid:<appid>, or an external id type; empty: every type",
    ),
]
TraitName = Annotated[str, Path(min_length=1, max_length=200)]


@router.get("/profiles", response_model=Page[ProfileDetail])
def list_profiles(
    actor: CurrentActor,
    uow: Uow,
    identifier: IdentifierValue = None,
    identifier_type: IdentifierType = None,
    limit: Limit = DEFAULT_PAGE_SIZE,
    cursor: Cursor = None,
) -> Page[ProfileDetail]:
    """Live profiles, newest first; with ``identifier``, the profiles holding it now (one page)."""
    return cdp.list_profiles(
        uow, actor, limit=limit, cursor=cursor, identifier=identifier, identifier_type=identifier_type
    )


@router.get("/profiles/{profile_id}", response_model=ProfileDetail)
def read_profile(profile_id: str, actor: CurrentActor, uow: Uow, response: Response) -> ProfileDetail:
    """A profile with its identities, traits, consent and CRM links; a merged one names its survivor
    in ``merged_into``."""
    return with_etag(response, cdp.profile_detail(uow, actor, profile_id))


@router.get("/profiles/{profile_id}/identities", response_model=list[IdentityOut])
def list_identities(profile_id: str, actor: CurrentActor, uow: Uow) -> list[IdentityOut]:
    """The identifiers the profile holds now (empty for a reader below their clearance)."""
    return cdp.profile_identities(uow, actor, profile_id).identities


@router.get("/profiles/{profile_id}/events", response_model=Page[EventOut])
def list_profile_events(
    profile_id: str,
    actor: CurrentActor,
    uow: Uow,
    event: Annotated[str | None, Query(min_length=1, max_length=MAX_EVENT_NAME_LENGTH)] = None,
    type: Annotated[
        MessageType | None, Query(description="identify, track, page, screen, group or alias")
    ] = None,
    limit: Limit = DEFAULT_PAGE_SIZE,
    cursor: Cursor = None,
) -> Page[EventOut]:
    """The profile's events and those of profiles merged into it, newest first."""
    return cdp.profile_events(
        uow, actor, profile_id, limit=limit, cursor=cursor, event=event, message_type=type
    )


@router.get("/profiles/{profile_id}/timeline", response_model=Page[ProfileTimelineEntry])
def read_timeline(
    profile_id: str,
    actor: CurrentActor,
    uow: Uow,
    kind: Annotated[list[str] | None, Query(max_length=50, description="keep only these kinds")] = None,
    limit: Limit = DEFAULT_PAGE_SIZE,
    cursor: Cursor = None,
) -> Page[ProfileTimelineEntry]:
    """Events, CRM activities of the linked contact and other modules' entries, newest first."""
    return cdp.profile_timeline(uow, actor, profile_id, kinds=kind, limit=limit, cursor=cursor)


@router.get("/profiles/{profile_id}/merges", response_model=list[MergeOut])
def list_merges(profile_id: str, actor: CurrentActor, uow: Uow) -> list[MergeOut]:
    """Every merge the profile took part in, as survivor or merged, newest first."""
    return cdp.list_profile_merges(uow, actor, profile_id)


@router.post("/merges", response_model=MergeOut, status_code=status.HTTP_201_CREATED)
def merge_profiles(request: MergeIn, actor: CurrentActor, uow: Uow, response: Response) -> MergeOut:
    """Merge ``merged_id`` into ``survivor_id`` (a person knows they are one), with a note."""
    merge = cdp.merge_profiles(uow, actor, request)
    response.headers["Location"] = f"/api/v1/cdp/profiles/{merge.survivor_id}/merges"
    return merge


@router.post("/merges/{merge_id}/undo", response_model=MergeOut)
def undo_merge(merge_id: str, actor: CurrentActor, uow: Uow) -> MergeOut:
    """Undo a merge exactly; newer merges of the survivor must be undone first (409)."""
    return cdp.undo_merge(uow, actor, merge_id)


@router.put("/trait-strategies/{trait}", response_model=TraitStrategyOut)
def set_trait_strategy(
    trait: TraitName, change: TraitStrategyChange, actor: CurrentActor, uow: Uow
) -> TraitStrategyOut:
    """How a trait combines from now on: latest (default), oldest, sum or non_empty."""
    return cdp.set_trait_strategy(uow, actor, trait, change)
