"""Contracts of data-subject requests: the export document and the erasure request and record."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from loopcrm.modules.cdp.computed.schemas import ComputedTraitsOut
from loopcrm.modules.cdp.privacy.models import MAX_REFERENCE_LENGTH, REFERENCE_PATTERN, ErasureReason
from loopcrm.platform.auth.schemas import Input


class ExportedProfile(BaseModel):
    id: str
    traits: dict[str, Any]
    trait_times: dict[str, Any]
    consent: dict[str, Any]  # category → {"granted", "at"} as stated by the person's messages
    first_seen_at: datetime
    last_seen_at: datetime
    merged_into: str | None
    merged_at: datetime | None


class ExportedIdentity(BaseModel):
    """One version of an identity link: who held the identifier when, and what moved it."""

    type: str
    value: str
    profile_id: str
    first_seen_at: datetime
    valid_from: datetime
    valid_to: datetime | None
    opened_by: str
    closed_by: str | None


class ExportedMerge(BaseModel):
    id: str
    survivor_id: str
    merged_id: str
    reason: str
    merged_at: datetime
    undone_at: datetime | None


class ExportedEvent(BaseModel):
    id: str
    source_id: str
    channel: str
    message_id: str
    type: str
    event: str | None
    user_id: str | None
    anonymous_id: str | None
    group_id: str | None
    previous_id: str | None
    profile_id: str | None
    timestamp: datetime
    received_at: datetime
    sent_at: datetime | None
    original_timestamp: datetime | None
    properties: dict[str, Any]
    context: dict[str, Any]
    extra: dict[str, Any]


class ProfileExport(BaseModel):
    """Everything the CDP holds about one person: the profile and every profile merged into it,
    their identities with their whole history, the merges, consent and traits, the computed
    traits and every event attributed to them, oldest first."""

    exported_at: datetime
    profile_id: str
    profiles: list[ExportedProfile]
    identities: list[ExportedIdentity]
    merges: list[ExportedMerge]
    computed_traits: ComputedTraitsOut
    events: list[ExportedEvent]

    @property
    def file_name(self) -> str:
        return f"profile-{self.profile_id}.json"

    def as_json_text(self) -> str:
        """The document as the download holds it: UTF-8 JSON, Chinese kept readable, indented."""
        return json.dumps(self.model_dump(mode="json"), ensure_ascii=False, indent=2)


class ErasureIn(Input):
    reason: ErasureReason
    reference: str | None = Field(
        default=None,
        min_length=1,
        max_length=MAX_REFERENCE_LENGTH,
        pattern=REFERENCE_PATTERN,
        description="the request's ticket or case number; letters, digits and . _ : / # - only",
    )


class ErasureOut(BaseModel):
    """What an erasure removed: ids and counts only."""

    id: str
    profile_id: str
    profile_ids: list[str]
    reason: ErasureReason
    reference: str | None
    counts: dict[str, int]
    erased_at: datetime
    erased_by: str | None
