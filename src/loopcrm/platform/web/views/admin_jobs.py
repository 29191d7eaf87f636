"""Admin page of background jobs: counts per status, the list of one status, retry and cancel."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from loopcrm.platform.errors import Conflict, ValidationFailed
from loopcrm.platform.i18n import N_
from loopcrm.platform.jobs import service as jobs
from loopcrm.platform.jobs.models import JobStatus
from loopcrm.platform.permissions import Action
from loopcrm.platform.web.flash import FlashLevel
from loopcrm.platform.web.pages import Viewer, WebPage, redirect, render, web_router

router = web_router()

PAGE_SIZE = 50
STATUS_NAMES = {
    JobStatus.QUEUED.value: N_("Queued"),
    JobStatus.RUNNING.value: N_("Running"),
    JobStatus.SUCCEEDED.value: N_("Succeeded"),
    JobStatus.FAILED.value: N_("Failed"),
    JobStatus.CANCELLED.value: N_("Cancelled"),
}


@router.get("/admin/jobs")
def list_jobs(request: Request, page: Viewer) -> Response:
    params = request.query_params
    status_value = params.get("status") or ""
    status = JobStatus(status_value) if status_value in STATUS_NAMES else None
    cursor = params.get("cursor") or None
    counts = jobs.count_jobs_by_status(page.uow(), page.actor)
    try:
        found = jobs.list_jobs(page.uow(), page.actor, status=status, limit=PAGE_SIZE, cursor=cursor)
    except ValidationFailed:
        found = jobs.list_jobs(page.uow(), page.actor, status=status, limit=PAGE_SIZE, cursor=None)
    return render(
        request,
        "admin/jobs.html",
        {
            "jobs": found.items,
            "next_cursor": found.next_cursor,
            "is_first_page": cursor is None,
            "status": status.value if status else "",
            "statuses": [
                {"value": value, "label": page.gettext(name), "count": counts.get(JobStatus(value), 0)}
                for value, name in STATUS_NAMES.items()
            ],
            "status_names": STATUS_NAMES,
            "total": sum(counts.values()),
            "may_update": page.actor.can("job", Action.UPDATE),
        },
    )


def _flash_conflict(page: WebPage, error: Conflict) -> None:
    params = dict(error.params)
    status_name = STATUS_NAMES.get(str(params.get("status")))
    if status_name is not None:
        params["status"] = page.gettext(status_name)
    page.flash(error.message, FlashLevel.ERROR, **params)


def _back(request: Request) -> str:
    status = request.query_params.get("status")
    return f"/admin/jobs?status={status}" if status in STATUS_NAMES else "/admin/jobs"


@router.post("/admin/jobs/{job_id}/retry")
def retry_job(request: Request, page: Viewer, job_id: str) -> Response:
    try:
        job = jobs.retry_job(page.uow(), page.actor, job_id)
    except Conflict as error:
        _flash_conflict(page, error)
    else:
        page.flash(N_("The job {name} is queued again."), name=job.name)
    return redirect(request, _back(request))


@router.post("/admin/jobs/{job_id}/cancel")
def cancel_job(request: Request, page: Viewer, job_id: str) -> Response:
    try:
        job = jobs.cancel_job(page.uow(), page.actor, job_id)
    except Conflict as error:
        _flash_conflict(page, error)
    else:
        page.flash(N_("The job {name} has been cancelled."), name=job.name)
    return redirect(request, _back(request))
