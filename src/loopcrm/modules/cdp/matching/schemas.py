"""Contracts of probabilistic matching: starting a run, a run's progress, the review queue."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, Field, model_validator

from loopcrm.modules.cdp.matching.models import CandidateStatus, QueueReason, RunStage, RunStatus
from loopcrm.platform.auth.schemas import Input

# Merge without a person only when the model is at least 99% sure (CDP_CONTRACT.md).
DEFAULT_AUTO_MERGE_THRESHOLD = 0.99
# Below 0.5 the model thinks two people more likely than one: not worth a reviewer's time.
DEFAULT_REVIEW_THRESHOLD = 0.5


class Agreement(StrEnum):
    """How one field of a pair compared, for the reviewer."""

    AGREES = "agrees"  # the comparison's strongest level (same email, same name…)
    SIMILAR = "similar"  # a partial level (name almost the same, birthday one digit apart)
    DIFFERS = "differs"  # the fields disagree
    MISSING = "missing"  # one of the profiles does not have the field


class RunIn(Input):
    auto_merge_threshold: float = Field(
        default=DEFAULT_AUTO_MERGE_THRESHOLD, ge=0.99, le=1.0, description="never below 0.99"
    )
    review_threshold: float = Field(default=DEFAULT_REVIEW_THRESHOLD, ge=0.05, lt=0.99)
    auto_merge: bool = Field(default=True, description="false: every pair goes to the review queue")

    @model_validator(mode="after")
    def _review_below_auto(self) -> RunIn:
        if self.review_threshold >= self.auto_merge_threshold:
            raise ValueError("review_threshold must be below auto_merge_threshold")
        return self


class RunOut(BaseModel):
    id: str
    status: RunStatus
    stage: RunStage
    progress_percent: int
    auto_merge_threshold: float
    review_threshold: float
    job_id: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    started_by: str | None
    profile_count: int
    compared_pairs: int
    merged_count: int
    queued_count: int
    refused_count: int
    remembered_count: int
    timings: dict[str, float]
    error: str | None


class Evidence(BaseModel):
    comparison: str  # name, email, phone, birthday, city
    agreement: Agreement
    label: str  # the level the pair reached, e.g. "Same name in Hanzi"
    match_weight: float  # log2(m / u) of that level: positive for evidence of one person


class ProfileSummary(BaseModel):
    """What the reviewer sees of one side of a pair: the fields the matcher compared."""

    id: str
    name: str | None
    email: str | None
    phone: str | None
    birthday: str | None
    city: str | None
    is_live: bool


class CandidateOut(BaseModel):
    id: str
    run_id: str
    status: CandidateStatus
    reason: QueueReason | None
    reason_detail: str | None
    match_probability: float
    match_weight: float
    evidence: list[Evidence]
    left: ProfileSummary
    right: ProfileSummary
    merge_id: str | None
    decided_by: str | None
    decided_at: datetime | None
    created_at: datetime


class DecisionIn(Input):
    note: str | None = Field(default=None, max_length=500, description="why, kept with the decision")
