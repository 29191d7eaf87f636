"""REST routes of the job queue, for admins: see queued, running and failed jobs, retry, cancel."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from loopcrm.platform.http.dependencies import DEFAULT_PAGE_SIZE, CurrentActor, Cursor, Limit, Uow
from loopcrm.platform.jobs import service as jobs
from loopcrm.platform.jobs.models import JobStatus
from loopcrm.platform.jobs.schemas import JobOut
from loopcrm.platform.pagination import Page

router = APIRouter(tags=["jobs"])


@router.get("/jobs", response_model=Page[JobOut])
def list_jobs(
    actor: CurrentActor,
    uow: Uow,
    status: Annotated[JobStatus | None, Query()] = None,
    limit: Limit = DEFAULT_PAGE_SIZE,
    cursor: Cursor = None,
) -> Page[JobOut]:
    """Jobs newest first, optionally of one status."""
    return jobs.list_jobs(uow, actor, status=status, limit=limit, cursor=cursor)


@router.get("/jobs/counts", response_model=dict[JobStatus, int])
def count_jobs(actor: CurrentActor, uow: Uow) -> dict[JobStatus, int]:
    """How many jobs are in each status."""
    return jobs.count_jobs_by_status(uow, actor)


@router.get("/jobs/{job_id}", response_model=JobOut)
def read_job(job_id: str, actor: CurrentActor, uow: Uow) -> JobOut:
    return jobs.get_job(uow, actor, job_id)


@router.post("/jobs/{job_id}/retry", response_model=JobOut)
def retry_job(job_id: str, actor: CurrentActor, uow: Uow) -> JobOut:
    """Queue a failed or cancelled job again, with all its attempts (409 for other statuses)."""
    return jobs.retry_job(uow, actor, job_id)


@router.post("/jobs/{job_id}/cancel", response_model=JobOut)
def cancel_job(job_id: str, actor: CurrentActor, uow: Uow) -> JobOut:
    """Cancel a queued job before a worker takes it (409 for other statuses)."""
    return jobs.cancel_job(uow, actor, job_id)
