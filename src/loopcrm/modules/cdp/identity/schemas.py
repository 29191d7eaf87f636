"""Contracts of the identity graph: identifiers, what a message tells the graph, and what the
graph answers (profiles, identities, merges)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

from pydantic import BaseModel, Field

from loopcrm.modules.cdp.identity.models import MAX_MERGE_NOTE_LENGTH, MergeReason, TraitStrategy
from loopcrm.platform.auth.schemas import Input


class Identifier(NamedTuple):
    """An identifier in its stored form: ``type`` (an IdentityType or a typed external id such as
    ``wechat_openid:wx1234``) and the normalised ``value``. A tuple, because the resolver hashes
    millions of them."""

    type: str
    value: str


@dataclass(frozen=True)
class Observation:
    """What one message tells the graph: who (identifiers), what they are like (traits), what
    they agreed to (consent category → granted) and when (the event's corrected timestamp)."""

    identifiers: tuple[Identifier, ...]
    at: datetime
    traits: dict[str, Any] = field(default_factory=dict)
    consent: dict[str, bool] = field(default_factory=dict)
    # The ``groupId`` of a group call: the profile joins that group (and so its CRM account).
    group_id: str | None = None
    # False for what the CRM contact feed reports: a contact's change time is not a visit, so it
    # does not move the profile's first and last seen times (a new profile starts at it).
    is_visit: bool = True


@dataclass(frozen=True)
class Resolution:
    """Where a message landed: its profile, whether that profile is new, which profiles were
    merged into it by the rules, and which identifiers were dropped to respect the limits."""

    profile_id: str
    is_new_profile: bool
    merged_profile_ids: tuple[str, ...] = ()
    dropped: tuple[Identifier, ...] = ()


class IdentityOut(BaseModel):
    type: str
    value: str
    first_seen_at: datetime


class ProfileOut(BaseModel):
    id: str
    traits: dict[str, Any]
    consent: dict[str, bool]
    first_seen_at: datetime
    last_seen_at: datetime
    merged_into: str | None
    identities: list[IdentityOut]
    version: int
    # The CRM records this person is known as: the linked contact (identified by a matching email,
    # phone or user id) and the accounts its ``group`` calls named. Filled by the linking step.
    contact_id: str | None = None
    account_ids: list[str] = Field(default_factory=list)


class MergeIn(Input):
    survivor_id: str = Field(min_length=1, max_length=36)
    merged_id: str = Field(min_length=1, max_length=36)
    note: str = Field(min_length=1, max_length=MAX_MERGE_NOTE_LENGTH, description="why they are one person")


class MergeOut(BaseModel):
    id: str
    survivor_id: str
    merged_id: str
    reason: MergeReason
    note: str | None
    merged_at: datetime
    merged_by: str | None
    undone_at: datetime | None
    undone_by: str | None


class TraitStrategyIn(Input):
    trait: str = Field(min_length=1, max_length=200)
    strategy: TraitStrategy
