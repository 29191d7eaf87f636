"""Pages of probabilistic matching: start a run and follow its progress (htmx polling), and the
review queue with each pair's evidence, to accept (merge) or reject (remembered)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from loopcrm.modules.cdp.matching import service as matching
from loopcrm.platform.errors import Conflict, DomainError
from loopcrm.platform.i18n import N_
from loopcrm.platform.permissions import Action
from loopcrm.platform.web.flash import FlashLevel
from loopcrm.platform.web.pages import Viewer, redirect, render, web_router

router = web_router()

MATCHING_PATH = "/cdp/matching"
QUEUE_PAGE_SIZE = 20
# The progress panel asks again this often while a run works: a 100k-profile run takes under a
# minute, so the bar moves visibly; a finished run stops the polling.
PROGRESS_REFRESH_SECONDS = 1

# Names of what the pages show (English msgids).
STAGE_NAMES = {
    "queued": N_("Waiting for a worker"),
    "loading": N_("Loading profiles"),
    "training": N_("Training the model"),
    "predicting": N_("Scoring pairs"),
    "queueing": N_("Writing the review queue"),
    "merging": N_("Merging certain pairs"),
    "done": N_("Finished"),
}
STATUS_NAMES = {
    "queued": N_("Queued"),
    "running": N_("Running"),
    "succeeded": N_("Finished"),
    "failed": N_("Failed"),
}
COMPARISON_NAMES = {
    "name": N_("Name"),
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
    "All other comparisons": N_("Different"),
    "Not known": N_("Not known"),
}
REASON_NAMES = {
    "below_threshold": N_("Below the auto-merge threshold"),
    "rule_forbids": N_("Above the threshold, but a rule forbids merging"),
}


def _names() -> dict[str, object]:
    return {
        "stage_names": STAGE_NAMES,
        "status_names": STATUS_NAMES,
        "comparison_names": COMPARISON_NAMES,
        "agreement_names": AGREEMENT_NAMES,
        "level_names": LEVEL_NAMES,
        "reason_names": REASON_NAMES,
        "matching_path": MATCHING_PATH,
        "refresh_seconds": PROGRESS_REFRESH_SECONDS,
    }


@router.get(MATCHING_PATH)
def matching_page(request: Request, page: Viewer, cursor: str | None = None) -> Response:
    """The latest run's progress and the review queue, strongest evidence first."""
    runs = matching.latest_runs(page.uow(), page.actor, limit=1)
    queue = matching.review_queue(page.uow(), page.actor, limit=QUEUE_PAGE_SIZE, cursor=cursor)
    context = {
        "run": runs[0] if runs else None,
        "queue": queue,
        "pending": matching.count_pending(page.uow(), page.actor),
        "may_decide": page.actor.can(matching.PROFILE.key, Action.UPDATE),
        **_names(),
    }
    return render(request, "cdp/matching.html", context)


@router.get(MATCHING_PATH + "/runs/{run_id}/progress")
def run_progress(request: Request, page: Viewer, run_id: str) -> Response:
    """The progress fragment htmx polls while the run works."""
    run = matching.get_run(page.uow(), page.actor, run_id)
    return render(request, "cdp/matching_progress.html", {"run": run, **_names()})


@router.post(MATCHING_PATH + "/runs")
def start_run(request: Request, page: Viewer) -> Response:
    try:
        matching.start_run(page.uow(), page.actor)
    except Conflict as error:
        page.flash(error.message, FlashLevel.ERROR, **error.params)
    else:
        page.flash(N_("Matching has started; this page follows its progress."))
    return redirect(request, MATCHING_PATH)


@router.post(MATCHING_PATH + "/review/{candidate_id}/accept")
def accept(request: Request, page: Viewer, candidate_id: str) -> Response:
    try:
        matching.accept_candidate(page.uow(), page.actor, candidate_id)
    except DomainError as error:
        page.flash(error.message, FlashLevel.ERROR, **error.params)
    else:
        page.flash(N_("The two profiles were merged."))
    return redirect(request, MATCHING_PATH)


@router.post(MATCHING_PATH + "/review/{candidate_id}/reject")
def reject(request: Request, page: Viewer, candidate_id: str) -> Response:
    try:
        matching.reject_candidate(page.uow(), page.actor, candidate_id)
    except DomainError as error:
        page.flash(error.message, FlashLevel.ERROR, **error.params)
    else:
        page.flash(N_("Kept apart: this pair will not be suggested again."))
    return redirect(request, MATCHING_PATH)
