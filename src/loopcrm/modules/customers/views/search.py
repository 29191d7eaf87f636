"""The global search over accounts and contacts: a results page, and the live results under the
search box of the top bar.

The box (``customers/search/top_bar.html``, included by the platform's layout when this module's
templates are installed) is a plain GET form to ``/customers/search?q=``; htmx asks
``/customers/search/suggestions`` for the first few results while the reader types, and without
script the form simply opens the results page. Both call one service,
:func:`loopcrm.modules.customers.service.search_customers`, which applies the reader's record
scope and never returns phones or emails.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from loopcrm.modules.customers import service as customers
from loopcrm.modules.customers.schemas import SearchHit, SearchMatch
from loopcrm.platform.i18n import N_
from loopcrm.platform.web.pages import Viewer, WebPage, render, web_router

router = web_router()

SEARCH_PATH = "/customers/search"
PAGE_LIMIT = 50
SUGGESTION_LIMIT = 8
MAX_QUERY_LENGTH = 200

KIND_NAMES = {"account": N_("Company"), "contact": N_("Contact person")}
# Said of a hit found by an identifier rather than by its name; the identifier itself is not shown
# (phones and emails are internal fields, and the reader typed it anyway).
MATCH_NOTES = {
    SearchMatch.PHONE.value: N_("Phone number matches"),
    SearchMatch.EMAIL.value: N_("Email address matches"),
    SearchMatch.CREDIT_CODE.value: N_("Credit code matches"),
}


def _hit_view(hit: SearchHit) -> dict[str, Any]:
    """What a result shows: kind, name, what tells it apart from namesakes, and where it leads."""
    details: tuple[str | None, ...]
    if hit.record_kind.value == "contact":
        details = (hit.title, hit.account_name, hit.city)
        path = f"/customers/contacts/{hit.id}"
    else:
        details = (hit.name_en, hit.city)
        path = f"/customers/accounts/{hit.id}"
    return {
        "record_kind": hit.record_kind.value,
        "name": hit.name,
        "detail": " · ".join(part for part in details if part),
        "owner_name": hit.owner_name,
        "match_note": MATCH_NOTES.get(hit.match.value),
        "path": path,
    }


def _search(request: Request, page: WebPage, template: str, limit: int) -> Response:
    q = " ".join(request.query_params.get("q", "").split())[:MAX_QUERY_LENGTH]
    # Called even for an empty query: it refuses readers who may read neither kind of record.
    hits = customers.search_customers(page.uow(), page.actor, q, limit=limit)
    return render(
        request,
        template,
        {
            "q": q,
            "hits": [_hit_view(hit) for hit in hits],
            "kind_names": KIND_NAMES,
            "limit": limit,
            "search_path": SEARCH_PATH,
        },
    )


@router.get(SEARCH_PATH)
def search_page(request: Request, page: Viewer) -> Response:
    return _search(request, page, "customers/search/page.html", PAGE_LIMIT)


@router.get(SEARCH_PATH + "/suggestions")
def search_suggestions(request: Request, page: Viewer) -> Response:
    """The first few results, as a fragment for the box of the top bar."""
    return _search(request, page, "customers/search/suggestions.html", SUGGESTION_LIMIT)
