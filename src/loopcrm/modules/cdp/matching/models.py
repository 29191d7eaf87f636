"""Tables of probabilistic matching: runs of the matcher and the pairs it found (the review queue).

A pair of profiles is stored once, under its two ids in sorted order, and keeps its latest
score and evidence. Its status is the memory of what was decided: a pair a person rejected is
never queued again (runs skip it, also after either profile absorbed others), an accepted or
auto-merged pair points at the merge that joined it (ADR 0012).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from loopcrm.platform.db import Base, Record, new_id, utc_now

MAX_REASON_LENGTH = 1000


class RunStatus(StrEnum):
    """Where a matching run is."""

    QUEUED = "queued"  # started; waiting for a worker
    RUNNING = "running"  # a worker is loading, training, predicting or merging
    SUCCEEDED = "succeeded"  # finished: merges made, queue written
    FAILED = "failed"  # stopped with an error (kept in ``error``); what it merged stays merged


class RunStage(StrEnum):
    """What a running run is doing, for the progress bar."""

    QUEUED = "queued"  # not started
    LOADING = "loading"  # reading live profiles and building features
    TRAINING = "training"  # estimating u (random sampling) and m (EM)
    PREDICTING = "predicting"  # scoring the blocked pairs
    QUEUEING = "queueing"  # writing pairs to the review queue
    MERGING = "merging"  # merging pairs at or above the auto-merge threshold
    DONE = "done"  # finished (succeeded or failed)


class CandidateStatus(StrEnum):
    """What became of a pair the matcher found."""

    PENDING = "pending"  # in the review queue, waiting for a person
    PLANNED = "planned"  # at or above the auto-merge threshold; the run merges it next
    AUTO_MERGED = "auto_merged"  # merged by the run (or joined through another merge of the run)
    ACCEPTED = "accepted"  # a person accepted it and the profiles were merged
    REJECTED = "rejected"  # a person said they are two people; never queued again
    SUPERSEDED = "superseded"  # a profile of the pair was merged elsewhere before anyone decided


class QueueReason(StrEnum):
    """Why a pair waits for a person instead of being merged."""

    BELOW_THRESHOLD = "below_threshold"  # the match probability is under the auto-merge threshold
    RULE_FORBIDS = "rule_forbids"  # above it, but a deterministic rule forbids the merge (two user ids…)


class MatchingRun(Record, Base):
    """One run of the matcher over every live profile, with its progress and what it did."""

    __tablename__ = "cdp_matching_runs"
    __table_args__ = (Index("ix_cdp_matching_runs_status", "status"),)

    status: Mapped[str] = mapped_column(String(16), default=RunStatus.QUEUED.value)  # a RunStatus
    stage: Mapped[str] = mapped_column(String(16), default=RunStage.QUEUED.value)  # a RunStage
    progress_percent: Mapped[int] = mapped_column(Integer, default=0)
    auto_merge_threshold: Mapped[float] = mapped_column(Float)
    review_threshold: Mapped[float] = mapped_column(Float)
    job_id: Mapped[str | None] = mapped_column(String(36), default=None)
    started_at: Mapped[datetime | None] = mapped_column(default=None)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)
    profile_count: Mapped[int] = mapped_column(Integer, default=0)
    compared_pairs: Mapped[int] = mapped_column(Integer, default=0)  # pairs at or above the review threshold
    merged_count: Mapped[int] = mapped_column(Integer, default=0)
    queued_count: Mapped[int] = mapped_column(Integer, default=0)
    refused_count: Mapped[int] = mapped_column(Integer, default=0)  # above the threshold, refused by a rule
    remembered_count: Mapped[int] = mapped_column(Integer, default=0)  # skipped: a person rejected them
    # Seconds per stage, for the benchmark and for operators wondering where the time went.
    timings: Mapped[dict[str, float]] = mapped_column(JSON, default=dict)
    # The trained model's levels: comparison → gamma → {label, match_weight, is_top}.
    levels: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    error: Mapped[str | None] = mapped_column(Text, default=None)


class MatchCandidate(Base):
    """A pair of live profiles the matcher scored at or above the review threshold.

    ``left_profile_id`` < ``right_profile_id``; one row per pair, updated by later runs while it
    is pending. ``evidence`` lists, per comparison, the level reached, its label, whether the
    field agreed and the level's match weight.
    """

    __tablename__ = "cdp_match_candidates"
    __table_args__ = (
        UniqueConstraint("left_profile_id", "right_profile_id", name="uq_cdp_match_candidates_pair"),
        Index("ix_cdp_match_candidates_queue", "status", "match_weight", "id"),
        Index("ix_cdp_match_candidates_right", "right_profile_id"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    run_id: Mapped[str] = mapped_column(String(36), ForeignKey("cdp_matching_runs.id"))
    left_profile_id: Mapped[str] = mapped_column(String(36), ForeignKey("cdp_profiles.id"))
    right_profile_id: Mapped[str] = mapped_column(String(36), ForeignKey("cdp_profiles.id"))
    status: Mapped[str] = mapped_column(String(16))  # a CandidateStatus
    reason: Mapped[str | None] = mapped_column(String(32), default=None)  # a QueueReason while queued
    reason_detail: Mapped[str | None] = mapped_column(String(MAX_REASON_LENGTH), default=None)
    match_probability: Mapped[float] = mapped_column(Float)
    match_weight: Mapped[float] = mapped_column(Float)
    evidence: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    merge_id: Mapped[str | None] = mapped_column(String(36), default=None)
    decided_by: Mapped[str | None] = mapped_column(String(36), default=None)
    decided_at: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(default=utc_now, onupdate=utc_now)
