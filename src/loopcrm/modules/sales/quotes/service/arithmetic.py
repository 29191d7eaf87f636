"""Quote totals with exact decimal arithmetic and one declared rounding rule.

The rule (documented in docs/sales.md, "Quotes"), per line, each step rounded half up to 0.01:

1. ``line_subtotal = round(quantity × unit_price)``
2. ``discount_amount = round(line_subtotal × discount_percent / 100)``
3. ``net_amount = line_subtotal − discount_amount`` (exact: both are already cents)
4. ``tax_amount = round(net_amount × tax_rate / 100)`` — tax is charged on the discounted amount
5. ``line_total = net_amount + tax_amount``

The quote's subtotal, discount total, tax total and total are the plain sums of the lines' rounded
figures, so the printed lines always add up to the printed totals (no cent lost to rounding the
sum instead of the parts). Example: 3 × 33.335 at 7.5 % discount and 13 % tax: subtotal 100.005 →
100.01; discount 7.50075 → 7.50; net 92.51; tax 12.0263 → 12.03; total 104.54.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")
HUNDRED = Decimal(100)


def to_cents(value: Decimal) -> Decimal:
    """``value`` rounded half up to 0.01 (the rule's only rounding)."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class LineAmounts:
    """A line's money figures, every one in cents."""

    line_subtotal: Decimal
    discount_amount: Decimal
    net_amount: Decimal
    tax_amount: Decimal
    line_total: Decimal


@dataclass(frozen=True)
class QuoteAmounts:
    """A quote's totals: sums of its lines' figures."""

    subtotal: Decimal
    discount_total: Decimal
    tax_total: Decimal
    total: Decimal


def line_amounts(
    quantity: Decimal, unit_price: Decimal, discount_percent: Decimal, tax_rate: Decimal
) -> LineAmounts:
    """One line's figures by the module's rule (see the module docstring)."""
    line_subtotal = to_cents(quantity * unit_price)
    discount_amount = to_cents(line_subtotal * discount_percent / HUNDRED)
    net_amount = line_subtotal - discount_amount
    tax_amount = to_cents(net_amount * tax_rate / HUNDRED)
    return LineAmounts(line_subtotal, discount_amount, net_amount, tax_amount, net_amount + tax_amount)


def quote_amounts(lines: Iterable[LineAmounts]) -> QuoteAmounts:
    """The totals of a quote whose lines have these figures."""
    subtotal = discount_total = tax_total = Decimal("0.00")
    for line in lines:
        subtotal += line.line_subtotal
        discount_total += line.discount_amount
        tax_total += line.tax_amount
    return QuoteAmounts(subtotal, discount_total, tax_total, subtotal - discount_total + tax_total)
