"""Fixtures shared by the sales tests: the standard pipeline (created through the opportunities
service, as the "create the standard pipeline" button does), a sales team with a manager and
two reps, a rep outside it, and helpers to find stages and create deals."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from tests.conftest import Person

from loopcrm.modules.sales.opportunities import service as opportunities
from loopcrm.modules.sales.opportunities.schemas import (
    LostReasonOut,
    OpportunityCreate,
    OpportunityOut,
    PipelineOut,
    StageOut,
)
from loopcrm.platform.auth import service as auth
from loopcrm.platform.auth.schemas import TeamCreate
from loopcrm.platform.permissions import Actor, system_actor
from loopcrm.platform.unit_of_work import UnitOfWork

UowFactory = Callable[[], UnitOfWork]


def stage_named(pipeline: PipelineOut, name: str) -> StageOut:
    """The stage of ``pipeline`` called ``name`` (English names in the standard pipeline)."""
    return next(stage for stage in pipeline.stages if stage.name == name)


@pytest.fixture
def standard_pipeline(uow_factory: UowFactory) -> PipelineOut:
    """The standard pipeline in English: Qualification 10 %, Needs analysis 25 %, Proposal 50 %
    (orderable), Negotiation 75 % (orderable), Won 100 %, Lost 0 %; with the standard lost reasons."""
    return opportunities.create_standard_pipeline(uow_factory(), system_actor(), "en")


@pytest.fixture
def lost_reasons(uow_factory: UowFactory, standard_pipeline: PipelineOut) -> list[LostReasonOut]:
    """The standard lost reasons, in order (created with the standard pipeline)."""
    return opportunities.list_lost_reasons(uow_factory(), system_actor())


@dataclass(frozen=True)
class SalesTeam:
    """A team managed by ``manager`` with the reps ``member`` and ``colleague``; ``outsider`` is a
    rep of no team."""

    team_id: str
    manager: Person
    member: Person
    colleague: Person
    outsider: Person


@pytest.fixture
def sales_team(uow_factory: UowFactory, make_person: Callable[..., Person]) -> SalesTeam:
    manager = make_person("sales_manager", name="经理 韩梅梅")
    member = make_person("sales_rep", name="销售 张伟")
    colleague = make_person("sales_rep", name="销售 刘洋")
    outsider = make_person("sales_rep", name="销售 陈静")
    team = auth.create_team(
        uow_factory(),
        system_actor(),
        TeamCreate(
            name="华东销售", manager_id=manager.user.id, member_ids=[member.user.id, colleague.user.id]
        ),
    )
    # Actors resolve team membership when made: make them again now that the team exists.
    refreshed = {
        person.user.id: Person(person.user, auth.actor_for_user(uow_factory(), person.user.id), person.token)
        for person in (manager, member, colleague)
    }
    return SalesTeam(
        team.id, refreshed[manager.user.id], refreshed[member.user.id], refreshed[colleague.user.id], outsider
    )


@pytest.fixture
def create_deal(uow_factory: UowFactory) -> Callable[..., OpportunityOut]:
    """Creates a deal through the service as ``actor`` from the API's field names."""

    def create(actor: Actor, **values: Any) -> OpportunityOut:
        values.setdefault("name", "云平台采购")
        return opportunities.create_opportunity(
            uow_factory(), actor, OpportunityCreate.model_validate(values)
        )

    return create
