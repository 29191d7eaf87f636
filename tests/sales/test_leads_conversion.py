"""Converting a lead: an existing account is linked rather than duplicated, the lead's activities
stay attached (and reach the contact), an opportunity is opened in the same transaction, and a
lead is converted only once; a refused conversion changes nothing."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from loopcrm.modules.activities import service as activities
from loopcrm.modules.activities.schemas import ActivityCreate
from loopcrm.modules.customers import service as customers
from loopcrm.modules.customers.schemas import AccountCreate, ContactCreate, ListQuery
from loopcrm.modules.sales.leads import service as leads
from loopcrm.modules.sales.leads.schemas import LeadConversion, LeadCreate
from loopcrm.modules.sales.opportunities import service as opportunities
from loopcrm.modules.sales.opportunities.schemas import PipelineOut
from loopcrm.platform.errors import Conflict, ValidationFailed
from loopcrm.platform.unit_of_work import UnitOfWork

from ..conftest import Person

UowFactory = Callable[[], UnitOfWork]


def _lead(uow_factory: UowFactory, actor_person: Person) -> str:
    return leads.create_lead(
        uow_factory(),
        actor_person.actor,
        LeadCreate.model_validate(
            {
                "family_name": "王",
                "given_name": "芳",
                "email": "wang.fang@chenguang.example",
                "phone": "13800138000",
                "company_name": "上海晨光文具股份有限公司",
                "city": "上海",
                "website": "https://www.chenguang.example",
                "industry": "manufacturing",
                "source": "referral",
            }
        ),
    ).id


def _accounts(uow_factory: UowFactory, admin: Person) -> list[str]:
    return [
        a.id
        for a in customers.list_accounts(uow_factory(), admin.actor, ListQuery(), limit=50, cursor=None).items
    ]


def test_conversion_with_an_existing_account_links_it_rather_than_duplicating(
    uow_factory: UowFactory, admin: Person, standard_pipeline: PipelineOut
) -> None:
    account = customers.create_account(
        uow_factory(),
        admin.actor,
        AccountCreate.model_validate(
            {"name": "上海晨光文具股份有限公司", "city": "上海", "website": "chenguang.example"}
        ),
    )
    lead_id = _lead(uow_factory, admin)

    candidates = leads.conversion_candidates(uow_factory(), admin.actor, lead_id)
    assert [(match.id, sorted(match.reasons)) for match in candidates.accounts] == [
        (account.id, ["domain", "similar_name"])
    ]
    result = leads.convert_lead(
        uow_factory(),
        admin.actor,
        lead_id,
        LeadConversion.model_validate(
            {"account_id": account.id, "opportunity": {"name": "晨光 2027 文具采购", "amount": "120000.50"}}
        ),
    )

    assert _accounts(uow_factory, admin) == [account.id]
    assert (result.account_id, result.account_created, result.contact_created) == (account.id, False, True)
    contact = customers.get_contact(uow_factory(), admin.actor, result.contact_id)
    assert [job.account_id for job in contact.employments] == [account.id]
    assert [point.value for point in contact.phones or []] == ["+8613800138000"]
    deal = opportunities.get_opportunity(uow_factory(), admin.actor, result.opportunity_id or "")
    assert (deal.lead_id, deal.account_id, deal.amount, deal.pipeline_id) == (
        lead_id,
        account.id,
        Decimal("120000.50"),
        standard_pipeline.id,
    )
    assert [(c.contact_id, c.is_primary, c.buying_role.value) for c in deal.contacts] == [
        (result.contact_id, True, "decision_maker")
    ]
    assert deal.attributes["industry"] == "manufacturing"
    assert result.lead.status.value == "qualified"


def test_conversion_keeps_the_lead_activities_and_links_them_to_the_contact(
    uow_factory: UowFactory, admin: Person
) -> None:
    lead_id = _lead(uow_factory, admin)
    call = activities.log_activity(
        uow_factory(),
        admin.actor,
        ActivityCreate.model_validate(
            {
                "kind": "call",
                "subject": "首次电话",
                "occurred_at": datetime(2026, 11, 20, 9, tzinfo=UTC).isoformat(),
                "links": [{"subject_type": "lead", "subject_id": lead_id}],
                "call": {"direction": "outbound", "outcome": "connected"},
            }
        ),
    )

    result = leads.convert_lead(uow_factory(), admin.actor, lead_id, LeadConversion())

    assert result.linked_activities == 1
    linked = activities.get_activity(uow_factory(), admin.actor, call.id)
    assert sorted((link.subject_type, link.subject_id) for link in linked.links) == sorted(
        [("lead", lead_id), ("contact", result.contact_id)]
    )
    contact_timeline = customers.timeline(uow_factory(), admin.actor, "contact", result.contact_id)
    assert [entry.title for entry in contact_timeline.items] == ["首次电话"]


def test_a_lead_is_converted_once_and_a_refused_conversion_changes_nothing(
    uow_factory: UowFactory, admin: Person, client
) -> None:
    lead_id = _lead(uow_factory, admin)
    with pytest.raises(ValidationFailed):
        leads.convert_lead(uow_factory(), admin.actor, lead_id, LeadConversion(account_id="no-such-account"))
    assert _accounts(uow_factory, admin) == []
    assert leads.get_lead(uow_factory(), admin.actor, lead_id).converted_at is None

    first = client.post(f"/api/v1/leads/{lead_id}/convert", json={}, headers=admin.headers)
    again = client.post(f"/api/v1/leads/{lead_id}/convert", json={}, headers=admin.headers)

    assert first.status_code == 200
    assert first.json()["account_created"] is True
    assert again.status_code == 409
    with pytest.raises(Conflict):
        leads.convert_lead(uow_factory(), admin.actor, lead_id, LeadConversion())


def test_an_existing_contact_linked_to_the_account_is_recorded_as_working_there(
    uow_factory: UowFactory, admin: Person
) -> None:
    previous = customers.create_account(uow_factory(), admin.actor, AccountCreate(name="得力集团"))
    gone = customers.create_account(uow_factory(), admin.actor, AccountCreate(name="已注销文具店"))
    contact = customers.create_contact(
        uow_factory(),
        admin.actor,
        ContactCreate.model_validate(
            {
                "family_name": "王",
                "given_name": "芳",
                "employments": [
                    {
                        "account_id": previous.id,
                        "title": "采购",
                        "is_primary": True,
                        "started_on": "2021-04-01",
                    },
                    {
                        "account_id": gone.id,
                        "title": "店员",
                        "started_on": "2015-01-01",
                        "ended_on": "2020-12-31",
                    },
                ],
            }
        ),
    )
    customers.delete_account(uow_factory(), admin.actor, gone.id)  # a job there must not block
    lead_id = leads.create_lead(
        uow_factory(),
        admin.actor,
        LeadCreate(
            family_name="王",
            given_name="芳",
            email="wang.fang@chenguang.example",
            company_name="上海晨光文具股份有限公司",
            title="采购总监",
        ),
    ).id

    result = leads.convert_lead(
        uow_factory(), admin.actor, lead_id, LeadConversion(contact_id=contact.id, create_account=True)
    )

    assert (result.contact_id, result.contact_created, result.account_created) == (contact.id, False, True)
    jobs = customers.get_contact(uow_factory(), admin.actor, contact.id).employments
    # The new job is added beside the others, kept exactly; the current primary stays primary.
    assert sorted(
        (job.account_name, job.title, job.is_primary, str(job.started_on), str(job.ended_on)) for job in jobs
    ) == [
        ("上海晨光文具股份有限公司", "采购总监", False, "None", "None"),
        ("已注销文具店", "店员", False, "2015-01-01", "2020-12-31"),
        ("得力集团", "采购", True, "2021-04-01", "None"),
    ]

    # Already working at the account: converting another lead into it changes nothing.
    second = leads.create_lead(
        uow_factory(),
        admin.actor,
        LeadCreate(family_name="王", given_name="芳", phone="13800138000", company_name="得力集团"),
    ).id
    before = customers.get_contact(uow_factory(), admin.actor, contact.id)
    leads.convert_lead(
        uow_factory(), admin.actor, second, LeadConversion(contact_id=contact.id, account_id=previous.id)
    )
    after = customers.get_contact(uow_factory(), admin.actor, contact.id)
    assert (after.employments, after.version) == (before.employments, before.version)
