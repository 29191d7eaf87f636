"""Pages of orders, under /sales (gathered by loopcrm.modules.sales.views): the list with its
filters, a new order typed by hand (an order taken by phone or in person), an order's detail with
its status actions and payments, and the import of shop exports with its row-by-row report."""

from __future__ import annotations

from datetime import UTC, datetime, time
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import Response

from loopcrm.modules.customers import service as customers
from loopcrm.modules.customers.schemas import ListQuery
from loopcrm.modules.sales.opportunities import service as opportunities
from loopcrm.modules.sales.orders import service as orders
from loopcrm.modules.sales.orders.models import OrderOrigin, OrderStatus, PaymentMethod
from loopcrm.modules.sales.orders.schemas import OrderCreate, OrderFilter, OrderOut, PaymentIn
from loopcrm.platform.errors import DomainError, NotFound, PermissionDenied, StaleVersion, ValidationFailed
from loopcrm.platform.i18n import N_
from loopcrm.platform.permissions import Action, can_reach_record
from loopcrm.platform.web.forms import FormState
from loopcrm.platform.web.pages import Form, Viewer, WebPage, redirect, render, web_router
from loopcrm.platform.web.rows import RowGroup, typed_decimal

router = web_router()

ORDERS_PATH = "/sales/orders"
IMPORT_PATH = "/sales/orders/import"
FILTER_FIELDS = ("status", "payment_status", "ordered_from", "ordered_to", "q", "account_id", "contact_id")
PAYMENT_FIELDS = ("amount", "method", "paid_on", "reference")
NEW_ORDER_PATH = "/sales/orders/new"
ORDER_INPUTS = ("account_id", "contact_id", "currency", "ordered_on", "note")
LINES = RowGroup("lines", ("sku", "description", "quantity", "unit_price", "discount_percent", "tax_rate"))
NEW_ORDER_ROWS = 3
PICKER_SIZE = 200  # accounts and contacts offered in the new order's lists, first by name
LIST_PAGE_SIZE = 50
STATUS_BADGES = {"confirmed": "info", "fulfilled": "success", "cancelled": "muted"}
PAYMENT_BADGES = {"unpaid": "neutral", "partial": "info", "paid": "success"}
# What each action button moves an order to, and its label.
STATUS_ACTIONS = {
    OrderStatus.FULFILLED.value: N_("Mark fulfilled"),
    OrderStatus.CANCELLED.value: N_("Cancel order"),
}


def _names() -> dict[str, Any]:
    return {
        "status_names": orders.STATUS_NAMES,
        "payment_status_names": orders.PAYMENT_STATUS_NAMES,
        "origin_names": orders.ORIGIN_NAMES,
        "method_names": orders.PAYMENT_METHOD_NAMES,
        "status_badges": STATUS_BADGES,
        "payment_badges": PAYMENT_BADGES,
    }


# ---------------------------------------------------------------- list


@router.get(ORDERS_PATH)
def list_orders(request: Request, page: Viewer) -> Response:
    query = {name: request.query_params.get(name, "").strip() for name in FILTER_FIELDS}
    form = FormState.initial(query, FILTER_FIELDS)
    cursor = request.query_params.get("cursor") or None
    status_code = 200
    try:
        filters = OrderFilter.model_validate({name: value for name, value in query.items() if value})
    except ValidationError as error:
        form.add_refusal(error, page.translator)
        filters, status_code = OrderFilter(), 422
    try:
        found = orders.list_orders(page.uow(), page.actor, filters, limit=LIST_PAGE_SIZE, cursor=cursor)
    except ValidationFailed as error:  # a mangled cursor
        form.add_refusal(error, page.translator)
        found = orders.list_orders(page.uow(), page.actor, filters, limit=LIST_PAGE_SIZE)
        status_code = 422
    customer_label = None
    if filters.account_id or filters.contact_id:
        customer_label = _customer_label(page, filters.account_id, filters.contact_id)
    return render(
        request,
        "sales/orders/list.html",
        {
            **_names(),
            "form": form,
            "orders": found.items,
            "next_cursor": found.next_cursor,
            "is_first_page": cursor is None,
            "query": {name: value for name, value in query.items() if value},
            "status_choices": [(value, page.gettext(name)) for value, name in orders.STATUS_NAMES.items()],
            "payment_choices": [
                (value, page.gettext(name)) for value, name in orders.PAYMENT_STATUS_NAMES.items()
            ],
            "customer_label": customer_label,
            "may_create": page.actor.can(orders.ORDER.key, Action.CREATE),
        },
        status_code=status_code,
    )


def _customer_label(page: WebPage, account_id: str | None, contact_id: str | None) -> str | None:
    try:
        if account_id:
            return customers.get_account(page.uow(), page.actor, account_id).name
        if contact_id:
            return customers.get_contact(page.uow(), page.actor, contact_id).full_name
    except (NotFound, PermissionDenied):
        return None
    return None


# ---------------------------------------------------------------- import


def _import_page(request: Request, page: WebPage, form: FormState, *, status_code: int = 200) -> Response:
    runs = orders.list_imports(page.uow(), page.actor, limit=20).items
    return render(
        request,
        "sales/orders/import.html",
        {
            "form": form,
            "runs": runs,
            "columns": orders.COLUMN_NAMES,
            "max_megabytes": orders.MAX_FILE_BYTES // (1024 * 1024),
        },
        status_code=status_code,
    )


@router.get(IMPORT_PATH)
def import_page(request: Request, page: Viewer) -> Response:
    orders.list_imports(page.uow(), page.actor, limit=1)  # refuses readers who may not take orders
    return _import_page(request, page, FormState.initial({"channel": ""}, ["channel", "file"]))


@router.post(IMPORT_PATH)
async def upload_orders(request: Request, page: Viewer, submitted: Form) -> Response:
    form = FormState.submitted(submitted, ["channel", "file"])
    upload = submitted.get("file")
    if not form.text("channel"):
        form.add_error("channel", page.gettext(N_("Name the shop the orders come from, such as tmall")))
    if not isinstance(upload, UploadFile) or not upload.filename:
        form.add_error("file", page.gettext(N_("Choose a CSV or Excel file")))
    if form.has_errors or not isinstance(upload, UploadFile):
        return _import_page(request, page, form, status_code=422)
    content = await upload.read(orders.MAX_FILE_BYTES + 1)
    try:
        run = await run_in_threadpool(
            orders.import_orders,
            page.uow(),
            page.actor,
            file_name=upload.filename or "",
            content=content,
            channel=form.text("channel"),
        )
    except DomainError as error:
        form.add_domain_error(error, page.translator)
        if isinstance(error, orders.UnreadableFile):
            form.errors.setdefault("file", page.message(error.message, error.params))
        return _import_page(
            request, page, form, status_code=403 if isinstance(error, PermissionDenied) else 422
        )
    page.flash(
        N_("{created} orders imported, {unchanged} already there, {rejected} rejected"),
        created=run.orders_created,
        unchanged=run.orders_unchanged,
        rejected=run.orders_rejected,
    )
    return redirect(request, f"/sales/orders/imports/{run.id}")


@router.get("/sales/orders/imports/{import_id}")
def import_detail(request: Request, page: Viewer, import_id: str) -> Response:
    run = orders.get_import(page.uow(), page.actor, import_id)
    return render(request, "sales/orders/import_detail.html", {"run": run})


@router.get("/sales/orders/imports/{import_id}/report.csv")
def import_report(request: Request, page: Viewer, import_id: str) -> Response:
    run = orders.get_import(page.uow(), page.actor, import_id)
    return Response(
        orders.import_report_csv(run, page.translator),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="order-import-{run.id}.csv"'},
    )


# ---------------------------------------------------------------- a new order by hand


def _order_form(
    request: Request, page: WebPage, form: FormState, row_count: int, *, status_code: int = 200
) -> Response:
    accounts = customers.list_accounts(
        page.uow(), page.actor, ListQuery(sort="name"), limit=PICKER_SIZE, cursor=None
    ).items
    contacts = customers.list_contacts(
        page.uow(), page.actor, ListQuery(sort="full_name"), limit=PICKER_SIZE, cursor=None
    ).items
    account_choices = [(account.id, account.name) for account in accounts]
    chosen = form.text("account_id")
    if chosen and chosen not in {key for key, _ in account_choices}:
        label = _customer_label(page, chosen, None)
        if label is not None:
            account_choices.insert(0, (chosen, label))
    currencies = opportunities.list_currencies(page.uow(), page.actor, include_inactive=False)
    return render(
        request,
        "sales/orders/new.html",
        {
            "form": form,
            "row_count": row_count,
            "account_choices": account_choices,
            "contact_choices": [(contact.id, contact.full_name) for contact in contacts],
            "currency_choices": [(currency.code, currency.code) for currency in currencies],
            "company_currency": opportunities.company_currency(page.uow()),
        },
        status_code=status_code,
    )


def _with_line_fields(form: FormState, row_count: int) -> FormState:
    form.fields = frozenset({*ORDER_INPUTS, *LINES.field_names(row_count)})
    return form


@router.get(NEW_ORDER_PATH)
def new_order(request: Request, page: Viewer) -> Response:
    """The form of an order typed by hand; ``?account=`` chooses its account (from the account's page)."""
    orders.list_orders(page.uow(), page.actor, OrderFilter(), limit=1)  # refuses readers without orders
    form = FormState.initial({"account_id": request.query_params.get("account", "")}, ORDER_INPUTS)
    return _order_form(request, page, _with_line_fields(form, NEW_ORDER_ROWS), NEW_ORDER_ROWS)


def _is_blank(row: dict[str, str]) -> bool:
    return not any(value.strip() for value in row.values())


def _line_inputs(rows: list[dict[str, str]]) -> list[dict[str, Any]]:
    lines = []
    for row in rows:
        line: dict[str, Any] = {
            "sku": row.get("sku", "").strip(),
            "description": row.get("description", "").strip(),
            "quantity": typed_decimal(row.get("quantity", "")) or Decimal(1),
            "unit_price": typed_decimal(row.get("unit_price", "")),
        }
        for name in ("discount_percent", "tax_rate"):
            value = typed_decimal(row.get(name, ""))
            if value is not None:
                line[name] = value
        lines.append(line)
    return lines


def _ordered_at(page: WebPage, form: FormState) -> datetime | None:
    """The day typed, at noon where the reader is (the order's time is not asked); today: now."""
    if not form.text("ordered_on"):
        return None
    try:
        day = datetime.strptime(form.text("ordered_on"), "%Y-%m-%d").date()
    except ValueError:
        form.add_error("ordered_on", page.gettext(N_("Enter a date such as 2026-03-01")))
        return None
    if day == datetime.now(ZoneInfo(page.timezone)).date():
        return None
    return datetime.combine(day, time(12), tzinfo=ZoneInfo(page.timezone)).astimezone(UTC)


@router.post(NEW_ORDER_PATH)
def create_order(request: Request, page: Viewer, submitted: Form) -> Response:
    rows = LINES.submitted(submitted)
    if "add_line" in submitted:
        rows.append({})
    row_count = max(len(rows), 1)
    form = _with_line_fields(FormState.submitted(submitted, ORDER_INPUTS), row_count)
    if "add_line" in submitted:
        return _order_form(request, page, form, row_count)
    kept, positions = LINES.filled(rows, _is_blank)
    ordered_at = _ordered_at(page, form)
    if not (form.text("account_id") or form.text("contact_id")):
        form.add_error("account_id", page.gettext(N_("Choose the account or the contact who orders")))
    if form.has_errors:
        return _order_form(request, page, form, row_count, status_code=422)
    try:
        data = OrderCreate.model_validate(
            {
                "account_id": form.optional("account_id"),
                "contact_id": form.optional("contact_id"),
                "currency": form.optional("currency"),
                "ordered_at": ordered_at,
                "note": form.optional("note"),
                "lines": _line_inputs(kept),
            }
        )
        created = orders.create_order(page.uow(), page.actor, data, origin=OrderOrigin.MANUAL)
    except (ValidationError, DomainError) as error:
        LINES.add_refusal(form, error, positions, page.translator)
        return _order_form(request, page, form, row_count, status_code=422)
    page.flash(N_("The order {number} was created."), number=created.number)
    return redirect(request, f"/sales/orders/{created.id}")


# ---------------------------------------------------------------- detail, status, payments


def _detail(
    request: Request,
    page: WebPage,
    order: OrderOut,
    payment_form: FormState | None = None,
    status_form: FormState | None = None,
    *,
    status_code: int = 200,
) -> Response:
    may_update = can_reach_record(
        page.actor, orders.ORDER.key, Action.UPDATE, owner_id=order.owner_id, team_id=order.team_id
    )
    actions = [
        (target.value, STATUS_ACTIONS[target.value])
        for target in (OrderStatus.FULFILLED, OrderStatus.CANCELLED)
        if order.status is OrderStatus.CONFIRMED
    ]
    return render(
        request,
        "sales/orders/detail.html",
        {
            **_names(),
            "order": order,
            "may_update": may_update,
            "status_actions": actions,
            "may_pay": may_update and order.status is not OrderStatus.CANCELLED and order.amount_due > 0,
            "payment_form": payment_form
            or FormState.initial({"method": PaymentMethod.BANK_TRANSFER.value}, PAYMENT_FIELDS),
            "status_form": status_form or FormState(fields=frozenset({"status"})),
            "method_choices": [
                (value, page.gettext(name)) for value, name in orders.PAYMENT_METHOD_NAMES.items()
            ],
        },
        status_code=status_code,
    )


@router.get("/sales/orders/{order_id}")
def order_detail(request: Request, page: Viewer, order_id: str) -> Response:
    return _detail(request, page, orders.get_order(page.uow(), page.actor, order_id))


def _version(form: FormState) -> int | None:
    text = form.text("version")
    return int(text) if text.isdigit() else None


@router.post("/sales/orders/{order_id}/status")
def change_status(request: Request, page: Viewer, order_id: str, submitted: Form) -> Response:
    form = FormState.submitted(submitted, ["status"])
    try:
        target = OrderStatus(form.text("status"))
        orders.change_status(page.uow(), page.actor, order_id, target, expected_version=_version(form))
    except ValueError:
        form.add_error("status", page.gettext(N_("Choose a status")))
    except StaleVersion as error:
        form.add_domain_error(error, page.translator)
    except ValidationFailed as error:
        form.add_domain_error(error, page.translator)
    if form.has_errors:
        order = orders.get_order(page.uow(), page.actor, order_id)
        return _detail(request, page, order, status_form=form, status_code=422)
    page.flash(N_("The order's status was changed."))
    return redirect(request, f"/sales/orders/{order_id}")


def _payment_input(page: WebPage, form: FormState) -> PaymentIn | None:
    values: dict[str, Any] = {"method": form.text("method") or PaymentMethod.BANK_TRANSFER.value}
    try:
        values["amount"] = Decimal(form.text("amount").replace(",", ""))
    except InvalidOperation:
        form.add_error("amount", page.gettext(N_("Enter an amount such as 1280.50")))
    if form.text("paid_on"):
        try:
            day = datetime.strptime(form.text("paid_on"), "%Y-%m-%d").date()
            values["paid_at"] = datetime.combine(day, time(12), tzinfo=ZoneInfo(page.timezone)).astimezone(
                UTC
            )
        except ValueError:
            form.add_error("paid_on", page.gettext(N_("Enter a date such as 2026-03-01")))
    if form.text("reference"):
        values["reference"] = form.text("reference")
    if form.has_errors:
        return None
    try:
        return PaymentIn.model_validate(values)
    except ValidationError as error:
        form.add_refusal(error, page.translator)
        return None


@router.post("/sales/orders/{order_id}/payments")
def record_payment(request: Request, page: Viewer, order_id: str, submitted: Form) -> Response:
    form = FormState.submitted(submitted, PAYMENT_FIELDS)
    data = _payment_input(page, form)
    if data is not None:
        try:
            orders.record_payment(page.uow(), page.actor, order_id, data, expected_version=_version(form))
        except (ValidationFailed, StaleVersion) as error:
            form.add_domain_error(error, page.translator)
    if form.has_errors or data is None:
        order = orders.get_order(page.uow(), page.actor, order_id)
        return _detail(request, page, order, payment_form=form, status_code=422)
    page.flash(N_("The payment was recorded."))
    return redirect(request, f"/sales/orders/{order_id}")
