"""Orders on the timelines of accounts and contacts.

Registered with the activities module as the source "orders" (kind "order"): an account's
timeline shows its orders and its contacts' orders (the account's timeline subjects include its
contacts), a contact's timeline the contact's own; each entry shows the number and the amount,
and only orders the reader may read appear.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

from babel.numbers import format_currency

from loopcrm.modules.activities import service as activities
from loopcrm.modules.activities.schemas import TimelineEntry, TimelinePosition
from loopcrm.modules.sales.orders.service.names import PAYMENT_STATUS_NAMES, STATUS_NAMES
from loopcrm.modules.sales.orders.service.orders import timeline_orders
from loopcrm.platform.i18n import N_, translator
from loopcrm.platform.permissions import Actor
from loopcrm.platform.unit_of_work import UnitOfWork

SOURCE_NAME = "orders"
ORDER_KIND = "order"


def order_entries(
    uow: UnitOfWork,
    actor: Actor,
    subjects: Sequence[tuple[str, str]],
    *,
    kinds: Collection[str] | None,
    before: TimelinePosition | None,
    limit: int,
) -> list[TimelineEntry]:
    """The timeline source: the newest ``limit`` orders of the subjects, older than ``before``."""
    if kinds is not None and ORDER_KIND not in kinds:
        return []
    orders = timeline_orders(
        uow,
        actor,
        subjects,
        before_at=before.occurred_at if before is not None else None,
        before_id=before.id if before is not None else None,
        limit=limit,
    )
    language = translator(actor.locale)
    entries = []
    for order in orders:
        amount = format_currency(order.total, order.currency, locale=language.babel_locale)
        entries.append(
            TimelineEntry(
                id=order.id,
                source=SOURCE_NAME,
                kind=ORDER_KIND,
                occurred_at=order.ordered_at,
                title=language.message(
                    N_("Order {number} · {amount}"), {"number": order.number, "amount": amount}
                ),
                summary=" · ".join(
                    (
                        order.customer_name,
                        language.gettext(STATUS_NAMES[order.status]),
                        language.gettext(PAYMENT_STATUS_NAMES[order.payment_status]),
                    )
                ),
                path=f"/sales/orders/{order.id}",
            )
        )
    return entries


activities.register_timeline_source(SOURCE_NAME, order_entries, kinds={ORDER_KIND: N_("Orders")})
