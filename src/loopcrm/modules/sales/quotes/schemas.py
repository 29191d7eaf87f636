"""Input and output contracts of products, price lists and quotes.

Other areas (orders), the API and the pages use these. Money and percentages are ``Decimal``;
quantities may have up to four decimals, unit prices too (a price list may say 33.335), line and
quote amounts have two (see ``service.arithmetic`` for the rounding rule).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated

from pydantic import AfterValidator, BaseModel, Field

from loopcrm.modules.sales.quotes.models import QuoteStatus
from loopcrm.platform.auth.schemas import Input

__all__ = ["QuoteStatus"]


def _trimmed(value: str) -> str:
    return value.strip()


def _trimmed_or_none(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    return value or None


def _currency_code(value: str) -> str:
    value = value.strip().upper()
    if len(value) != 3 or not value.isalpha() or not value.isascii():
        raise ValueError("a currency code is three letters (ISO 4217), such as CNY")
    return value


def _to_places(places: int) -> Callable[[Decimal], Decimal]:
    """Store and answer a number with the column's decimal places (6 → 6.00), so a value reads
    the same right after it was written as later from the database."""
    exponent = Decimal(1).scaleb(-places)

    def quantize(value: Decimal) -> Decimal:
        return value.quantize(exponent)

    return quantize


RecordId = Annotated[str, Field(min_length=1, max_length=36)]
Sku = Annotated[str, Field(min_length=1, max_length=60, pattern=r"^\S+$"), AfterValidator(_trimmed)]
Name = Annotated[str, Field(min_length=1, max_length=200, pattern=r"\S"), AfterValidator(_trimmed)]
ShortName = Annotated[str, Field(min_length=1, max_length=100, pattern=r"\S"), AfterValidator(_trimmed)]
Unit = Annotated[str, Field(max_length=30), AfterValidator(_trimmed)]
Category = Annotated[str | None, Field(max_length=100), AfterValidator(_trimmed_or_none)]
LongText = Annotated[str | None, Field(max_length=10_000), AfterValidator(_trimmed_or_none)]
Note = Annotated[str | None, Field(max_length=2_000), AfterValidator(_trimmed_or_none)]
LineText = Annotated[str | None, Field(max_length=500), AfterValidator(_trimmed_or_none)]
CurrencyCode = Annotated[str, Field(min_length=3, max_length=3), AfterValidator(_currency_code)]
Percent = Annotated[
    Decimal, Field(ge=0, le=100, max_digits=5, decimal_places=2), AfterValidator(_to_places(2))
]
UnitPrice = Annotated[Decimal, Field(ge=0, max_digits=18, decimal_places=4), AfterValidator(_to_places(4))]
Quantity = Annotated[Decimal, Field(gt=0, max_digits=18, decimal_places=4), AfterValidator(_to_places(4))]
MAX_ENTRIES = 5_000
MAX_LINES = 200


# ---------------------------------------------------------------- products


class ProductCreate(Input):
    sku: Sku
    name: Name
    unit: Unit = ""
    category: Category = None
    description: LongText = None
    default_tax_rate: Percent = Field(default=Decimal(0), description="percent, e.g. 13 for 13 % VAT")
    is_active: bool = True


class ProductUpdate(Input):
    """Fields to change; absent fields stay as they are."""

    sku: Sku | None = None
    name: Name | None = None
    unit: Unit | None = None
    category: Category = None
    description: LongText = None
    default_tax_rate: Percent | None = None
    is_active: bool | None = None


class ProductOut(BaseModel):
    id: str
    sku: str
    name: str
    unit: str
    category: str | None
    description: str | None
    default_tax_rate: Decimal
    is_active: bool
    created_at: datetime
    updated_at: datetime
    version: int


# ---------------------------------------------------------------- price lists


class PriceEntryIn(Input):
    product_id: RecordId
    unit_price: UnitPrice


class PriceListCreate(Input):
    """A price list applies to the accounts carrying ``customer_tag_id``; without a tag and with
    ``is_default`` it is the currency's list for every other account (one default per currency)."""

    name: ShortName
    currency: CurrencyCode
    customer_tag_id: RecordId | None = None
    is_default: bool = False
    is_active: bool = True
    entries: list[PriceEntryIn] = Field(default_factory=list, max_length=MAX_ENTRIES)


class PriceListUpdate(Input):
    """Fields to change; ``entries``, when given, replaces the whole list of prices."""

    name: ShortName | None = None
    currency: CurrencyCode | None = None
    customer_tag_id: RecordId | None = None
    is_default: bool | None = None
    is_active: bool | None = None
    entries: list[PriceEntryIn] | None = Field(default=None, max_length=MAX_ENTRIES)


class PriceEntryOut(BaseModel):
    product_id: str
    sku: str
    product_name: str
    unit: str
    unit_price: Decimal


class PriceListOut(BaseModel):
    id: str
    name: str
    currency: str
    customer_tag_id: str | None
    customer_tag_name: str | None = None
    is_default: bool
    is_active: bool
    entries: list[PriceEntryOut]
    created_at: datetime
    updated_at: datetime
    version: int


class PriceOut(BaseModel):
    """The price a quote line gets by default: which list gave it, or none."""

    product_id: str
    currency: str
    unit_price: Decimal | None
    price_list_id: str | None
    price_list_name: str | None


# ---------------------------------------------------------------- quotes


class QuoteLineIn(Input):
    """A line: a product (its name, unit, price from the applicable price list and its default tax
    rate fill what is left out) or free text with a unit price."""

    product_id: RecordId | None = None
    description: LineText = None
    quantity: Quantity = Decimal(1)
    unit_price: UnitPrice | None = Field(default=None, description="defaults to the price list's")
    discount_percent: Percent = Decimal(0)
    tax_rate: Percent | None = Field(default=None, description="percent; defaults to the product's")


class QuoteCreate(Input):
    opportunity_id: RecordId
    contact_id: RecordId | None = Field(default=None, description="defaults to the deal's primary contact")
    currency: CurrencyCode | None = Field(default=None, description="defaults to the deal's currency")
    valid_until: date | None = Field(
        default=None, description="defaults to today + the validity days setting"
    )
    title: Name | None = Field(default=None, description="defaults to the deal's name")
    terms: LongText = None
    lines: list[QuoteLineIn] = Field(default_factory=list, max_length=MAX_LINES)


class QuoteUpdate(Input):
    """Changes to a draft; ``lines``, when given, replaces every line."""

    contact_id: RecordId | None = None
    valid_until: date | None = None
    title: Name | None = None
    terms: LongText = None
    lines: list[QuoteLineIn] | None = Field(default=None, max_length=MAX_LINES)


class ApprovalDecision(Input):
    note: Note = None


class CustomerAnswer(Input):
    """The customer's answer; a rejection asks for a reason."""

    reason: Note = None


class QuoteLineOut(BaseModel):
    id: str
    position: int
    product_id: str | None
    sku: str | None
    description: str
    unit: str
    quantity: Decimal
    unit_price: Decimal
    discount_percent: Decimal
    tax_rate: Decimal
    line_subtotal: Decimal
    discount_amount: Decimal
    net_amount: Decimal
    tax_amount: Decimal
    line_total: Decimal


class QuoteOut(BaseModel):
    id: str
    number: str
    version_number: int
    previous_version_id: str | None
    is_latest: bool
    opportunity_id: str
    account_id: str | None
    account_name: str | None
    contact_id: str | None
    contact_name: str | None
    contact_email: str | None
    owner_id: str | None
    team_id: str | None
    price_list_id: str | None
    currency: str
    valid_until: date
    status: QuoteStatus
    title: str
    terms: str | None
    lines: list[QuoteLineOut]
    subtotal: Decimal
    discount_total: Decimal
    tax_total: Decimal
    total: Decimal
    max_discount_percent: Decimal
    submitted_by: str | None
    submitted_at: datetime | None
    approval_decided_by: str | None
    approval_decided_at: datetime | None
    approval_note: str | None
    sent_at: datetime | None
    answered_at: datetime | None
    rejection_reason: str | None
    created_at: datetime
    updated_at: datetime
    created_by: str | None
    version: int

    @property
    def label(self) -> str:
        """How people name the quote: its number and version, e.g. ``Q-2026-000123 v2``."""
        return f"{self.number} v{self.version_number}"


class QuoteFilters(BaseModel):
    opportunity_id: str | None = None
    status: QuoteStatus | None = None
    latest_only: bool = False


class PublicLinkOut(BaseModel):
    """A new public link: the token is shown once; only its hash is stored."""

    quote_id: str
    token: str
    path: str  # /q/<token>


class QuoteSettingsIn(Input):
    approval_threshold_percent: Percent
    default_validity_days: int = Field(default=30, ge=1, le=366)


class QuoteSettingsOut(BaseModel):
    approval_threshold_percent: Decimal
    default_validity_days: int
    updated_at: datetime | None
