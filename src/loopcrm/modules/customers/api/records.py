"""REST routes of accounts and contacts: list, create, read, change, delete, restore, history and
bulk actions; for accounts also their relationships and subsidiaries.

Routes only translate HTTP to one service call and back (ADR 0005): the record scope, the field
clearance, validation and auditing all happen in ``customers.service``. A record outside the
reader's scope is answered 404, never 403, so its existence does not leak.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Response, status
from pydantic import BaseModel, StringConstraints

from loopcrm.modules.activities.schemas import TimelineEntry
from loopcrm.modules.customers import service as customers
from loopcrm.modules.customers.schemas import (
    AccountCreate,
    AccountOut,
    AccountUpdate,
    BulkAction,
    BulkResult,
    ContactCreate,
    ContactOut,
    ContactUpdate,
    FieldChange,
    ListQuery,
    RelationshipIn,
    RelationshipOut,
)
from loopcrm.platform.http.concurrency import expected_version, with_etag
from loopcrm.platform.http.dependencies import DEFAULT_PAGE_SIZE, CurrentActor, Cursor, IfMatch, Limit, Uow
from loopcrm.platform.pagination import Page

router = APIRouter()

ACCOUNTS = "/api/v1/accounts"
CONTACTS = "/api/v1/contacts"
# Relationship ids are database integers; a larger number can only be "not found", and saying so
# before the query keeps both SQLite and PostgreSQL from overflowing.
MAX_INTEGER_ID = 2_147_483_647

FilterText = Annotated[str, StringConstraints(max_length=500)]
TimelineKinds = Annotated[
    list[Annotated[str, StringConstraints(max_length=40)]],
    Query(
        alias="kind", max_length=20, description="keep only these kinds: note, call, meeting, email, task…"
    ),
]


def list_query(
    q: Annotated[
        str | None,
        Query(max_length=200, description="search text: names, pinyin, initials, email, phone digits"),
    ] = None,
    filters: Annotated[
        list[FilterText] | None,
        Query(
            alias="filter",
            max_length=20,
            description="repeatable `field:operator:value`, e.g. `city:eq:福州` or `tag:in:<id>,<id>`",
        ),
    ] = None,
    sort: Annotated[
        str | None, Query(max_length=60, description="a field to sort on, `-field` for descending")
    ] = None,
    view_id: Annotated[
        str | None,
        Query(min_length=1, max_length=36, description="a saved view; the request's filters are added"),
    ] = None,
    include_deleted: Annotated[
        bool, Query(description="list the deleted (restorable) records instead of the live ones")
    ] = False,
) -> ListQuery:
    """The list request as the service takes it; the query's limits equal ``ListQuery``'s."""
    return ListQuery(q=q, filters=filters or [], sort=sort, view_id=view_id, include_deleted=include_deleted)


Listing = Annotated[ListQuery, Depends(list_query)]
RelationshipId = Annotated[int, Path(ge=1, le=MAX_INTEGER_ID)]


class AccountRef(BaseModel):
    """An account named by id, as in a list of subsidiaries."""

    id: str
    name: str


# ---------------------------------------------------------------- accounts


@router.get("/accounts", response_model=Page[AccountOut], tags=["accounts"])
def list_accounts(
    actor: CurrentActor,
    uow: Uow,
    query: Listing,
    limit: Limit = DEFAULT_PAGE_SIZE,
    cursor: Cursor = None,
) -> Page[AccountOut]:
    """Accounts in your scope, newest first unless sorted; fields above your clearance are null
    and named in each item's ``masked_fields``."""
    return customers.list_accounts(uow, actor, query, limit=limit, cursor=cursor)


@router.post("/accounts", response_model=AccountOut, status_code=status.HTTP_201_CREATED, tags=["accounts"])
def create_account(data: AccountCreate, actor: CurrentActor, uow: Uow, response: Response) -> AccountOut:
    """Create an account; you own it unless ``owner_id`` names someone you may assign."""
    return with_etag(response, customers.create_account(uow, actor, data), created_in=ACCOUNTS)


@router.post("/accounts/bulk", response_model=BulkResult, tags=["accounts"])
def bulk_accounts(data: BulkAction, actor: CurrentActor, uow: Uow) -> BulkResult:
    """Assign an owner, add or remove tags, or delete many accounts: all of them or none."""
    return customers.run_bulk_action(uow, actor, "account", data)


@router.get("/accounts/{account_id}", response_model=AccountOut, tags=["accounts"])
def read_account(account_id: str, actor: CurrentActor, uow: Uow, response: Response) -> AccountOut:
    return with_etag(response, customers.get_account(uow, actor, account_id))


@router.patch("/accounts/{account_id}", response_model=AccountOut, tags=["accounts"])
def update_account(
    account_id: str,
    data: AccountUpdate,
    actor: CurrentActor,
    uow: Uow,
    response: Response,
    if_match: IfMatch = None,
) -> AccountOut:
    """Change the fields sent; absent fields stay as they are."""
    account = customers.update_account(
        uow, actor, account_id, data, expected_version=expected_version(if_match)
    )
    return with_etag(response, account)


@router.delete("/accounts/{account_id}", status_code=status.HTTP_204_NO_CONTENT, tags=["accounts"])
def delete_account(account_id: str, actor: CurrentActor, uow: Uow, if_match: IfMatch = None) -> None:
    """Delete the account; it stays restorable (``POST .../restore``)."""
    customers.delete_account(uow, actor, account_id, expected_version=expected_version(if_match))


@router.post("/accounts/{account_id}/restore", response_model=AccountOut, tags=["accounts"])
def restore_account(account_id: str, actor: CurrentActor, uow: Uow, response: Response) -> AccountOut:
    return with_etag(response, customers.restore_account(uow, actor, account_id))


@router.get("/accounts/{account_id}/history", response_model=list[FieldChange], tags=["accounts"])
def account_history(account_id: str, actor: CurrentActor, uow: Uow) -> list[FieldChange]:
    """Every change of every field, newest first (at most the latest 500 audit entries)."""
    return customers.field_history(uow, actor, "account", account_id)


@router.get("/accounts/{account_id}/timeline", response_model=Page[TimelineEntry], tags=["accounts"])
def account_timeline(
    account_id: str,
    actor: CurrentActor,
    uow: Uow,
    kinds: TimelineKinds = [],  # noqa: B006 -- FastAPI copies defaults; empty means every kind
    limit: Limit = DEFAULT_PAGE_SIZE,
    cursor: Cursor = None,
) -> Page[TimelineEntry]:
    """Everything that happened with the account and with its contacts you may read, newest
    first, each entry once."""
    return customers.timeline(
        uow, actor, "account", account_id, kinds=kinds or None, limit=limit, cursor=cursor
    )


@router.get("/accounts/{account_id}/relationships", response_model=list[RelationshipOut], tags=["accounts"])
def list_relationships(account_id: str, actor: CurrentActor, uow: Uow) -> list[RelationshipOut]:
    """Relationships from and to the account, with the other accounts you may read."""
    return customers.list_relationships(uow, actor, account_id)


@router.post(
    "/accounts/{account_id}/relationships",
    response_model=RelationshipOut,
    status_code=status.HTTP_201_CREATED,
    tags=["accounts"],
)
def add_relationship(
    account_id: str, data: RelationshipIn, actor: CurrentActor, uow: Uow, response: Response
) -> RelationshipOut:
    """Record that this account is a customer, partner, supplier or competitor of another."""
    relationship = customers.add_relationship(uow, actor, account_id, data)
    response.headers["Location"] = f"{ACCOUNTS}/{account_id}/relationships/{relationship.id}"
    return relationship


@router.delete(
    "/accounts/{account_id}/relationships/{relationship_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    tags=["accounts"],
)
def remove_relationship(
    account_id: str, relationship_id: RelationshipId, actor: CurrentActor, uow: Uow
) -> None:
    customers.remove_relationship(uow, actor, account_id, relationship_id)


@router.get("/accounts/{account_id}/children", response_model=list[AccountRef], tags=["accounts"])
def list_children(account_id: str, actor: CurrentActor, uow: Uow) -> list[AccountRef]:
    """The account's direct subsidiaries you may read, by name."""
    return [AccountRef(id=id_, name=name) for id_, name in customers.child_accounts(uow, actor, account_id)]


# ---------------------------------------------------------------- contacts


@router.get("/contacts", response_model=Page[ContactOut], tags=["contacts"])
def list_contacts(
    actor: CurrentActor,
    uow: Uow,
    query: Listing,
    limit: Limit = DEFAULT_PAGE_SIZE,
    cursor: Cursor = None,
) -> Page[ContactOut]:
    """Contacts in your scope, newest first unless sorted; fields above your clearance are null
    and named in each item's ``masked_fields``."""
    return customers.list_contacts(uow, actor, query, limit=limit, cursor=cursor)


@router.post("/contacts", response_model=ContactOut, status_code=status.HTTP_201_CREATED, tags=["contacts"])
def create_contact(data: ContactCreate, actor: CurrentActor, uow: Uow, response: Response) -> ContactOut:
    """Create a contact; you own it unless ``owner_id`` names someone you may assign."""
    return with_etag(response, customers.create_contact(uow, actor, data), created_in=CONTACTS)


@router.post("/contacts/bulk", response_model=BulkResult, tags=["contacts"])
def bulk_contacts(data: BulkAction, actor: CurrentActor, uow: Uow) -> BulkResult:
    """Assign an owner, add or remove tags, or delete many contacts: all of them or none."""
    return customers.run_bulk_action(uow, actor, "contact", data)


@router.get("/contacts/{contact_id}", response_model=ContactOut, tags=["contacts"])
def read_contact(contact_id: str, actor: CurrentActor, uow: Uow, response: Response) -> ContactOut:
    return with_etag(response, customers.get_contact(uow, actor, contact_id))


@router.patch("/contacts/{contact_id}", response_model=ContactOut, tags=["contacts"])
def update_contact(
    contact_id: str,
    data: ContactUpdate,
    actor: CurrentActor,
    uow: Uow,
    response: Response,
    if_match: IfMatch = None,
) -> ContactOut:
    """Change the fields sent; absent fields stay as they are."""
    contact = customers.update_contact(
        uow, actor, contact_id, data, expected_version=expected_version(if_match)
    )
    return with_etag(response, contact)


@router.delete("/contacts/{contact_id}", status_code=status.HTTP_204_NO_CONTENT, tags=["contacts"])
def delete_contact(contact_id: str, actor: CurrentActor, uow: Uow, if_match: IfMatch = None) -> None:
    """Delete the contact; it stays restorable (``POST .../restore``)."""
    customers.delete_contact(uow, actor, contact_id, expected_version=expected_version(if_match))


@router.post("/contacts/{contact_id}/restore", response_model=ContactOut, tags=["contacts"])
def restore_contact(contact_id: str, actor: CurrentActor, uow: Uow, response: Response) -> ContactOut:
    return with_etag(response, customers.restore_contact(uow, actor, contact_id))


@router.get("/contacts/{contact_id}/history", response_model=list[FieldChange], tags=["contacts"])
def contact_history(contact_id: str, actor: CurrentActor, uow: Uow) -> list[FieldChange]:
    """Every change of every field, newest first (at most the latest 500 audit entries)."""
    return customers.field_history(uow, actor, "contact", contact_id)


@router.get("/contacts/{contact_id}/timeline", response_model=Page[TimelineEntry], tags=["contacts"])
def contact_timeline(
    contact_id: str,
    actor: CurrentActor,
    uow: Uow,
    kinds: TimelineKinds = [],  # noqa: B006 -- FastAPI copies defaults; empty means every kind
    limit: Limit = DEFAULT_PAGE_SIZE,
    cursor: Cursor = None,
) -> Page[TimelineEntry]:
    """Everything that happened with the contact, newest first."""
    return customers.timeline(
        uow, actor, "contact", contact_id, kinds=kinds or None, limit=limit, cursor=cursor
    )
