"""The kanban board of a pipeline and the stage move it (and the deal page) posts.

The board works without script: every card links to its deal, whose page has a "move to stage"
form. With script (``static/js/sales-kanban.js``, SortableJS), cards are dragged between columns;
a drop posts the move and either updates the column totals or snaps the card back with the
refusal shown. A drop into a lost stage first asks for the lost reason in a dialog.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from functools import lru_cache
from typing import Any
from uuid import UUID

from babel import Locale, numbers
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from loopcrm.modules.sales.opportunities import service as opportunities
from loopcrm.modules.sales.opportunities.schemas import KanbanBoard, OpportunityFilters
from loopcrm.modules.sales.opportunities.views.form_choices import settings_choices
from loopcrm.modules.sales.opportunities.views.records import detail_response
from loopcrm.platform.errors import DomainError, NotFound
from loopcrm.platform.i18n import N_
from loopcrm.platform.permissions import Action
from loopcrm.platform.web.forms import FormState
from loopcrm.platform.web.pages import Form, Viewer, WebPage, redirect, render, web_router
from loopcrm.platform.web.templating import format_money

router = web_router()

BASE = "/sales/opportunities"
MOVE_FIELDS = ("stage_id", "lost_reason_id", "lost_note", "version", "next")


def _date(text: str | None) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


def board_filters(request: Request) -> OpportunityFilters:
    """The filter bar's owner, team and close-date range (unreadable values are ignored)."""
    params = request.query_params
    return OpportunityFilters(
        owner_id=(params.get("owner") or None),
        team_id=(params.get("team") or None),
        close_from=_date(params.get("close_from")),
        close_to=_date(params.get("close_to")),
    )


@lru_cache(maxsize=128)
def _money_prefix(locale: str, currency: str) -> str | None:
    """What comes before the digits of an amount of ``currency`` in ``locale`` ("¥", "CN¥", "US$"),
    or None when the locale's pattern is not "prefix, grouped digits, two decimals"."""
    sample = numbers.format_currency(Decimal("1234567.89"), currency, locale=Locale.parse(locale))
    return sample[: -len("1,234,567.89")] if sample.endswith("1,234,567.89") else None


def money_text(locale: str) -> Callable[[Decimal, str], str]:
    """Amounts as the ``money`` filter writes them, without parsing the locale's pattern per amount:
    babel's ``format_currency`` took 75 ms for a board's 300 cards."""

    def write(value: Decimal, currency: str) -> str:
        prefix = _money_prefix(locale, currency)
        if prefix is None or value < 0:
            return format_money(value, currency)
        return f"{prefix}{value:,.2f}"

    return write


def _totals(page: WebPage, board: KanbanBoard) -> dict[str, dict[str, Any]]:
    """Each column's totals as the board shows them (for the script to update after a move)."""
    with_money = {}
    for column in board.columns:
        with_money[column.stage.id] = {
            "count": column.count,
            "amount": format_money(column.amount, board.currency),
            "weighted": format_money(column.weighted_amount, board.currency),
        }
    return with_money


@router.get(f"{BASE}/kanban")
def kanban_page(request: Request, page: Viewer) -> Response:
    filters = board_filters(request)
    pipeline_id = request.query_params.get("pipeline") or None
    choices = settings_choices(page)
    may_set_up = page.actor.can(opportunities.SALES_SETTINGS.key, Action.CREATE)
    if not choices.pipelines:
        return render(request, "sales/opportunities/kanban.html", {"board": None, "may_set_up": may_set_up})
    try:
        board = opportunities.kanban(page.uow(), page.actor, pipeline_id, filters)
    except NotFound:
        board = opportunities.kanban(page.uow(), page.actor, None, filters)
    context = {
        "board": board,
        "filters": filters,
        "choices": choices,
        "filter_form": FormState.initial(
            {
                "pipeline": board.pipeline.id,
                "owner": filters.owner_id,
                "team": filters.team_id,
                "close_from": filters.close_from.isoformat() if filters.close_from else None,
                "close_to": filters.close_to.isoformat() if filters.close_to else None,
            },
            ("pipeline", "owner", "team", "close_from", "close_to"),
        ),
        "may_create": page.actor.can(opportunities.OPPORTUNITY.key, Action.CREATE),
        "may_update": page.actor.can(opportunities.OPPORTUNITY.key, Action.UPDATE),
        "may_set_up": may_set_up,
        "query": request.url.query,
        "money": money_text(str(page.translator.babel_locale)),
    }
    return render(request, "sales/opportunities/kanban.html", context)


def _wants_json(request: Request) -> bool:
    return "application/json" in request.headers.get("accept", "")


@router.post(BASE + "/{opportunity_id:uuid}/stage")
def move(request: Request, page: Viewer, form: Form, opportunity_id: UUID) -> Response:
    """Move a deal: from the board's script (answered in JSON: the deal's new version and the
    board's totals, or 422 with the refusal), or from the deal page's form (a redirect back, or
    the page again with the refusal)."""
    state = FormState.submitted(form, MOVE_FIELDS)
    deal_id = str(opportunity_id)
    version_text = state.text("version")
    try:
        moved = opportunities.change_stage(
            page.uow(),
            page.actor,
            deal_id,
            state.text("stage_id"),
            lost_reason_id=state.optional("lost_reason_id"),
            lost_note=state.optional("lost_note"),
            expected_version=int(version_text) if version_text.isdigit() else None,
        )
    except DomainError as error:
        if _wants_json(request):
            messages = [page.message(item.message, item.params) for item in getattr(error, "errors", [])]
            text = "; ".join(messages) or page.message(error.message, error.params)
            return JSONResponse({"ok": False, "error": text}, status_code=error.status)
        if isinstance(error, NotFound):
            raise
        state.add_domain_error(error, page.translator)
        return detail_response(request, page, deal_id, move_form=state, status_code=error.status)
    if _wants_json(request):
        filters = board_filters(request)
        board = opportunities.kanban(page.uow(), page.actor, moved.pipeline_id, filters, cards_per_column=0)
        return JSONResponse(
            {
                "ok": True,
                "version": moved.version,
                "probability": moved.probability,
                "totals": _totals(page, board),
            }
        )
    page.flash(N_("Moved to {stage}."), stage=moved.stage_name)
    return redirect(request, f"{BASE}/{deal_id}")
