"""A deal's rules through the opportunities service: stage moves (won only from an orderable stage,
lost only with an active reason, reopening, winning by an order), probability auto vs manual,
forecast category, amount conversion, contacts' primary, record scope, stage history, audit and
the registries other areas plug into."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import text
from tests.conftest import Person
from tests.sales.conftest import SalesTeam, stage_named

from loopcrm.modules.customers import service as customers
from loopcrm.modules.customers.schemas import AccountCreate, ContactCreate
from loopcrm.modules.sales.opportunities import service as opportunities
from loopcrm.modules.sales.opportunities.schemas import (
    CurrencyCreate,
    LostReasonOut,
    LostReasonUpdate,
    OpportunityOut,
    OpportunityUpdate,
    PipelineOut,
)
from loopcrm.modules.sales.opportunities.service import registries
from loopcrm.platform.audit.schemas import AuditFilter
from loopcrm.platform.audit.service import list_entries
from loopcrm.platform.errors import NotFound, StaleVersion, ValidationFailed
from loopcrm.platform.permissions import system_actor
from loopcrm.platform.unit_of_work import UnitOfWork

UowFactory = Callable[[], UnitOfWork]
CreateDeal = Callable[..., OpportunityOut]


def field_codes(error: ValidationFailed) -> dict[str, str]:
    return {item.field: item.code for item in error.errors}


@pytest.fixture
def clean_registries() -> Iterator[None]:
    """Registries are process-wide: a test that fills them leaves them as they were."""
    listeners, estimators = list(registries._outcome_listeners), list(registries._estimators)
    registries._outcome_listeners.clear()
    registries._estimators.clear()
    yield
    registries._outcome_listeners[:] = listeners
    registries._estimators[:] = estimators


def test_a_new_deal_starts_in_the_first_open_stage_with_its_defaults(
    uow_factory: UowFactory, standard_pipeline: PipelineOut, rep: Person, create_deal: CreateDeal
) -> None:
    deal = create_deal(rep.actor, amount="120000")

    assert deal.pipeline_id == standard_pipeline.id
    assert deal.stage_name == "Qualification"
    assert deal.stage_kind.value == "open"
    assert (deal.probability, deal.probability_auto, deal.probability_manual) == (10, 10, None)
    assert deal.forecast_category.value == "pipeline"
    assert deal.owner_id == rep.user.id
    assert (deal.currency, deal.amount, deal.amount_company) == (
        "CNY",
        Decimal("120000.00"),
        Decimal("120000.00"),
    )
    assert deal.version == 1
    assert standard_pipeline.is_default


def test_the_standard_pipeline_speaks_the_admins_language(uow_factory: UowFactory) -> None:
    chinese = opportunities.create_standard_pipeline(uow_factory(), system_actor(), "zh_CN")

    assert [stage.name for stage in chinese.stages] == [
        "资格确认",
        "需求分析",
        "方案报价",
        "谈判",
        "赢单",
        "输单",
    ]
    assert [stage.probability for stage in chinese.stages] == [10, 25, 50, 75, 100, 0]
    assert [stage.is_orderable for stage in chinese.stages] == [False, False, True, True, False, False]
    assert [stage.forecast_category.value for stage in chinese.stages][-2:] == ["closed", "omitted"]
    assert opportunities.list_lost_reasons(uow_factory(), system_actor())[0].name == "价格过高"


def test_won_by_hand_only_from_an_orderable_stage(
    uow_factory: UowFactory, standard_pipeline: PipelineOut, rep: Person, create_deal: CreateDeal
) -> None:
    deal = create_deal(rep.actor)
    won = stage_named(standard_pipeline, "Won")

    with pytest.raises(ValidationFailed) as refused:
        opportunities.change_stage(uow_factory(), rep.actor, deal.id, won.id)
    assert field_codes(refused.value) == {"stage_id": "not_orderable"}
    assert opportunities.get_opportunity(uow_factory(), rep.actor, deal.id).stage_name == "Qualification"

    proposal = stage_named(standard_pipeline, "Proposal")
    opportunities.change_stage(uow_factory(), rep.actor, deal.id, proposal.id)
    result = opportunities.change_stage(uow_factory(), rep.actor, deal.id, won.id)

    assert (result.stage_kind.value, result.probability, result.forecast_category.value) == (
        "won",
        100,
        "closed",
    )
    assert result.closed_at is not None


def test_lost_needs_an_active_reason(
    uow_factory: UowFactory,
    standard_pipeline: PipelineOut,
    lost_reasons: list[LostReasonOut],
    rep: Person,
    create_deal: CreateDeal,
) -> None:
    deal = create_deal(rep.actor)
    lost = stage_named(standard_pipeline, "Lost")
    price = lost_reasons[0]

    with pytest.raises(ValidationFailed) as missing:
        opportunities.change_stage(uow_factory(), rep.actor, deal.id, lost.id)
    assert field_codes(missing.value) == {"lost_reason_id": "lost_reason_required"}

    opportunities.update_lost_reason(
        uow_factory(), system_actor(), price.id, LostReasonUpdate(is_active=False)
    )
    with pytest.raises(ValidationFailed) as inactive:
        opportunities.change_stage(uow_factory(), rep.actor, deal.id, lost.id, lost_reason_id=price.id)
    assert field_codes(inactive.value) == {"lost_reason_id": "inactive_lost_reason"}
    assert opportunities.get_opportunity(uow_factory(), rep.actor, deal.id).version == 1  # nothing written

    result = opportunities.change_stage(
        uow_factory(), rep.actor, deal.id, lost.id, lost_reason_id=lost_reasons[1].id, lost_note="选了友商"
    )
    assert (result.stage_kind.value, result.probability, result.forecast_category.value) == (
        "lost",
        0,
        "omitted",
    )
    assert (result.lost_reason_name, result.lost_note) == ("Lost to a competitor", "选了友商")

    # Reopening: back to an open stage clears the loss.
    reopened = opportunities.change_stage(
        uow_factory(), rep.actor, deal.id, stage_named(standard_pipeline, "Needs analysis").id
    )
    assert (reopened.stage_kind.value, reopened.lost_reason_id, reopened.closed_at) == ("open", None, None)
    assert reopened.probability == 25


def test_an_order_wins_a_deal_from_any_open_stage_and_leaves_a_won_one_alone(
    uow_factory: UowFactory, standard_pipeline: PipelineOut, rep: Person, create_deal: CreateDeal
) -> None:
    deal = create_deal(rep.actor)
    uow = uow_factory()
    with uow:
        won = opportunities.win_by_order_in(uow, rep.actor, deal.id)
        again = opportunities.win_by_order_in(uow, rep.actor, deal.id)
        uow.commit()

    assert won.stage_name == "Won"
    assert again.version == won.version
    history = opportunities.stage_history(uow_factory(), rep.actor, deal.id)
    assert [(row.from_stage_name, row.to_stage_name) for row in history] == [
        (None, "Qualification"),
        ("Qualification", "Won"),
    ]


def test_a_refused_joined_call_changes_nothing_of_the_callers_transaction(
    uow_factory: UowFactory, standard_pipeline: PipelineOut, rep: Person, create_deal: CreateDeal
) -> None:
    uow = uow_factory()
    with uow:
        kept = opportunities.create_opportunity_in(uow, rep.actor, opportunities_create(name="保留的商机"))
        with pytest.raises(ValidationFailed):
            opportunities.create_opportunity_in(uow, rep.actor, opportunities_create(currency="XXX"))
        uow.commit()

    page = opportunities.list_opportunities(uow_factory(), rep.actor)
    assert [item.id for item in page.items] == [kept.id]


def opportunities_create(**values: Any) -> Any:
    from loopcrm.modules.sales.opportunities.schemas import OpportunityCreate

    values.setdefault("name", "云平台采购")
    return OpportunityCreate.model_validate(values)


def test_probability_is_automatic_until_typed_and_typed_sticks_until_cleared(
    uow_factory: UowFactory, standard_pipeline: PipelineOut, rep: Person, create_deal: CreateDeal
) -> None:
    deal = create_deal(rep.actor)
    typed = opportunities.update_opportunity(
        uow_factory(), rep.actor, deal.id, OpportunityUpdate(probability_manual=40)
    )
    assert (typed.probability, typed.probability_auto, typed.probability_manual) == (40, 10, 40)

    moved = opportunities.change_stage(
        uow_factory(), rep.actor, deal.id, stage_named(standard_pipeline, "Negotiation").id
    )
    assert (moved.probability, moved.probability_auto, moved.probability_manual) == (40, 75, 40)

    cleared = opportunities.update_opportunity(
        uow_factory(), rep.actor, deal.id, OpportunityUpdate(probability_manual=None)
    )
    assert (cleared.probability, cleared.probability_manual) == (75, None)


def test_the_estimator_replaces_the_stage_default_for_open_deals(
    uow_factory: UowFactory,
    standard_pipeline: PipelineOut,
    rep: Person,
    create_deal: CreateDeal,
    clean_registries: None,
) -> None:
    seen: list[tuple[str, str]] = []
    opportunities.register_probability_estimator(
        lambda uow, deal: 33 if deal.attributes.get("industry") == "manufacturing" else None
    )
    opportunities.register_outcome_listener(lambda uow, deal, before, after: seen.append((before, after)))

    manufacturing = create_deal(rep.actor, attributes={"industry": "manufacturing"})
    other = create_deal(rep.actor)
    assert (manufacturing.probability_auto, other.probability_auto) == (33, 10)

    changed = opportunities.update_opportunity(
        uow_factory(), rep.actor, other.id, OpportunityUpdate(attributes={"industry": "manufacturing"})
    )
    assert changed.probability_auto == 33

    proposal = stage_named(standard_pipeline, "Proposal")
    opportunities.change_stage(uow_factory(), rep.actor, other.id, proposal.id)
    won = opportunities.change_stage(
        uow_factory(), rep.actor, other.id, stage_named(standard_pipeline, "Won").id
    )
    assert won.probability_auto == 100  # a closed deal's probability is its stage's
    assert seen == [("", "open"), ("", "open"), ("open", "won")]


def test_forecast_category_follows_the_stage_unless_typed(
    uow_factory: UowFactory, standard_pipeline: PipelineOut, rep: Person, create_deal: CreateDeal
) -> None:
    deal = create_deal(rep.actor)
    moved = opportunities.change_stage(
        uow_factory(), rep.actor, deal.id, stage_named(standard_pipeline, "Proposal").id
    )
    assert (moved.forecast_category.value, moved.forecast_category_is_manual) == ("best_case", False)

    typed = opportunities.update_opportunity(
        uow_factory(), rep.actor, deal.id, OpportunityUpdate.model_validate({"forecast_category": "commit"})
    )
    again = opportunities.change_stage(
        uow_factory(), rep.actor, deal.id, stage_named(standard_pipeline, "Needs analysis").id
    )
    assert (typed.forecast_category.value, again.forecast_category.value) == ("commit", "commit")

    back = opportunities.update_opportunity(
        uow_factory(), rep.actor, deal.id, OpportunityUpdate.model_validate({"forecast_category": None})
    )
    assert (back.forecast_category.value, back.forecast_category_is_manual) == ("pipeline", False)


def test_amounts_are_converted_to_the_company_currency(
    uow_factory: UowFactory, standard_pipeline: PipelineOut, rep: Person, create_deal: CreateDeal
) -> None:
    opportunities.create_currency(
        uow_factory(), system_actor(), CurrencyCreate(code="usd", name="US dollar", rate=Decimal("7.1234"))
    )
    deal = create_deal(rep.actor, amount="1000.05", currency="USD")

    assert (deal.currency, deal.amount_company) == ("USD", Decimal("7123.76"))  # 7123.7556 half up
    assert opportunities.company_currency(uow_factory()) == "CNY"
    assert opportunities.to_company_currency(uow_factory(), Decimal("10"), "usd") == Decimal("71.23")

    with pytest.raises(ValidationFailed) as unknown:
        create_deal(rep.actor, amount="1", currency="EUR")
    assert field_codes(unknown.value) == {"currency": "unknown_currency"}

    changed = opportunities.update_opportunity(
        uow_factory(), rep.actor, deal.id, OpportunityUpdate(currency="CNY")
    )
    assert changed.amount_company == Decimal("1000.05")


def test_exactly_one_primary_contact(
    uow_factory: UowFactory, standard_pipeline: PipelineOut, admin: Person, create_deal: CreateDeal
) -> None:
    account = customers.create_account(uow_factory(), admin.actor, AccountCreate(name="华为技术有限公司"))
    people = [
        customers.create_contact(
            uow_factory(),
            admin.actor,
            ContactCreate.model_validate({"family_name": "王", "given_name": given}),
        )
        for given in ("伟", "芳")
    ]
    both_primary = [
        {"contact_id": people[0].id, "buying_role": "decision_maker", "is_primary": True},
        {"contact_id": people[1].id, "buying_role": "champion", "is_primary": True},
    ]
    with pytest.raises(ValidationFailed) as two:
        create_deal(admin.actor, account_id=account.id, contacts=both_primary)
    assert field_codes(two.value) == {"contacts": "one_primary"}

    none_primary = [{**item, "is_primary": False} for item in both_primary]
    with pytest.raises(ValidationFailed) as zero:
        create_deal(admin.actor, account_id=account.id, contacts=none_primary)
    assert field_codes(zero.value) == {"contacts": "one_primary"}

    single = create_deal(admin.actor, contacts=[{"contact_id": people[1].id, "buying_role": "champion"}])
    assert [(c.contact_name, c.is_primary) for c in single.contacts] == [("王芳", True)]

    deal = create_deal(admin.actor, account_id=account.id, contacts=[both_primary[0], none_primary[1]])
    assert deal.account_name == "华为技术有限公司"
    assert [(c.contact_name, c.buying_role.value, c.is_primary) for c in deal.contacts] == [
        ("王伟", "decision_maker", True),
        ("王芳", "champion", False),
    ]

    with pytest.raises(ValidationFailed) as unknown:
        create_deal(admin.actor, account_id="no-such-account")
    assert field_codes(unknown.value) == {"account_id": "unknown_account"}


def test_a_rep_sees_own_deals_and_a_manager_the_teams(
    uow_factory: UowFactory, standard_pipeline: PipelineOut, sales_team: SalesTeam, create_deal: CreateDeal
) -> None:
    member_deal = create_deal(sales_team.member.actor, name="成员的商机")
    outsider_deal = create_deal(sales_team.outsider.actor, name="外人的商机")

    with pytest.raises(NotFound):
        opportunities.get_opportunity(uow_factory(), sales_team.colleague.actor, member_deal.id)
    with pytest.raises(NotFound):
        opportunities.change_stage(
            uow_factory(), sales_team.colleague.actor, member_deal.id, standard_pipeline.stages[1].id
        )
    assert opportunities.list_opportunities(uow_factory(), sales_team.colleague.actor).items == []

    managed = opportunities.list_opportunities(uow_factory(), sales_team.manager.actor).items
    assert [item.name for item in managed] == ["成员的商机"]
    assert (
        opportunities.get_opportunity(uow_factory(), sales_team.manager.actor, member_deal.id).id
        == member_deal.id
    )
    with pytest.raises(NotFound):
        opportunities.get_opportunity(uow_factory(), sales_team.manager.actor, outsider_deal.id)

    with pytest.raises(ValidationFailed) as handed:
        opportunities.update_opportunity(
            uow_factory(),
            sales_team.member.actor,
            member_deal.id,
            OpportunityUpdate(owner_id=sales_team.colleague.user.id),
        )
    assert field_codes(handed.value) == {"owner_id": "owner_out_of_scope"}


def test_board_and_list_name_only_the_accounts_the_reader_may_read(
    uow_factory: UowFactory,
    standard_pipeline: PipelineOut,
    admin: Person,
    sales_team: SalesTeam,
    create_deal: CreateDeal,
) -> None:
    member = sales_team.member
    own = customers.create_account(
        uow_factory(), admin.actor, AccountCreate(name="成员的客户", owner_id=member.user.id)
    )
    others = customers.create_account(
        uow_factory(), admin.actor, AccountCreate(name="别人的客户", owner_id=sales_team.outsider.user.id)
    )
    create_deal(admin.actor, name="甲", owner_id=member.user.id, account_id=own.id)
    create_deal(admin.actor, name="乙", owner_id=member.user.id, account_id=others.id)
    create_deal(admin.actor, name="丙", owner_id=member.user.id)

    def names(actor: Any) -> tuple[dict[str, str | None], dict[str, str | None]]:
        board = opportunities.kanban(uow_factory(), actor, standard_pipeline.id)
        cards = {card.name: card.account_name for column in board.columns for card in column.cards}
        listed = {
            item.name: item.account_name
            for item in opportunities.list_opportunities(uow_factory(), actor).items
        }
        return cards, listed

    # A rep reads only the accounts they own: the other account's name stays hidden.
    assert names(member.actor) == ({"甲": "成员的客户", "乙": None, "丙": None},) * 2
    assert names(admin.actor) == ({"甲": "成员的客户", "乙": "别人的客户", "丙": None},) * 2

    customers.delete_account(uow_factory(), admin.actor, own.id)
    assert names(admin.actor)[0]["甲"] is None  # a deleted account is not named


def test_stage_history_keeps_the_time_spent_in_each_stage(
    uow_factory: UowFactory, engine: Any, standard_pipeline: PipelineOut, rep: Person, create_deal: CreateDeal
) -> None:
    deal = create_deal(rep.actor)
    with engine.begin() as connection:  # the deal entered its stage three days ago
        connection.execute(
            text("UPDATE sales_opportunities SET stage_entered_at = :at WHERE id = :id"),
            {"at": (deal.stage_entered_at - timedelta(days=3)).isoformat(sep=" "), "id": deal.id},
        )
    # SQLite keeps the text as given; PostgreSQL parses it: both read back the same instant.
    opportunities.change_stage(
        uow_factory(), rep.actor, deal.id, stage_named(standard_pipeline, "Proposal").id
    )
    history = opportunities.stage_history(uow_factory(), rep.actor, deal.id)

    assert [row.to_stage_name for row in history] == ["Qualification", "Proposal"]
    assert history[0].seconds_in_previous_stage is None
    assert 3 * 86400 <= (history[1].seconds_in_previous_stage or 0) < 3 * 86400 + 60
    assert history[1].changed_by_name == rep.user.name


def test_a_stale_version_is_refused_and_changes_are_audited(
    uow_factory: UowFactory, standard_pipeline: PipelineOut, rep: Person, create_deal: CreateDeal
) -> None:
    deal = create_deal(rep.actor)
    opportunities.update_opportunity(
        uow_factory(), rep.actor, deal.id, OpportunityUpdate(next_step="发方案"), expected_version=1
    )
    with pytest.raises(StaleVersion):
        opportunities.update_opportunity(
            uow_factory(), rep.actor, deal.id, OpportunityUpdate(next_step="再发"), expected_version=1
        )
    entries = list_entries(
        uow_factory(),
        system_actor(),
        AuditFilter(object_type="opportunity", object_id=deal.id),
        limit=10,
        cursor=None,
    ).items
    assert [entry.action for entry in entries][::-1][:2] == ["create", "update"]
    assert entries[0].changes["next_step"] == [None, "发方案"]


def test_overdue_is_open_and_past_its_close_date(
    uow_factory: UowFactory, standard_pipeline: PipelineOut, rep: Person, create_deal: CreateDeal
) -> None:
    late = create_deal(rep.actor, expected_close_date=(date.today() - timedelta(days=2)).isoformat())
    assert late.is_overdue
    assert not create_deal(
        rep.actor, expected_close_date=(date.today() + timedelta(days=2)).isoformat()
    ).is_overdue
    lost = opportunities.change_stage(
        uow_factory(),
        rep.actor,
        late.id,
        stage_named(standard_pipeline, "Lost").id,
        lost_reason_id=opportunities.list_lost_reasons(uow_factory(), rep.actor)[0].id,
    )
    assert not lost.is_overdue
