"""Orders' use cases: taking an order (from the API, an import or an accepted quote), reading and
listing them, moving their status, recording payments, and a customer's purchase history.

An order names its customer by account and/or contact; the reader must be able to read them
(checked through the activities registry's resolvers, which ask the customers module). Orders
follow their owner's scope like other sales records. Lines are priced by the quotes' rule
(``quotes.service.arithmetic``), so an order from a quote and one sent by a shop add up the same way.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from loopcrm.modules.activities import service as activities
from loopcrm.modules.sales.opportunities import service as opportunities
from loopcrm.modules.sales.orders.models import (
    ALLOWED_TRANSITIONS,
    Order,
    OrderLine,
    OrderNumberCounter,
    OrderOrigin,
    OrderPayment,
    OrderStatus,
    PaymentMethod,
    PaymentStatus,
    payment_status_of,
)
from loopcrm.modules.sales.orders.schemas import (
    OrderCreate,
    OrderFilter,
    OrderLineOut,
    OrderOut,
    PaymentIn,
    PaymentOut,
)
from loopcrm.modules.sales.orders.service.object_types import ORDER
from loopcrm.modules.sales.quotes import service as quotes
from loopcrm.modules.sales.quotes.schemas import QuoteOut
from loopcrm.modules.sales.quotes.service.arithmetic import LineAmounts, line_amounts, quote_amounts
from loopcrm.platform.audit.models import AuditAction
from loopcrm.platform.audit.service import json_value, record_change
from loopcrm.platform.auth.models import Team, User
from loopcrm.platform.db import utc_now
from loopcrm.platform.errors import NotFound, PermissionDenied, StaleVersion, ValidationFailed
from loopcrm.platform.i18n import N_
from loopcrm.platform.pagination import DEFAULT_PAGE_SIZE, Page, paginate
from loopcrm.platform.permissions import (
    Action,
    Actor,
    can_reach_record,
    require,
    scope_condition,
    system_actor,
)
from loopcrm.platform.unit_of_work import JoinedUnitOfWork, UnitOfWork

NUMBER_PREFIX = "SO"
ORDER_NOT_FOUND = "Order not found"


@dataclass(frozen=True)
class NewLine:
    """A line ready to store: what was sold and its amounts (worked out, or copied from a quote)."""

    product_id: str | None
    sku: str
    description: str
    quantity: Decimal
    unit_price: Decimal
    discount_percent: Decimal
    tax_rate: Decimal
    amounts: LineAmounts


# ---------------------------------------------------------------- reading


def _users_by_id(session: Session, user_ids: Iterable[str | None]) -> dict[str, str]:
    ids = sorted({user_id for user_id in user_ids if user_id})
    if not ids:
        return {}
    return dict(session.execute(select(User.id, User.name).where(User.id.in_(ids))).all())


def outputs(session: Session, orders: Sequence[Order]) -> list[OrderOut]:
    """The orders as their contract shows them, lines and payments read in one query each."""
    ids = [order.id for order in orders]
    lines: dict[str, list[OrderLineOut]] = {order_id: [] for order_id in ids}
    payments: dict[str, list[PaymentOut]] = {order_id: [] for order_id in ids}
    if ids:
        for line in session.scalars(
            select(OrderLine)
            .where(OrderLine.order_id.in_(ids))
            .order_by(OrderLine.order_id, OrderLine.position)
        ):
            lines[line.order_id].append(
                OrderLineOut(
                    id=line.id,
                    position=line.position,
                    product_id=line.product_id,
                    sku=line.sku,
                    description=line.description,
                    quantity=line.quantity,
                    unit_price=line.unit_price,
                    discount_percent=line.discount_percent,
                    tax_rate=line.tax_rate,
                    subtotal=line.subtotal,
                    discount_amount=line.discount_amount,
                    tax_amount=line.tax_amount,
                    total=line.total,
                )
            )
        for payment in session.scalars(
            select(OrderPayment)
            .where(OrderPayment.order_id.in_(ids))
            .order_by(OrderPayment.order_id, OrderPayment.paid_at, OrderPayment.id)
        ):
            payments[payment.order_id].append(
                PaymentOut(
                    id=payment.id,
                    amount=payment.amount,
                    paid_at=payment.paid_at,
                    method=PaymentMethod(payment.method),
                    reference=payment.reference,
                    recorded_by=payment.recorded_by,
                    recorded_at=payment.recorded_at,
                )
            )
    names = _users_by_id(session, (order.owner_id for order in orders))
    return [
        OrderOut(
            id=order.id,
            number=order.number,
            origin=OrderOrigin(order.origin),
            account_id=order.account_id,
            contact_id=order.contact_id,
            customer_name=order.customer_name,
            opportunity_id=order.opportunity_id,
            quote_id=order.quote_id,
            currency=order.currency,
            subtotal=order.subtotal,
            discount_total=order.discount_total,
            tax_total=order.tax_total,
            total=order.total,
            amount_paid=order.amount_paid,
            amount_due=max(order.total - order.amount_paid, Decimal("0.00"))
            if order.status != OrderStatus.CANCELLED.value
            else Decimal("0.00"),
            status=OrderStatus(order.status),
            payment_status=PaymentStatus(order.payment_status),
            ordered_at=order.ordered_at,
            fulfilled_at=order.fulfilled_at,
            cancelled_at=order.cancelled_at,
            channel=order.channel,
            external_id=order.external_id,
            owner_id=order.owner_id,
            owner_name=names.get(order.owner_id or ""),
            team_id=order.team_id,
            note=order.note,
            created_at=order.created_at,
            updated_at=order.updated_at,
            version=order.version,
            lines=lines[order.id],
            payments=payments[order.id],
        )
        for order in orders
    ]


def output(session: Session, order: Order) -> OrderOut:
    return outputs(session, [order])[0]


def load(uow: UnitOfWork, actor: Actor, order_id: str, action: Action) -> Order:
    """The order if the actor may reach it for ``action``; one it may not read is "not found",
    one it may read but not change is refused."""
    require(actor, ORDER.key, action)
    order = uow.session.get(Order, order_id) if len(order_id) <= 36 else None
    if order is None or not can_reach_record(
        actor, ORDER.key, Action.READ, owner_id=order.owner_id, team_id=order.team_id
    ):
        raise NotFound(ORDER_NOT_FOUND)
    if action is not Action.READ and not can_reach_record(
        actor, ORDER.key, action, owner_id=order.owner_id, team_id=order.team_id
    ):
        raise NotFound(ORDER_NOT_FOUND)
    return order


def get_order(uow: UnitOfWork, actor: Actor, order_id: str) -> OrderOut:
    require(actor, ORDER.key, Action.READ)
    with uow:
        return output(uow.session, load(uow, actor, order_id, Action.READ))


def _day_start(day: date, timezone: str) -> datetime:
    return datetime.combine(day, time.min, tzinfo=ZoneInfo(timezone)).astimezone(UTC)


def _filter_conditions(actor: Actor, filters: OrderFilter) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if filters.status is not None:
        conditions.append(Order.status == filters.status.value)
    if filters.payment_status is not None:
        conditions.append(Order.payment_status == filters.payment_status.value)
    if filters.account_id is not None:
        conditions.append(Order.account_id == filters.account_id)
    if filters.contact_id is not None:
        conditions.append(Order.contact_id == filters.contact_id)
    if filters.channel is not None:
        conditions.append(Order.channel == filters.channel)
    if filters.ordered_from is not None:
        conditions.append(Order.ordered_at >= _day_start(filters.ordered_from, actor.timezone))
    if filters.ordered_to is not None:
        conditions.append(
            Order.ordered_at < _day_start(filters.ordered_to + timedelta(days=1), actor.timezone)
        )
    if filters.q:
        text = filters.q.replace("\\", "").replace("%", "").replace("_", "")
        if text:
            conditions.append(
                or_(
                    Order.number == text.upper(),
                    Order.external_id == text,
                    Order.customer_name.like(f"{text}%"),
                )
            )
    return conditions


def list_orders(
    uow: UnitOfWork,
    actor: Actor,
    filters: OrderFilter | None = None,
    *,
    limit: int = DEFAULT_PAGE_SIZE,
    cursor: str | None = None,
) -> Page[OrderOut]:
    """Orders in the actor's scope matching ``filters``, newest first (by when they were taken in)."""
    scope = scope_condition(
        actor, ORDER.key, Action.READ, owner_column=Order.owner_id, team_column=Order.team_id
    )
    statement = select(Order).where(scope, *_filter_conditions(actor, filters or OrderFilter()))
    with uow:
        page = paginate(uow.session, statement, Order.id, limit=limit, cursor=cursor, convert=lambda row: row)
        return Page[OrderOut](items=outputs(uow.session, page.items), next_cursor=page.next_cursor)


def purchase_history(
    uow: UnitOfWork, actor: Actor, *, contact_id: str | None = None, account_id: str | None = None
) -> list[OrderOut]:
    """Every order of a contact and/or an account that the actor may read, newest first (by
    ``ordered_at``), cancelled ones included (their ``status`` says so).

    Naming both gives the orders of either. For segments, the CDP and analytics: the amounts are
    in each order's own ``currency``.
    """
    if contact_id is None and account_id is None:
        raise ValidationFailed.single("contact_id", "Name a contact or an account", "required")
    scope = scope_condition(
        actor, ORDER.key, Action.READ, owner_column=Order.owner_id, team_column=Order.team_id
    )
    customer: list[ColumnElement[bool]] = []
    if contact_id is not None:
        customer.append(Order.contact_id == contact_id)
    if account_id is not None:
        customer.append(Order.account_id == account_id)
    with uow:
        orders = uow.session.scalars(
            select(Order).where(scope, or_(*customer)).order_by(Order.ordered_at.desc(), Order.id.desc())
        ).all()
        return outputs(uow.session, orders)


# ---------------------------------------------------------------- taking orders


def _next_number(session: Session, year: int) -> str:
    """The next order number of ``year``; the counter row's UPDATE serialises concurrent orders."""
    take = (
        update(OrderNumberCounter)
        .where(OrderNumberCounter.year == year)
        .values(last_number=OrderNumberCounter.last_number + 1)
        .returning(OrderNumberCounter.last_number)
    )
    number = session.execute(take).scalar()
    if number is None:
        try:
            with session.begin_nested():
                session.execute(insert(OrderNumberCounter).values(year=year, last_number=1))
            number = 1
        except IntegrityError:  # another order took the year's first number meanwhile
            number = session.execute(take).scalar_one()
    return f"{NUMBER_PREFIX}-{year}-{number:06d}"


def check_owner_and_team(session: Session, actor: Actor, owner_id: str | None, team_id: str | None) -> None:
    """The owner must be an active user and the team must exist, and the actor must be allowed
    to give an order this owner and team (a rep cannot take an order in a colleague's name)."""
    if (
        owner_id is not None
        and session.scalar(select(User.id).where(User.id == owner_id, User.is_active.is_(True))) is None
    ):
        raise ValidationFailed.single("owner_id", "No active user has this id", "unknown_user")
    if team_id is not None and session.get(Team, team_id) is None:
        raise ValidationFailed.single("team_id", "No team has this id", "unknown_team")
    if not can_reach_record(actor, ORDER.key, Action.CREATE, owner_id=owner_id, team_id=team_id):
        raise ValidationFailed.single(
            "owner_id", "You may not give a record to this owner or team", "owner_not_allowed"
        )


def customer_name(uow: UnitOfWork, actor: Actor, account_id: str | None, contact_id: str | None) -> str:
    """The customer's name, after checking the actor may read the account and the contact."""
    names = []
    for kind, record_id in (("account", account_id), ("contact", contact_id)):
        if record_id is None:
            continue
        try:
            names.append(activities.resolve_subject(uow, actor, kind, record_id).label)
        except NotFound:
            message = (
                N_("No account with this id that you may read")
                if kind == "account"
                else N_("No contact with this id that you may read")
            )
            raise ValidationFailed.single(f"{kind}_id", message, "unknown_record") from None
    return names[0][:200]


def find_by_external_id(session: Session, channel: str, external_id: str) -> Order | None:
    return session.scalar(select(Order).where(Order.channel == channel, Order.external_id == external_id))


def computed_lines(data: OrderCreate) -> list[NewLine]:
    return [
        NewLine(
            product_id=line.product_id,
            sku=line.sku,
            description=line.description,
            quantity=line.quantity,
            unit_price=line.unit_price,
            discount_percent=line.discount_percent,
            tax_rate=line.tax_rate,
            amounts=line_amounts(line.quantity, line.unit_price, line.discount_percent, line.tax_rate),
        )
        for line in data.lines
    ]


def store_order(
    uow: UnitOfWork,
    actor: Actor,
    *,
    origin: OrderOrigin,
    account_id: str | None,
    contact_id: str | None,
    customer: str,
    currency: str,
    lines: Sequence[NewLine],
    ordered_at: datetime,
    owner_id: str | None,
    team_id: str | None,
    opportunity_id: str | None = None,
    quote_id: str | None = None,
    channel: str | None = None,
    external_id: str | None = None,
    note: str | None = None,
) -> Order:
    """Write an order with its lines and its audit entry in the caller's open unit of work."""
    session = uow.session
    totals = quote_amounts(line.amounts for line in lines)
    order = Order(
        number=_next_number(session, ordered_at.astimezone(UTC).year),
        origin=origin.value,
        account_id=account_id,
        contact_id=contact_id,
        customer_name=customer,
        opportunity_id=opportunity_id,
        quote_id=quote_id,
        currency=currency,
        subtotal=totals.subtotal,
        discount_total=totals.discount_total,
        tax_total=totals.tax_total,
        total=totals.total,
        amount_paid=Decimal("0.00"),
        status=OrderStatus.CONFIRMED.value,
        payment_status=payment_status_of(totals.total, Decimal(0)).value,
        ordered_at=ordered_at,
        channel=channel,
        external_id=external_id,
        owner_id=owner_id,
        team_id=team_id,
        note=note,
        created_by=actor.user_id,
        updated_by=actor.user_id,
    )
    session.add(order)
    session.flush()
    for position, line in enumerate(lines, start=1):
        session.add(
            OrderLine(
                order_id=order.id,
                position=position,
                product_id=line.product_id,
                sku=line.sku,
                description=line.description,
                quantity=line.quantity,
                unit_price=line.unit_price,
                discount_percent=line.discount_percent,
                tax_rate=line.tax_rate,
                subtotal=line.amounts.line_subtotal,
                discount_amount=line.amounts.discount_amount,
                tax_amount=line.amounts.tax_amount,
                total=line.amounts.line_total,
            )
        )
    session.flush()
    snapshot = {
        "number": order.number,
        "origin": order.origin,
        "account_id": account_id,
        "contact_id": contact_id,
        "opportunity_id": opportunity_id,
        "quote_id": quote_id,
        "currency": currency,
        "total": order.total,
        "line_count": len(lines),
        "channel": channel,
        "external_id": external_id,
        "owner_id": owner_id,
        "team_id": team_id,
    }
    record_change(
        uow,
        actor,
        AuditAction.CREATE,
        ORDER.key,
        order.id,
        {name: [None, value] for name, value in snapshot.items() if value is not None},
    )
    return order


def take_order(
    uow: UnitOfWork, actor: Actor, data: OrderCreate, *, origin: OrderOrigin = OrderOrigin.API
) -> tuple[OrderOut, bool]:
    """:func:`create_order` that also says whether the order is new (``False``: the shop's order
    with this channel and external id was taken before and is answered unchanged)."""
    require(actor, ORDER.key, Action.CREATE)
    owner_id = data.owner_id if "owner_id" in data.model_fields_set else actor.user_id
    with uow:
        session = uow.session
        if data.channel is not None and data.external_id is not None:
            existing = find_by_external_id(session, data.channel, data.external_id)
            if existing is not None:
                if not can_reach_record(
                    actor, ORDER.key, Action.READ, owner_id=existing.owner_id, team_id=existing.team_id
                ):
                    raise ValidationFailed.single(
                        "external_id", "This channel's order was already taken by someone else", "taken"
                    )
                return output(session, existing), False
        check_owner_and_team(session, actor, owner_id, data.team_id)
        customer = customer_name(uow, actor, data.account_id, data.contact_id)
        if data.opportunity_id is not None:
            _win_opportunity(uow, actor, data.opportunity_id)
        order = store_order(
            uow,
            actor,
            origin=origin,
            account_id=data.account_id,
            contact_id=data.contact_id,
            customer=customer,
            currency=order_currency(uow, data.currency),
            lines=computed_lines(data),
            ordered_at=data.ordered_at or utc_now(),
            owner_id=owner_id,
            team_id=data.team_id,
            opportunity_id=data.opportunity_id,
            channel=data.channel,
            external_id=data.external_id,
            note=data.note,
        )
        result = output(session, order)
        try:
            uow.commit()
        except IntegrityError:  # the same shop order, taken by a concurrent request
            raise ValidationFailed.single(
                "external_id", "This channel's order is being taken by another request", "taken"
            ) from None
        return result, True


def create_order(
    uow: UnitOfWork, actor: Actor, data: OrderCreate, *, origin: OrderOrigin = OrderOrigin.API
) -> OrderOut:
    """Take an order (API, import, e-commerce, or typed on the new-order page: ``origin``): lines
    priced exactly, numbered SO-<year>-<n>.

    A shop's order (``channel`` + ``external_id``) already taken is answered as it is: sending
    it again changes nothing. Naming an opportunity wins it (an order wins its deal).
    """
    return take_order(uow, actor, data, origin=origin)[0]


def _win_opportunity(uow: UnitOfWork, actor: Actor, opportunity_id: str) -> None:
    """Win the deal the order belongs to (from any stage; a won deal stays as it is)."""
    try:
        opportunities.win_by_order_in(uow, actor, opportunity_id)
    except (NotFound, PermissionDenied):
        raise ValidationFailed.single(
            "opportunity_id", "No opportunity with this id that you may change", "unknown_record"
        ) from None


def order_currency(uow: UnitOfWork, currency: str | None) -> str:
    """``currency`` if it is an active currency of the sales settings, else a field error; the
    company currency when none is given."""
    if currency is None:
        return opportunities.company_currency(uow)
    opportunities.to_company_currency(uow, Decimal(0), currency)
    return currency


def create_order_from_quote_in(uow: UnitOfWork, actor: Actor, quote: QuoteOut) -> OrderOut:
    """The order of an accepted quote, inside the caller's open unit of work: its lines and
    amounts copied exactly, its customer, owner and team the quote's; the quote's deal is won
    (``opportunities.win_by_order_in``). One order per quote: a quote that has one gets it back."""
    return _order_from_quote(JoinedUnitOfWork(uow), actor, quote)


def _order_from_quote(uow: UnitOfWork, actor: Actor, quote: QuoteOut) -> OrderOut:
    require(actor, ORDER.key, Action.CREATE)
    with uow:
        session = uow.session
        existing = session.scalar(select(Order).where(Order.quote_id == quote.id))
        if existing is not None:
            return output(session, existing)
        lines = [
            NewLine(
                product_id=line.product_id,
                sku=line.sku or "",
                description=line.description,
                quantity=line.quantity,
                unit_price=line.unit_price,
                discount_percent=line.discount_percent,
                tax_rate=line.tax_rate,
                amounts=LineAmounts(
                    line.line_subtotal,
                    line.discount_amount,
                    line.net_amount,
                    line.tax_amount,
                    line.line_total,
                ),
            )
            for line in quote.lines
        ]
        order = store_order(
            uow,
            actor,
            origin=OrderOrigin.QUOTE,
            account_id=quote.account_id,
            contact_id=quote.contact_id,
            customer=(quote.account_name or quote.contact_name or "")[:200],
            currency=quote.currency,
            lines=lines,
            ordered_at=utc_now(),
            owner_id=quote.owner_id,
            team_id=quote.team_id,
            opportunity_id=quote.opportunity_id,
            quote_id=quote.id,
        )
        opportunities.win_by_order_in(uow, actor, quote.opportunity_id)
        result = output(session, order)
        uow.commit()
        return result


def _on_quote_accepted(uow: UnitOfWork, quote: QuoteOut) -> None:
    """The quotes area's acceptance listener: the customer (or a user for them) accepted, so the
    order is taken in the system's name (the audit log says "orders"); it is the quote owner's."""
    create_order_from_quote_in(uow, system_actor("orders"), quote)


quotes.register_acceptance_listener(_on_quote_accepted)


# ---------------------------------------------------------------- status and payments


def _check_version(order: Order, expected_version: int | None) -> None:
    if expected_version is not None and order.version != expected_version:
        raise StaleVersion()


def _commit(uow: UnitOfWork) -> None:
    try:
        uow.commit()
    except StaleDataError:
        raise StaleVersion() from None


def change_status(
    uow: UnitOfWork, actor: Actor, order_id: str, status: OrderStatus, *, expected_version: int | None = None
) -> OrderOut:
    """Move an order to ``status``: a confirmed order may be fulfilled or cancelled; fulfilled and
    cancelled orders stay as they are. Asking for the status it has changes nothing."""
    with uow:
        order = load(uow, actor, order_id, Action.UPDATE)
        _check_version(order, expected_version)
        current = OrderStatus(order.status)
        if status is current:
            return output(uow.session, order)
        if status not in ALLOWED_TRANSITIONS[current]:
            raise ValidationFailed.single(
                "status",
                "A {current} order cannot become {target}",
                "transition_not_allowed",
                current=current.value,
                target=status.value,
            )
        now = utc_now()
        order.status = status.value
        if status is OrderStatus.FULFILLED:
            order.fulfilled_at = now
        elif status is OrderStatus.CANCELLED:
            order.cancelled_at = now
        order.updated_by = actor.user_id
        record_change(
            uow, actor, AuditAction.UPDATE, ORDER.key, order.id, {"status": [current.value, status.value]}
        )
        uow.session.flush()
        result = output(uow.session, order)
        _commit(uow)
        return result


def record_payment(
    uow: UnitOfWork, actor: Actor, order_id: str, data: PaymentIn, *, expected_version: int | None = None
) -> OrderOut:
    """Record money received for an order; its payment status follows from amount paid vs total.

    Refused for a cancelled order and for more than is still owed.
    """
    with uow:
        order = load(uow, actor, order_id, Action.UPDATE)
        _check_version(order, expected_version)
        if order.status == OrderStatus.CANCELLED.value:
            raise ValidationFailed.single("amount", "A cancelled order takes no payments", "order_cancelled")
        due = order.total - order.amount_paid
        if data.amount > due:
            raise ValidationFailed.single(
                "amount", "This is more than the {due} still owed", "overpaid", due=json_value(due)
            )
        session = uow.session
        session.add(
            OrderPayment(
                order_id=order.id,
                amount=data.amount,
                paid_at=data.paid_at or utc_now(),
                method=data.method.value,
                reference=data.reference,
                recorded_by=actor.user_id,
            )
        )
        before = (order.amount_paid, order.payment_status)
        order.amount_paid = order.amount_paid + data.amount
        order.payment_status = payment_status_of(order.total, order.amount_paid).value
        order.updated_by = actor.user_id
        record_change(
            uow,
            actor,
            AuditAction.UPDATE,
            ORDER.key,
            order.id,
            {
                "amount_paid": [before[0], order.amount_paid],
                "payment_status": [before[1], order.payment_status],
                "payment": [None, {"amount": data.amount, "method": data.method.value}],
            },
        )
        session.flush()
        result = output(session, order)
        _commit(uow)
        return result


# ---------------------------------------------------------------- timeline


def timeline_orders(
    uow: UnitOfWork,
    actor: Actor,
    subjects: Sequence[tuple[str, str]],
    *,
    before_at: datetime | None,
    before_id: str | None,
    limit: int,
) -> list[Order]:
    """Orders of the accounts and contacts among ``subjects`` that the actor may read, newest
    first, strictly older than ``(before_at, before_id)`` when given; for the timeline source."""
    if not actor.can(ORDER.key, Action.READ):
        return []
    accounts = sorted({subject_id for kind, subject_id in subjects if kind == "account"})
    contacts = sorted({subject_id for kind, subject_id in subjects if kind == "contact"})
    customer: list[ColumnElement[bool]] = []
    if accounts:
        customer.append(Order.account_id.in_(accounts))
    if contacts:
        customer.append(Order.contact_id.in_(contacts))
    if not customer:
        return []
    statement = select(Order).where(
        or_(*customer),
        scope_condition(
            actor, ORDER.key, Action.READ, owner_column=Order.owner_id, team_column=Order.team_id
        ),
    )
    if before_at is not None and before_id is not None:
        statement = statement.where(
            or_(Order.ordered_at < before_at, and_(Order.ordered_at == before_at, Order.id < before_id))
        )
    return list(
        uow.session.scalars(statement.order_by(Order.ordered_at.desc(), Order.id.desc()).limit(limit)).all()
    )
