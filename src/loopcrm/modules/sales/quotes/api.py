"""REST routes of products, price lists and quotes, under /api/v1 (gathered by loopcrm.modules.sales.api).

Routes only translate HTTP to one service call and back (ADR 0005); permissions, validation, the
transition table and auditing are in ``quotes.service``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from loopcrm.modules.sales.quotes import service as quotes
from loopcrm.modules.sales.quotes.schemas import (
    ApprovalDecision,
    CustomerAnswer,
    PriceListCreate,
    PriceListOut,
    PriceListUpdate,
    PriceOut,
    ProductCreate,
    ProductOut,
    ProductUpdate,
    PublicLinkOut,
    QuoteCreate,
    QuoteFilters,
    QuoteOut,
    QuoteSettingsIn,
    QuoteSettingsOut,
    QuoteStatus,
    QuoteUpdate,
)
from loopcrm.platform.http.concurrency import expected_version, with_etag
from loopcrm.platform.http.dependencies import DEFAULT_PAGE_SIZE, CurrentActor, Cursor, IfMatch, Limit, Uow
from loopcrm.platform.pagination import Page

router = APIRouter()

PRODUCTS = "/api/v1/products"
PRICE_LISTS = "/api/v1/price-lists"
QUOTES = "/api/v1/quotes"
Locale = Annotated[str | None, Query(pattern="^(zh_CN|en)$", description="language of the PDF")]


# ---------------------------------------------------------------- products


@router.get("/products", response_model=Page[ProductOut], tags=["products"])
def list_products(
    actor: CurrentActor,
    uow: Uow,
    q: Annotated[str | None, Query(max_length=100, description="SKU, name or category")] = None,
    active: Annotated[bool, Query(description="only active products")] = False,
    limit: Limit = DEFAULT_PAGE_SIZE,
    cursor: Cursor = None,
) -> Page[ProductOut]:
    return quotes.list_products(uow, actor, search=q, active_only=active, limit=limit, cursor=cursor)


@router.post("/products", response_model=ProductOut, status_code=status.HTTP_201_CREATED, tags=["products"])
def create_product(data: ProductCreate, actor: CurrentActor, uow: Uow, response: Response) -> ProductOut:
    return with_etag(response, quotes.create_product(uow, actor, data), created_in=PRODUCTS)


@router.get("/products/{product_id}", response_model=ProductOut, tags=["products"])
def read_product(product_id: str, actor: CurrentActor, uow: Uow, response: Response) -> ProductOut:
    return with_etag(response, quotes.get_product(uow, actor, product_id))


@router.patch("/products/{product_id}", response_model=ProductOut, tags=["products"])
def update_product(
    product_id: str,
    data: ProductUpdate,
    actor: CurrentActor,
    uow: Uow,
    response: Response,
    if_match: IfMatch = None,
) -> ProductOut:
    product = quotes.update_product(uow, actor, product_id, data, expected_version=expected_version(if_match))
    return with_etag(response, product)


# ---------------------------------------------------------------- price lists


@router.get("/price-lists", response_model=Page[PriceListOut], tags=["price lists"])
def list_price_lists(actor: CurrentActor, uow: Uow) -> Page[PriceListOut]:
    """Every price list (they are few: one page)."""
    return Page[PriceListOut](items=quotes.list_price_lists(uow, actor))


@router.post(
    "/price-lists", response_model=PriceListOut, status_code=status.HTTP_201_CREATED, tags=["price lists"]
)
def create_price_list(
    data: PriceListCreate, actor: CurrentActor, uow: Uow, response: Response
) -> PriceListOut:
    return with_etag(response, quotes.create_price_list(uow, actor, data), created_in=PRICE_LISTS)


@router.get("/price-lists/price", response_model=PriceOut, tags=["price lists"])
def price_for(
    actor: CurrentActor,
    uow: Uow,
    product_id: Annotated[str, Query(min_length=1, max_length=36)],
    currency: Annotated[str, Query(min_length=3, max_length=3)],
    account_id: Annotated[str | None, Query(max_length=36)] = None,
) -> PriceOut:
    """The unit price a quote line gets by default: the account's tag lists first, then the default."""
    return quotes.price_for(uow, actor, product_id, currency=currency.upper(), account_id=account_id)


@router.get("/price-lists/{price_list_id}", response_model=PriceListOut, tags=["price lists"])
def read_price_list(price_list_id: str, actor: CurrentActor, uow: Uow, response: Response) -> PriceListOut:
    return with_etag(response, quotes.get_price_list(uow, actor, price_list_id))


@router.patch("/price-lists/{price_list_id}", response_model=PriceListOut, tags=["price lists"])
def update_price_list(
    price_list_id: str,
    data: PriceListUpdate,
    actor: CurrentActor,
    uow: Uow,
    response: Response,
    if_match: IfMatch = None,
) -> PriceListOut:
    """Change the fields sent; ``entries`` replaces every price of the list."""
    price_list = quotes.update_price_list(
        uow, actor, price_list_id, data, expected_version=expected_version(if_match)
    )
    return with_etag(response, price_list)


# ---------------------------------------------------------------- quotes


@router.get("/quotes", response_model=Page[QuoteOut], tags=["quotes"])
def list_quotes(
    actor: CurrentActor,
    uow: Uow,
    opportunity_id: Annotated[str | None, Query(max_length=36)] = None,
    status_: Annotated[QuoteStatus | None, Query(alias="status")] = None,
    latest: Annotated[bool, Query(description="only the newest version of each quote")] = False,
    limit: Limit = DEFAULT_PAGE_SIZE,
    cursor: Cursor = None,
) -> Page[QuoteOut]:
    filters = QuoteFilters(opportunity_id=opportunity_id, status=status_, latest_only=latest)
    return quotes.list_quotes(uow, actor, filters, limit=limit, cursor=cursor)


@router.post("/quotes", response_model=QuoteOut, status_code=status.HTTP_201_CREATED, tags=["quotes"])
def create_quote(data: QuoteCreate, actor: CurrentActor, uow: Uow, response: Response) -> QuoteOut:
    """A draft quote for an opportunity; lines without a unit price take the applicable price list's."""
    return with_etag(response, quotes.create_quote(uow, actor, data), created_in=QUOTES)


@router.get("/quotes/approvals", response_model=list[QuoteOut], tags=["quotes"])
def approval_queue(actor: CurrentActor, uow: Uow) -> list[QuoteOut]:
    """Quotes waiting for your decision on their discount."""
    return quotes.pending_approvals(uow, actor)


@router.get("/quotes/settings", response_model=QuoteSettingsOut, tags=["quotes"])
def read_settings(actor: CurrentActor, uow: Uow) -> QuoteSettingsOut:
    return quotes.get_quote_settings(uow, actor)


@router.put("/quotes/settings", response_model=QuoteSettingsOut, tags=["quotes"])
def update_settings(data: QuoteSettingsIn, actor: CurrentActor, uow: Uow) -> QuoteSettingsOut:
    """The discount above which a manager must approve, and the default validity."""
    return quotes.update_quote_settings(uow, actor, data)


@router.get("/quotes/{quote_id}", response_model=QuoteOut, tags=["quotes"])
def read_quote(quote_id: str, actor: CurrentActor, uow: Uow, response: Response) -> QuoteOut:
    return with_etag(response, quotes.get_quote(uow, actor, quote_id))


@router.patch("/quotes/{quote_id}", response_model=QuoteOut, tags=["quotes"])
def update_quote(
    quote_id: str,
    data: QuoteUpdate,
    actor: CurrentActor,
    uow: Uow,
    response: Response,
    if_match: IfMatch = None,
) -> QuoteOut:
    """Change a draft; ``lines`` replaces every line."""
    quote = quotes.update_quote(uow, actor, quote_id, data, expected_version=expected_version(if_match))
    return with_etag(response, quote)


@router.post("/quotes/{quote_id}/submit", response_model=QuoteOut, tags=["quotes"])
def submit_quote(
    quote_id: str, actor: CurrentActor, uow: Uow, response: Response, if_match: IfMatch = None
) -> QuoteOut:
    """Finish the draft: approved, or pending approval when a discount is above the threshold."""
    return with_etag(
        response, quotes.submit_quote(uow, actor, quote_id, expected_version=expected_version(if_match))
    )


@router.post("/quotes/{quote_id}/approve", response_model=QuoteOut, tags=["quotes"])
def approve_quote(
    quote_id: str, data: ApprovalDecision, actor: CurrentActor, uow: Uow, response: Response
) -> QuoteOut:
    return with_etag(response, quotes.approve_quote(uow, actor, quote_id, data))


@router.post("/quotes/{quote_id}/reject-approval", response_model=QuoteOut, tags=["quotes"])
def reject_approval(
    quote_id: str, data: ApprovalDecision, actor: CurrentActor, uow: Uow, response: Response
) -> QuoteOut:
    """Refuse the discount: the quote goes back to draft with your note."""
    return with_etag(response, quotes.reject_approval(uow, actor, quote_id, data))


@router.post(
    "/quotes/{quote_id}/revise", response_model=QuoteOut, status_code=status.HTTP_201_CREATED, tags=["quotes"]
)
def revise_quote(quote_id: str, actor: CurrentActor, uow: Uow, response: Response) -> QuoteOut:
    """A new draft version; this one becomes superseded."""
    return with_etag(response, quotes.revise_quote(uow, actor, quote_id), created_in=QUOTES)


@router.post("/quotes/{quote_id}/send", response_model=QuoteOut, tags=["quotes"])
def send_quote(
    quote_id: str, actor: CurrentActor, uow: Uow, response: Response, locale: Locale = None
) -> QuoteOut:
    """Email the quote's PDF and public link to its contact; logged on the opportunity."""
    return with_etag(response, quotes.send_quote(uow, actor, quote_id, locale=locale))


@router.post("/quotes/{quote_id}/accept", response_model=QuoteOut, tags=["quotes"])
def accept_quote(quote_id: str, actor: CurrentActor, uow: Uow, response: Response) -> QuoteOut:
    """Record the customer's acceptance (an order follows)."""
    return with_etag(response, quotes.accept_quote(uow, actor, quote_id))


@router.post("/quotes/{quote_id}/reject", response_model=QuoteOut, tags=["quotes"])
def reject_quote(
    quote_id: str, data: CustomerAnswer, actor: CurrentActor, uow: Uow, response: Response
) -> QuoteOut:
    """Record that the customer declined; ``reason`` is required."""
    return with_etag(response, quotes.reject_quote(uow, actor, quote_id, data))


@router.post(
    "/quotes/{quote_id}/public-link",
    response_model=PublicLinkOut,
    status_code=status.HTTP_201_CREATED,
    tags=["quotes"],
)
def create_public_link(quote_id: str, actor: CurrentActor, uow: Uow) -> PublicLinkOut:
    """A new link for the customer (``/q/<token>``); the token is shown only now."""
    return quotes.create_public_link(uow, actor, quote_id)


@router.get(
    "/quotes/{quote_id}/pdf",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}}},
    tags=["quotes"],
)
def quote_pdf(quote_id: str, actor: CurrentActor, uow: Uow, locale: Locale = None) -> Response:
    quote, content = quotes.quote_pdf(uow, actor, quote_id, locale)
    return Response(
        content,
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{quotes.pdf_file_name(quote)}"'},
    )
