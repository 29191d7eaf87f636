"""REST routes of orders, under /api/v1 (gathered by loopcrm.modules.sales.api).

Routes only translate HTTP to one service call and back (ADR 0005): scope, validation, the
status rules and auditing happen in ``orders.service``. An order outside the reader's scope is
answered 404. ``Idempotency-Key`` on POST is the platform middleware's; a shop's order sent
again (same ``channel`` and ``external_id``) is answered 200 with the order already taken.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, File, Form, Query, Response, UploadFile, status

from loopcrm.modules.sales.orders import service as orders
from loopcrm.modules.sales.orders.models import OrderStatus, PaymentStatus
from loopcrm.modules.sales.orders.schemas import (
    OrderCreate,
    OrderFilter,
    OrderImportOut,
    OrderOut,
    OrderStatusChange,
    PaymentIn,
)
from loopcrm.platform.http.concurrency import expected_version, with_etag
from loopcrm.platform.http.dependencies import DEFAULT_PAGE_SIZE, CurrentActor, Cursor, IfMatch, Limit, Uow
from loopcrm.platform.i18n import translator
from loopcrm.platform.pagination import Page

router = APIRouter()

ORDERS = "/api/v1/orders"


def order_filter(
    status: Annotated[OrderStatus | None, Query()] = None,
    payment_status: Annotated[PaymentStatus | None, Query()] = None,
    account_id: Annotated[str | None, Query(min_length=1, max_length=36)] = None,
    contact_id: Annotated[str | None, Query(min_length=1, max_length=36)] = None,
    channel: Annotated[str | None, Query(min_length=1, max_length=40, pattern=r"^\S+$")] = None,
    ordered_from: Annotated[date | None, Query(description="first day, in your time zone")] = None,
    ordered_to: Annotated[date | None, Query(description="last day, in your time zone")] = None,
    q: Annotated[
        str | None, Query(max_length=100, description="order number, external id or customer")
    ] = None,
) -> OrderFilter:
    return OrderFilter(
        status=status,
        payment_status=payment_status,
        account_id=account_id,
        contact_id=contact_id,
        channel=channel,
        ordered_from=ordered_from,
        ordered_to=ordered_to,
        q=q,
    )


@router.get("/orders", response_model=Page[OrderOut], tags=["orders"])
def list_orders(
    actor: CurrentActor,
    uow: Uow,
    status_filter: Annotated[OrderStatus | None, Query(alias="status")] = None,
    payment_status: Annotated[PaymentStatus | None, Query()] = None,
    account_id: Annotated[str | None, Query(min_length=1, max_length=36)] = None,
    contact_id: Annotated[str | None, Query(min_length=1, max_length=36)] = None,
    channel: Annotated[str | None, Query(min_length=1, max_length=40, pattern=r"^\S+$")] = None,
    ordered_from: Annotated[date | None, Query(description="first day, in your time zone")] = None,
    ordered_to: Annotated[date | None, Query(description="last day, in your time zone")] = None,
    q: Annotated[
        str | None, Query(max_length=100, description="order number, external id or customer")
    ] = None,
    limit: Limit = DEFAULT_PAGE_SIZE,
    cursor: Cursor = None,
) -> Page[OrderOut]:
    """Orders in your scope, newest first, with their lines and payments."""
    filters = order_filter(
        status_filter, payment_status, account_id, contact_id, channel, ordered_from, ordered_to, q
    )
    return orders.list_orders(uow, actor, filters, limit=limit, cursor=cursor)


@router.post("/orders", response_model=OrderOut, status_code=status.HTTP_201_CREATED, tags=["orders"])
def create_order(data: OrderCreate, actor: CurrentActor, uow: Uow, response: Response) -> OrderOut:
    """Take an order: lines priced exactly, numbered SO-<year>-<n>. A shop's order already taken
    (same ``channel`` and ``external_id``) is answered 200, unchanged; naming an opportunity wins it."""
    order, is_new = orders.take_order(uow, actor, data)
    if not is_new:
        response.status_code = status.HTTP_200_OK
        return with_etag(response, order)
    return with_etag(response, order, created_in=ORDERS)


@router.post(
    "/orders/imports", response_model=OrderImportOut, status_code=status.HTTP_201_CREATED, tags=["orders"]
)
def import_orders(
    actor: CurrentActor,
    uow: Uow,
    file: Annotated[
        UploadFile,
        File(
            description="CSV (UTF-8 or GBK) or XLSX, one row per order line; the first row names the columns"
        ),
    ],
    channel: Annotated[str, Form(min_length=1, max_length=40, description="the shop, such as tmall")],
) -> OrderImportOut:
    """Import a shop's orders; good orders land, rejected rows are reported one by one, and
    orders imported before are left unchanged."""
    content = file.file.read(orders.MAX_FILE_BYTES + 1)
    return orders.import_orders(uow, actor, file_name=file.filename or "", content=content, channel=channel)


@router.get("/orders/imports", response_model=Page[OrderImportOut], tags=["orders"])
def list_imports(
    actor: CurrentActor, uow: Uow, limit: Limit = DEFAULT_PAGE_SIZE, cursor: Cursor = None
) -> Page[OrderImportOut]:
    """Your order imports (everyone's for admins), newest first."""
    return orders.list_imports(uow, actor, limit=limit, cursor=cursor)


@router.get("/orders/imports/{import_id}", response_model=OrderImportOut, tags=["orders"])
def read_import(import_id: str, actor: CurrentActor, uow: Uow) -> OrderImportOut:
    return orders.get_import(uow, actor, import_id)


@router.get(
    "/orders/imports/{import_id}/report",
    tags=["orders"],
    responses={
        200: {"description": "the rejected rows", "content": {"text/csv": {"schema": {"type": "string"}}}}
    },
)
def import_report(import_id: str, actor: CurrentActor, uow: Uow) -> Response:
    """The rejected rows with their reasons, as CSV in your language."""
    run = orders.get_import(uow, actor, import_id)
    return Response(
        orders.import_report_csv(run, translator(actor.locale)),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="order-import-{run.id}.csv"'},
    )


@router.get("/orders/{order_id}", response_model=OrderOut, tags=["orders"])
def read_order(order_id: str, actor: CurrentActor, uow: Uow, response: Response) -> OrderOut:
    return with_etag(response, orders.get_order(uow, actor, order_id))


@router.patch("/orders/{order_id}", response_model=OrderOut, tags=["orders"])
def change_order_status(
    order_id: str,
    data: OrderStatusChange,
    actor: CurrentActor,
    uow: Uow,
    response: Response,
    if_match: IfMatch = None,
) -> OrderOut:
    """Move the order to another status: confirmed → fulfilled or cancelled; others are refused (422)."""
    order = orders.change_status(
        uow, actor, order_id, data.status, expected_version=expected_version(if_match)
    )
    return with_etag(response, order)


@router.post("/orders/{order_id}/payments", response_model=OrderOut, tags=["orders"])
def record_payment(
    order_id: str,
    data: PaymentIn,
    actor: CurrentActor,
    uow: Uow,
    response: Response,
    if_match: IfMatch = None,
) -> OrderOut:
    """Record a payment received; the payment status follows (unpaid, partial, paid). Refused on
    a cancelled order and above what is still owed."""
    order = orders.record_payment(uow, actor, order_id, data, expected_version=expected_version(if_match))
    return with_etag(response, order)
