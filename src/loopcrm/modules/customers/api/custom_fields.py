"""REST routes of custom field definitions: the extra fields admins add to accounts and contacts.

Values are sent and read in each record's ``custom_fields`` object by key; these routes manage
the definitions (label, kind, options, security level).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from loopcrm.modules.customers import service as customers
from loopcrm.modules.customers.models import RecordKind
from loopcrm.modules.customers.schemas import CustomFieldCreate, CustomFieldOut, CustomFieldUpdate
from loopcrm.platform.http.concurrency import expected_version, with_etag
from loopcrm.platform.http.dependencies import CurrentActor, IfMatch, Uow

router = APIRouter(tags=["custom fields"])


@router.get("/custom-fields", response_model=list[CustomFieldOut])
def list_custom_fields(
    actor: CurrentActor,
    uow: Uow,
    record_kind: Annotated[RecordKind | None, Query(description="only the fields of this kind")] = None,
) -> list[CustomFieldOut]:
    """Definitions of accounts' then contacts' custom fields, each in form order."""
    return customers.list_custom_fields(uow, actor, record_kind.value if record_kind else None)


@router.post("/custom-fields", response_model=CustomFieldOut, status_code=status.HTTP_201_CREATED)
def create_custom_field(
    data: CustomFieldCreate, actor: CurrentActor, uow: Uow, response: Response
) -> CustomFieldOut:
    return with_etag(
        response, customers.create_custom_field(uow, actor, data), created_in="/api/v1/custom-fields"
    )


@router.get("/custom-fields/{field_id}", response_model=CustomFieldOut)
def read_custom_field(field_id: str, actor: CurrentActor, uow: Uow, response: Response) -> CustomFieldOut:
    return with_etag(response, customers.get_custom_field(uow, actor, field_id))


@router.patch("/custom-fields/{field_id}", response_model=CustomFieldOut)
def update_custom_field(
    field_id: str,
    data: CustomFieldUpdate,
    actor: CurrentActor,
    uow: Uow,
    response: Response,
    if_match: IfMatch = None,
) -> CustomFieldOut:
    """Change the label, options, level, position or status; the key and kind never change."""
    field = customers.update_custom_field(
        uow, actor, field_id, data, expected_version=expected_version(if_match)
    )
    return with_etag(response, field)
