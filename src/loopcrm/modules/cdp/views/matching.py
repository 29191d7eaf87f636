"""Pages of probabilistic matching: start a run and follow its progress (htmx polling), and the
review queue with each pair's evidence, to accept (merge) or reject (remembered)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from loopcrm.modules.cdp.matching import service as matching
from loopcrm.modules.cdp.matching.models import RunStatus
from loopcrm.modules.cdp.matching.schemas import DEFAULT_AUTO_MERGE_THRESHOLD
from loopcrm.platform.errors import Conflict, DomainError
from loopcrm.platform.i18n import N_
from loopcrm.platform.permissions import Action
from loopcrm.platform.web.flash import FlashLevel
from loopcrm.platform.web.pages import Viewer, WebPage, redirect, render, web_router

router = web_router()

MATCHING_PATH = "/cdp/matching"
QUEUE_PAGE_SIZE = 20
# The progress panel asks again this often while a run works: a 100k-profile run takes under a
# minute, so the bar moves visibly; a finished run stops the polling.
PROGRESS_REFRESH_SECONDS = 1

# Names of what the pages show (English msgids). A status and a stage get msgids of their own
# ("Finished (matching status)"): the bare words are taken by other pages' column headings, whose
# Chinese ("完成时间", finish time) would be wrong for a state.
STAGE_NAMES = {
    "queued": N_("Waiting for a worker"),
    "loading": N_("Loading profiles"),
    "training": N_("Training the model"),
    "predicting": N_("Scoring pairs"),
    "queueing": N_("Writing the review queue"),
    "merging": N_("Merging certain pairs"),
    "done": N_("All stages done (matching stage)"),
}
STATUS_NAMES = {
    "queued": N_("Queued"),
    "running": N_("Running"),
    "succeeded": N_("Finished (matching status)"),
    "failed": N_("Failed"),
}
STATUS_BADGES = {"queued": "neutral", "running": "info", "succeeded": "success", "failed": "danger"}
# What became of a pair, for the message when a decision comes too late.
CANDIDATE_STATUS_NAMES = {
    "pending": N_("Waiting for a decision"),
    "planned": N_("To be merged by the run"),
    "auto_merged": N_("Merged automatically (pair status)"),
    "accepted": N_("Accepted and merged"),
    "rejected": N_("Rejected: kept apart"),
    "superseded": N_("Closed: a profile was merged elsewhere"),
}
COMPARISON_NAMES = {
    "name": N_("Full name"),
    "email": N_("Email"),
    "phone": N_("Phone"),
    "birthday": N_("Birthday"),
    "city": N_("City"),
}
AGREEMENT_NAMES = {
    "agrees": N_("Agrees"),
    "similar": N_("Similar"),
    "differs": N_("Differs"),
    "missing": N_("Not known"),
}
AGREEMENT_BADGES = {"agrees": "success", "similar": "info", "differs": "danger", "missing": "muted"}
# The level a field reached, shown after the agreement when the field agreed in part or in full
# (a differing or missing field says all with its badge).
LEVEL_NAMES = {
    "Same name in Hanzi": N_("Same name in Hanzi"),
    "Same name (pinyin or Latin)": N_("Same name (pinyin or Latin)"),
    "Name almost the same": N_("Name almost the same"),
    "Name similar": N_("Name similar"),
    "Same email": N_("Same email"),
    "Same distinctive email user, other provider": N_("Same distinctive email user, other provider"),
    "Same phone": N_("Same phone"),
    "Same birthday": N_("Same birthday"),
    "Birthday one digit apart": N_("Birthday one digit apart"),
    "Same city": N_("Same city"),
}
REASON_NAMES = {
    "below_threshold": N_("Below the auto-merge threshold"),
    "rule_forbids": N_("Above the threshold, but a rule forbids merging"),
}
# English texts the service stores on a run or a pair (the identity graph's refusals are its own
# msgids, catalogued with the identity pages); the pages show them translated.
STORED_TEXTS = (
    N_("Both profiles have a user id; they are never merged automatically."),
    N_("The matching run stopped with an error; see the job's last error."),
)


def _names() -> dict[str, object]:
    return {
        "stage_names": STAGE_NAMES,
        "status_names": STATUS_NAMES,
        "status_badges": STATUS_BADGES,
        "comparison_names": COMPARISON_NAMES,
        "agreement_names": AGREEMENT_NAMES,
        "agreement_badges": AGREEMENT_BADGES,
        "level_names": LEVEL_NAMES,
        "reason_names": REASON_NAMES,
        "matching_path": MATCHING_PATH,
        "refresh_seconds": PROGRESS_REFRESH_SECONDS,
        "auto_merge_threshold": DEFAULT_AUTO_MERGE_THRESHOLD,
    }


def _queue(page: WebPage, cursor: str | None = None) -> dict[str, object]:
    return {
        "queue": matching.review_queue(page.uow(), page.actor, limit=QUEUE_PAGE_SIZE, cursor=cursor),
        "pending": matching.count_pending(page.uow(), page.actor),
        "may_decide": page.actor.can(matching.PROFILE.key, Action.UPDATE),
    }


@router.get(MATCHING_PATH)
def matching_page(request: Request, page: Viewer, cursor: str | None = None) -> Response:
    """The latest run's progress and the review queue, strongest evidence first."""
    runs = matching.latest_runs(page.uow(), page.actor, limit=1)
    context = {"run": runs[0] if runs else None, **_queue(page, cursor), **_names()}
    return render(request, "cdp/matching.html", context)


@router.get(MATCHING_PATH + "/runs/{run_id}/progress")
def run_progress(request: Request, page: Viewer, run_id: str) -> Response:
    """The progress fragment htmx polls while the run works; once the run is over, it also
    brings the review queue the run wrote (swapped in out of band), so no reload is needed."""
    run = matching.get_run(page.uow(), page.actor, run_id)
    context: dict[str, object] = {"run": run, **_names()}
    if run.status not in (RunStatus.QUEUED, RunStatus.RUNNING):
        context.update(_queue(page), queue_out_of_band=True)
    return render(request, "cdp/matching_progress.html", context)


@router.post(MATCHING_PATH + "/runs")
def start_run(request: Request, page: Viewer) -> Response:
    try:
        matching.start_run(page.uow(), page.actor)
    except Conflict as error:
        page.flash(error.message, FlashLevel.ERROR, **error.params)
    else:
        page.flash(N_("Matching has started; this page follows its progress."))
    return redirect(request, MATCHING_PATH)


def _flash_refusal(page: WebPage, error: DomainError) -> None:
    """A refused decision, naming the pair's status in the reader's words."""
    params = dict(error.params)
    if "status" in params:
        status = str(params["status"])
        params["status"] = page.gettext(CANDIDATE_STATUS_NAMES.get(status, status))
    page.flash(error.message, FlashLevel.ERROR, **params)


@router.post(MATCHING_PATH + "/review/{candidate_id}/accept")
def accept(request: Request, page: Viewer, candidate_id: str) -> Response:
    try:
        matching.accept_candidate(page.uow(), page.actor, candidate_id)
    except DomainError as error:
        _flash_refusal(page, error)
    else:
        page.flash(N_("The two profiles were merged."))
    return redirect(request, MATCHING_PATH)


@router.post(MATCHING_PATH + "/review/{candidate_id}/reject")
def reject(request: Request, page: Viewer, candidate_id: str) -> Response:
    try:
        matching.reject_candidate(page.uow(), page.actor, candidate_id)
    except DomainError as error:
        _flash_refusal(page, error)
    else:
        page.flash(N_("Kept apart: this pair will not be suggested again."))
    return redirect(request, MATCHING_PATH)
