"""Pages of quotes, products and price lists (under /sales), and the customer's public quote page (/q/…).

The quote editor needs no script: its lines are rows of one form, "add a line" is a submit button
that brings the form back with one more row and everything typed kept; an empty row is ignored.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from fastapi import APIRouter
from pydantic import ValidationError
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

from loopcrm.modules.customers import service as customers
from loopcrm.modules.sales.opportunities import service as opportunities
from loopcrm.modules.sales.quotes import service as quotes
from loopcrm.modules.sales.quotes.schemas import (
    ApprovalDecision,
    CustomerAnswer,
    PriceListCreate,
    PriceListOut,
    PriceListUpdate,
    ProductCreate,
    ProductOut,
    ProductUpdate,
    QuoteCreate,
    QuoteFilters,
    QuoteOut,
    QuoteSettingsIn,
    QuoteStatus,
    QuoteUpdate,
)
from loopcrm.platform.errors import DomainError, ValidationFailed
from loopcrm.platform.i18n import N_
from loopcrm.platform.permissions import Action
from loopcrm.platform.web.flash import FlashLevel
from loopcrm.platform.web.forms import FormState
from loopcrm.platform.web.navigation import AdminPage, register_admin_page
from loopcrm.platform.web.pages import Form, Viewer, Visitor, WebPage, redirect, render, web_router
from loopcrm.platform.web.rows import RowGroup, typed_decimal

# Signed-in pages and the customer's public pages, gathered in one router for ``sales.views``.
signed_in_router = web_router()
public_router = web_router(public=True)

QUOTES_PATH = "/sales/quotes"
APPROVALS_PATH = "/sales/quotes/approvals"
PRODUCTS_PATH = "/sales/admin/products"
PRICE_LISTS_PATH = "/sales/admin/price-lists"
SETTINGS_PATH = "/sales/admin/quote-settings"

register_admin_page(
    AdminPage(N_("Products"), PRODUCTS_PATH, quotes.PRODUCT.key, "gift", action=Action.UPDATE)
)
register_admin_page(
    AdminPage(N_("Price lists"), PRICE_LISTS_PATH, quotes.PRODUCT.key, "list", action=Action.UPDATE)
)
register_admin_page(
    AdminPage(N_("Quote approval"), SETTINGS_PATH, "sales_settings", "check", action=Action.UPDATE)
)

STATUS_NAMES = {
    QuoteStatus.DRAFT.value: N_("Draft"),
    QuoteStatus.PENDING_APPROVAL.value: N_("Pending approval"),
    QuoteStatus.APPROVED.value: N_("Approved"),
    QuoteStatus.SENT.value: N_("Sent"),
    QuoteStatus.ACCEPTED.value: N_("Accepted"),
    QuoteStatus.REJECTED.value: N_("Rejected"),
    QuoteStatus.EXPIRED.value: N_("Expired"),
    QuoteStatus.SUPERSEDED.value: N_("Superseded"),
}
STATUS_BADGES = {
    QuoteStatus.DRAFT.value: "neutral",
    QuoteStatus.PENDING_APPROVAL.value: "info",
    QuoteStatus.APPROVED.value: "info",
    QuoteStatus.SENT.value: "info",
    QuoteStatus.ACCEPTED.value: "success",
    QuoteStatus.REJECTED.value: "danger",
    QuoteStatus.EXPIRED.value: "muted",
    QuoteStatus.SUPERSEDED.value: "muted",
}
LINE_PARTS = ("product_id", "description", "quantity", "unit_price", "discount_percent", "tax_rate")
LINES = RowGroup("lines", LINE_PARTS, max_rows=210)
QUOTE_INPUTS = ("opportunity_id", "contact_id", "valid_until", "title", "terms", "lines")
PRODUCT_INPUTS = ("sku", "name", "unit", "category", "description", "default_tax_rate", "is_active")
PRICE_LIST_INPUTS = ("name", "currency", "customer_tag_id", "is_default", "is_active", "entries")
ENTRIES = RowGroup("entries", ("product_id", "unit_price"), max_rows=10_000)


def page_context(page: WebPage) -> dict[str, Any]:
    """What every quotes page shows its statuses with."""
    return {"status_names": STATUS_NAMES, "status_badges": STATUS_BADGES}


# ---------------------------------------------------------------- the quote editor


def _is_blank(row: dict[str, str]) -> bool:
    return not (row.get("product_id", "").strip() or row.get("description", "").strip())


def _line_inputs(rows: list[dict[str, str]]) -> list[dict[str, Any]]:
    lines: list[dict[str, Any]] = []
    for row in rows:
        line: dict[str, Any] = {
            "product_id": row.get("product_id", "").strip() or None,
            "description": row.get("description", "").strip() or None,
            "quantity": typed_decimal(row.get("quantity", "")) or Decimal(1),
            "discount_percent": typed_decimal(row.get("discount_percent", "")) or Decimal(0),
        }
        for name in ("unit_price", "tax_rate"):
            value = typed_decimal(row.get(name, ""))
            if value is not None:
                line[name] = value
        lines.append(line)
    return lines


def _editor_state(values: dict[str, Any], rows: list[dict[str, Any]]) -> FormState:
    state = FormState.initial({**values, **LINES.values(rows)}, QUOTE_INPUTS)
    state.fields = frozenset({*QUOTE_INPUTS, *LINES.field_names(len(rows))})
    return state


def _render_editor(
    request: Request,
    page: WebPage,
    state: FormState,
    row_count: int,
    *,
    quote: QuoteOut | None,
    opportunity_id: str,
    status_code: int = 200,
) -> Response:
    deal = opportunities.get_opportunity(page.uow(), page.actor, opportunity_id)
    products = quotes.list_products(page.uow(), page.actor, active_only=True, limit=500).items
    return render(
        request,
        "sales/quotes/editor.html",
        {
            **page_context(page),
            "form": state,
            "row_count": row_count,
            "quote": quote,
            "deal": deal,
            "contact_choices": [(contact.contact_id, contact.contact_name) for contact in deal.contacts],
            "product_choices": [(product.id, f"{product.sku} · {product.name}") for product in products],
        },
        status_code=status_code,
    )


@signed_in_router.get(QUOTES_PATH + "/new")
def new_quote(request: Request, page: Viewer, opportunity: str) -> Response:
    """The editor of a new quote for the deal ``opportunity`` (linked from the deal's page)."""
    deal = opportunities.get_opportunity(page.uow(), page.actor, opportunity)
    primary = next((contact.contact_id for contact in deal.contacts if contact.is_primary), None)
    state = _editor_state(
        {"opportunity_id": deal.id, "contact_id": primary, "title": deal.name}, [{}, {}, {}]
    )
    return _render_editor(request, page, state, 3, quote=None, opportunity_id=deal.id)


def _submitted_editor(form: FormData) -> tuple[FormState, list[dict[str, str]], int]:
    rows = LINES.submitted(form)
    if "add_line" in form:
        rows.append({})
    state = FormState.submitted(form, QUOTE_INPUTS)
    state.fields = frozenset({*QUOTE_INPUTS, *LINES.field_names(len(rows))})
    return state, rows, max(len(rows), 1)


def _lines_with_positions(rows: list[dict[str, str]]) -> tuple[list[dict[str, Any]], list[int]]:
    """The non-blank rows as line inputs, and each one's row index on the page (errors name rows)."""
    kept, positions = LINES.filled(rows, _is_blank)
    return _line_inputs(kept), positions


@signed_in_router.post(QUOTES_PATH + "/new")
def create_quote(request: Request, page: Viewer, form: Form) -> Response:
    state, rows, row_count = _submitted_editor(form)
    opportunity_id = state.text("opportunity_id")
    if "add_line" in form:
        return _render_editor(request, page, state, row_count, quote=None, opportunity_id=opportunity_id)
    lines, positions = _lines_with_positions(rows)
    try:
        data = QuoteCreate.model_validate(
            {
                "opportunity_id": opportunity_id,
                "contact_id": state.optional("contact_id"),
                "valid_until": state.optional("valid_until"),
                "title": state.optional("title"),
                "terms": state.optional("terms"),
                "lines": lines,
            }
        )
        created = quotes.create_quote(page.uow(), page.actor, data)
    except (ValidationError, ValidationFailed) as error:
        LINES.add_refusal(state, error, positions, page.translator)
        return _render_editor(
            request, page, state, row_count, quote=None, opportunity_id=opportunity_id, status_code=422
        )
    page.flash(N_("The quote {number} has been created."), number=created.number)
    return redirect(request, f"{QUOTES_PATH}/{created.id}")


@signed_in_router.get(QUOTES_PATH + "/{quote_id}/edit")
def edit_quote(request: Request, page: Viewer, quote_id: str) -> Response:
    quote = quotes.get_quote(page.uow(), page.actor, quote_id)
    rows: list[dict[str, Any]] = [
        {
            "product_id": line.product_id,
            "description": line.description,
            "quantity": _plain(line.quantity),
            "unit_price": _plain(line.unit_price),
            "discount_percent": _plain(line.discount_percent),
            "tax_rate": _plain(line.tax_rate),
        }
        for line in quote.lines
    ]
    rows.append({})
    state = _editor_state(
        {
            "opportunity_id": quote.opportunity_id,
            "contact_id": quote.contact_id,
            "valid_until": quote.valid_until.isoformat(),
            "title": quote.title,
            "terms": quote.terms,
            "version": quote.version,
        },
        rows,
    )
    return _render_editor(request, page, state, len(rows), quote=quote, opportunity_id=quote.opportunity_id)


def _plain(value: Decimal) -> str:
    text = f"{value:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


@signed_in_router.post(QUOTES_PATH + "/{quote_id}/edit")
def update_quote(request: Request, page: Viewer, quote_id: str, form: Form) -> Response:
    quote = quotes.get_quote(page.uow(), page.actor, quote_id)
    state, rows, row_count = _submitted_editor(form)
    if "add_line" in form:
        return _render_editor(
            request, page, state, row_count, quote=quote, opportunity_id=quote.opportunity_id
        )
    lines, positions = _lines_with_positions(rows)
    try:
        data = QuoteUpdate.model_validate(
            {
                "contact_id": state.optional("contact_id"),
                "valid_until": state.optional("valid_until"),
                "title": state.optional("title"),
                "terms": state.optional("terms"),
                "lines": lines,
            }
        )
        version = int(state.value("version") or quote.version)
        quotes.update_quote(page.uow(), page.actor, quote_id, data, expected_version=version)
    except (ValidationError, DomainError) as error:
        LINES.add_refusal(state, error, positions, page.translator)
        return _render_editor(
            request, page, state, row_count, quote=quote, opportunity_id=quote.opportunity_id, status_code=422
        )
    page.flash(N_("The quote has been saved."))
    return redirect(request, f"{QUOTES_PATH}/{quote_id}")


# ---------------------------------------------------------------- lists and the detail page


@signed_in_router.get(QUOTES_PATH)
def list_quotes(request: Request, page: Viewer, opportunity: str | None = None) -> Response:
    found = quotes.list_quotes(
        page.uow(), page.actor, QuoteFilters(opportunity_id=opportunity or None), limit=200
    )
    return render(
        request,
        "sales/quotes/list.html",
        {**page_context(page), "quotes": found.items, "opportunity_id": opportunity},
    )


@signed_in_router.get(APPROVALS_PATH)
def approval_queue(request: Request, page: Viewer) -> Response:
    waiting = quotes.pending_approvals(page.uow(), page.actor)
    return render(request, "sales/quotes/approvals.html", {**page_context(page), "quotes": waiting})


def _detail(
    request: Request,
    page: WebPage,
    quote_id: str,
    *,
    public_path: str | None = None,
    form: FormState | None = None,
    status_code: int = 200,
) -> Response:
    quote = quotes.get_quote(page.uow(), page.actor, quote_id)
    actor = page.actor
    may_update = actor.can(quotes.QUOTE.key, Action.UPDATE)
    return render(
        request,
        "sales/quotes/detail.html",
        {
            **page_context(page),
            "quote": quote,
            "may_update": may_update,
            "may_approve": quote.status is QuoteStatus.PENDING_APPROVAL and quotes.may_approve(actor, quote),
            "public_path": public_path,
            "public_url": (str(request.base_url).rstrip("/") + public_path) if public_path else None,
            "form": form or FormState.initial({}, ("note", "reason")),
        },
        status_code=status_code,
    )


@signed_in_router.get(QUOTES_PATH + "/{quote_id}")
def quote_detail(request: Request, page: Viewer, quote_id: str) -> Response:
    return _detail(request, page, quote_id)


def _act(request: Request, page: WebPage, quote_id: str, success: str, action: Any) -> Response:
    """Run one state change; a refusal comes back on the detail page, with its reason on top."""
    try:
        result = action()
    except (DomainError, ValidationError) as error:
        state = FormState.initial({}, ("note", "reason"))
        state.add_refusal(error, page.translator)
        return _detail(
            request,
            page,
            quote_id,
            form=state,
            status_code=409 if isinstance(error, DomainError) and error.status == 409 else 422,
        )
    page.flash(success)
    target = result.id if isinstance(result, QuoteOut) else quote_id
    return redirect(request, f"{QUOTES_PATH}/{target}")


@signed_in_router.post(QUOTES_PATH + "/{quote_id}/submit")
def submit_quote(request: Request, page: Viewer, quote_id: str) -> Response:
    return _act(
        request,
        page,
        quote_id,
        N_("The quote has been submitted."),
        lambda: quotes.submit_quote(page.uow(), page.actor, quote_id),
    )


@signed_in_router.post(QUOTES_PATH + "/{quote_id}/approve")
def approve_quote(request: Request, page: Viewer, quote_id: str, form: Form) -> Response:
    decision = ApprovalDecision(note=str(form.get("note") or "") or None)
    return _act(
        request,
        page,
        quote_id,
        N_("The discount has been approved."),
        lambda: quotes.approve_quote(page.uow(), page.actor, quote_id, decision),
    )


@signed_in_router.post(QUOTES_PATH + "/{quote_id}/reject-approval")
def reject_approval(request: Request, page: Viewer, quote_id: str, form: Form) -> Response:
    decision = ApprovalDecision(note=str(form.get("note") or "") or None)
    return _act(
        request,
        page,
        quote_id,
        N_("The discount has been refused; the quote is a draft again."),
        lambda: quotes.reject_approval(page.uow(), page.actor, quote_id, decision),
    )


@signed_in_router.post(QUOTES_PATH + "/{quote_id}/revise")
def revise_quote(request: Request, page: Viewer, quote_id: str) -> Response:
    return _act(
        request,
        page,
        quote_id,
        N_("A new version of the quote has been created."),
        lambda: quotes.revise_quote(page.uow(), page.actor, quote_id),
    )


@signed_in_router.post(QUOTES_PATH + "/{quote_id}/send")
def send_quote(request: Request, page: Viewer, quote_id: str) -> Response:
    return _act(
        request,
        page,
        quote_id,
        N_("The quote is on its way to the customer."),
        lambda: quotes.send_quote(page.uow(), page.actor, quote_id, locale=page.locale),
    )


@signed_in_router.post(QUOTES_PATH + "/{quote_id}/accept")
def accept_quote(request: Request, page: Viewer, quote_id: str) -> Response:
    return _act(
        request,
        page,
        quote_id,
        N_("The customer's acceptance has been recorded."),
        lambda: quotes.accept_quote(page.uow(), page.actor, quote_id),
    )


@signed_in_router.post(QUOTES_PATH + "/{quote_id}/reject")
def reject_quote(request: Request, page: Viewer, quote_id: str, form: Form) -> Response:
    return _act(
        request,
        page,
        quote_id,
        N_("The customer's refusal has been recorded."),
        lambda: quotes.reject_quote(
            page.uow(), page.actor, quote_id, CustomerAnswer(reason=str(form.get("reason") or "") or None)
        ),
    )


@signed_in_router.post(QUOTES_PATH + "/{quote_id}/public-link")
def create_public_link(request: Request, page: Viewer, quote_id: str) -> Response:
    try:
        link = quotes.create_public_link(page.uow(), page.actor, quote_id)
    except DomainError as error:
        state = FormState.initial({}, ("note", "reason"))
        state.add_refusal(error, page.translator)
        return _detail(request, page, quote_id, form=state, status_code=error.status)
    return _detail(request, page, quote_id, public_path=link.path)


@signed_in_router.get(QUOTES_PATH + "/{quote_id}/pdf")
def quote_pdf(request: Request, page: Viewer, quote_id: str) -> Response:
    quote, content = quotes.quote_pdf(page.uow(), page.actor, quote_id, page.locale)
    return Response(
        content,
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{quotes.pdf_file_name(quote)}"'},
    )


# ---------------------------------------------------------------- the customer's page


def _public(
    request: Request, page: WebPage, token: str, *, refusal: str | None = None, status_code: int = 200
) -> Response:
    quote = quotes.get_public_quote(page.uow(), token)
    return render(
        request,
        "sales/quotes/public.html",
        {
            **page_context(page),
            "quote": quote,
            "token": token,
            "refusal": refusal,
            "is_open": quotes.is_answerable(quote),
            "form": FormState.initial({}, ("reason",)),
        },
        status_code=status_code,
    )


@public_router.get("/q/{token}")
def public_quote(request: Request, page: Visitor, token: str) -> Response:
    """The quote as the customer sees it, with Accept and Reject while it may be answered."""
    return _public(request, page, token)


@public_router.post("/q/{token}/accept")
def public_accept(request: Request, page: Visitor, token: str) -> Response:
    try:
        quotes.accept_public_quote(page.uow(), token)
    except DomainError as error:
        return _public(
            request, page, token, refusal=page.message(error.message, error.params), status_code=409
        )
    page.flash(N_("Thank you: you have accepted the quote."))
    return redirect(request, f"/q/{token}")


@public_router.post("/q/{token}/reject")
def public_reject(request: Request, page: Visitor, token: str, form: Form) -> Response:
    try:
        quotes.reject_public_quote(
            page.uow(), token, CustomerAnswer(reason=str(form.get("reason") or "") or None)
        )
    except ValidationError:
        return _public(
            request,
            page,
            token,
            refusal=page.gettext(N_("Tell us why you decline the quote")),
            status_code=422,
        )
    except ValidationFailed as error:
        text = (
            page.message(error.errors[0].message, error.errors[0].params)
            if error.errors
            else page.message(error.message)
        )
        return _public(request, page, token, refusal=text, status_code=422)
    except DomainError as error:
        return _public(
            request, page, token, refusal=page.message(error.message, error.params), status_code=409
        )
    page.flash(N_("You have declined the quote. Thank you for telling us why."))
    return redirect(request, f"/q/{token}")


@public_router.get("/q/{token}/pdf")
def public_pdf(request: Request, page: Visitor, token: str) -> Response:
    quote, content = quotes.public_quote_pdf(page.uow(), token, page.locale)
    return Response(
        content,
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{quotes.pdf_file_name(quote)}"'},
    )


# ---------------------------------------------------------------- products


def _products_page(request: Request, page: WebPage, form: FormState, status_code: int = 200) -> Response:
    found = quotes.list_products(page.uow(), page.actor, limit=500)
    return render(
        request,
        "sales/quotes/products.html",
        {
            "form": form,
            "products": found.items,
            "may_create": page.actor.can(quotes.PRODUCT.key, Action.CREATE),
        },
        status_code=status_code,
    )


def _product_values(state: FormState) -> dict[str, Any]:
    return {
        "sku": state.text("sku"),
        "name": state.text("name"),
        "unit": state.text("unit"),
        "category": state.optional("category"),
        "description": state.optional("description"),
        "default_tax_rate": typed_decimal(state.value("default_tax_rate")) or Decimal(0),
        "is_active": state.checked("is_active"),
    }


@signed_in_router.get(PRODUCTS_PATH)
def list_products(request: Request, page: Viewer) -> Response:
    return _products_page(
        request, page, FormState.initial({"is_active": True, "default_tax_rate": "13"}, PRODUCT_INPUTS)
    )


@signed_in_router.post(PRODUCTS_PATH)
def create_product(request: Request, page: Viewer, form: Form) -> Response:
    state = FormState.submitted(form, PRODUCT_INPUTS)
    try:
        created = quotes.create_product(
            page.uow(), page.actor, ProductCreate.model_validate(_product_values(state))
        )
    except (ValidationError, ValidationFailed) as error:
        state.add_refusal(error, page.translator)
        return _products_page(request, page, state, status_code=422)
    page.flash(N_("The product {name} has been created."), name=created.name)
    return redirect(request, PRODUCTS_PATH)


def _product_form(
    request: Request, page: WebPage, product: ProductOut, form: FormState, status_code: int = 200
) -> Response:
    return render(
        request, "sales/quotes/product_form.html", {"form": form, "product": product}, status_code=status_code
    )


@signed_in_router.get(PRODUCTS_PATH + "/{product_id}")
def edit_product(request: Request, page: Viewer, product_id: str) -> Response:
    product = quotes.get_product(page.uow(), page.actor, product_id)
    values = product.model_dump(include={*PRODUCT_INPUTS, "version"})
    values["default_tax_rate"] = _plain(product.default_tax_rate)
    return _product_form(request, page, product, FormState.initial(values, PRODUCT_INPUTS))


@signed_in_router.post(PRODUCTS_PATH + "/{product_id}")
def update_product(request: Request, page: Viewer, product_id: str, form: Form) -> Response:
    product = quotes.get_product(page.uow(), page.actor, product_id)
    state = FormState.submitted(form, PRODUCT_INPUTS)
    try:
        data = ProductUpdate.model_validate(_product_values(state))
        quotes.update_product(
            page.uow(),
            page.actor,
            product_id,
            data,
            expected_version=int(state.value("version") or product.version),
        )
    except (ValidationError, DomainError) as error:
        state.add_refusal(error, page.translator)
        return _product_form(request, page, product, state, status_code=422)
    page.flash(N_("The product {name} has been saved."), name=state.text("name"))
    return redirect(request, PRODUCTS_PATH)


# ---------------------------------------------------------------- price lists


def _price_list_page(
    request: Request,
    page: WebPage,
    form: FormState,
    price_list: PriceListOut | None,
    row_count: int,
    status_code: int = 200,
) -> Response:
    products = quotes.list_products(page.uow(), page.actor, limit=500).items
    currencies = opportunities.list_currencies(page.uow(), page.actor, include_inactive=False)
    tags = customers.list_tags(page.uow(), page.actor)
    return render(
        request,
        "sales/quotes/price_list_form.html",
        {
            "form": form,
            "price_list": price_list,
            "row_count": row_count,
            "product_choices": [(product.id, f"{product.sku} · {product.name}") for product in products],
            "currency_choices": [
                (currency.code, f"{currency.code} · {currency.name}") for currency in currencies
            ],
            "tag_choices": [(tag.id, tag.name) for tag in tags],
        },
        status_code=status_code,
    )


def _price_list_state(values: dict[str, Any], rows: list[dict[str, Any]]) -> FormState:
    filled = dict(values)
    for index, row in enumerate(rows):
        filled[f"entries.{index}.product_id"] = row.get("product_id") or ""
        filled[f"entries.{index}.unit_price"] = row.get("unit_price") or ""
    state = FormState.initial(filled, PRICE_LIST_INPUTS)
    state.fields = frozenset(
        {
            *PRICE_LIST_INPUTS,
            *(f"entries.{i}.{part}" for i in range(len(rows)) for part in ("product_id", "unit_price")),
        }
    )
    return state


@signed_in_router.get(PRICE_LISTS_PATH)
def list_price_lists(request: Request, page: Viewer) -> Response:
    lists = quotes.list_price_lists(page.uow(), page.actor)
    return render(
        request,
        "sales/quotes/price_lists.html",
        {"price_lists": lists, "may_create": page.actor.can(quotes.PRODUCT.key, Action.CREATE)},
    )


@signed_in_router.get(PRICE_LISTS_PATH + "/new")
def new_price_list(request: Request, page: Viewer) -> Response:
    state = _price_list_state({"is_active": True, "currency": "CNY"}, [{}, {}, {}])
    return _price_list_page(request, page, state, None, 3)


def _price_list_input(state: FormState, rows: list[dict[str, str]]) -> dict[str, Any]:
    entries = [
        {
            "product_id": row.get("product_id", "").strip(),
            "unit_price": typed_decimal(row.get("unit_price", "")),
        }
        for row in rows
        if row.get("product_id", "").strip()
    ]
    return {
        "name": state.text("name"),
        "currency": state.text("currency"),
        "customer_tag_id": state.optional("customer_tag_id"),
        "is_default": state.checked("is_default"),
        "is_active": state.checked("is_active"),
        "entries": entries,
    }


def _submitted_price_list(form: FormData) -> tuple[FormState, list[dict[str, str]]]:
    rows = ENTRIES.submitted(form)
    if "add_entry" in form:
        rows.append({})
    state = FormState.submitted(form, PRICE_LIST_INPUTS)
    state.fields = frozenset(
        {
            *PRICE_LIST_INPUTS,
            *(f"entries.{i}.{part}" for i in range(len(rows)) for part in ("product_id", "unit_price")),
        }
    )
    return state, rows


@signed_in_router.post(PRICE_LISTS_PATH + "/new")
def create_price_list(request: Request, page: Viewer, form: Form) -> Response:
    state, rows = _submitted_price_list(form)
    if "add_entry" in form:
        return _price_list_page(request, page, state, None, len(rows))
    try:
        created = quotes.create_price_list(
            page.uow(), page.actor, PriceListCreate.model_validate(_price_list_input(state, rows))
        )
    except (ValidationError, ValidationFailed) as error:
        state.add_refusal(error, page.translator)
        return _price_list_page(request, page, state, None, max(len(rows), 1), status_code=422)
    page.flash(N_("The price list {name} has been created."), name=created.name)
    return redirect(request, PRICE_LISTS_PATH)


@signed_in_router.get(PRICE_LISTS_PATH + "/{price_list_id}")
def edit_price_list(request: Request, page: Viewer, price_list_id: str) -> Response:
    price_list = quotes.get_price_list(page.uow(), page.actor, price_list_id)
    rows: list[dict[str, Any]] = [
        {"product_id": entry.product_id, "unit_price": _plain(entry.unit_price)}
        for entry in price_list.entries
    ]
    rows.append({})
    values = price_list.model_dump(
        include={"name", "currency", "customer_tag_id", "is_default", "is_active", "version"}
    )
    return _price_list_page(request, page, _price_list_state(values, rows), price_list, len(rows))


@signed_in_router.post(PRICE_LISTS_PATH + "/{price_list_id}")
def update_price_list(request: Request, page: Viewer, price_list_id: str, form: Form) -> Response:
    price_list = quotes.get_price_list(page.uow(), page.actor, price_list_id)
    state, rows = _submitted_price_list(form)
    if "add_entry" in form:
        return _price_list_page(request, page, state, price_list, len(rows))
    try:
        data = PriceListUpdate.model_validate(_price_list_input(state, rows))
        quotes.update_price_list(
            page.uow(),
            page.actor,
            price_list_id,
            data,
            expected_version=int(state.value("version") or price_list.version),
        )
    except (ValidationError, DomainError) as error:
        state.add_refusal(error, page.translator)
        return _price_list_page(request, page, state, price_list, max(len(rows), 1), status_code=422)
    page.flash(N_("The price list {name} has been saved."), name=state.text("name"))
    return redirect(request, PRICE_LISTS_PATH)


# ---------------------------------------------------------------- settings


@signed_in_router.get(SETTINGS_PATH)
def quote_settings(request: Request, page: Viewer) -> Response:
    current = quotes.get_quote_settings(page.uow(), page.actor)
    state = FormState.initial(
        {
            "approval_threshold_percent": _plain(current.approval_threshold_percent),
            "default_validity_days": current.default_validity_days,
        },
        ("approval_threshold_percent", "default_validity_days"),
    )
    return render(request, "sales/quotes/settings.html", {"form": state})


@signed_in_router.post(SETTINGS_PATH)
def save_quote_settings(request: Request, page: Viewer, form: Form) -> Response:
    state = FormState.submitted(form, ("approval_threshold_percent", "default_validity_days"))
    try:
        data = QuoteSettingsIn.model_validate(
            {
                "approval_threshold_percent": typed_decimal(state.value("approval_threshold_percent")),
                "default_validity_days": state.text("default_validity_days") or None,
            }
        )
        quotes.update_quote_settings(page.uow(), page.actor, data)
    except (ValidationError, ValidationFailed) as error:
        state.add_refusal(error, page.translator)
        return render(request, "sales/quotes/settings.html", {"form": state}, status_code=422)
    page.flash(N_("The quote settings have been saved."), level=FlashLevel.SUCCESS)
    return redirect(request, SETTINGS_PATH)


router = APIRouter(include_in_schema=False)
router.include_router(signed_in_router)
router.include_router(public_router)
