"""Tables of products, price lists and quotes (报价单), and the quote's states and their transitions.

Money is ``Numeric`` and read as ``Decimal``: never a float. Line amounts are stored as they were
computed by :mod:`loopcrm.modules.sales.quotes.service.arithmetic` (the rounding rule is there),
so a quote shows, prints and is accepted at exactly the same figures.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import (
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from loopcrm.platform.db import Base, Record, new_id, utc_now


class QuoteStatus(StrEnum):
    """Where a quote is in its life; :data:`TRANSITIONS` says which moves are allowed."""

    DRAFT = "draft"  # being written; lines may change
    PENDING_APPROVAL = "pending_approval"  # a line's discount is above the threshold: a manager decides
    APPROVED = "approved"  # ready to go to the customer
    SENT = "sent"  # emailed to the customer (or its public link shared)
    ACCEPTED = "accepted"  # the customer accepted; an order follows
    REJECTED = "rejected"  # the customer declined (with a reason)
    EXPIRED = "expired"  # its valid-until date passed before the customer accepted
    SUPERSEDED = "superseded"  # a newer version replaced it


# The moves a quote may make; anything else is refused. Revising (a new version) is allowed from
# approved, sent, rejected and expired quotes, which then become superseded.
TRANSITIONS: dict[QuoteStatus, frozenset[QuoteStatus]] = {
    QuoteStatus.DRAFT: frozenset({QuoteStatus.PENDING_APPROVAL, QuoteStatus.APPROVED}),
    QuoteStatus.PENDING_APPROVAL: frozenset({QuoteStatus.APPROVED, QuoteStatus.DRAFT}),
    QuoteStatus.APPROVED: frozenset(
        {
            QuoteStatus.SENT,
            QuoteStatus.ACCEPTED,
            QuoteStatus.REJECTED,
            QuoteStatus.EXPIRED,
            QuoteStatus.SUPERSEDED,
        }
    ),
    QuoteStatus.SENT: frozenset(
        {
            QuoteStatus.SENT,
            QuoteStatus.ACCEPTED,
            QuoteStatus.REJECTED,
            QuoteStatus.EXPIRED,
            QuoteStatus.SUPERSEDED,
        }
    ),
    QuoteStatus.REJECTED: frozenset({QuoteStatus.SUPERSEDED}),
    QuoteStatus.EXPIRED: frozenset({QuoteStatus.SUPERSEDED}),
    QuoteStatus.ACCEPTED: frozenset(),
    QuoteStatus.SUPERSEDED: frozenset(),
}
REVISABLE = frozenset({QuoteStatus.APPROVED, QuoteStatus.SENT, QuoteStatus.REJECTED, QuoteStatus.EXPIRED})
# A customer may answer only these (and only on the newest version, before valid_until).
ANSWERABLE = frozenset({QuoteStatus.APPROVED, QuoteStatus.SENT})


def may_move(current: QuoteStatus, target: QuoteStatus) -> bool:
    """Whether the transition table allows ``current`` → ``target``."""
    return target in TRANSITIONS[current]


class Product(Record, Base):
    """Something the company sells, priced by price lists."""

    __tablename__ = "sales_products"

    sku: Mapped[str] = mapped_column(String(60), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    unit: Mapped[str] = mapped_column(String(30), default="")  # 件, 套, hour …
    category: Mapped[str | None] = mapped_column(String(100))
    description: Mapped[str | None] = mapped_column(Text)
    default_tax_rate: Mapped[Decimal] = mapped_column(Numeric(5, 2), default=Decimal(0))  # percent
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)


class PriceList(Record, Base):
    """Unit prices in one currency, for the accounts carrying ``customer_tag_id`` — or, when it is
    the currency's default list (no tag), for every other account."""

    __tablename__ = "sales_price_lists"

    name: Mapped[str] = mapped_column(String(100))
    currency: Mapped[str] = mapped_column(String(3))
    customer_tag_id: Mapped[str | None] = mapped_column(String(36))  # a customers tag
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)

    __table_args__ = (Index("ix_sales_price_lists_currency", "currency", "is_active"),)


class PriceListEntry(Base):
    """One product's unit price in one price list."""

    __tablename__ = "sales_price_list_entries"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    price_list_id: Mapped[str] = mapped_column(ForeignKey("sales_price_lists.id", ondelete="CASCADE"))
    product_id: Mapped[str] = mapped_column(ForeignKey("sales_products.id"), index=True)
    unit_price: Mapped[Decimal] = mapped_column(Numeric(18, 4))

    __table_args__ = (
        UniqueConstraint("price_list_id", "product_id", name="uq_sales_price_list_entries_pair"),
    )


class QuoteSettings(Base):
    """The quotes' admin settings: one row (id 1)."""

    __tablename__ = "sales_quote_settings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # A line discount above this percentage sends the quote to a manager for approval.
    approval_threshold_percent: Mapped[Decimal] = mapped_column(Numeric(5, 2), default=Decimal(20))
    default_validity_days: Mapped[int] = mapped_column(Integer, default=30)
    updated_at: Mapped[datetime] = mapped_column(default=utc_now, onupdate=utc_now)
    updated_by: Mapped[str | None] = mapped_column(String(36))


class QuoteNumber(Base):
    """The last quote number handed out per year (Q-2026-000123): one row per year, counted up
    under the row's lock so two quotes never get the same number."""

    __tablename__ = "sales_quote_numbers"

    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last_number: Mapped[int] = mapped_column(Integer, default=0)


class Quote(Record, Base):
    """One version of a quote for an opportunity. Versions of one quote share its ``number``;
    ``version_number`` counts them, and only the newest may be sent or accepted."""

    __tablename__ = "sales_quotes"

    number: Mapped[str] = mapped_column(String(20))
    version_number: Mapped[int] = mapped_column(Integer, default=1)
    previous_version_id: Mapped[str | None] = mapped_column(ForeignKey("sales_quotes.id"))
    is_latest: Mapped[bool] = mapped_column(Boolean, default=True)
    opportunity_id: Mapped[str] = mapped_column(ForeignKey("sales_opportunities.id"))
    account_id: Mapped[str | None] = mapped_column(String(36))
    account_name: Mapped[str | None] = mapped_column(String(200))  # as printed on the quote
    contact_id: Mapped[str | None] = mapped_column(String(36))
    contact_name: Mapped[str | None] = mapped_column(String(200))
    contact_email: Mapped[str | None] = mapped_column(String(254))
    owner_id: Mapped[str | None] = mapped_column(ForeignKey("users.id"))
    team_id: Mapped[str | None] = mapped_column(ForeignKey("teams.id"))
    price_list_id: Mapped[str | None] = mapped_column(ForeignKey("sales_price_lists.id"))
    currency: Mapped[str] = mapped_column(String(3))
    valid_until: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(20), default=QuoteStatus.DRAFT.value)
    title: Mapped[str] = mapped_column(String(200))
    terms: Mapped[str | None] = mapped_column(Text)
    subtotal: Mapped[Decimal] = mapped_column(Numeric(18, 2), default=Decimal(0))
    discount_total: Mapped[Decimal] = mapped_column(Numeric(18, 2), default=Decimal(0))
    tax_total: Mapped[Decimal] = mapped_column(Numeric(18, 2), default=Decimal(0))
    total: Mapped[Decimal] = mapped_column(Numeric(18, 2), default=Decimal(0))
    max_discount_percent: Mapped[Decimal] = mapped_column(Numeric(5, 2), default=Decimal(0))
    submitted_by: Mapped[str | None] = mapped_column(String(36))
    submitted_at: Mapped[datetime | None] = mapped_column(default=None)
    approval_decided_by: Mapped[str | None] = mapped_column(String(36))
    approval_decided_at: Mapped[datetime | None] = mapped_column(default=None)
    approval_note: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None] = mapped_column(default=None)
    answered_at: Mapped[datetime | None] = mapped_column(default=None)  # accepted or rejected
    rejection_reason: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        UniqueConstraint("number", "version_number", name="uq_sales_quotes_number_version"),
        Index("ix_sales_quotes_opportunity", "opportunity_id"),
        Index("ix_sales_quotes_status", "status", "valid_until"),
        Index("ix_sales_quotes_owner", "owner_id", "id"),
    )

    @property
    def state(self) -> QuoteStatus:
        return QuoteStatus(self.status)


class QuoteLine(Base):
    """One line of a quote version: quantity × unit price, less the discount, plus the tax."""

    __tablename__ = "sales_quote_lines"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    quote_id: Mapped[str] = mapped_column(ForeignKey("sales_quotes.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer, default=0)
    product_id: Mapped[str | None] = mapped_column(ForeignKey("sales_products.id"))
    sku: Mapped[str | None] = mapped_column(String(60))
    description: Mapped[str] = mapped_column(String(500))
    unit: Mapped[str] = mapped_column(String(30), default="")
    quantity: Mapped[Decimal] = mapped_column(Numeric(18, 4))
    unit_price: Mapped[Decimal] = mapped_column(Numeric(18, 4))
    discount_percent: Mapped[Decimal] = mapped_column(Numeric(5, 2), default=Decimal(0))
    tax_rate: Mapped[Decimal] = mapped_column(Numeric(5, 2), default=Decimal(0))  # percent
    line_subtotal: Mapped[Decimal] = mapped_column(Numeric(18, 2))  # quantity × unit price, rounded
    discount_amount: Mapped[Decimal] = mapped_column(Numeric(18, 2))
    net_amount: Mapped[Decimal] = mapped_column(Numeric(18, 2))  # subtotal − discount
    tax_amount: Mapped[Decimal] = mapped_column(Numeric(18, 2))
    line_total: Mapped[Decimal] = mapped_column(Numeric(18, 2))  # net + tax

    __table_args__ = (Index("ix_sales_quote_lines_quote", "quote_id", "position"),)


class QuoteLink(Base):
    """A public link to a quote (``/q/<token>``): only the token's SHA-256 is stored, so the
    database alone opens no quote. A quote may have several links (copied, emailed); each one
    shows the quote in its current state."""

    __tablename__ = "sales_quote_links"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    quote_id: Mapped[str] = mapped_column(ForeignKey("sales_quotes.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # What made the link ("copied", or the send job's id): a retried send replaces its own link.
    purpose: Mapped[str] = mapped_column(String(60))
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    created_by: Mapped[str | None] = mapped_column(String(36))
