"""The demo customers: the full plan passes the API's schemas and looks like a real pipeline; it is
the same for a seed in any process; loading writes it once, as the service would have."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import subprocess
import sys
from collections import Counter
from datetime import date

import pytest
from sqlalchemy import func, select

from loopcrm.modules.customers import service as customers
from loopcrm.modules.customers.demo import (
    CUSTOM_FIELDS,
    DEMO_SEED,
    TAGS,
    load_demo_customers,
    plan_demo_customers,
)
from loopcrm.modules.customers.demo.vocabulary import CITIES
from loopcrm.modules.customers.identifiers import normalize_credit_code
from loopcrm.modules.customers.models import (
    Account,
    AccountRelationship,
    Contact,
    ContactPoint,
    Employment,
    Industry,
    OperatingStatus,
    RelationshipKind,
    Tagging,
)
from loopcrm.modules.customers.names import is_chinese
from loopcrm.modules.customers.schemas import AccountCreate, ContactCreate, ListQuery, RelationshipIn
from loopcrm.platform.audit.models import AuditEntry
from loopcrm.platform.auth.demo import DEMO_ADMIN_EMAIL, DEMO_PEOPLE, create_demo_people
from loopcrm.platform.auth.models import Team, User
from loopcrm.platform.auth.service import actor_for_user
from loopcrm.platform.notifications import service as notifications
from loopcrm.platform.permissions import system_actor

TODAY = date(2026, 11, 23)
SMALL = {"accounts": 40, "contacts": 200}


def _digest(seed: int) -> str:
    plan = plan_demo_customers(seed, **SMALL, today=TODAY)
    text = json.dumps(dataclasses.asdict(plan), default=str, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def test_the_plan_is_the_same_for_a_seed_in_any_process_and_differs_for_another_seed():
    digest = _digest(7)
    script = (
        "import dataclasses, hashlib, json; from datetime import date;"
        "from loopcrm.modules.customers.demo import plan_demo_customers;"
        f"plan = plan_demo_customers(7, accounts={SMALL['accounts']}, contacts={SMALL['contacts']},"
        " today=date(2026, 11, 23));"
        "text = json.dumps(dataclasses.asdict(plan), default=str, sort_keys=True, ensure_ascii=False);"
        "print(hashlib.sha256(text.encode()).hexdigest())"
    )
    # Another process with another string hash seed: set iteration order must not leak in.
    other = subprocess.run(
        [sys.executable, "-c", script],
        env={**os.environ, "PYTHONHASHSEED": "12345"},
        capture_output=True,
        text=True,
        check=True,
    )

    assert other.stdout.strip() == digest
    assert _digest(7) == digest
    assert _digest(8) != digest


def test_the_full_plan_passes_the_api_schemas_and_reads_like_a_chinese_pipeline():
    plan = plan_demo_customers(DEMO_SEED, today=TODAY)
    accounts = [AccountCreate.model_validate(item.payload) for item in plan.accounts]
    contacts = [ContactCreate.model_validate(item.payload) for item in plan.contacts]
    for relationship in plan.relationships:
        RelationshipIn.model_validate(
            {"to_account_id": "x", "kind": relationship.kind, "note": relationship.note}
        )

    assert (len(accounts), len(contacts)) == (1000, 5000)

    # Credit codes: valid, unique, registered in a district of the account's own city.
    codes = [account.credit_code for account in accounts if account.credit_code]
    assert len(codes) == len(set(codes)) >= 950
    cities = {city.name: city for city in CITIES}
    for account in accounts:
        if account.credit_code:
            assert normalize_credit_code(account.credit_code) == account.credit_code
            city = cities[account.city or ""]
            assert account.province == city.province
            region = account.credit_code[2:8]
            if account.credit_code.startswith("51"):  # associations register with the city
                assert region == city.code
            else:
                assert account.credit_code.startswith("91")
                assert region in {district.code for district in city.districts}

    # About a fifth foreign, with English and Chinese names; a few groups and headquarters.
    foreign = [index for index, item in enumerate(plan.accounts) if item.is_foreign]
    assert 190 <= len(foreign) <= 210
    assert all(accounts[index].name_en and is_chinese(accounts[index].name) for index in foreign)
    assert sum(item.parent is not None for item in plan.accounts) >= 40
    assert {relationship.kind for relationship in plan.relationships} == set(RelationshipKind)

    industries = Counter(account.industry for account in accounts)
    assert industries.most_common(2)[0][0] in (Industry.MANUFACTURING, Industry.INFORMATION_TECHNOLOGY)
    skewed = (Industry.MANUFACTURING, Industry.INFORMATION_TECHNOLOGY, Industry.WHOLESALE_RETAIL)
    assert sum(industries[industry] for industry in skewed) >= 500
    sizes = sorted(account.employee_count or 0 for account in accounts)
    assert sizes[500] < 200 and sizes[-1] > 5_000  # a long tail
    statuses = Counter(account.operating_status for account in accounts)
    assert statuses[OperatingStatus.DORMANT] > 10 and statuses[OperatingStatus.DEREGISTERED] > 10

    # People: common surnames most often, the rare readings present, B2C and job changes.
    surnames = Counter(contact.family_name for contact in contacts)
    assert {name for name, _ in surnames.most_common(5)} <= set("王李张刘陈")
    assert surnames["单"] and surnames["解"] and surnames["曾"]
    consumers = [item for item in plan.contacts if not item.employments]
    assert 700 <= len(consumers) <= 800
    assert sum(len(item.employments) > 1 for item in plan.contacts) > 300
    assert sum(not is_chinese(contact.family_name) for contact in contacts) > 200
    mobiles = [phone.number for contact in contacts for phone in contact.phones if phone.label == "mobile"]
    assert all(number.startswith("+861") and len(number) == 14 for number in mobiles)
    # Only the planted duplicates share a mobile.
    assert 0 < len(mobiles) - len(set(mobiles)) <= 10

    # Owners: sales people of the team the record belongs to; consumers with marketing/service.
    people = {person.email: person for person in DEMO_PEOPLE}
    owners = Counter(item.owner for item in plan.accounts)
    assert {people[email].role for email in owners} <= {"sales_rep", "sales_manager"}
    assert all(people[item.owner].team == item.team for item in plan.accounts)
    assert all(people[item.owner].role in ("marketer", "service_agent") for item in consumers)
    reps = [person.email for person in DEMO_PEOPLE if person.role == "sales_rep"]
    assert all(owners[email] >= 100 for email in reps)

    assert {tag.name for tag in TAGS} == {tag for item in plan.accounts + plan.contacts for tag in item.tags}
    custom = Counter(
        key for item in plan.accounts + plan.contacts for key in item.payload.get("custom_fields", {})
    )
    assert custom["contract_value"] > 200 and custom["renewal_date"] > 200 and custom["level"] > 1000


def _load_small(uow_factory):
    create_demo_people(uow_factory, system_actor("demo"))
    return load_demo_customers(uow_factory, **SMALL, today=TODAY)


def _pairs(uow, statement) -> dict:
    return {key: value for key, value in uow.session.execute(statement)}


def _count(uow_factory, statement) -> int:
    with uow_factory() as uow:
        return uow.session.scalar(statement)


def _user_ids(uow_factory) -> dict[str, str]:
    with uow_factory() as uow:
        return _pairs(uow, select(User.email, User.id))


def test_loading_writes_the_plan_once_with_an_audit_entry_per_record_and_owners_by_team(uow_factory):
    plan = plan_demo_customers(DEMO_SEED, **SMALL, today=TODAY)

    result = _load_small(uow_factory)

    users = _user_ids(uow_factory)
    assert (result.created, result.accounts, result.contacts) == (True, 40, 200)
    assert _count(uow_factory, select(func.count()).select_from(Account)) == 40
    assert _count(uow_factory, select(func.count()).select_from(Contact)) == 200
    assert _count(uow_factory, select(func.count()).select_from(AccountRelationship)) == len(
        plan.relationships
    )
    jobs = sum(len(item.employments) for item in plan.contacts)
    assert _count(uow_factory, select(func.count()).select_from(Employment)) == jobs
    created = select(func.count()).where(
        AuditEntry.action == "create", AuditEntry.actor_id == users[DEMO_ADMIN_EMAIL]
    )
    assert _count(uow_factory, created.where(AuditEntry.object_type == "account")) == 40
    assert _count(uow_factory, created.where(AuditEntry.object_type == "contact")) == 200
    with uow_factory() as uow:
        owners = _pairs(uow, select(Account.id, Account.owner_id))
        owners |= _pairs(uow, select(Contact.id, Contact.owner_id))
    assert {subject_id: owner for _, subject_id, owner in result.subjects} == owners
    assert Counter(kind for kind, _, _ in result.subjects) == {"account": 40, "contact": 200}
    admin = actor_for_user(uow_factory(), users[DEMO_ADMIN_EMAIL])
    assert {field.key for field in customers.list_custom_fields(uow_factory(), admin)} == {
        field.key for field in CUSTOM_FIELDS
    }
    assert {tag.name for tag in customers.list_tags(uow_factory(), admin)} == {tag.name for tag in TAGS}
    _check_a_rep_sees_their_own_and_a_manager_their_team(uow_factory)
    audit_entries = _count(uow_factory, select(func.count()).select_from(AuditEntry))

    again = load_demo_customers(uow_factory, **SMALL, today=TODAY)

    assert not again.created and again.subjects == []
    assert _count(uow_factory, select(func.count()).select_from(Account)) == 40
    assert _count(uow_factory, select(func.count()).select_from(Contact)) == 200
    assert _count(uow_factory, select(func.count()).select_from(AuditEntry)) == audit_entries


def _check_a_rep_sees_their_own_and_a_manager_their_team(uow_factory):
    users = _user_ids(uow_factory)
    rep = actor_for_user(uow_factory(), users["zhang.wei@example.com"])
    manager = actor_for_user(uow_factory(), users["zhou.min@example.com"])
    with uow_factory() as uow:
        east = uow.session.scalar(select(Team.id).where(Team.name == "华东销售组"))
        own = uow.session.scalar(
            select(func.count()).where(Account.owner_id == users["zhang.wei@example.com"])
        )
        team = uow.session.scalar(select(func.count()).where(Account.team_id == east))

    seen_by_rep = customers.list_accounts(uow_factory(), rep, ListQuery(), limit=100, cursor=None).items
    seen_by_manager = customers.list_accounts(
        uow_factory(), manager, ListQuery(), limit=100, cursor=None
    ).items

    assert own > 0 and team > own
    assert len(seen_by_rep) == own
    assert {account.owner_id for account in seen_by_rep} == {users["zhang.wei@example.com"]}
    assert len(seen_by_manager) == team
    contacts = customers.list_contacts(uow_factory(), rep, ListQuery(), limit=200, cursor=None).items
    assert contacts and {contact.owner_id for contact in contacts} == {users["zhang.wei@example.com"]}
    assert all("birthday" in contact.masked_fields for contact in contacts)  # a rep's clearance
    # A few "assigned to you" notices for the newest accounts, not one per record.
    notices = notifications.list_notifications(uow_factory(), rep, limit=50, cursor=None).items
    assert len(notices) == min(3, own)


def _account_ids(uow_factory, plan) -> dict[int, str]:
    """Plan index → id of the loaded account, found by its unique credit code or name."""
    with uow_factory() as uow:
        by_code = _pairs(uow, select(Account.credit_code, Account.id))
        names = Counter(uow.session.scalars(select(Account.name)))
        by_name = _pairs(uow, select(Account.name, Account.id))
    found = {}
    for index, item in enumerate(plan.accounts):
        code = AccountCreate.model_validate(item.payload).credit_code
        if code:
            found[index] = by_code[code]
        elif names[item.payload["name"]] == 1:
            found[index] = by_name[item.payload["name"]]
    return found


def _row(uow, model, record_id, skip):
    row = uow.session.get(model, record_id)
    return {
        column.key: getattr(row, column.key) for column in model.__table__.columns if column.key not in skip
    }


def _related(uow, kind, record_id):
    points = uow.session.execute(
        select(
            ContactPoint.kind,
            ContactPoint.value,
            ContactPoint.search_key,
            ContactPoint.label,
            ContactPoint.is_primary,
            ContactPoint.position,
        )
        .where(ContactPoint.record_kind == kind, ContactPoint.record_id == record_id)
        .order_by(ContactPoint.kind, ContactPoint.position)
    ).all()
    tags = sorted(
        uow.session.scalars(
            select(Tagging.tag_id).where(Tagging.record_kind == kind, Tagging.record_id == record_id)
        )
    )
    created = uow.session.scalar(
        select(AuditEntry.changes).where(
            AuditEntry.object_id == record_id, AuditEntry.action == "create", AuditEntry.object_type == kind
        )
    )
    created.pop("consent_updated_at", None)  # when it was written, not what
    return points, tags, created


_NOT_COMPARED = {"id", "created_at", "updated_at", "deleted_at", "version", "consent_updated_at"}


def test_a_loaded_record_is_stored_exactly_as_the_service_stores_the_same_input(uow_factory):
    """The loader writes in bulk with the service's helpers; this catches the two drifting apart."""
    _load_small(uow_factory)
    plan = plan_demo_customers(DEMO_SEED, **SMALL, today=TODAY)
    users = _user_ids(uow_factory)
    admin = actor_for_user(uow_factory(), users[DEMO_ADMIN_EMAIL])
    with uow_factory() as uow:
        teams = _pairs(uow, select(Team.name, Team.id))
    tags = {tag.name: tag.id for tag in customers.list_tags(uow_factory(), admin)}
    ids = _account_ids(uow_factory, plan)

    def references(item):
        return {
            "owner_id": users[item.owner],
            "team_id": teams[item.team] if item.team else None,
            "tag_ids": [tags[name] for name in item.tags],
        }

    # The richest account with a credit code: phones, emails, tags and custom values if any.
    index = max(
        (
            i
            for i, item in enumerate(plan.accounts)
            if item.payload.get("credit_code") and item.parent is None
        ),
        key=lambda i: (
            len(plan.accounts[i].tags),
            "custom_fields" in plan.accounts[i].payload,
            len(plan.accounts[i].payload.get("phones", [])) + len(plan.accounts[i].payload.get("emails", [])),
        ),
    )
    loaded_id = ids[index]
    customers.delete_account(uow_factory(), admin, loaded_id)  # frees the credit code
    data = AccountCreate.model_validate({**plan.accounts[index].payload, **references(plan.accounts[index])})
    created_id = customers.create_account(uow_factory(), admin, data).id
    with uow_factory() as uow:
        assert _row(uow, Account, created_id, _NOT_COMPARED) == _row(uow, Account, loaded_id, _NOT_COMPARED)
        assert _related(uow, "account", created_id) == _related(uow, "account", loaded_id)

    # A contact with a work email of their own, a job change and known employers.
    for person in plan.contacts:
        if len(person.employments) < 2 or not all(job.account in ids for job in person.employments):
            continue
        emails = ContactCreate.model_validate(person.payload).emails
        if not emails or emails[0].label != "work":
            continue
        with uow_factory() as uow:
            found = uow.session.scalars(
                select(ContactPoint.record_id).where(
                    ContactPoint.record_kind == "contact", ContactPoint.search_key == emails[0].address
                )
            ).all()
        if len(found) == 1:  # not one of the planted duplicates
            loaded_id = found[0]
            break
    else:
        pytest.fail("the small plan has no contact to compare")
    employments = [
        {
            "account_id": ids[job.account],
            "title": job.title,
            "started_on": job.started_on,
            "ended_on": job.ended_on,
        }
        for job in person.employments
    ]
    data = ContactCreate.model_validate({**person.payload, **references(person), "employments": employments})
    created_id = customers.create_contact(uow_factory(), admin, data).id
    with uow_factory() as uow:
        assert _row(uow, Contact, created_id, _NOT_COMPARED) == _row(uow, Contact, loaded_id, _NOT_COMPARED)
        assert _related(uow, "contact", created_id) == _related(uow, "contact", loaded_id)
        jobs = [
            uow.session.execute(
                select(Employment.account_id, Employment.title, Employment.started_on, Employment.ended_on,
                       Employment.is_primary)
                .where(Employment.contact_id == contact_id)
                .order_by(Employment.started_on)
            ).all()
            for contact_id in (created_id, loaded_id)
        ]  # fmt: skip
        assert jobs[0] == jobs[1] and len(jobs[0]) == len(person.employments)
