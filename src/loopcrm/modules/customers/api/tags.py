"""REST routes of tags: the vocabulary of coloured labels put on accounts and contacts.

Tags are few, so the list is one JSON array (like roles), not a cursor page.
"""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from loopcrm.modules.customers import service as customers
from loopcrm.modules.customers.schemas import TagCreate, TagOut, TagUpdate
from loopcrm.platform.http.concurrency import expected_version, with_etag
from loopcrm.platform.http.dependencies import CurrentActor, IfMatch, Uow

router = APIRouter(tags=["tags"])


@router.get("/tags", response_model=list[TagOut])
def list_tags(actor: CurrentActor, uow: Uow) -> list[TagOut]:
    """Every tag, by name."""
    return customers.list_tags(uow, actor)


@router.post("/tags", response_model=TagOut, status_code=status.HTTP_201_CREATED)
def create_tag(data: TagCreate, actor: CurrentActor, uow: Uow, response: Response) -> TagOut:
    return with_etag(response, customers.create_tag(uow, actor, data), created_in="/api/v1/tags")


@router.patch("/tags/{tag_id}", response_model=TagOut)
def update_tag(
    tag_id: str,
    data: TagUpdate,
    actor: CurrentActor,
    uow: Uow,
    response: Response,
    if_match: IfMatch = None,
) -> TagOut:
    """Rename or recolour a tag; every record carrying it shows the change."""
    tag = customers.update_tag(uow, actor, tag_id, data, expected_version=expected_version(if_match))
    return with_etag(response, tag)


@router.delete("/tags/{tag_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_tag(tag_id: str, actor: CurrentActor, uow: Uow) -> None:
    """Delete the tag and take it off every record (the audit log keeps its name)."""
    customers.delete_tag(uow, actor, tag_id)
