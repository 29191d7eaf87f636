"""REST routes of duplicates and merges: a record's possible duplicates, merging two accounts or
two contacts, the merge history, and undoing a merge.

Routes only translate (ADR 0005). Merging needs update on the survivor and delete on the merged
record; a record outside the caller's scope is 404. An undo that would overwrite later changes
is 409 with the reason in ``detail``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from loopcrm.modules.customers import service as customers
from loopcrm.modules.customers.models import RecordKind
from loopcrm.modules.customers.schemas import DuplicateMatch, MergeIn, MergeOut, MergePreview
from loopcrm.platform.http.concurrency import with_etag
from loopcrm.platform.http.dependencies import DEFAULT_PAGE_SIZE, CurrentActor, Cursor, Limit, Uow
from loopcrm.platform.pagination import Page

router = APIRouter()

MERGES = "/api/v1/merges"
RecordId = Annotated[str, Query(min_length=1, max_length=36)]


@router.get("/accounts/{account_id}/duplicates", response_model=list[DuplicateMatch], tags=["accounts"])
def account_duplicates(account_id: str, actor: CurrentActor, uow: Uow) -> list[DuplicateMatch]:
    """Accounts you may read that look like this one (credit code, external id, email, phone, or a
    very similar name in the same city), strongest reason first."""
    return customers.duplicates_of(uow, actor, RecordKind.ACCOUNT.value, account_id)


@router.get("/contacts/{contact_id}/duplicates", response_model=list[DuplicateMatch], tags=["contacts"])
def contact_duplicates(contact_id: str, actor: CurrentActor, uow: Uow) -> list[DuplicateMatch]:
    """Contacts you may read that look like this one (external id, email, phone, or the same or a
    very similar name in the same city), strongest reason first."""
    return customers.duplicates_of(uow, actor, RecordKind.CONTACT.value, contact_id)


@router.post(
    "/accounts/merges", response_model=MergeOut, status_code=status.HTTP_201_CREATED, tags=["merges"]
)
def merge_accounts(data: MergeIn, actor: CurrentActor, uow: Uow, response: Response) -> MergeOut:
    """Merge ``merged_id`` into ``survivor_id``: the survivor keeps the chosen value per field,
    phones, emails and tags are unioned, contacts' jobs, relationships, subsidiaries and
    activities move to it, and the merged account is deleted. Undo with ``POST /merges/{id}/undo``."""
    merge = customers.merge_records(uow, actor, RecordKind.ACCOUNT.value, data)
    return with_etag(response, merge, created_in=MERGES)


@router.post(
    "/contacts/merges", response_model=MergeOut, status_code=status.HTTP_201_CREATED, tags=["merges"]
)
def merge_contacts(data: MergeIn, actor: CurrentActor, uow: Uow, response: Response) -> MergeOut:
    """Merge ``merged_id`` into ``survivor_id``: the survivor keeps the chosen value per field,
    phones, emails and tags are unioned, jobs and activities move to it, and the merged contact
    is deleted. Undo with ``POST /merges/{id}/undo``."""
    merge = customers.merge_records(uow, actor, RecordKind.CONTACT.value, data)
    return with_etag(response, merge, created_in=MERGES)


@router.get("/merges", response_model=Page[MergeOut], tags=["merges"])
def list_merges(
    actor: CurrentActor,
    uow: Uow,
    record_kind: Annotated[RecordKind, Query(description="merges of accounts or of contacts")],
    record_id: Annotated[
        str | None, Query(min_length=1, max_length=36, description="only merges this record took part in")
    ] = None,
    limit: Limit = DEFAULT_PAGE_SIZE,
    cursor: Cursor = None,
) -> Page[MergeOut]:
    """Merges whose surviving record you may read, newest first."""
    return customers.list_merges(
        uow, actor, record_kind.value, record_id=record_id, limit=limit, cursor=cursor
    )


@router.get("/merges/preview", response_model=MergePreview, tags=["merges"])
def preview_merge(
    actor: CurrentActor,
    uow: Uow,
    record_kind: Annotated[RecordKind, Query(description="merging accounts or contacts")],
    survivor_id: RecordId,
    merged_id: RecordId,
) -> MergePreview:
    """What a merge would do: both records as you may see them, the fields whose values differ
    (with the side kept by default), and how many phones, emails, tags, … would move."""
    return customers.merge_preview(uow, actor, record_kind.value, survivor_id, merged_id)


@router.get("/merges/{merge_id}", response_model=MergeOut, tags=["merges"])
def read_merge(merge_id: str, actor: CurrentActor, uow: Uow, response: Response) -> MergeOut:
    return with_etag(response, customers.get_merge(uow, actor, merge_id))


@router.post("/merges/{merge_id}/undo", response_model=MergeOut, tags=["merges"])
def undo_merge(merge_id: str, actor: CurrentActor, uow: Uow, response: Response) -> MergeOut:
    """Restore both records exactly as they were before the merge. Refused (409) once either
    record changed after the merge, or after a later merge of the survivor (undo that one first)."""
    return with_etag(response, customers.undo_merge(uow, actor, merge_id))
