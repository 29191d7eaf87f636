"""Contracts of the CDP's REST API: event sources, their counters and dead letters, events, and the
360° profile (a profile as its reader may see it, its timeline, trait strategies)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, Field

from loopcrm.modules.activities.schemas import TimelineEntry
from loopcrm.modules.cdp.identity.models import TraitStrategy
from loopcrm.modules.cdp.identity.schemas import ProfileOut
from loopcrm.modules.cdp.models import MAX_ORIGIN_LENGTH, ChannelType, MessageType, RejectionCode
from loopcrm.platform.auth.schemas import Input, Name

MAX_ALLOWED_ORIGINS = 50
# A source may take at most this many events a second; one process accepts far fewer anyway.
MAX_RATE_LIMIT = 1_000_000


def _origin(value: str) -> str:
    """An origin as browsers send it: scheme://host[:port], no path, or ``*`` for any."""
    value = value.strip().rstrip("/")
    if value == "*":
        return value
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.path or parts.query:
        raise ValueError("must be an origin such as https://shop.example.com, or *")
    return f"{parts.scheme}://{parts.netloc}".lower()


Origin = Annotated[str, Field(min_length=1, max_length=MAX_ORIGIN_LENGTH), AfterValidator(_origin)]
RateLimit = Annotated[int, Field(ge=1, le=MAX_RATE_LIMIT)]


class SourceCreate(Input):
    name: Name
    channel: ChannelType
    allowed_origins: list[Origin] = Field(
        default_factory=list,
        max_length=MAX_ALLOWED_ORIGINS,
        description="origins browsers may send from (CORS), such as https://shop.example.com; * for any",
    )
    rate_limit_per_second: RateLimit | None = Field(
        default=None, description="events a second before 429; empty for the server's default"
    )


class SourceUpdate(Input):
    name: Name | None = None
    channel: ChannelType | None = None
    is_enabled: bool | None = None
    allowed_origins: list[Origin] | None = Field(default=None, max_length=MAX_ALLOWED_ORIGINS)
    rate_limit_per_second: RateLimit | None = None


class SourceOut(BaseModel):
    id: str
    name: str
    channel: ChannelType
    write_key_prefix: str
    is_enabled: bool
    allowed_origins: list[str]
    rate_limit_per_second: int | None
    created_at: datetime
    updated_at: datetime
    version: int


class SourceCreated(SourceOut):
    """Returned at creation and at key rotation: the only time the write key is shown."""

    write_key: str


class SourceMinuteOut(BaseModel):
    """A source's counts in one minute (UTC start of the minute)."""

    minute: datetime
    accepted: int
    rejected: int
    deduplicated: int


class SourceCounters(BaseModel):
    """A source's counts over the last ``minutes`` minutes, newest minute first."""

    minutes: int
    accepted: int
    rejected: int
    deduplicated: int
    per_minute: list[SourceMinuteOut]


class DeadLetterOut(BaseModel):
    id: str
    source_id: str
    received_at: datetime
    code: RejectionCode
    reason: str
    message_id: str | None
    raw: str


class EventOut(BaseModel):
    """One event of the log, as stored (``properties`` holds traits for identify and group)."""

    id: str
    sequence: int
    source_id: str
    message_id: str
    type: MessageType
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


# --- The 360° profile (profiles, their events and timeline): see service/profiles.py ---


class ProfileDetail(ProfileOut):
    """A profile as the reader may see it: identities and traits are INTERNAL fields of PROFILE,
    emptied (and named in ``masked_fields``) for a reader whose clearance is below that."""

    masked_fields: list[str] = Field(default_factory=list, description="fields hidden by your clearance")


class ProfileTimelineEntry(TimelineEntry):
    """One line of a profile's 360° timeline: a CRM activity of the linked contact, an entry of
    another module's timeline source, or one of the profile's events (``event`` set)."""

    event: EventOut | None = None


class TraitStrategyChange(Input):
    """How one trait combines from now on (the trait is named by the path)."""

    strategy: TraitStrategy


class TraitStrategyOut(BaseModel):
    trait: str
    strategy: TraitStrategy
