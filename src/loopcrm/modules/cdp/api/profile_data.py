"""REST routes of a profile's data: its computed traits, the data-subject export and erasure
(``/api/v1/cdp/profiles/{id}/…``). Conventions of ADR 0005; the rights are checked by the
services (profile read for computed traits; ``cdp_personal_data`` read or delete for the others).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query
from starlette.responses import Response

from loopcrm.modules.cdp.computed import service as computed
from loopcrm.modules.cdp.computed.schemas import ComputedTraitsOut
from loopcrm.modules.cdp.privacy import service as privacy
from loopcrm.modules.cdp.privacy.schemas import ErasureIn, ErasureOut, ProfileExport
from loopcrm.platform.http.dependencies import CurrentActor, Uow

router = APIRouter(prefix="/cdp/profiles", tags=["cdp"])


def export_response(export: ProfileExport) -> Response:
    """The export as a JSON attachment, kept out of caches (it holds the person's data)."""
    return Response(
        export.as_json_text(),
        media_type="application/json",
        headers={
            "Content-Disposition": f'attachment; filename="{export.file_name}"',
            "Cache-Control": "no-store",
        },
    )


@router.get("/{profile_id}/computed-traits", response_model=ComputedTraitsOut)
def read_computed_traits(
    profile_id: str,
    actor: CurrentActor,
    uow: Uow,
    as_of: Annotated[date | None, Query(description="reference day; today in the aggregates' zone")] = None,
) -> ComputedTraitsOut:
    """First and last seen, event counts over 7/30/90 days and all time, orders, spend and
    channels, summed over the profile and every profile merged into it."""
    return computed.computed_traits(uow, actor, profile_id, as_of=as_of)


@router.get(
    "/{profile_id}/export",
    response_model=ProfileExport,
    responses={200: {"content": {"application/json": {}}, "description": "a JSON attachment"}},
)
def export_profile(profile_id: str, actor: CurrentActor, uow: Uow) -> Response:
    """Everything held about the person (data-subject access and portability), as a download."""
    return export_response(privacy.export_profile(uow, actor, profile_id))


@router.post("/{profile_id}/erasure", response_model=ErasureOut)
def erase_profile(profile_id: str, data: ErasureIn, actor: CurrentActor, uow: Uow) -> ErasureOut:
    """Erase the person behind the profile now (200 once committed); the answer lists ids and
    counts of what was removed."""
    return privacy.erase_profile(uow, actor, profile_id, data)
