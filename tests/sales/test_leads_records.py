"""Leads through the service and the API: validation, duplicates, scope, scoring, disqualifying."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from loopcrm.modules.activities import service as activities
from loopcrm.modules.activities.schemas import ActivityCreate
from loopcrm.modules.customers import service as customers
from loopcrm.modules.customers.schemas import ContactCreate
from loopcrm.modules.sales.leads import service as leads
from loopcrm.modules.sales.leads.models import Lead
from loopcrm.modules.sales.leads.schemas import LeadCreate, LeadDisqualify, LeadListQuery, ScoringRuleIn
from loopcrm.platform.errors import NotFound, ValidationFailed
from loopcrm.platform.unit_of_work import UnitOfWork

from ..conftest import Person
from .conftest import SalesTeam

UowFactory = Callable[[], UnitOfWork]


def _lead(**values: object) -> LeadCreate:
    base: dict[str, object] = {"family_name": "王", "given_name": "芳", "phone": "138 0013 8000"}
    base.update(values)
    return LeadCreate.model_validate(base)


def _count(uow_factory: UowFactory) -> int:
    with uow_factory() as uow:
        return int(uow.session.scalar(select(func.count()).select_from(Lead)) or 0)


def test_a_lead_stores_its_phone_in_e164_and_warns_of_leads_and_contacts_with_the_same_phone(
    uow_factory: UowFactory, admin: Person
) -> None:
    customers.create_contact(
        uow_factory(),
        admin.actor,
        ContactCreate.model_validate(
            {"family_name": "王", "given_name": "芳", "phones": [{"number": "13800138000"}]}
        ),
    )
    first = leads.create_lead(uow_factory(), admin.actor, _lead(email="Wang.Fang@Example.com"))
    assert first.phone == "+8613800138000"
    assert first.email == "wang.fang@example.com"
    assert [(d.record_kind.value, d.reasons) for d in first.possible_duplicates] == [("contact", ["phone"])]

    second = leads.create_lead(uow_factory(), admin.actor, _lead(phone=None, email="wang.fang@example.com"))

    assert [(d.record_kind.value, d.id, d.reasons) for d in second.possible_duplicates] == [
        ("lead", first.id, ["email"])
    ]


def test_validation_errors_change_nothing(
    uow_factory: UowFactory, admin: Person, client, rep: Person
) -> None:
    with pytest.raises(ValidationFailed) as refused:
        leads.create_lead(uow_factory(), admin.actor, LeadCreate.model_validate({"company_name": "晨光"}))
    assert sorted(error.field for error in refused.value.errors) == ["email", "family_name"]

    answer = client.post("/api/v1/leads", json={"family_name": "王", "phone": "12"}, headers=rep.headers)
    assert answer.status_code == 422
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert [error["field"] for error in answer.json()["errors"]] == ["phone"]
    assert _count(uow_factory) == 0


def test_reps_see_their_own_leads_and_managers_their_teams(
    uow_factory: UowFactory, sales_team: SalesTeam
) -> None:
    mine = leads.create_lead(uow_factory(), sales_team.member.actor, _lead())
    assert mine.owner_id == sales_team.member.user.id  # no assignment rule: the creator owns it

    with pytest.raises(NotFound):
        leads.get_lead(uow_factory(), sales_team.outsider.actor, mine.id)
    seen_by_manager = leads.list_leads(
        uow_factory(), sales_team.manager.actor, LeadListQuery(), limit=50, cursor=None
    )
    seen_by_colleague = leads.list_leads(
        uow_factory(), sales_team.colleague.actor, LeadListQuery(), limit=50, cursor=None
    )
    assert [lead.id for lead in seen_by_manager.items] == [mine.id]
    assert seen_by_colleague.items == []


def test_the_score_counts_attributes_and_activities_logged_on_the_lead(
    uow_factory: UowFactory, admin: Person
) -> None:
    for rule in (
        {"kind": "attribute", "field": "industry", "value": "finance", "points": 10},
        {"kind": "presence", "field": "email", "points": 5},
        {"kind": "attribute", "field": "source", "value": "referral", "points": 15},
        {"kind": "activity", "value": "call", "points": 3},
    ):
        leads.create_rule(uow_factory(), admin.actor, ScoringRuleIn.model_validate(rule))
    lead = leads.create_lead(
        uow_factory(), admin.actor, _lead(industry="finance", email="a@example.com", source="event")
    )
    assert lead.score == 15

    for _ in range(2):
        activities.log_activity(
            uow_factory(),
            admin.actor,
            ActivityCreate.model_validate(
                {
                    "kind": "call",
                    "subject": "Intro call",
                    "occurred_at": datetime(2026, 11, 20, 9, tzinfo=UTC).isoformat(),
                    "links": [{"subject_type": "lead", "subject_id": lead.id}],
                    "call": {"direction": "outbound", "outcome": "connected"},
                }
            ),
        )
    rescored = leads.get_lead(uow_factory(), admin.actor, lead.id)

    assert (rescored.score, rescored.activity_counts) == (21, {"call": 2})
    assert rescored.version == lead.version  # a derived score does not bump the version
    by_score = leads.list_leads(
        uow_factory(), admin.actor, LeadListQuery(min_score=20), limit=10, cursor=None
    )
    assert [item.score for item in by_score.items] == [21]


def test_disqualifying_needs_a_reason(client, admin: Person, uow_factory: UowFactory) -> None:
    lead = leads.create_lead(uow_factory(), admin.actor, _lead())

    refused = client.post(f"/api/v1/leads/{lead.id}/disqualify", json={"note": "?"}, headers=admin.headers)
    done = leads.disqualify_lead(
        uow_factory(), admin.actor, lead.id, LeadDisqualify(reason="no_budget", note="小")
    )

    assert refused.status_code == 422
    assert (done.status.value, done.disqualification_reason.value, done.disqualification_note) == (
        "disqualified",
        "no_budget",
        "小",
    )
