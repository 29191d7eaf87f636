"""The global search over accounts and contacts (``GET /api/v1/search``): what the top bar of the
web UI shows, for clients that want one ranked list instead of searching each kind's list."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from loopcrm.modules.customers import service as customers
from loopcrm.modules.customers.schemas import SearchHit
from loopcrm.platform.http.dependencies import CurrentActor, Uow

router = APIRouter()

SEARCH_LIMIT = 50


@router.get("/search", response_model=list[SearchHit], tags=["search"])
def search(
    actor: CurrentActor,
    uow: Uow,
    q: Annotated[
        str,
        Query(
            min_length=1,
            max_length=200,
            description="汉字, pinyin or its initials (wf finds 王芳), a Latin name, an email, "
            "the last digits of a phone, a credit code",
        ),
    ],
    limit: Annotated[int, Query(ge=1, le=SEARCH_LIMIT)] = 20,
) -> list[SearchHit]:
    """The accounts and contacts you may read that match ``q``, best first: an exact phone,
    email or credit code, then names that begin with the query, then the other matches. Hits
    carry no phone or email, so a search never reveals a field above your clearance."""
    return customers.search_customers(uow, actor, q, limit=limit)
