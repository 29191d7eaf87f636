"""Tables of the identity graph: profiles, versioned identity links, merges and trait strategies.

Nothing here is ever deleted. A link between an identifier and a profile is a version with a
validity interval: a merge closes the merged profile's links and opens new ones on the survivor,
an unmerge closes those and opens the originals again, so the graph's history stays readable
and a merge can be undone exactly. A merged profile keeps its row and points at its survivor
(``merged_into``); events keep the profile they were attributed to, and readers follow the
redirect (ADR 0010).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from loopcrm.platform.db import Base, Record, new_id, utc_now

MAX_TRAIT_NAME_LENGTH = 200
MAX_MERGE_NOTE_LENGTH = 1000


class IdentityType(StrEnum):
    """The identifier types the contract names; typed external ids add their own type strings."""

    USER_ID = "user_id"  # the customer's own account id (Segment userId)
    WECHAT_UNIONID = "wechat_unionid"  # one WeChat account across every app of one developer
    WECHAT_OPENID = "wechat_openid"  # one WeChat account inside one app; stored as wechat_openid:<appid>
    EMAIL = "email"  # lower-cased
    PHONE = "phone"  # E.164
    DEVICE_ID = "device_id"  # context.device.id of an app
    ANONYMOUS_ID = "anonymous_id"  # a browser's or app's anonymous id (Segment anonymousId)
    # The CRM contact this profile is (its id): written only by the contact feed, never taken from
    # a message, so the contact link is versioned, merged and unmerged like every identity link.
    CRM_CONTACT = "crm_contact"


class TraitStrategy(StrEnum):
    """How two values of one trait combine, when a message sets it and when profiles merge."""

    LATEST = "latest"  # the value observed last wins (the default)
    OLDEST = "oldest"  # the value observed first wins, e.g. first_seen_channel
    SUM = "sum"  # counters: a merge adds both profiles' numbers; a message sets the value it reports
    NON_EMPTY = "non_empty"  # the latest value that is not empty; an empty value never erases one


class MergeReason(StrEnum):
    """Why two profiles became one."""

    RULE = "rule"  # a message carried identifiers of both (deterministic rule)
    MANUAL = "manual"  # a person merged them, with a note
    PROBABILISTIC = "probabilistic"  # the matcher scored them above the auto-merge threshold


class LinkChange(StrEnum):
    """What opened or closed an identity link."""

    OBSERVED = "observed"  # a message carried the identifier
    MERGE = "merge"  # a merge moved the link to the survivor
    UNMERGE = "unmerge"  # an unmerge moved it back
    UNLINKED = "unlinked"  # the CRM contact it named was deleted (closes crm_contact links only)


class Profile(Record, Base):
    """One person as the CDP knows them: traits, consent and when they were seen.

    ``merged_into`` redirects a merged profile to its survivor; such a profile keeps its row, and
    its traits as they were just before the merge, so an unmerge can bring it back.
    """

    __tablename__ = "cdp_profiles"
    __table_args__ = (Index("ix_cdp_profiles_merged_into", "merged_into"),)

    traits: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # When each trait got its current value: the event time, so late events do not win "latest".
    trait_times: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    # Category → {"granted": bool, "at": ISO time} from context.consent.categoryPreferences.
    consent: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    first_seen_at: Mapped[datetime] = mapped_column()
    last_seen_at: Mapped[datetime] = mapped_column()
    merged_into: Mapped[str | None] = mapped_column(String(36), ForeignKey("cdp_profiles.id"), default=None)
    merged_at: Mapped[datetime | None] = mapped_column(default=None)


class IdentityLink(Base):
    """One version of the link between an identifier and a profile, valid from ``valid_from``
    until ``valid_to`` (None while current). At most one link of an identifier is current."""

    __tablename__ = "cdp_identity_links"
    __table_args__ = (
        # Value first (migration 20261203): a batch looks up hundreds of values of a few types,
        # and with the value leading both engines search the index by it even before they have
        # statistics (PostgreSQL 15 otherwise filtered every link of the type).
        Index(
            "uq_cdp_identity_links_current",
            "value",
            "type",
            unique=True,
            sqlite_where=text("valid_to IS NULL"),
            postgresql_where=text("valid_to IS NULL"),
        ),
        Index("ix_cdp_identity_links_profile", "profile_id", "type"),
        Index("ix_cdp_identity_links_opened_by_merge", "opened_by_merge_id"),
        Index("ix_cdp_identity_links_closed_by_merge", "closed_by_merge_id"),
        # Profiles that got an email or phone lately: the contact-creation rule's candidates.
        Index("ix_cdp_identity_links_type_valid_from", "type", "valid_from"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    type: Mapped[str] = mapped_column(String(64))
    value: Mapped[str] = mapped_column(String(255))
    profile_id: Mapped[str] = mapped_column(String(36), ForeignKey("cdp_profiles.id"))
    # When the identifier was first seen at all; kept across merges and unmerges.
    first_seen_at: Mapped[datetime] = mapped_column()
    valid_from: Mapped[datetime] = mapped_column(default=utc_now)
    valid_to: Mapped[datetime | None] = mapped_column(default=None)
    opened_by: Mapped[str] = mapped_column(String(16))  # a LinkChange
    closed_by: Mapped[str | None] = mapped_column(String(16), default=None)  # a LinkChange
    opened_by_merge_id: Mapped[str | None] = mapped_column(String(36), default=None)
    closed_by_merge_id: Mapped[str | None] = mapped_column(String(36), default=None)
    # Only so that a flush inserts a new profile before its first links; never loaded.
    profile: Mapped[Profile] = relationship(lazy="raise")


class GroupLink(Base):
    """One version of a profile's membership of a group (a ``group`` call's ``groupId``), valid
    from ``valid_from`` until ``valid_to``; versioned like identity links so that a merge and its
    undo move memberships exactly. Many profiles share a group; one profile has each group once.

    The CRM account a group names is found when read (account external id, id or domain; see
    ADR 0011), so an account created after the group call still links."""

    __tablename__ = "cdp_group_links"
    __table_args__ = (
        Index(
            "uq_cdp_group_links_current",
            "profile_id",
            "group_id",
            unique=True,
            sqlite_where=text("valid_to IS NULL"),
            postgresql_where=text("valid_to IS NULL"),
        ),
        Index("ix_cdp_group_links_group", "group_id"),
        Index("ix_cdp_group_links_opened_by_merge", "opened_by_merge_id"),
        Index("ix_cdp_group_links_closed_by_merge", "closed_by_merge_id"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    profile_id: Mapped[str] = mapped_column(String(36), ForeignKey("cdp_profiles.id"))
    group_id: Mapped[str] = mapped_column(String(255))
    first_seen_at: Mapped[datetime] = mapped_column()  # the event time of the first group call
    valid_from: Mapped[datetime] = mapped_column(default=utc_now)
    valid_to: Mapped[datetime | None] = mapped_column(default=None)
    opened_by: Mapped[str] = mapped_column(String(16))  # a LinkChange
    closed_by: Mapped[str | None] = mapped_column(String(16), default=None)  # a LinkChange
    opened_by_merge_id: Mapped[str | None] = mapped_column(String(36), default=None)
    closed_by_merge_id: Mapped[str | None] = mapped_column(String(36), default=None)


class ProfileMerge(Record, Base):
    """A merge of one profile into another, with what undoing it needs.

    The snapshots hold traits, trait times, consent and seen times: ``survivor_before`` and
    ``merged_before`` as they were, ``survivor_after`` as the merge left the survivor, so an
    unmerge restores what the merge changed and keeps what later events changed.
    """

    __tablename__ = "cdp_profile_merges"
    __table_args__ = (
        Index("ix_cdp_profile_merges_survivor", "survivor_id"),
        Index("ix_cdp_profile_merges_merged", "merged_id"),
    )

    survivor_id: Mapped[str] = mapped_column(String(36), ForeignKey("cdp_profiles.id"))
    merged_id: Mapped[str] = mapped_column(String(36), ForeignKey("cdp_profiles.id"))
    reason: Mapped[str] = mapped_column(String(16))  # a MergeReason
    note: Mapped[str | None] = mapped_column(String(MAX_MERGE_NOTE_LENGTH), default=None)
    merged_at: Mapped[datetime] = mapped_column()
    survivor_before: Mapped[dict[str, Any]] = mapped_column(JSON)
    merged_before: Mapped[dict[str, Any]] = mapped_column(JSON)
    survivor_after: Mapped[dict[str, Any]] = mapped_column(JSON)
    undone_at: Mapped[datetime | None] = mapped_column(default=None)
    undone_by: Mapped[str | None] = mapped_column(String(36), default=None)


class TraitStrategySetting(Base):
    """The strategy an administrator chose for one trait; traits without a row use LATEST."""

    __tablename__ = "cdp_trait_strategies"

    trait: Mapped[str] = mapped_column(String(MAX_TRAIT_NAME_LENGTH), primary_key=True)
    strategy: Mapped[str] = mapped_column(String(16))  # a TraitStrategy
    updated_at: Mapped[datetime] = mapped_column(default=utc_now, onupdate=utc_now)
    updated_by: Mapped[str | None] = mapped_column(String(36), default=None)


class IdentityCursor(Base):
    """How far a consumer of the event log has resolved it: the last sequence it committed.

    Kept in the same transaction as the profiles it changed, so a crash either keeps both or
    neither, and a re-run starts after the last committed batch.
    """

    __tablename__ = "cdp_identity_cursors"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    last_sequence: Mapped[int] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"), default=0)
    # For consumers of changes by time, a position: the CRM contact feed resumes right after
    # (last_changed_at, last_id) in (updated_at, id) order, the contact-creation rule in
    # (identity link valid_from, profile id) order.
    last_changed_at: Mapped[datetime | None] = mapped_column(default=None)
    last_id: Mapped[str | None] = mapped_column(String(36), default=None)
    updated_at: Mapped[datetime] = mapped_column(default=utc_now, onupdate=utc_now)
