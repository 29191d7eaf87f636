"""Tables of the customer data platform: event sources, the event log, dead letters and the
per-minute counters of each source.

The event log is append-only. Its ``sequence`` grows with commit order (one writer commits at a
time, see ADR 0009), so the identity job reads it in order by remembering the last sequence it
processed; ``id`` is a time-ordered UUIDv7 that the API shows.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    select,
)
from sqlalchemy.orm import Mapped, column_property, mapped_column

from loopcrm.platform.db import Base, Record, new_id, utc_now

MAX_SOURCE_NAME_LENGTH = 200
MAX_ORIGIN_LENGTH = 300
# Identifiers and names sent by clients: long enough for any real id (a WeChat unionid is 28
# characters, a UUID 36), short enough to index. Longer values are rejected with the message.
MAX_IDENTIFIER_LENGTH = 255
MAX_EVENT_NAME_LENGTH = 255
MAX_MESSAGE_ID_LENGTH = 255
# What a dead letter keeps of the raw message: an oversize message (over 32 KB) is cut here.
MAX_DEAD_LETTER_RAW_LENGTH = 64 * 1024
# A SQLite rowid is 64-bit; on PostgreSQL a BIGINT identity.
SequenceInteger = BigInteger().with_variant(Integer(), "sqlite")


class ChannelType(StrEnum):
    """Where a source's events come from."""

    WEB = "web"  # a website: analytics.js or another browser tracker
    APP = "app"  # a mobile app (iOS, Android) through a Segment or RudderStack SDK
    MINI_PROGRAM = "mini_program"  # a WeChat / Alipay mini program
    ECOMMERCE = "ecommerce"  # an online shop or marketplace: orders, carts, buyers
    EMAIL = "email"  # an email service: sends, opens, clicks, bounces
    SMS = "sms"  # an SMS gateway: sends, deliveries, replies
    SERVER = "server"  # a back-end system sending events from its own code
    OTHER = "other"  # anything else, such as webhooks from a third party


class MessageType(StrEnum):
    """The Segment message types the ingestion endpoints accept."""

    IDENTIFY = "identify"  # who the person is: userId and traits
    TRACK = "track"  # something the person did: an event name and properties
    PAGE = "page"  # a web page viewed
    SCREEN = "screen"  # an app screen viewed
    GROUP = "group"  # the person belongs to an account (groupId) with its traits
    ALIAS = "alias"  # previousId and userId are the same person


class RejectionCode(StrEnum):
    """Why a message went to the dead-letter list instead of the event log."""

    INVALID_JSON = "invalid_json"  # the request body is not JSON
    INVALID_MESSAGE = "invalid_message"  # the message is not a JSON object or a field has the wrong type
    UNKNOWN_TYPE = "unknown_type"  # ``type`` is missing or not one of MessageType
    MISSING_IDENTITY = "missing_identity"  # neither userId nor anonymousId (alias: previousId and userId)
    MISSING_FIELD = "missing_field"  # a field the type requires is missing (event, groupId)
    MESSAGE_TOO_LARGE = "message_too_large"  # over the 32 KB limit per message
    REQUEST_TOO_LARGE = "request_too_large"  # the whole request is over 500 KB
    BATCH_TOO_LONG = "batch_too_long"  # more than 2500 messages in one batch
    VALUE_TOO_LONG = "value_too_long"  # an identifier or name longer than the columns allow
    INVALID_TIMESTAMP = "invalid_timestamp"  # a time field that is not ISO 8601


class EventSource(Record, Base):
    """A place events come from, with the write key its clients authenticate with.

    Only a SHA-256 digest of the write key is kept; the key itself is shown once, when the
    source is created or its key rotated.
    """

    __tablename__ = "cdp_sources"

    name: Mapped[str] = mapped_column(String(MAX_SOURCE_NAME_LENGTH))
    channel: Mapped[str] = mapped_column(String(32))  # a ChannelType
    write_key_digest: Mapped[str] = mapped_column(String(64), unique=True)
    write_key_prefix: Mapped[str] = mapped_column(String(12))  # the first characters, to recognise it
    is_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    allowed_origins: Mapped[list[str]] = mapped_column(JSON, default=list)
    # Events accepted per second before 429; None takes LOOPCRM_CDP_RATE_LIMIT_EVENTS_PER_SECOND.
    rate_limit_per_second: Mapped[int | None] = mapped_column(Integer, default=None)


class EventAttribution(Base):
    """The profile the identity job resolved an event to, beside the log rather than in it.

    The log stays append-only (ADR 0017): attributing an event inserts a small row here instead
    of updating the event, which on PostgreSQL wrote a new version of the event and an entry in
    each of its indexes, and left the old version for vacuum. The event's time is copied so a
    profile's events are one index range in time order.
    """

    __tablename__ = "cdp_event_attributions"
    __table_args__ = (Index("ix_cdp_event_attributions_profile", "profile_id", "timestamp"),)

    # The event's sequence (no foreign key: only the identity job writes here, for events it has
    # just read, and erasure deletes both; a check would cost a lookup in the log per event).
    sequence: Mapped[int] = mapped_column(SequenceInteger, primary_key=True, autoincrement=False)
    profile_id: Mapped[str] = mapped_column(String(36))
    timestamp: Mapped[datetime] = mapped_column()


class Event(Base):
    """One accepted message, as received, with the fields the timelines and analytics need as
    columns and the rest kept as JSON (unknown fields included)."""

    __tablename__ = "cdp_events"
    __table_args__ = (
        # Few indexes, each for a path the product reads (ADR 0016): every one is written for
        # every ingested event. No index on raw user or anonymous ids: a filter by one reads the
        # log newest first; a person's events are found through their attributions' index.
        UniqueConstraint("source_id", "message_id", name="uq_cdp_events_source_message"),
        Index("ix_cdp_events_event_timestamp", "event", "timestamp"),
        {"sqlite_autoincrement": True},  # never reuse a sequence, even after the last row is erased
    )

    sequence: Mapped[int] = mapped_column(SequenceInteger, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(36), unique=True, default=new_id)
    source_id: Mapped[str] = mapped_column(String(36), ForeignKey("cdp_sources.id"))
    message_id: Mapped[str] = mapped_column(String(MAX_MESSAGE_ID_LENGTH))
    type: Mapped[str] = mapped_column(String(16))  # a MessageType
    # track: the event name; page and screen: the name of the page or screen; otherwise None.
    event: Mapped[str | None] = mapped_column(String(MAX_EVENT_NAME_LENGTH), default=None)
    user_id: Mapped[str | None] = mapped_column(String(MAX_IDENTIFIER_LENGTH), default=None)
    anonymous_id: Mapped[str | None] = mapped_column(String(MAX_IDENTIFIER_LENGTH), default=None)
    group_id: Mapped[str | None] = mapped_column(String(MAX_IDENTIFIER_LENGTH), default=None)
    previous_id: Mapped[str | None] = mapped_column(String(MAX_IDENTIFIER_LENGTH), default=None)
    # The profile the identity job resolved the message to (None until it has), read from the
    # event's attribution. For output only: a filter by profile joins EventAttribution instead.
    profile_id: Mapped[str | None] = column_property(
        select(EventAttribution.profile_id)
        .where(EventAttribution.sequence == sequence)
        .correlate_except(EventAttribution)
        .scalar_subquery()
    )
    timestamp: Mapped[datetime] = mapped_column()  # when it happened, corrected for client clock skew
    received_at: Mapped[datetime] = mapped_column(default=utc_now)  # the server's clock
    sent_at: Mapped[datetime | None] = mapped_column(default=None)
    original_timestamp: Mapped[datetime | None] = mapped_column(default=None)
    # track/page/screen: properties; identify/group: traits.
    properties: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    context: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Every other field of the message (integrations, category, unknown fields), as sent.
    extra: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class DeadLetter(Base):
    """A message (or a whole request) that was refused, with the reason and the raw text, for an
    admin to see what a client sends wrong."""

    __tablename__ = "cdp_dead_letters"
    __table_args__ = (Index("ix_cdp_dead_letters_source", "source_id", "id"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    source_id: Mapped[str] = mapped_column(String(36), ForeignKey("cdp_sources.id"))
    received_at: Mapped[datetime] = mapped_column(default=utc_now)
    code: Mapped[str] = mapped_column(String(32))  # a RejectionCode
    reason: Mapped[str] = mapped_column(String(1000))  # what exactly was wrong, in English
    message_id: Mapped[str | None] = mapped_column(String(MAX_MESSAGE_ID_LENGTH), default=None)
    raw: Mapped[str] = mapped_column(Text)  # the message as sent, cut at MAX_DEAD_LETTER_RAW_LENGTH


class SourceMinute(Base):
    """How many messages one source had accepted, rejected and deduplicated in one minute."""

    __tablename__ = "cdp_source_minutes"

    source_id: Mapped[str] = mapped_column(String(36), ForeignKey("cdp_sources.id"), primary_key=True)
    minute: Mapped[datetime] = mapped_column(primary_key=True)  # the start of the minute, UTC
    accepted: Mapped[int] = mapped_column(BigInteger, default=0)
    rejected: Mapped[int] = mapped_column(BigInteger, default=0)
    deduplicated: Mapped[int] = mapped_column(BigInteger, default=0)
