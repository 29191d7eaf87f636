"""Finding an account for a picker (a contact's employer, a parent, a relationship) by typing.

Pickers list the first accounts by name, which works without script; with htmx, typing into
the search box beside a picker replaces its options with the accounts the global search finds
(names, pinyin, initials, credit code), the first one chosen.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from loopcrm.modules.customers import service as customers
from loopcrm.modules.customers.views.record_pages import account_choices
from loopcrm.platform.web.pages import Viewer, render, web_router

router = web_router()

# Options one search offers; a longer list means the reader should type more.
FOUND_LIMIT = 30


@router.get("/customers/accounts/picker")
def account_options(request: Request, page: Viewer) -> Response:
    """``<option>``s for a picker: the accounts matching ``picker_q``, or the first by name."""
    q = request.query_params.get("picker_q", "").strip()[:200]
    if not q:
        return render(
            request,
            "customers/records/_account_options.html",
            {"options": account_choices(page), "found": False},
        )
    hits = customers.search_customers(page.uow(), page.actor, q, limit=FOUND_LIMIT)
    options = [
        (hit.id, f"{hit.name} · {hit.city}" if hit.city else hit.name)
        for hit in hits
        if hit.record_kind.value == "account"
    ]
    return render(request, "customers/records/_account_options.html", {"options": options, "found": True})
