"""An accepted quote becomes one order (lines copied exactly) and wins its deal; an order taken
through the API for a deal wins it too."""

from __future__ import annotations

from decimal import Decimal

import pytest
from tests.sales.test_quotes_service import build_world

from loopcrm.modules.sales.opportunities import service as opportunities
from loopcrm.modules.sales.orders import service as orders
from loopcrm.modules.sales.orders.models import OrderOrigin
from loopcrm.modules.sales.orders.schemas import OrderCreate
from loopcrm.modules.sales.quotes import service as quotes
from loopcrm.modules.sales.quotes.schemas import QuoteCreate, QuoteLineIn
from loopcrm.platform.errors import ValidationFailed
from loopcrm.platform.permissions import system_actor


def test_an_accepted_quote_becomes_one_order_and_wins_the_deal(uow_factory, make_person):
    # given an approved quote of a rep's deal, with awkward decimals and two tax rates
    world = build_world(uow_factory, make_person)
    quote = quotes.create_quote(
        uow_factory(),
        world.rep.actor,
        QuoteCreate(
            opportunity_id=world.deal_id,
            lines=[
                QuoteLineIn(product_id=world.server.id, quantity=Decimal(3)),
                QuoteLineIn(product_id=world.service.id, quantity=Decimal(2)),
            ],
        ),
    )
    quote = quotes.submit_quote(uow_factory(), world.rep.actor, quote.id)
    link = quotes.create_public_link(uow_factory(), world.rep.actor, quote.id)
    assert (
        opportunities.get_opportunity(uow_factory(), world.rep.actor, world.deal_id).stage_kind.value
        == "open"
    )

    # when the customer accepts through the public link
    accepted = quotes.accept_public_quote(uow_factory(), link.token)

    # then one order holds the quote's lines and amounts exactly, for the quote's customer and owner
    [order] = orders.list_orders(uow_factory(), world.rep.actor).items
    assert (order.origin, order.quote_id, order.opportunity_id) == (
        OrderOrigin.QUOTE,
        quote.id,
        world.deal_id,
    )
    assert (order.account_id, order.contact_id, order.owner_id) == (
        world.account_id,
        world.contact_id,
        world.rep.user.id,
    )
    assert [
        (
            line.sku,
            line.description,
            line.quantity,
            line.unit_price,
            line.tax_rate,
            line.tax_amount,
            line.total,
        )
        for line in order.lines
    ] == [
        (
            line.sku,
            line.description,
            line.quantity,
            line.unit_price,
            line.tax_rate,
            line.tax_amount,
            line.line_total,
        )
        for line in accepted.lines
    ]
    assert (order.subtotal, order.discount_total, order.tax_total, order.total, order.currency) == (
        accepted.subtotal,
        accepted.discount_total,
        accepted.tax_total,
        accepted.total,
        accepted.currency,
    )
    assert order.total == Decimal("4353.01")  # 100.01 + 13.00 tax, 4000.00 + 240.00 tax
    # and the deal is won
    deal = opportunities.get_opportunity(uow_factory(), world.rep.actor, world.deal_id)
    assert deal.stage_kind.value == "won"

    # when the listener hears the same quote again, the order is not taken twice
    uow = uow_factory()
    with uow:
        again = orders.create_order_from_quote_in(uow, system_actor(), accepted)
        uow.commit()
    assert again.id == order.id
    assert len(orders.list_orders(uow_factory(), world.rep.actor).items) == 1


def test_an_order_for_a_deal_wins_it_and_an_unknown_deal_is_refused(uow_factory, make_person):
    world = build_world(uow_factory, make_person)
    line = {"description": "加购服务", "quantity": "1", "unit_price": "500"}
    with pytest.raises(ValidationFailed) as refused:
        orders.create_order(
            uow_factory(),
            world.rep.actor,
            OrderCreate.model_validate(
                {"account_id": world.account_id, "opportunity_id": "nope", "lines": [line]}
            ),
        )
    assert [(error.field, error.code) for error in refused.value.errors] == [
        ("opportunity_id", "unknown_record")
    ]
    assert orders.list_orders(uow_factory(), world.rep.actor).items == []
    with pytest.raises(ValidationFailed) as wrong_currency:
        orders.create_order(
            uow_factory(),
            world.rep.actor,
            OrderCreate.model_validate({"account_id": world.account_id, "currency": "XYZ", "lines": [line]}),
        )
    assert [error.field for error in wrong_currency.value.errors] == ["currency"]

    order = orders.create_order(
        uow_factory(),
        world.rep.actor,
        OrderCreate.model_validate(
            {"account_id": world.account_id, "opportunity_id": world.deal_id, "lines": [line]}
        ),
    )

    assert order.opportunity_id == world.deal_id and order.currency == "CNY"
    assert (
        opportunities.get_opportunity(uow_factory(), world.rep.actor, world.deal_id).stage_kind.value == "won"
    )
