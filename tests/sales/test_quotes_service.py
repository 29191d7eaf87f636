"""Quotes through their service: exact totals, prices from price lists, the approval of large
discounts, versions, expiry, and the customer's answer through a public link."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import Engine, text
from tests.conftest import Person

from loopcrm.modules.customers import service as customers
from loopcrm.modules.customers.schemas import AccountCreate, ContactCreate, EmailIn, TagCreate
from loopcrm.modules.sales.opportunities import service as opportunities
from loopcrm.modules.sales.opportunities.schemas import OpportunityContactIn, OpportunityCreate
from loopcrm.modules.sales.quotes import service as quotes
from loopcrm.modules.sales.quotes.schemas import (
    ApprovalDecision,
    CustomerAnswer,
    PriceEntryIn,
    PriceListCreate,
    ProductCreate,
    ProductOut,
    QuoteCreate,
    QuoteLineIn,
    QuoteOut,
    QuoteSettingsIn,
    QuoteStatus,
    QuoteUpdate,
)
from loopcrm.modules.sales.quotes.service import arithmetic
from loopcrm.platform.auth import service as auth
from loopcrm.platform.auth.schemas import TeamCreate
from loopcrm.platform.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from loopcrm.platform.permissions import system_actor
from loopcrm.platform.unit_of_work import UnitOfWork

UowFactory = Callable[[], UnitOfWork]
COMPANY = "上海云杉科技有限公司"


@dataclass(frozen=True)
class QuoteWorld:
    """A sales team (manager, rep), a manager of another team, an admin; a tagged account with a
    contact; a deal of the rep's; products and price lists."""

    manager: Person
    rep: Person
    other_manager: Person
    admin: Person
    account_id: str
    contact_id: str
    deal_id: str
    vip_tag_id: str
    server: ProductOut
    service: ProductOut


def _refreshed(uow_factory: UowFactory, person: Person) -> Person:
    return Person(person.user, auth.actor_for_user(uow_factory(), person.user.id), person.token)


@pytest.fixture
def world(uow_factory: UowFactory, make_person: Callable[..., Person]) -> QuoteWorld:
    return build_world(uow_factory, make_person)


def build_world(uow_factory: UowFactory, make_person: Callable[..., Person]) -> QuoteWorld:
    """The people, customer, deal and catalogue the quotes tests work with (see :class:`QuoteWorld`)."""
    system = system_actor()
    opportunities.create_standard_pipeline(uow_factory(), system, "en")
    manager = make_person("sales_manager", name="经理 韩梅梅")
    rep = make_person("sales_rep", name="销售 张伟", email="zhang.wei@example.com")
    other_manager = make_person("sales_manager", name="经理 王强")
    other_rep = make_person("sales_rep", name="销售 赵敏")
    admin = make_person("admin", name="管理员 王芳")
    auth.create_team(
        uow_factory(),
        system,
        TeamCreate(name="华东销售", manager_id=manager.user.id, member_ids=[rep.user.id]),
    )
    auth.create_team(
        uow_factory(),
        system,
        TeamCreate(name="华南销售", manager_id=other_manager.user.id, member_ids=[other_rep.user.id]),
    )
    manager, rep, other_manager = (_refreshed(uow_factory, p) for p in (manager, rep, other_manager))
    vip = customers.create_tag(uow_factory(), system, TagCreate(name="VIP"))
    account = customers.create_account(
        uow_factory(), system, AccountCreate(name=COMPANY, owner_id=rep.user.id, tag_ids=[vip.id])
    )
    contact = customers.create_contact(
        uow_factory(),
        system,
        ContactCreate(
            family_name="李",
            given_name="娜",
            owner_id=rep.user.id,
            emails=[EmailIn(address="li.na@yunshan.example.com")],
        ),
    )
    deal = opportunities.create_opportunity(
        uow_factory(),
        rep.actor,
        OpportunityCreate(
            name="云平台采购",
            account_id=account.id,
            amount=Decimal("100000"),
            contacts=[
                OpportunityContactIn(contact_id=contact.id, buying_role="decision_maker", is_primary=True)
            ],
        ),
    )
    server = quotes.create_product(
        uow_factory(),
        manager.actor,
        ProductCreate(sku="SRV-01", name="云服务器 标准版", unit="台", default_tax_rate=Decimal(13)),
    )
    service = quotes.create_product(
        uow_factory(),
        manager.actor,
        ProductCreate(sku="SVC-01", name="实施服务", unit="人天", default_tax_rate=Decimal(6)),
    )
    quotes.create_price_list(
        uow_factory(),
        manager.actor,
        PriceListCreate(
            name="标准价 CNY",
            currency="CNY",
            is_default=True,
            entries=[
                PriceEntryIn(product_id=server.id, unit_price=Decimal("33.335")),
                PriceEntryIn(product_id=service.id, unit_price=Decimal("2000")),
            ],
        ),
    )
    return QuoteWorld(
        manager, rep, other_manager, admin, account.id, contact.id, deal.id, vip.id, server, service
    )


def new_quote(uow_factory: UowFactory, world: QuoteWorld, *lines: QuoteLineIn) -> QuoteOut:
    return quotes.create_quote(
        uow_factory(), world.rep.actor, QuoteCreate(opportunity_id=world.deal_id, lines=list(lines))
    )


# ---------------------------------------------------------------- arithmetic


def test_a_line_of_awkward_decimals_is_rounded_half_up_per_step_with_tax_on_the_discounted_amount():
    amounts = arithmetic.line_amounts(Decimal(3), Decimal("33.335"), Decimal("7.5"), Decimal(13))

    # 3 × 33.335 = 100.005 → 100.01; 7.5 % of it = 7.50075 → 7.50; net 92.51; 13 % = 12.0263 → 12.03
    assert amounts == arithmetic.LineAmounts(
        Decimal("100.01"), Decimal("7.50"), Decimal("92.51"), Decimal("12.03"), Decimal("104.54")
    )


def test_half_a_cent_rounds_up_at_every_step():
    amounts = arithmetic.line_amounts(Decimal("0.5"), Decimal("0.01"), Decimal(50), Decimal(50))

    # 0.005 → 0.01; 50 % of 0.01 = 0.005 → 0.01; net 0.00; tax 0.00
    assert amounts == arithmetic.LineAmounts(
        Decimal("0.01"), Decimal("0.01"), Decimal("0.00"), Decimal("0.00"), Decimal("0.00")
    )


def test_quote_totals_are_the_sums_of_the_rounded_lines(uow_factory: UowFactory, world: QuoteWorld):
    quote = new_quote(
        uow_factory,
        world,
        QuoteLineIn(product_id=world.server.id, quantity=Decimal(3), discount_percent=Decimal("7.5")),
        QuoteLineIn(
            description="上门培训",
            quantity=Decimal("1.5"),
            unit_price=Decimal("333.333"),
            tax_rate=Decimal(6),
        ),
        QuoteLineIn(product_id=world.service.id, quantity=Decimal(7), discount_percent=Decimal("12.5")),
    )

    # line 1: 100.01 − 7.50 = 92.51 + 12.03 = 104.54 (unit price 33.335 from the default list, tax 13 %)
    # line 2: 1.5 × 333.333 = 499.9995 → 500.00; no discount; 6 % = 30.00 → 530.00
    # line 3: 14000.00 − 1750.00 = 12250.00 + 6 % 735.00 = 12985.00
    assert [line.line_total for line in quote.lines] == [
        Decimal("104.54"),
        Decimal("530.00"),
        Decimal("12985.00"),
    ]
    assert quote.lines[0].unit_price == Decimal("33.335")
    assert quote.lines[0].tax_rate == Decimal(13)
    assert (quote.subtotal, quote.discount_total, quote.tax_total, quote.total) == (
        Decimal("14600.01"),
        Decimal("1757.50"),
        Decimal("777.03"),
        Decimal("13619.54"),
    )
    assert quote.number.startswith("Q-") and quote.number.endswith("-000001")
    assert (quote.account_name, quote.contact_name, quote.contact_email) == (
        COMPANY,
        "李娜",
        "li.na@yunshan.example.com",
    )
    again = quotes.get_quote(uow_factory(), world.rep.actor, quote.id)
    assert again.total == Decimal("13619.54") and again.lines == quote.lines


def test_the_account_tags_price_list_comes_before_the_default(uow_factory: UowFactory, world: QuoteWorld):
    quotes.create_price_list(
        uow_factory(),
        world.manager.actor,
        PriceListCreate(
            name="VIP 价",
            currency="CNY",
            customer_tag_id=world.vip_tag_id,
            entries=[PriceEntryIn(product_id=world.server.id, unit_price=Decimal("30"))],
        ),
    )

    quote = new_quote(
        uow_factory,
        world,
        QuoteLineIn(product_id=world.server.id, quantity=Decimal(2)),
        QuoteLineIn(product_id=world.service.id, quantity=Decimal(1)),
    )

    assert [line.unit_price for line in quote.lines] == [Decimal("30.0000"), Decimal("2000.0000")]


def test_a_product_no_list_prices_needs_a_unit_price(uow_factory: UowFactory, world: QuoteWorld):
    other = quotes.create_product(uow_factory(), world.admin.actor, ProductCreate(sku="X-1", name="新品"))

    with pytest.raises(ValidationFailed) as refused:
        new_quote(uow_factory, world, QuoteLineIn(product_id=other.id))

    assert [error.field for error in refused.value.errors] == ["lines.0.unit_price"]


def test_a_second_default_list_of_a_currency_is_refused(uow_factory: UowFactory, world: QuoteWorld):
    with pytest.raises(ValidationFailed) as refused:
        quotes.create_price_list(
            uow_factory(),
            world.manager.actor,
            PriceListCreate(name="另一个", currency="CNY", is_default=True),
        )

    assert [error.field for error in refused.value.errors] == ["is_default"]


def test_reps_read_products_but_may_not_change_them(uow_factory: UowFactory, world: QuoteWorld):
    with pytest.raises(PermissionDenied):
        quotes.create_product(uow_factory(), world.rep.actor, ProductCreate(sku="R-1", name="x"))

    assert quotes.get_product(uow_factory(), world.rep.actor, world.server.id).name == "云服务器 标准版"


def test_a_duplicate_sku_is_refused_whatever_its_case(uow_factory: UowFactory, world: QuoteWorld):
    with pytest.raises(ValidationFailed) as refused:
        quotes.create_product(uow_factory(), world.admin.actor, ProductCreate(sku="srv-01", name="x"))

    assert refused.value.errors[0].field == "sku"


# ---------------------------------------------------------------- approval


def test_a_discount_within_the_threshold_is_approved_on_submit(uow_factory: UowFactory, world: QuoteWorld):
    quote = new_quote(
        uow_factory, world, QuoteLineIn(product_id=world.service.id, discount_percent=Decimal(20))
    )

    submitted = quotes.submit_quote(uow_factory(), world.rep.actor, quote.id)

    assert submitted.status is QuoteStatus.APPROVED


def test_a_discount_above_the_threshold_waits_for_the_team_manager(
    uow_factory: UowFactory, world: QuoteWorld
):
    quote = new_quote(
        uow_factory, world, QuoteLineIn(product_id=world.service.id, discount_percent=Decimal("20.01"))
    )
    submitted = quotes.submit_quote(uow_factory(), world.rep.actor, quote.id)
    assert submitted.status is QuoteStatus.PENDING_APPROVAL
    assert [q.id for q in quotes.pending_approvals(uow_factory(), world.manager.actor)] == [quote.id]
    assert quotes.pending_approvals(uow_factory(), world.other_manager.actor) == []

    approved = quotes.approve_quote(
        uow_factory(), world.manager.actor, quote.id, ApprovalDecision(note="同意")
    )

    assert approved.status is QuoteStatus.APPROVED
    assert (approved.approval_decided_by, approved.approval_note) == (world.manager.user.id, "同意")


def test_the_threshold_is_an_admin_setting(uow_factory: UowFactory, world: QuoteWorld):
    quotes.update_quote_settings(
        uow_factory(), world.admin.actor, QuoteSettingsIn(approval_threshold_percent=Decimal(30))
    )
    quote = new_quote(
        uow_factory, world, QuoteLineIn(product_id=world.service.id, discount_percent=Decimal(25))
    )

    assert quotes.submit_quote(uow_factory(), world.rep.actor, quote.id).status is QuoteStatus.APPROVED
    with pytest.raises(PermissionDenied):
        quotes.update_quote_settings(
            uow_factory(), world.manager.actor, QuoteSettingsIn(approval_threshold_percent=Decimal(50))
        )


def _pending(uow_factory: UowFactory, world: QuoteWorld) -> QuoteOut:
    quote = new_quote(
        uow_factory, world, QuoteLineIn(product_id=world.service.id, discount_percent=Decimal(35))
    )
    return quotes.submit_quote(uow_factory(), world.rep.actor, quote.id)


def test_approving_your_own_discount_is_refused(uow_factory: UowFactory, world: QuoteWorld):
    quote = _pending(uow_factory, world)

    with pytest.raises(PermissionDenied) as refused:
        quotes.approve_quote(uow_factory(), world.rep.actor, quote.id, ApprovalDecision())

    assert refused.value.message == "You may not approve your own discount"
    assert quotes.get_quote(uow_factory(), world.rep.actor, quote.id).status is QuoteStatus.PENDING_APPROVAL


def test_an_admin_who_owns_the_quote_may_not_approve_it_either(uow_factory: UowFactory, world: QuoteWorld):
    quote = new_quote(
        uow_factory, world, QuoteLineIn(product_id=world.service.id, discount_percent=Decimal(35))
    )
    quote = quotes.submit_quote(uow_factory(), world.admin.actor, quote.id)

    with pytest.raises(PermissionDenied):
        quotes.approve_quote(uow_factory(), world.admin.actor, quote.id, ApprovalDecision())
    assert quotes.approve_quote(uow_factory(), world.manager.actor, quote.id, ApprovalDecision()).status is (
        QuoteStatus.APPROVED
    )


def test_a_manager_of_another_team_may_not_approve(uow_factory: UowFactory, world: QuoteWorld):
    quote = _pending(uow_factory, world)

    with pytest.raises((PermissionDenied, NotFound)):
        quotes.approve_quote(uow_factory(), world.other_manager.actor, quote.id, ApprovalDecision())

    assert quotes.get_quote(uow_factory(), world.rep.actor, quote.id).status is QuoteStatus.PENDING_APPROVAL


def test_a_refused_discount_sends_the_quote_back_to_draft_with_the_note(
    uow_factory: UowFactory, world: QuoteWorld
):
    quote = _pending(uow_factory, world)

    refused = quotes.reject_approval(
        uow_factory(), world.admin.actor, quote.id, ApprovalDecision(note="折扣太大")
    )

    assert (refused.status, refused.approval_note) == (QuoteStatus.DRAFT, "折扣太大")
    changed = quotes.update_quote(
        uow_factory(),
        world.rep.actor,
        quote.id,
        QuoteUpdate(lines=[QuoteLineIn(product_id=world.service.id, discount_percent=Decimal(10))]),
    )
    assert changed.total == Decimal("1908.00")  # 2000 − 200 = 1800 + 6 % 108


def test_a_quote_waiting_for_approval_cannot_be_sent_or_accepted(uow_factory: UowFactory, world: QuoteWorld):
    quote = _pending(uow_factory, world)

    with pytest.raises(Conflict):
        quotes.send_quote(uow_factory(), world.rep.actor, quote.id)
    with pytest.raises(Conflict):
        quotes.accept_quote(uow_factory(), world.rep.actor, quote.id)


# ---------------------------------------------------------------- versions, expiry, answers


def _approved(uow_factory: UowFactory, world: QuoteWorld) -> QuoteOut:
    quote = new_quote(uow_factory, world, QuoteLineIn(product_id=world.service.id, quantity=Decimal(2)))
    return quotes.submit_quote(uow_factory(), world.rep.actor, quote.id)


def test_revising_makes_a_new_version_and_supersedes_the_old(uow_factory: UowFactory, world: QuoteWorld):
    first = _approved(uow_factory, world)

    second = quotes.revise_quote(uow_factory(), world.rep.actor, first.id)

    old = quotes.get_quote(uow_factory(), world.rep.actor, first.id)
    assert (old.status, old.is_latest) == (QuoteStatus.SUPERSEDED, False)
    assert (second.number, second.version_number, second.status, second.previous_version_id) == (
        first.number,
        2,
        QuoteStatus.DRAFT,
        first.id,
    )
    assert second.total == first.total == Decimal("4240.00")
    with pytest.raises(Conflict):
        quotes.accept_quote(uow_factory(), world.rep.actor, first.id)
    with pytest.raises(Conflict):
        quotes.revise_quote(uow_factory(), world.rep.actor, first.id)


def test_a_draft_cannot_be_revised_and_an_approved_quote_cannot_be_edited(
    uow_factory: UowFactory, world: QuoteWorld
):
    draft = new_quote(uow_factory, world, QuoteLineIn(product_id=world.service.id))
    with pytest.raises(Conflict):
        quotes.revise_quote(uow_factory(), world.rep.actor, draft.id)
    approved = quotes.submit_quote(uow_factory(), world.rep.actor, draft.id)
    with pytest.raises(Conflict):
        quotes.update_quote(uow_factory(), world.rep.actor, approved.id, QuoteUpdate(title="新标题"))


def _make_past_due(engine: Engine, quote_id: str) -> None:
    yesterday = quotes.today() - timedelta(days=1)
    with engine.begin() as connection:
        connection.execute(
            text("UPDATE sales_quotes SET valid_until = :day WHERE id = :id"),
            {"day": yesterday, "id": quote_id},
        )


def test_an_expired_quote_cannot_be_accepted_and_turns_expired(
    uow_factory: UowFactory, world: QuoteWorld, engine: Engine
):
    quote = _approved(uow_factory, world)
    link = quotes.create_public_link(uow_factory(), world.rep.actor, quote.id)
    _make_past_due(engine, quote.id)

    with pytest.raises(Conflict) as refused:
        quotes.accept_public_quote(uow_factory(), link.token)

    assert refused.value.message == "This quote expired on {date}; ask for a new one"
    assert quotes.get_quote(uow_factory(), world.rep.actor, quote.id).status is QuoteStatus.EXPIRED
    with pytest.raises(Conflict):
        quotes.accept_quote(uow_factory(), world.rep.actor, quote.id)


def test_the_periodic_job_expires_quotes_past_their_validity(
    uow_factory: UowFactory, world: QuoteWorld, engine: Engine
):
    due = _approved(uow_factory, world)
    current = _approved(uow_factory, world)
    _make_past_due(engine, due.id)

    expired = quotes.expire_quotes(uow_factory(), system_actor())

    assert expired == 1
    assert quotes.get_quote(uow_factory(), world.rep.actor, due.id).status is QuoteStatus.EXPIRED
    assert quotes.get_quote(uow_factory(), world.rep.actor, current.id).status is QuoteStatus.APPROVED


@pytest.fixture
def accepted_quotes() -> Iterator[list[QuoteOut]]:
    """Registers an acceptance listener for the test, as orders does; yields what it heard."""
    heard: list[QuoteOut] = []

    def listener(uow: UnitOfWork, quote: QuoteOut) -> None:
        heard.append(quote)

    quotes.register_acceptance_listener(listener)
    yield heard
    from loopcrm.modules.sales.quotes.service import quotes as quotes_module

    quotes_module._acceptance_listeners.remove(listener)


def test_the_customer_accepts_through_the_public_link_once(
    uow_factory: UowFactory, world: QuoteWorld, accepted_quotes: list[QuoteOut]
):
    quote = _approved(uow_factory, world)
    link = quotes.create_public_link(uow_factory(), world.rep.actor, quote.id)

    accepted = quotes.accept_public_quote(uow_factory(), link.token)

    assert accepted.status is QuoteStatus.ACCEPTED
    assert [heard.id for heard in accepted_quotes] == [quote.id]
    assert accepted_quotes[0].total == Decimal("4240.00")
    with pytest.raises(Conflict) as refused:
        quotes.accept_public_quote(uow_factory(), link.token)
    assert refused.value.message == "This quote has already been answered"
    assert len(accepted_quotes) == 1


def test_a_refusing_listener_leaves_the_quote_unanswered(uow_factory: UowFactory, world: QuoteWorld):
    quote = _approved(uow_factory, world)

    def refuse(uow: UnitOfWork, accepted: QuoteOut) -> None:
        raise Conflict("no order today")

    quotes.register_acceptance_listener(refuse)
    try:
        with pytest.raises(Conflict):
            quotes.accept_quote(uow_factory(), world.rep.actor, quote.id)
    finally:
        from loopcrm.modules.sales.quotes.service import quotes as quotes_module

        quotes_module._acceptance_listeners.remove(refuse)
    assert quotes.get_quote(uow_factory(), world.rep.actor, quote.id).status is QuoteStatus.APPROVED


def test_the_customer_rejects_with_a_reason(uow_factory: UowFactory, world: QuoteWorld):
    quote = _approved(uow_factory, world)
    link = quotes.create_public_link(uow_factory(), world.rep.actor, quote.id)

    with pytest.raises(ValidationFailed):
        quotes.reject_public_quote(uow_factory(), link.token, CustomerAnswer(reason=None))
    rejected = quotes.reject_public_quote(uow_factory(), link.token, CustomerAnswer(reason="预算不足"))

    assert (rejected.status, rejected.rejection_reason) == (QuoteStatus.REJECTED, "预算不足")


def test_a_superseded_quotes_link_is_refused(uow_factory: UowFactory, world: QuoteWorld):
    quote = _approved(uow_factory, world)
    link = quotes.create_public_link(uow_factory(), world.rep.actor, quote.id)
    quotes.revise_quote(uow_factory(), world.rep.actor, quote.id)

    with pytest.raises(Conflict) as refused:
        quotes.accept_public_quote(uow_factory(), link.token)

    assert refused.value.message == "This quote was replaced by a newer version; ask for the current one"


def test_an_unknown_token_is_not_found(uow_factory: UowFactory, world: QuoteWorld):
    with pytest.raises(NotFound):
        quotes.get_public_quote(uow_factory(), "not-a-token")


def test_the_token_is_stored_only_as_its_hash(uow_factory: UowFactory, world: QuoteWorld, engine: Engine):
    quote = _approved(uow_factory, world)
    link = quotes.create_public_link(uow_factory(), world.rep.actor, quote.id)

    with engine.connect() as connection:
        stored = connection.execute(text("SELECT token_hash FROM sales_quote_links")).scalars().all()

    assert link.token not in stored and len(stored) == 1 and len(stored[0]) == 64


def test_a_rep_outside_the_deal_does_not_see_its_quotes(
    uow_factory: UowFactory, world: QuoteWorld, make_person: Callable[..., Person]
):
    quote = _approved(uow_factory, world)
    stranger = make_person("sales_rep")

    with pytest.raises(NotFound):
        quotes.get_quote(uow_factory(), stranger.actor, quote.id)
    assert quotes.get_quote(uow_factory(), world.manager.actor, quote.id).id == quote.id
