"""Profiles linked to CRM contacts and accounts: the contact feed meets events whichever came
first, shared emails never join two people, group calls name accounts, merges and their undo
move contact and account links exactly, and the contact-creation rule."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import Engine, text, update
from tests.support.workers import run_until_idle

from loopcrm.app import register_tasks
from loopcrm.modules.cdp.identity import service as identity
from loopcrm.modules.cdp.identity.event_log import observation_of
from loopcrm.modules.cdp.identity.jobs import LINK_CONTACTS
from loopcrm.modules.cdp.identity.schemas import Identifier, MergeIn, Observation, ProfileOut
from loopcrm.modules.customers import service as customers
from loopcrm.modules.customers.models import Contact, CustomerSource
from loopcrm.modules.customers.schemas import AccountCreate, ContactCreate, EmailIn, PhoneIn
from loopcrm.platform.db import create_session_factory, utc_now
from loopcrm.platform.jobs.worker import Worker
from loopcrm.platform.permissions import system_actor
from loopcrm.platform.unit_of_work import UnitOfWork
from loopcrm.settings import Settings

from .conftest import START, graph_state, minutes

Send = Callable[..., Any]
Factory = Callable[[], UnitOfWork]


def _contact(uow_factory: Factory, **fields: Any) -> str:
    data = ContactCreate(**{"family_name": "王", "given_name": "芳", **fields})
    return customers.create_contact(uow_factory(), system_actor(), data).id


def _profile(uow_factory: Factory, profile_id: str) -> ProfileOut:
    return identity.get_profile(uow_factory(), system_actor(), profile_id)


def _resolved(send: Send, message: dict[str, Any], minute: float) -> str:
    resolution = send(message, minutes(minute))
    assert resolution is not None
    return str(resolution.profile_id)


def _group(uow_factory: Factory, user_id: str, group_id: str, minute: float) -> str:
    [resolution] = identity.resolve_many(
        uow_factory(),
        [Observation((Identifier("user_id", user_id),), minutes(minute), group_id=group_id)],
    )
    assert resolution is not None
    return resolution.profile_id


def test_an_anonymous_visitor_who_identifies_with_a_contacts_email_is_linked_to_that_contact(
    send: Send, uow_factory: Factory
) -> None:
    contact_id = _contact(uow_factory, emails=[EmailIn(address="fang@example.com")])
    identity.link_crm_contacts(uow_factory())
    visitor = _resolved(send, {"type": "page", "anonymousId": "anon-1"}, 0)
    assert _profile(uow_factory, visitor).contact_id is None

    profile_id = _resolved(
        send, {"type": "identify", "anonymousId": "anon-1", "traits": {"email": "Fang@Example.com"}}, 5
    )

    profile = _profile(uow_factory, profile_id)
    assert profile.contact_id == contact_id
    assert sorted((item.type, item.value) for item in profile.identities) == [
        ("anonymous_id", "anon-1"),
        ("email", "fang@example.com"),
    ]
    assert identity.current_profile_id(uow_factory(), visitor) == profile_id
    found = identity.profile_of_contact(uow_factory(), system_actor(), contact_id)
    assert found is not None and found.id == profile_id


def test_two_user_ids_sharing_a_contacts_email_stay_two_profiles(send: Send, uow_factory: Factory) -> None:
    contact_id = _contact(uow_factory, emails=[EmailIn(address="office@example.com")], external_id="u-1")
    identity.link_crm_contacts(uow_factory())

    first = _resolved(
        send, {"type": "identify", "userId": "u-1", "traits": {"email": "office@example.com"}}, 0
    )
    second = _resolved(
        send, {"type": "identify", "userId": "u-2", "traits": {"email": "office@example.com"}}, 1
    )

    assert first != second
    assert _profile(uow_factory, first).contact_id == contact_id
    other = _profile(uow_factory, second)
    assert other.contact_id is None
    assert [(item.type, item.value) for item in other.identities] == [("user_id", "u-2")]


def test_a_contact_created_before_or_after_the_events_meets_them(send: Send, uow_factory: Factory) -> None:
    before = _contact(uow_factory, phones=[PhoneIn(number="13912345678")])
    identity.link_crm_contacts(uow_factory())
    by_phone = _resolved(
        send, {"type": "identify", "userId": "shop-9", "traits": {"phone": "+86 139 1234 5678"}}, 0
    )
    early = _resolved(
        send, {"type": "identify", "anonymousId": "a-7", "traits": {"email": "li@example.com"}}, 1
    )
    assert _profile(uow_factory, early).contact_id is None

    after = _contact(uow_factory, emails=[EmailIn(address="LI@example.com")], external_id="crm-7")
    run = identity.link_crm_contacts(uow_factory())

    assert _profile(uow_factory, by_phone).contact_id == before
    profile = _profile(uow_factory, early)
    assert profile.contact_id == after
    # The contact's external id became the profile's user id, so its later events meet too.
    assert ("user_id", "crm-7") in [(item.type, item.value) for item in profile.identities]
    assert _resolved(send, {"type": "track", "userId": "crm-7", "event": "Ordered"}, 9) == early
    # The first contact is read again (it changed within the re-read window); feeding it twice
    # changes nothing.
    assert run.contacts_read == 2 and run.contacts_created == 0


def _linked(uow_factory: Factory, contact_ids: list[str]) -> list[bool]:
    return [
        identity.profile_of_contact(uow_factory(), system_actor(), contact_id) is not None
        for contact_id in contact_ids
    ]


def _people(uow_factory: Factory, count: int) -> list[str]:
    return [
        _contact(uow_factory, given_name=f"芳{number}", emails=[EmailIn(address=f"fang{number}@example.com")])
        for number in range(count)
    ]


def test_more_contacts_changed_within_a_minute_than_a_run_reads_are_all_fed_run_after_run(
    uow_factory: Factory,
) -> None:
    # Given five contacts saved within a second (as an import saves them), and runs of two,
    contact_ids = _people(uow_factory, 5)

    # when the feed runs three times,
    reads = [identity.link_crm_contacts(uow_factory(), max_contacts=2).contacts_read for _ in range(3)]

    # then each run went on where the last stopped, and every contact has its profile.
    assert reads == [2, 2, 1]
    assert _linked(uow_factory, contact_ids) == [True] * 5


def test_the_contact_linking_job_queues_runs_until_every_changed_contact_is_fed(
    settings: Settings, engine: Engine, uow_factory: Factory
) -> None:
    contact_ids = _people(uow_factory, 5)
    register_tasks()
    worker = Worker(
        create_session_factory(engine), settings.model_copy(update={"cdp_link_contacts_per_run": 2})
    )

    worker.tick_scheduler()
    run_until_idle(worker, engine)

    with engine.connect() as connection:
        runs = connection.scalar(
            text("SELECT count(*) FROM jobs WHERE name = :name"), {"name": LINK_CONTACTS}
        )
    assert runs == 3
    assert _linked(uow_factory, contact_ids) == [True] * 5


def test_a_contact_changed_more_than_a_minute_before_a_run_that_read_it_is_not_read_again(
    engine: Engine, uow_factory: Factory
) -> None:
    earlier = _people(uow_factory, 3)
    with engine.begin() as connection:  # saved two minutes ago: every transaction of then has committed
        connection.execute(
            update(Contact).values(updated_at=utc_now() - timedelta(minutes=2)).where(Contact.id.in_(earlier))
        )

    first = identity.link_crm_contacts(uow_factory())
    again = identity.link_crm_contacts(uow_factory())
    later = _contact(uow_factory, given_name="新", emails=[EmailIn(address="new@example.com")])
    after_a_change = identity.link_crm_contacts(uow_factory())

    assert (first.contacts_read, again.contacts_read, after_a_change.contacts_read) == (3, 0, 1)
    assert _linked(uow_factory, [*earlier, later]) == [True] * 4


def test_a_deleted_contact_is_unlinked_and_a_message_cannot_claim_a_contact(
    send: Send, uow_factory: Factory
) -> None:
    contact_id = _contact(uow_factory, emails=[EmailIn(address="gone@example.com")])
    identity.link_crm_contacts(uow_factory())
    profile_id = _resolved(
        send, {"type": "identify", "userId": "u-9", "traits": {"email": "gone@example.com"}}, 0
    )
    claimed = _resolved(
        send,
        {
            "type": "identify",
            "anonymousId": "a-x",
            "context": {"externalIds": [{"id": contact_id, "type": "crm_contact"}]},
        },
        1,
    )
    assert claimed != profile_id and _profile(uow_factory, claimed).contact_id is None

    customers.delete_contact(uow_factory(), system_actor(), contact_id)
    identity.link_crm_contacts(uow_factory())

    profile = _profile(uow_factory, profile_id)
    assert profile.contact_id is None
    assert [(item.type, item.value) for item in profile.identities] == [
        ("email", "gone@example.com"),
        ("user_id", "u-9"),
    ]


def test_group_calls_link_accounts_by_external_id_id_or_domain(uow_factory: Factory) -> None:
    actor = system_actor()
    by_external = customers.create_account(
        uow_factory(), actor, AccountCreate(name="华为", external_id="acme-1")
    ).id
    by_id = customers.create_account(uow_factory(), actor, AccountCreate(name="腾讯")).id
    by_domain = customers.create_account(
        uow_factory(), actor, AccountCreate(name="示例", website="https://www.example.cn")
    ).id

    profile_id = _group(uow_factory, "u-1", "acme-1", 0)
    _group(uow_factory, "u-1", by_id, 1)
    _group(uow_factory, "u-1", "Example.cn", 2)
    _group(uow_factory, "u-1", "acme-1", 3)  # a repeated call changes nothing
    _group(uow_factory, "u-1", "no-such-company", 4)  # kept; links once the account exists

    assert _profile(uow_factory, profile_id).account_ids == [by_external, by_id, by_domain]
    later = customers.create_account(
        uow_factory(), actor, AccountCreate(name="新公司", external_id="no-such-company")
    ).id
    assert _profile(uow_factory, profile_id).account_ids == [by_external, by_id, by_domain, later]


def test_a_group_event_in_the_log_names_its_group() -> None:
    fields = {
        "user_id": "u-1",
        "anonymous_id": None,
        "previous_id": None,
        "group_id": 42,
        "context": {},
        "properties": {"name": "Acme"},
        "timestamp": START,
    }
    observation = observation_of("group", fields)
    assert (observation.group_id, observation.traits) == ("42", {})
    assert observation_of("track", fields).group_id is None


def test_merge_then_unmerge_restores_contact_and_account_links_exactly(
    send: Send, engine: Engine, uow_factory: Factory
) -> None:
    contact_id = _contact(uow_factory, emails=[EmailIn(address="fang@example.com")])
    account_id = customers.create_account(
        uow_factory(), system_actor(), AccountCreate(name="华为", external_id="acme-1")
    ).id
    identity.link_crm_contacts(uow_factory())
    web = _resolved(
        send, {"type": "identify", "anonymousId": "anon-web", "traits": {"email": "fang@example.com"}}, 0
    )
    app = _group(uow_factory, "u-77", "acme-1", 1)
    _group(uow_factory, "u-77", "acme-2", 2)
    before = graph_state(engine)

    merge = identity.merge_profiles(
        uow_factory(), system_actor(), MergeIn(survivor_id=app, merged_id=web, note="x")
    )

    survivor = _profile(uow_factory, app)
    assert (survivor.contact_id, survivor.account_ids) == (contact_id, [account_id])
    assert _profile(uow_factory, web).contact_id is None

    identity.unmerge(uow_factory(), system_actor(), merge.id)

    assert graph_state(engine) == before
    survivor, merged = _profile(uow_factory, app), _profile(uow_factory, web)
    assert (survivor.contact_id, survivor.account_ids) == (None, [account_id])
    assert (merged.contact_id, merged.account_ids) == (contact_id, [])


def test_a_rule_merge_moves_group_memberships_and_its_undo_moves_them_back(
    send: Send, engine: Engine, uow_factory: Factory
) -> None:
    browser = _resolved(send, {"type": "page", "anonymousId": "anon-1"}, 0)
    [grouped] = identity.resolve_many(
        uow_factory(),
        [Observation((Identifier("anonymous_id", "anon-2"),), minutes(1), group_id="g-1")],
    )
    assert grouped is not None
    before = graph_state(engine)
    send(
        {"type": "page", "anonymousId": "anon-1", "context": {"traits": {"email": "x@example.com"}}},
        minutes(0),
    )
    joined = send(
        {"type": "identify", "anonymousId": "anon-2", "traits": {"email": "x@example.com"}}, minutes(0)
    )
    assert joined is not None and joined.profile_id == browser
    assert [row[:2] for row in graph_state(engine)["groups"]] == [(browser, "g-1")]

    [merge] = identity.list_merges(uow_factory(), system_actor(), grouped.profile_id)
    identity.unmerge(uow_factory(), system_actor(), merge.id)

    after = graph_state(engine)
    assert after["groups"] == before["groups"]


def test_the_creation_rule_makes_one_contact_per_identified_profile(send: Send, uow_factory: Factory) -> None:
    known = _contact(uow_factory, emails=[EmailIn(address="known@example.com")])
    identified = _resolved(
        send,
        {
            "type": "identify",
            "userId": "shop-1",
            "traits": {"email": "new@example.com", "firstName": "Lei", "lastName": "Li"},
        },
        0,
    )
    _resolved(send, {"type": "identify", "anonymousId": "a-2", "traits": {"email": "known@example.com"}}, 1)
    anonymous = _resolved(send, {"type": "page", "anonymousId": "a-3"}, 2)

    assert identity.link_crm_contacts(uow_factory()).contacts_created == 0  # the rule is off by default
    run = identity.link_crm_contacts(uow_factory(), create_contacts=True)
    again = identity.link_crm_contacts(uow_factory(), create_contacts=True)

    assert (run.contacts_created, again.contacts_created) == (1, 0)
    contact_id = _profile(uow_factory, identified).contact_id
    assert contact_id is not None and contact_id != known
    contact = customers.get_contact(uow_factory(), system_actor(), contact_id)
    assert (contact.family_name, contact.given_name, contact.external_id, contact.source) == (
        "Li",
        "Lei",
        "shop-1",
        CustomerSource.CDP,
    )
    assert [email.value for email in contact.emails or []] == ["new@example.com"]
    assert _profile(uow_factory, anonymous).contact_id is None


def test_profiles_the_creation_rule_passes_over_do_not_hold_back_the_ones_behind(
    send: Send, uow_factory: Factory
) -> None:
    # Given three profiles whose only email the CRM refuses (the graph keeps it), then one it takes,
    passed_over = [
        _resolved(
            send, {"type": "identify", "userId": f"odd-{n}", "traits": {"email": f"odd{n}@test.invalid"}}, n
        )
        for n in range(3)
    ]
    wanted = _resolved(
        send, {"type": "identify", "userId": "shop-9", "traits": {"email": "lei@example.com"}}, 5
    )

    # when the rule looks at two profiles a run,
    runs = [identity.link_crm_contacts(uow_factory(), create_contacts=True, max_created=2) for _ in range(3)]

    # then each run goes on after the last: the second reaches the profile behind, the third has
    # nothing left to look at.
    assert [(run.contacts_created, run.creation_full) for run in runs] == [(0, True), (1, True), (0, False)]
    assert _profile(uow_factory, wanted).contact_id is not None
    assert [_profile(uow_factory, profile).contact_id for profile in passed_over] == [None] * 3
