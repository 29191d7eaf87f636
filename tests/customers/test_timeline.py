"""The timeline of accounts and contacts: an account's includes its contacts' activities,
each once, newest first; scope applies."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from loopcrm.modules.customers import service as customers
from loopcrm.modules.customers.schemas import AccountCreate, ContactCreate
from loopcrm.platform.errors import NotFound

from .conftest import log_call


def test_an_accounts_timeline_includes_its_contacts_activities_once(uow_factory, make_person):
    rep = make_person("sales_rep")
    account = customers.create_account(uow_factory(), rep.actor, AccountCreate(name="时间线公司"))
    buyer = customers.create_contact(
        uow_factory(),
        rep.actor,
        ContactCreate.model_validate(
            {"family_name": "周", "given_name": "杰", "employments": [{"account_id": account.id}]}
        ),
    )
    outsider = customers.create_contact(
        uow_factory(), rep.actor, ContactCreate(family_name="吴", given_name="敏")
    )
    start = datetime(2026, 11, 1, 9, tzinfo=UTC)
    log_call(uow_factory, rep.actor, "公司总机", [("account", account.id)], start)
    log_call(
        uow_factory,
        rep.actor,
        "采购沟通",
        [("contact", buyer.id), ("account", account.id)],
        start + timedelta(days=1),
    )
    log_call(uow_factory, rep.actor, "只与周杰", [("contact", buyer.id)], start + timedelta(days=2))
    log_call(uow_factory, rep.actor, "无关通话", [("contact", outsider.id)], start + timedelta(days=3))

    first = customers.timeline(uow_factory(), rep.actor, "account", account.id, limit=2)
    rest = customers.timeline(
        uow_factory(), rep.actor, "account", account.id, limit=2, cursor=first.next_cursor
    )
    of_buyer = customers.timeline(uow_factory(), rep.actor, "contact", buyer.id)

    assert [entry.title for entry in first.items] == ["只与周杰", "采购沟通"]
    assert [entry.title for entry in rest.items] == ["公司总机"]
    assert rest.next_cursor is None
    assert [entry.title for entry in of_buyer.items] == ["只与周杰", "采购沟通"]


def test_a_timeline_is_not_found_for_a_reader_outside_the_records_scope(uow_factory, make_person):
    alice = make_person("sales_rep")
    bob = make_person("sales_rep")
    account = customers.create_account(uow_factory(), alice.actor, AccountCreate(name="别人的公司"))

    with pytest.raises(NotFound):
        customers.timeline(uow_factory(), bob.actor, "account", account.id)
    with pytest.raises(NotFound):
        log_call(
            uow_factory, bob.actor, "越权记录", [("account", account.id)], datetime(2026, 11, 2, tzinfo=UTC)
        )


def test_the_api_serves_an_accounts_timeline_by_kind_and_hides_it_outside_the_scope(
    client, uow_factory, make_person
):
    rep = make_person("sales_rep")
    other = make_person("sales_rep")
    account = customers.create_account(uow_factory(), rep.actor, AccountCreate(name="接口公司"))
    buyer = customers.create_contact(
        uow_factory(),
        rep.actor,
        ContactCreate.model_validate(
            {"family_name": "周", "given_name": "杰", "employments": [{"account_id": account.id}]}
        ),
    )
    start = datetime(2026, 11, 1, 9, tzinfo=UTC)
    log_call(uow_factory, rep.actor, "公司总机", [("account", account.id)], start)
    log_call(uow_factory, rep.actor, "只与周杰", [("contact", buyer.id)], start + timedelta(days=1))

    everything = client.get(f"/api/v1/accounts/{account.id}/timeline", headers=rep.headers)
    calls = client.get(
        f"/api/v1/contacts/{buyer.id}/timeline", params={"kind": "call", "limit": 1}, headers=rep.headers
    )
    notes = client.get(f"/api/v1/contacts/{buyer.id}/timeline", params={"kind": "note"}, headers=rep.headers)
    hidden = client.get(f"/api/v1/accounts/{account.id}/timeline", headers=other.headers)

    assert everything.status_code == 200
    assert [entry["title"] for entry in everything.json()["items"]] == ["只与周杰", "公司总机"]
    assert [entry["title"] for entry in calls.json()["items"]] == ["只与周杰"]
    assert notes.json() == {"items": [], "next_cursor": None}
    assert hidden.status_code == 404
    assert hidden.headers["content-type"] == "application/problem+json"
