"""The win-probability model through the services: live learning as deals are won, lost and
reopened (exact values worked out by hand from the counts), smoothing, the team → global → stage
default fallback, the periodic rebuild, and the factors shown for a score."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from loopcrm.modules.sales.forecasting import jobs as forecasting_jobs
from loopcrm.modules.sales.forecasting import service as forecasting
from loopcrm.modules.sales.forecasting.schemas import ModelScope, WinModelSettingsUpdate
from loopcrm.modules.sales.opportunities import service as opportunities
from loopcrm.modules.sales.opportunities.schemas import (
    LostReasonOut,
    OpportunityOut,
    OpportunityUpdate,
    PipelineOut,
)
from loopcrm.platform.errors import NotFound, PermissionDenied
from loopcrm.platform.jobs.registry import JobContext
from loopcrm.platform.permissions import system_actor
from loopcrm.platform.unit_of_work import UnitOfWork
from loopcrm.settings import Settings

from ..conftest import Person
from .conftest import SalesTeam, stage_named

UowFactory = Callable[[], UnitOfWork]
CreateDeal = Callable[..., OpportunityOut]
SYSTEM = system_actor()


@pytest.fixture
def model_on_source(uow_factory: UowFactory, standard_pipeline: PipelineOut) -> None:
    """The model learns from the stage and the lead source only; two closed deals are enough for
    the global model, teams need 100 (so every test below scores with the global counts)."""
    forecasting.update_model_settings(
        uow_factory(),
        SYSTEM,
        WinModelSettingsUpdate(attribute_names=["source"], min_team_closed=100, min_global_closed=2),
    )


def _deal(
    create_deal: CreateDeal, pipeline: PipelineOut, stage: str, source: str, **values: Any
) -> OpportunityOut:
    return create_deal(
        SYSTEM, stage_id=stage_named(pipeline, stage).id, source=source, amount="10000", **values
    )


def _win(uow_factory: UowFactory, pipeline: PipelineOut, deal: OpportunityOut) -> OpportunityOut:
    return opportunities.change_stage(uow_factory(), SYSTEM, deal.id, stage_named(pipeline, "Won").id)


def _lose(
    uow_factory: UowFactory, pipeline: PipelineOut, deal: OpportunityOut, reason: LostReasonOut
) -> OpportunityOut:
    return opportunities.change_stage(
        uow_factory(), SYSTEM, deal.id, stage_named(pipeline, "Lost").id, lost_reason_id=reason.id
    )


@pytest.mark.usefixtures("model_on_source")
def test_probability_moves_as_hand_computed_when_a_similar_deal_is_won_and_back_when_it_reopens(
    uow_factory: UowFactory,
    standard_pipeline: PipelineOut,
    lost_reasons: list[LostReasonOut],
    create_deal: CreateDeal,
) -> None:
    # given: one won deal (web, from Proposal), two lost (referral from Qualification, web from Proposal)
    _win(uow_factory, standard_pipeline, _deal(create_deal, standard_pipeline, "Proposal", "web"))
    _lose(
        uow_factory,
        standard_pipeline,
        _deal(create_deal, standard_pipeline, "Qualification", "referral"),
        lost_reasons[0],
    )
    _lose(
        uow_factory,
        standard_pipeline,
        _deal(create_deal, standard_pipeline, "Proposal", "web"),
        lost_reasons[0],
    )

    # when: an open web deal is in Proposal
    open_deal = _deal(create_deal, standard_pipeline, "Proposal", "web")

    # then: won 1, lost 2; Proposal entered by 1 won / 1 lost; web 1 won / 1 lost; 2 sources seen.
    # prior odds (1+1)/(2+1) = 2/3; stage LR ((1+1)/(1+2)) / ((1+1)/(2+2)) = 4/3;
    # source LR ((1+1)/(1+2·1)) / ((1+1)/(2+2·1)) = 4/3; odds 32/27 → p = 32/59 = 54.2 %
    assert open_deal.probability_auto == 54
    explained = forecasting.win_probability(uow_factory(), SYSTEM, open_deal.id)
    assert explained.scope is ModelScope.GLOBAL
    assert (explained.won, explained.lost, explained.probability) == (1, 2, 54)
    assert explained.prior_won == pytest.approx(2 / 5)
    factors = {factor.feature: factor for factor in explained.factors}
    assert factors["stage"].value_label == "Proposal"
    assert (factors["stage"].won, factors["stage"].lost) == (1, 1)
    assert factors["stage"].likelihood_ratio == pytest.approx(4 / 3)
    assert factors["source"].likelihood_ratio == pytest.approx(4 / 3)

    # when: a similar deal (web, Proposal) is won
    similar = _deal(create_deal, standard_pipeline, "Proposal", "web")
    _win(uow_factory, standard_pipeline, similar)

    # then: prior odds 3/3 = 1; stage LR (3/4)/(2/4) = 3/2; source LR 3/2; odds 9/4 → 9/13 = 69.2 %
    assert forecasting.win_probability(uow_factory(), SYSTEM, open_deal.id).probability == 69
    touched = opportunities.update_opportunity(
        uow_factory(), SYSTEM, open_deal.id, OpportunityUpdate(attributes={"note": "x"})
    )
    assert touched.probability_auto == 69

    # when: the similar deal is reopened, the model takes back exactly what it learned
    opportunities.change_stage(
        uow_factory(), SYSTEM, similar.id, stage_named(standard_pipeline, "Negotiation").id
    )
    assert forecasting.win_probability(uow_factory(), SYSTEM, open_deal.id).probability == 54


@pytest.mark.usefixtures("model_on_source")
def test_smoothing_keeps_a_single_won_deal_from_making_the_next_one_certain(
    uow_factory: UowFactory, standard_pipeline: PipelineOut, create_deal: CreateDeal
) -> None:
    forecasting.update_model_settings(
        uow_factory(), SYSTEM, WinModelSettingsUpdate(attribute_names=["source"], min_global_closed=1)
    )
    _win(uow_factory, standard_pipeline, _deal(create_deal, standard_pipeline, "Proposal", "web"))

    open_deal = _deal(create_deal, standard_pipeline, "Proposal", "web")

    # prior odds (1+1)/(0+1) = 2; stage LR ((1+1)/(1+2)) / ((0+1)/(0+2)) = 4/3; source LR with one
    # value seen ((1+1)/(1+1)) / ((0+1)/(0+1)) = 1; odds 8/3 → 8/11 = 72.7 %, not 100 %
    assert open_deal.probability_auto == 73
    # a source the model never saw says nothing: it is shown, without a ratio
    unseen = _deal(create_deal, standard_pipeline, "Proposal", "trade_show")
    factors = {f.feature: f for f in forecasting.win_probability(uow_factory(), SYSTEM, unseen.id).factors}
    assert factors["source"].likelihood_ratio is None
    assert unseen.probability_auto == 73  # only the prior and the stage: odds 2 × 4/3 → 72.7 %


@pytest.mark.usefixtures("model_on_source")
def test_without_enough_closed_deals_the_stage_default_is_used(
    uow_factory: UowFactory,
    standard_pipeline: PipelineOut,
    lost_reasons: list[LostReasonOut],
    create_deal: CreateDeal,
) -> None:
    # given: one closed deal, the global model needs two
    _lose(
        uow_factory,
        standard_pipeline,
        _deal(create_deal, standard_pipeline, "Proposal", "web"),
        lost_reasons[0],
    )

    open_deal = _deal(create_deal, standard_pipeline, "Proposal", "web")

    assert open_deal.probability_auto == 50  # Proposal's default
    explained = forecasting.win_probability(uow_factory(), SYSTEM, open_deal.id)
    assert explained.scope is ModelScope.STAGE_DEFAULT
    assert (explained.probability, explained.stage_default, explained.factors) == (50, 50, [])


def test_a_team_with_enough_closed_deals_gets_its_own_model_and_others_fall_back_to_the_global_one(
    uow_factory: UowFactory,
    standard_pipeline: PipelineOut,
    lost_reasons: list[LostReasonOut],
    create_deal: CreateDeal,
    sales_team: SalesTeam,
) -> None:
    forecasting.update_model_settings(
        uow_factory(),
        SYSTEM,
        WinModelSettingsUpdate(attribute_names=[], min_team_closed=2, min_global_closed=2),
    )
    team = sales_team.team_id
    # the team won both its deals from Proposal; deals of no team lost two from Proposal
    for _ in range(2):
        _win(
            uow_factory,
            standard_pipeline,
            _deal(create_deal, standard_pipeline, "Proposal", "web", team_id=team),
        )
        _lose(
            uow_factory,
            standard_pipeline,
            _deal(create_deal, standard_pipeline, "Proposal", "web"),
            lost_reasons[0],
        )

    team_deal = _deal(create_deal, standard_pipeline, "Proposal", "web", team_id=team)
    other_deal = _deal(create_deal, standard_pipeline, "Proposal", "web")

    # team: won 2, lost 0: prior odds 3/1; stage LR ((2+1)/(2+2)) / ((0+1)/(0+2)) = 3/2; odds 9/2 → 82 %
    team_estimate = forecasting.win_probability(uow_factory(), SYSTEM, team_deal.id)
    assert (team_estimate.scope, team_estimate.probability) == (ModelScope.TEAM, 82)
    # global: won 2, lost 2: prior odds 1; stage LR (3/4)/(3/4) = 1 → 50 %
    other_estimate = forecasting.win_probability(uow_factory(), SYSTEM, other_deal.id)
    assert (other_estimate.scope, other_estimate.probability) == (ModelScope.GLOBAL, 50)
    summary = forecasting.model_summary(uow_factory(), SYSTEM)
    assert {(scope.scope, scope.won, scope.lost, scope.is_used) for scope in summary.scopes} == {
        ("", 2, 2, True),
        (team, 2, 0, True),
    }


@pytest.mark.usefixtures("model_on_source")
def test_the_periodic_rebuild_recomputes_the_same_counts_as_live_learning(
    uow_factory: UowFactory,
    standard_pipeline: PipelineOut,
    lost_reasons: list[LostReasonOut],
    create_deal: CreateDeal,
    settings: Settings,
) -> None:
    _win(uow_factory, standard_pipeline, _deal(create_deal, standard_pipeline, "Proposal", "web"))
    _lose(
        uow_factory,
        standard_pipeline,
        _deal(create_deal, standard_pipeline, "Needs analysis", "referral"),
        lost_reasons[0],
    )
    open_deal = _deal(create_deal, standard_pipeline, "Proposal", "web")
    live = forecasting.win_probability(uow_factory(), SYSTEM, open_deal.id)

    uow = uow_factory()
    with uow:
        context = JobContext(settings=settings, job_id="test", attempt=1, now=datetime.now(UTC))
        forecasting_jobs.rebuild_win_model(uow, {"slot_start": ""}, context)
        uow.commit()

    rebuilt = forecasting.win_probability(uow_factory(), SYSTEM, open_deal.id)
    assert rebuilt.model_dump() == live.model_dump()
    assert forecasting.model_summary(uow_factory(), SYSTEM).observations == 2


def test_a_rep_sees_the_factors_of_their_own_deals_only(
    uow_factory: UowFactory, standard_pipeline: PipelineOut, create_deal: CreateDeal, sales_team: SalesTeam
) -> None:
    own = create_deal(sales_team.member.actor, amount="1000")

    assert (
        forecasting.win_probability(uow_factory(), sales_team.member.actor, own.id).opportunity_id == own.id
    )
    with pytest.raises(NotFound):
        forecasting.win_probability(uow_factory(), sales_team.outsider.actor, own.id)
    with pytest.raises(PermissionDenied):
        forecasting.rebuild_model(uow_factory(), sales_team.manager.actor)


def test_only_admins_choose_the_model_attributes(
    uow_factory: UowFactory, standard_pipeline: PipelineOut, admin: Person, rep: Person
) -> None:
    with pytest.raises(PermissionDenied):
        forecasting.update_model_settings(
            uow_factory(), rep.actor, WinModelSettingsUpdate(attribute_names=["x"])
        )
    changed = forecasting.update_model_settings(
        uow_factory(),
        admin.actor,
        WinModelSettingsUpdate(attribute_names=["industry", " industry", "province"]),
    )
    assert changed.attribute_names == ["industry", "province"]
    assert forecasting.get_model_settings(uow_factory(), rep.actor).attribute_names == [
        "industry",
        "province",
    ]


@pytest.mark.usefixtures("model_on_source")
def test_a_rebuild_gives_open_deals_the_model_estimate_they_would_get_on_their_next_move(
    uow_factory: UowFactory,
    standard_pipeline: PipelineOut,
    lost_reasons: list[LostReasonOut],
    create_deal: CreateDeal,
) -> None:
    _lose(
        uow_factory,
        standard_pipeline,
        _deal(create_deal, standard_pipeline, "Proposal", "web"),
        lost_reasons[0],
    )
    open_deal = _deal(create_deal, standard_pipeline, "Proposal", "referral")
    assert open_deal.probability_auto == 50  # one closed deal: too few, Proposal's default
    _win(uow_factory, standard_pipeline, _deal(create_deal, standard_pipeline, "Proposal", "referral"))
    # The open deal has not moved since, so it still shows the default.
    assert opportunities.get_opportunity(uow_factory(), SYSTEM, open_deal.id).probability_auto == 50

    forecasting.rebuild_model(uow_factory(), SYSTEM)

    # won 1, lost 1: prior odds 1; Proposal entered by both: LR 1; source referral: won (1+1)/(1+2),
    # lost (0+1)/(1+2): LR 2; odds 2 → 66.7 %
    refreshed = opportunities.get_opportunity(uow_factory(), SYSTEM, open_deal.id)
    assert (refreshed.probability_auto, refreshed.version) == (67, open_deal.version)
    assert forecasting.win_probability(uow_factory(), SYSTEM, open_deal.id).probability == 67
