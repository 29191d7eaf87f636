"""REST routes of probabilistic matching: runs (``/api/v1/cdp/matching/runs``) and the review
queue (``/api/v1/cdp/review-queue``). Conventions of ADR 0005; permissions in the service."""

from __future__ import annotations

from fastapi import APIRouter, status

from loopcrm.modules.cdp.matching import service as matching
from loopcrm.modules.cdp.matching.models import CandidateStatus
from loopcrm.modules.cdp.matching.schemas import CandidateOut, DecisionIn, RunIn, RunOut
from loopcrm.platform.http.dependencies import DEFAULT_PAGE_SIZE, CurrentActor, Cursor, Limit, Uow
from loopcrm.platform.pagination import Page

router = APIRouter(prefix="/cdp", tags=["cdp"])


@router.post("/matching/runs", response_model=RunOut, status_code=status.HTTP_202_ACCEPTED)
def start_run(actor: CurrentActor, uow: Uow, data: RunIn | None = None) -> RunOut:
    """Start a matching run (a background job); 409 while another run is in progress."""
    return matching.start_run(uow, actor, data)


@router.get("/matching/runs/{run_id}", response_model=RunOut)
def read_run(run_id: str, actor: CurrentActor, uow: Uow) -> RunOut:
    """A run's status, stage, progress and counts."""
    return matching.get_run(uow, actor, run_id)


@router.get("/review-queue", response_model=Page[CandidateOut])
def list_review_queue(
    actor: CurrentActor,
    uow: Uow,
    limit: Limit = DEFAULT_PAGE_SIZE,
    cursor: Cursor = None,
    status: CandidateStatus = CandidateStatus.PENDING,
) -> Page[CandidateOut]:
    """Pairs waiting for a decision (or with ``status``), strongest evidence first."""
    return matching.review_queue(uow, actor, limit=limit, cursor=cursor, status=status)


@router.get("/review-queue/{candidate_id}", response_model=CandidateOut)
def read_candidate(candidate_id: str, actor: CurrentActor, uow: Uow) -> CandidateOut:
    return matching.get_candidate(uow, actor, candidate_id)


@router.post("/review-queue/{candidate_id}/accept", response_model=CandidateOut)
def accept_candidate(
    candidate_id: str, actor: CurrentActor, uow: Uow, data: DecisionIn | None = None
) -> CandidateOut:
    """One person: merge the two profiles (409 when a deterministic rule forbids it)."""
    return matching.accept_candidate(uow, actor, candidate_id, data)


@router.post("/review-queue/{candidate_id}/reject", response_model=CandidateOut)
def reject_candidate(
    candidate_id: str, actor: CurrentActor, uow: Uow, data: DecisionIn | None = None
) -> CandidateOut:
    """Two people: the pair leaves the queue and is never queued again."""
    return matching.reject_candidate(uow, actor, candidate_id, data)
