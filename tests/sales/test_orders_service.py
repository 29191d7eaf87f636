"""Orders through their service: exact totals, numbering, status and payment rules, scope, the
timeline of accounts and contacts, and purchase history."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from loopcrm.modules.customers import service as customers
from loopcrm.modules.customers.schemas import AccountCreate, AccountUpdate, ContactCreate, EmploymentIn
from loopcrm.modules.sales.orders import service as orders
from loopcrm.modules.sales.orders.models import OrderStatus, PaymentMethod, PaymentStatus
from loopcrm.modules.sales.orders.schemas import OrderCreate, OrderFilter, OrderOut, PaymentIn
from loopcrm.platform.auth import service as auth
from loopcrm.platform.auth.schemas import TeamCreate
from loopcrm.platform.errors import NotFound, PermissionDenied, ValidationFailed
from loopcrm.platform.permissions import system_actor
from loopcrm.platform.unit_of_work import UnitOfWork

UowFactory = Callable[[], UnitOfWork]


def _account(uow_factory: UowFactory, actor, name: str = "福州闽江贸易有限公司") -> str:
    return customers.create_account(uow_factory(), actor, AccountCreate(name=name)).id


def _contact(uow_factory: UowFactory, actor, account_id: str | None = None, given: str = "小明") -> str:
    data = ContactCreate(
        family_name="王",
        given_name=given,
        employments=[EmploymentIn(account_id=account_id)] if account_id else [],
    )
    return customers.create_contact(uow_factory(), actor, data).id


def _order(uow_factory: UowFactory, actor, **values) -> OrderOut:
    payload = {"lines": [{"description": "茶叶礼盒", "quantity": "1", "unit_price": "100"}], **values}
    return orders.create_order(uow_factory(), actor, OrderCreate.model_validate(payload))


def test_totals_are_exact_for_awkward_decimals_discounts_and_taxes(uow_factory, make_person):
    # given a rep and an account
    rep = make_person("sales_rep")
    account_id = _account(uow_factory, rep.actor)
    # when an order has lines whose amounts fall on half cents
    order = _order(
        uow_factory,
        rep.actor,
        account_id=account_id,
        lines=[
            # 3 × 33.335 = 100.005 → 100.01; 7.5 % off → 7.50075 → 7.50; 13 % tax on 92.51 → 12.0263 → 12.03
            {
                "description": "A",
                "quantity": "3",
                "unit_price": "33.335",
                "discount_percent": "7.5",
                "tax_rate": "13",
            },
            # 0.1 × 0.15 = 0.015 → 0.02; no discount; 6 % of 0.02 = 0.0012 → 0.00
            {"description": "B", "quantity": "0.1", "unit_price": "0.15", "tax_rate": "6"},
            # 2 × 19.99 = 39.98; 10 % off → 3.998 → 4.00; 9 % of 35.98 → 3.2382 → 3.24
            {
                "description": "C",
                "sku": "SKU-C",
                "quantity": "2",
                "unit_price": "19.99",
                "discount_percent": "10",
                "tax_rate": "9",
            },
        ],
    )
    # then every line and total is exact to the cent, and the lines add up to the totals
    assert [(line.subtotal, line.discount_amount, line.tax_amount, line.total) for line in order.lines] == [
        (Decimal("100.01"), Decimal("7.50"), Decimal("12.03"), Decimal("104.54")),
        (Decimal("0.02"), Decimal("0.00"), Decimal("0.00"), Decimal("0.02")),
        (Decimal("39.98"), Decimal("4.00"), Decimal("3.24"), Decimal("39.22")),
    ]
    assert (order.subtotal, order.discount_total, order.tax_total, order.total) == (
        Decimal("140.01"),
        Decimal("11.50"),
        Decimal("15.27"),
        Decimal("143.78"),
    )
    assert order.currency == "CNY"
    assert order.customer_name == "福州闽江贸易有限公司"
    assert (order.status, order.payment_status) == (OrderStatus.CONFIRMED, PaymentStatus.UNPAID)
    # and it reads back the same
    again = orders.get_order(uow_factory(), rep.actor, order.id)
    assert again.total == Decimal("143.78")
    assert [line.sku for line in again.lines] == ["", "", "SKU-C"]


def test_orders_are_numbered_per_year_without_gaps(uow_factory, make_person):
    rep = make_person("sales_rep")
    account_id = _account(uow_factory, rep.actor)
    first = _order(uow_factory, rep.actor, account_id=account_id, ordered_at="2026-03-01T10:00:00+08:00")
    second = _order(uow_factory, rep.actor, account_id=account_id, ordered_at="2026-05-01T10:00:00+08:00")
    other_year = _order(uow_factory, rep.actor, account_id=account_id, ordered_at="2025-12-31T10:00:00+00:00")
    assert (first.number, second.number, other_year.number) == (
        "SO-2026-000001",
        "SO-2026-000002",
        "SO-2025-000001",
    )


def test_an_order_needs_a_readable_customer(uow_factory, make_person):
    rep = make_person("sales_rep")
    someone_else = make_person("sales_rep")
    theirs = _account(uow_factory, someone_else.actor)
    with pytest.raises(ValidationFailed) as refused:
        _order(uow_factory, rep.actor, account_id=theirs)
    assert [(error.field, error.code) for error in refused.value.errors] == [("account_id", "unknown_record")]
    with pytest.raises(ValueError, match="an order needs an account or a contact"):
        OrderCreate.model_validate({"lines": [{"description": "x", "quantity": "1", "unit_price": "1"}]})


def test_a_consumer_order_has_a_contact_only(uow_factory, make_person):
    rep = make_person("sales_rep")
    contact_id = _contact(uow_factory, rep.actor)
    order = _order(uow_factory, rep.actor, contact_id=contact_id, channel="tmall", external_id="T-1001")
    assert (order.account_id, order.contact_id, order.customer_name) == (None, contact_id, "王小明")


def test_the_same_shop_order_sent_again_changes_nothing(uow_factory, make_person):
    rep = make_person("sales_rep")
    contact_id = _contact(uow_factory, rep.actor)
    first, is_new = orders.take_order(
        uow_factory(),
        rep.actor,
        OrderCreate.model_validate(
            {
                "contact_id": contact_id,
                "channel": "JD",
                "external_id": "J-1",
                "lines": [{"description": "x", "quantity": "1", "unit_price": "5"}],
            }
        ),
    )
    again, again_new = orders.take_order(
        uow_factory(),
        rep.actor,
        OrderCreate.model_validate(
            {
                "contact_id": contact_id,
                "channel": "jd",
                "external_id": "J-1",
                "lines": [{"description": "y", "quantity": "2", "unit_price": "9"}],
            }
        ),
    )
    assert (is_new, again_new) == (True, False)
    assert again == first
    assert first.channel == "jd"
    listed = orders.list_orders(uow_factory(), rep.actor)
    assert [order.id for order in listed.items] == [first.id]


def test_status_transitions_allowed_and_refused(uow_factory, make_person):
    rep = make_person("sales_rep")
    account_id = _account(uow_factory, rep.actor)
    order = _order(uow_factory, rep.actor, account_id=account_id)
    # a confirmed order may be fulfilled; asking again changes nothing
    fulfilled = orders.change_status(uow_factory(), rep.actor, order.id, OrderStatus.FULFILLED)
    assert fulfilled.status is OrderStatus.FULFILLED and fulfilled.fulfilled_at is not None
    assert (
        orders.change_status(uow_factory(), rep.actor, order.id, OrderStatus.FULFILLED).version
        == fulfilled.version
    )
    # a fulfilled order cannot be cancelled or confirmed again
    for target in (OrderStatus.CANCELLED, OrderStatus.CONFIRMED):
        with pytest.raises(ValidationFailed) as refused:
            orders.change_status(uow_factory(), rep.actor, order.id, target)
        assert [(error.field, error.code) for error in refused.value.errors] == [
            ("status", "transition_not_allowed")
        ]
    # a cancelled order cannot be fulfilled
    other = _order(uow_factory, rep.actor, account_id=account_id)
    orders.change_status(uow_factory(), rep.actor, other.id, OrderStatus.CANCELLED)
    with pytest.raises(ValidationFailed):
        orders.change_status(uow_factory(), rep.actor, other.id, OrderStatus.FULFILLED)
    assert orders.get_order(uow_factory(), rep.actor, other.id).status is OrderStatus.CANCELLED


def test_payment_status_follows_the_recorded_payments(uow_factory, make_person):
    rep = make_person("sales_rep")
    account_id = _account(uow_factory, rep.actor)
    order = _order(
        uow_factory,
        rep.actor,
        account_id=account_id,
        lines=[{"description": "x", "quantity": "1", "unit_price": "100", "tax_rate": "13"}],
    )
    assert order.total == Decimal("113.00")
    partly = orders.record_payment(
        uow_factory(), rep.actor, order.id, PaymentIn(amount=Decimal("13.00"), method=PaymentMethod.ALIPAY)
    )
    assert (partly.payment_status, partly.amount_paid, partly.amount_due) == (
        PaymentStatus.PARTIAL,
        Decimal("13.00"),
        Decimal("100.00"),
    )
    with pytest.raises(ValidationFailed) as refused:
        orders.record_payment(uow_factory(), rep.actor, order.id, PaymentIn(amount=Decimal("100.01")))
    assert [(error.field, error.code) for error in refused.value.errors] == [("amount", "overpaid")]
    paid = orders.record_payment(
        uow_factory(), rep.actor, order.id, PaymentIn(amount=Decimal("100.00"), reference="BANK-7")
    )
    assert (paid.payment_status, paid.amount_due) == (PaymentStatus.PAID, Decimal("0.00"))
    assert [(payment.amount, payment.method) for payment in paid.payments] == [
        (Decimal("13.00"), PaymentMethod.ALIPAY),
        (Decimal("100.00"), PaymentMethod.BANK_TRANSFER),
    ]


def test_a_cancelled_order_takes_no_payment(uow_factory, make_person):
    rep = make_person("sales_rep")
    order = _order(uow_factory, rep.actor, account_id=_account(uow_factory, rep.actor))
    orders.change_status(uow_factory(), rep.actor, order.id, OrderStatus.CANCELLED)
    with pytest.raises(ValidationFailed) as refused:
        orders.record_payment(uow_factory(), rep.actor, order.id, PaymentIn(amount=Decimal("1")))
    assert [error.code for error in refused.value.errors] == ["order_cancelled"]


def test_reps_see_their_own_orders_managers_their_teams_and_analysts_all(uow_factory, make_person):
    admin = make_person("admin")
    team = auth.create_team(uow_factory(), system_actor(), TeamCreate(name="华东"))
    rep = make_person("sales_rep", team_ids=(team.id,))
    colleague = make_person("sales_rep")
    manager = make_person("sales_manager", team_ids=(team.id,))
    analyst = make_person("analyst")
    mine = _order(uow_factory, rep.actor, account_id=_account(uow_factory, rep.actor))
    theirs = _order(uow_factory, colleague.actor, account_id=_account(uow_factory, colleague.actor, "厦门"))

    def visible(person) -> set[str]:
        return {order.id for order in orders.list_orders(uow_factory(), person.actor).items}

    assert visible(rep) == {mine.id}
    assert visible(colleague) == {theirs.id}
    assert visible(manager) == {mine.id}
    assert visible(analyst) == visible(admin) == {mine.id, theirs.id}
    with pytest.raises(NotFound):
        orders.get_order(uow_factory(), rep.actor, theirs.id)
    with pytest.raises(NotFound):
        orders.change_status(uow_factory(), rep.actor, theirs.id, OrderStatus.FULFILLED)
    # an analyst reads but may not change
    with pytest.raises(PermissionDenied):
        orders.change_status(uow_factory(), analyst.actor, mine.id, OrderStatus.FULFILLED)


def test_list_filters(uow_factory, make_person):
    rep = make_person("sales_rep")
    account_id = _account(uow_factory, rep.actor)
    march = _order(uow_factory, rep.actor, account_id=account_id, ordered_at="2026-03-01T00:30:00+08:00")
    april = _order(uow_factory, rep.actor, account_id=account_id, ordered_at="2026-04-10T12:00:00+08:00")
    orders.change_status(uow_factory(), rep.actor, april.id, OrderStatus.FULFILLED)

    def found(**values) -> list[str]:
        page = orders.list_orders(uow_factory(), rep.actor, OrderFilter.model_validate(values))
        return [order.number for order in page.items]

    assert found() == [april.number, march.number]
    assert found(status="fulfilled") == [april.number]
    assert found(payment_status="paid") == []
    # days are the reader's (Asia/Shanghai): 00:30 on 1 March there is still 28 February in UTC
    assert found(ordered_from="2026-03-01", ordered_to="2026-03-31") == [march.number]
    assert found(q=march.number.lower()) == [march.number]
    assert found(account_id=account_id) == [april.number, march.number]


def test_timeline_of_account_and_contact_shows_orders_with_amounts(uow_factory, make_person):
    rep = make_person(
        "sales_rep",
    )
    account_id = _account(uow_factory, rep.actor)
    buyer = _contact(uow_factory, rep.actor, account_id)
    consumer = _contact(uow_factory, rep.actor, None, given="红")
    company_order = _order(
        uow_factory, rep.actor, account_id=account_id, ordered_at=datetime(2026, 3, 1, 2, 0, tzinfo=UTC)
    )
    buyer_order = _order(
        uow_factory,
        rep.actor,
        contact_id=buyer,
        ordered_at=datetime(2026, 3, 2, 2, 0, tzinfo=UTC),
        lines=[{"description": "x", "quantity": "2", "unit_price": "1234.5"}],
    )
    _order(uow_factory, rep.actor, contact_id=consumer, ordered_at=datetime(2026, 3, 3, 2, 0, tzinfo=UTC))

    account_timeline = customers.timeline(uow_factory(), rep.actor, "account", account_id, kinds=["order"])
    assert [(entry.source, entry.kind, entry.id) for entry in account_timeline.items] == [
        ("orders", "order", buyer_order.id),
        ("orders", "order", company_order.id),
    ]
    # the reader is zh_CN by default: the amount is formatted for them
    assert account_timeline.items[0].title == f"订单 {buyer_order.number} · ¥2,469.00"
    assert account_timeline.items[0].path == f"/sales/orders/{buyer_order.id}"
    contact_timeline = customers.timeline(uow_factory(), rep.actor, "contact", buyer)
    assert [entry.id for entry in contact_timeline.items if entry.kind == "order"] == [buyer_order.id]
    # paging: one entry per page, the cursor continues where the page ended
    first_page = customers.timeline(uow_factory(), rep.actor, "account", account_id, kinds=["order"], limit=1)
    second_page = customers.timeline(
        uow_factory(),
        rep.actor,
        "account",
        account_id,
        kinds=["order"],
        limit=1,
        cursor=first_page.next_cursor,
    )
    assert [entry.id for entry in first_page.items + second_page.items] == [buyer_order.id, company_order.id]
    # other kinds leave orders out
    assert customers.timeline(uow_factory(), rep.actor, "account", account_id, kinds=["call"]).items == []


def test_timeline_shows_only_orders_the_reader_may_read(uow_factory, make_person):
    admin = make_person("admin")
    rep = make_person("sales_rep")
    account_id = _account(uow_factory, admin.actor)
    # the rep gets to read the account, but the order is the admin's
    customers.update_account(uow_factory(), admin.actor, account_id, AccountUpdate(owner_id=rep.user.id))
    admins_order = _order(uow_factory, admin.actor, account_id=account_id)
    rep_order = _order(uow_factory, rep.actor, account_id=account_id)
    seen_by_rep = customers.timeline(uow_factory(), rep.actor, "account", account_id, kinds=["order"])
    assert [entry.id for entry in seen_by_rep.items] == [rep_order.id]
    seen_by_admin = customers.timeline(uow_factory(), admin.actor, "account", account_id, kinds=["order"])
    assert {entry.id for entry in seen_by_admin.items} == {rep_order.id, admins_order.id}


def test_purchase_history_of_a_contact_and_an_account(uow_factory, make_person):
    rep = make_person("sales_rep")
    account_id = _account(uow_factory, rep.actor)
    contact_id = _contact(uow_factory, rep.actor, account_id)
    older = _order(uow_factory, rep.actor, contact_id=contact_id, ordered_at="2026-01-01T00:00:00+00:00")
    newer = _order(uow_factory, rep.actor, contact_id=contact_id, ordered_at="2026-02-01T00:00:00+00:00")
    company = _order(uow_factory, rep.actor, account_id=account_id, ordered_at="2026-01-15T00:00:00+00:00")
    assert [
        order.id for order in orders.purchase_history(uow_factory(), rep.actor, contact_id=contact_id)
    ] == [
        newer.id,
        older.id,
    ]
    assert [
        order.id for order in orders.purchase_history(uow_factory(), rep.actor, account_id=account_id)
    ] == [company.id]
    both = orders.purchase_history(uow_factory(), rep.actor, contact_id=contact_id, account_id=account_id)
    assert [order.id for order in both] == [newer.id, company.id, older.id]
    stranger = make_person("sales_rep")
    assert orders.purchase_history(uow_factory(), stranger.actor, contact_id=contact_id) == []
