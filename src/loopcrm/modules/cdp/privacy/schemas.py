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


class ExportedContactLink(BaseModel):
    """One version of the link between a profile and a CRM contact (ADR 0011). The contact's own
    record is the CRM's, governed by the customers module: only its id is exported here."""

    contact_id: str
    profile_id: str
    first_seen_at: datetime
    valid_from: datetime
    valid_to: datetime | None
    opened_by: str
    closed_by: str | None


class ExportedGroupLink(BaseModel):
    """One version of a profile's membership of a group (a ``group`` call's ``groupId``), with the
    CRM account the group names now, if any (found when read, as the profile page does)."""

    group_id: str
    account_id: str | None
    profile_id: str
    first_seen_at: datetime
    valid_from: datetime
    valid_to: datetime | None
    opened_by: str
    closed_by: str | None


class ExportedMatchDecision(BaseModel):
    """A pair the probabilistic matcher found with one of the person's profiles, and what became
    of it. The other side of the pair is another person's profile unless both are the person's
    (``other_profile_id`` is given only then), so only the person's side is named."""

    id: str
    run_id: str
    profile_id: str
    other_profile_id: str | None
    status: str
    reason: str | None
    reason_detail: str | None
    match_probability: float
    match_weight: float
    evidence: list[dict[str, Any]]
    merge_id: str | None
    decided_at: datetime | None
    created_at: datetime


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
    their identities, CRM contact links and group (account) memberships with their whole
    history, the merges, the matcher's pairs and decisions, consent and traits, the computed
    traits and every event attributed to them, oldest first."""

    exported_at: datetime
    profile_id: str
    profiles: list[ExportedProfile]
    identities: list[ExportedIdentity]  # every identifier but the CRM contact (see contact_links)
    contact_links: list[ExportedContactLink]
    group_links: list[ExportedGroupLink]
    merges: list[ExportedMerge]
    match_decisions: list[ExportedMatchDecision]
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
    """What an erasure removed: ids and counts only. ``kept_contact_ids`` are the CRM contacts the
    profiles were linked to: the CDP unlinked them but does not delete them (they are the sales
    team's records, governed by the customers module); the request may need handling there too."""

    id: str
    profile_id: str
    profile_ids: list[str]
    reason: ErasureReason
    reference: str | None
    counts: dict[str, int]
    erased_at: datetime
    erased_by: str | None
    kept_contact_ids: list[str] = []
