"""Data-subject export and erasure: the export holds every event and identity version of the
person and of every profile merged into them, their CRM contact and account links and the
matcher's decisions about them; erasure leaves no trace of the person in any table (scanned as
text) but their CRM contact's own record, keeps an erasure record of ids and counts, leaves other
people alone, and does not let events still waiting in the log bring the person back."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine, MetaData, select, text
from tests.conftest import Person
from tests.support.matching_fragments import matching_bench

from loopcrm.modules.cdp import service as cdp
from loopcrm.modules.cdp.computed import service as computed
from loopcrm.modules.cdp.identity import service as identity
from loopcrm.modules.cdp.identity.schemas import Identifier, MergeIn, Observation
from loopcrm.modules.cdp.matching import service as matching
from loopcrm.modules.cdp.matching.models import CandidateStatus
from loopcrm.modules.cdp.matching.schemas import RunIn
from loopcrm.modules.cdp.privacy import service as privacy
from loopcrm.modules.cdp.privacy.models import ErasureReason
from loopcrm.modules.cdp.privacy.schemas import ErasureIn
from loopcrm.modules.cdp.schemas import SourceCreate
from loopcrm.modules.customers import service as customers
from loopcrm.modules.customers.schemas import AccountCreate, ContactCreate, EmailIn
from loopcrm.platform.errors import Conflict, PermissionDenied
from loopcrm.platform.permissions import system_actor
from loopcrm.platform.unit_of_work import UnitOfWork

UowFactory = Callable[[], UnitOfWork]
# What identifies the person who asks for erasure, in every spelling a client may send.
LI_LEI = ("li.lei@example.com", "Li.Lei@Example.com", "13812345678", "李雷", "u-lilei", "anon-lilei")


@dataclass(frozen=True)
class Links:
    """What links Li Lei beyond his own profiles: a CRM contact with his email, an account his
    group call names, and a pair the matcher found between him and someone else, rejected."""

    contact_id: str
    account_id: str
    pair_id: str
    other_profile_id: str


def _send(client: TestClient, uow_factory: UowFactory, messages: list[dict[str, Any]]) -> str:
    source = cdp.create_source(uow_factory(), system_actor(), SourceCreate(name="Shop", channel="ecommerce"))
    answer = client.post("/v1/batch", json={"batch": messages, "writeKey": source.write_key})
    assert answer.status_code == 200, answer.text
    return source.write_key


def _process(uow_factory: UowFactory) -> None:
    identity.resolve_pending_events(uow_factory())
    computed.update_computed_traits(uow_factory())


def _li_lei_and_han_meimei(client: TestClient, uow_factory: UowFactory) -> tuple[str, str, str]:
    """Li Lei browses anonymously, then identifies; his anonymous profile is merged into his known
    one by hand. Han Meimei is someone else. Returns Li Lei's profile, his merged anonymous
    profile and Han Meimei's profile."""
    write_key = _send(
        client,
        uow_factory,
        [
            {
                "type": "page",
                "anonymousId": "anon-lilei",
                "name": "Home",
                "timestamp": "2026-11-01T01:00:00Z",
            },
            {
                "type": "identify",
                "userId": "u-lilei",
                "traits": {"email": "Li.Lei@Example.com", "phone": "138 1234 5678", "name": "李雷"},
                "context": {"consent": {"categoryPreferences": {"marketing": True}}},
                "timestamp": "2026-11-01T02:00:00Z",
            },
            {
                "type": "track",
                "userId": "u-lilei",
                "event": "Order Completed",
                "properties": {"order_id": "o-1", "total": 88.8, "shipping_name": "李雷"},
                "timestamp": "2026-11-01T03:00:00Z",
            },
            {
                "type": "identify",
                "userId": "u-han",
                "traits": {"email": "han.meimei@example.com", "name": "韩梅梅"},
                "timestamp": "2026-11-01T04:00:00Z",
            },
            {
                "type": "track",
                "userId": "u-han",
                "event": "Product Viewed",
                "timestamp": "2026-11-01T05:00:00Z",
            },
        ],
    )
    # A refused message that carries Li Lei's email (an unknown type goes to the dead letters).
    client.post(
        "/v1/batch",
        json={
            "batch": [{"type": "bogus", "userId": "u-lilei", "traits": {"email": "li.lei@example.com"}}],
            "writeKey": write_key,
        },
    )
    _process(uow_factory)
    known = identity.find_profile(uow_factory(), system_actor(), "user_id", "u-lilei")
    anonymous = identity.find_profile(uow_factory(), system_actor(), "anonymous_id", "anon-lilei")
    han = identity.find_profile(uow_factory(), system_actor(), "user_id", "u-han")
    assert known is not None and anonymous is not None and han is not None
    assert known.id != anonymous.id
    identity.merge_profiles(
        uow_factory(),
        system_actor(),
        MergeIn(survivor_id=known.id, merged_id=anonymous.id, note="same person"),
    )
    return known.id, anonymous.id, han.id


def _linked_everywhere(client: TestClient, uow_factory: UowFactory, known: str) -> Links:
    """Gives Li Lei (profile ``known``) a CRM contact with his email, linked by the contact feed;
    a group call naming an account; a birthday and city; and a pair with "Lei Li" — another
    person with his name in pinyin, his birthday and city and her own user id — that the matcher
    queues and a person rejects. The matcher's background is generated people without any of Li
    Lei's values."""
    actor = system_actor()
    account = customers.create_account(
        uow_factory(), actor, AccountCreate(name="Acme", external_id="acme-co")
    )
    contact = customers.create_contact(
        uow_factory(),
        actor,
        ContactCreate(family_name="李", given_name="雷", emails=[EmailIn(address="li.lei@example.com")]),
    )
    _send(
        client,
        uow_factory,
        [
            {"type": "group", "userId": "u-lilei", "groupId": "acme-co", "timestamp": "2026-11-01T06:00:00Z"},
            {
                "type": "identify",
                "userId": "u-lilei",
                "traits": {"birthday": "1988-02-29", "city": "杭州市"},
                "timestamp": "2026-11-01T07:00:00Z",
            },
        ],
    )
    _process(uow_factory)
    identity.link_crm_contacts(uow_factory())
    at = datetime(2026, 11, 1, 8, tzinfo=UTC)
    background = [
        traits
        for traits in matching_bench().generate_fragments(300, seed=9).traits
        if not any(value.lower() in repr(traits).lower() for value in LI_LEI)
    ]
    observations = [
        Observation((Identifier("anonymous_id", f"background-{index}"),), at, traits)
        for index, traits in enumerate(background)
    ]
    lei_li = {"name": "Lei Li", "birthday": "1988-02-29", "city": "杭州"}
    observations.append(Observation((Identifier("user_id", "u-leili"),), at, lei_li))
    resolutions = identity.resolve_many(uow_factory(), observations)
    other = resolutions[-1]
    assert other is not None
    run = matching.start_run(uow_factory(), actor, RunIn(auto_merge=False))
    matching.run_matching(uow_factory(), run.id)
    queue = matching.review_queue(uow_factory(), actor, limit=500).items
    [pair] = [item for item in queue if {item.left.id, item.right.id} == {known, other.profile_id}]
    assert pair.evidence and pair.match_probability > 0.5
    matching.reject_candidate(uow_factory(), actor, pair.id)
    return Links(contact.id, account.id, pair.id, other.profile_id)


def _texts_of_every_table(engine: Engine, contact_id: str | None = None) -> dict[str, str]:
    """Every row of every table as one lower-cased text per table, the way a person searching a
    backup would see it. With ``contact_id``, rows outside the CDP that name that CRM contact
    (the contact, its emails, its search index row, its audit entries) are left out: the contact
    is the sales team's record, governed by the customers module, and a CDP erasure keeps it."""
    metadata = MetaData()
    metadata.reflect(engine)
    found = {}
    with engine.connect() as connection:
        for table in metadata.sorted_tables:
            if contact_id is not None and table.name == "contacts_search":
                # SQLite's full-text index of contacts reads the contacts' rows by rowid.
                own = connection.execute(
                    text("SELECT rowid FROM contacts WHERE id = :id"), {"id": contact_id}
                )
                statement = text("SELECT rowid, * FROM contacts_search WHERE rowid <> :own")
                rows = connection.execute(statement, {"own": own.scalar_one()}).all()
            else:
                rows = connection.execute(select(table)).all()
            texts = [repr(tuple(row)) for row in rows]
            if contact_id is not None and not table.name.startswith("cdp_"):
                texts = [row for row in texts if contact_id not in row]
            found[table.name] = "\n".join(texts).lower()
    return found


def _event_ids(engine: Engine, profile_ids: list[str]) -> set[str]:
    with engine.connect() as connection:
        rows = connection.execute(
            text("SELECT id, profile_id FROM cdp_events JOIN cdp_event_attributions USING (sequence)")
        ).all()
    return {row.id for row in rows if row.profile_id in profile_ids}


def test_the_export_holds_every_event_identity_version_and_merged_profile(
    client: TestClient,
    uow_factory: UowFactory,
    engine: Engine,
    admin: Person,
    make_person: Callable[..., Person],
) -> None:
    known, anonymous, _han = _li_lei_and_han_meimei(client, uow_factory)
    links = _linked_everywhere(client, uow_factory, known)

    answer = client.get(f"/api/v1/cdp/profiles/{known}/export", headers=admin.headers)
    marketer = make_person("marketer")
    refused = client.get(f"/api/v1/cdp/profiles/{known}/export", headers=marketer.headers)

    assert answer.status_code == 200, answer.text
    assert answer.headers["content-disposition"] == f'attachment; filename="profile-{known}.json"'
    assert answer.headers["cache-control"] == "no-store"
    export = answer.json()
    assert {event["id"] for event in export["events"]} == _event_ids(engine, [known, anonymous])
    assert len(export["events"]) == 5
    assert sorted(profile["id"] for profile in export["profiles"]) == sorted([known, anonymous])
    anonymous_versions = [
        (identity_version["profile_id"], identity_version["closed_by"])
        for identity_version in export["identities"]
        if identity_version["value"] == "anon-lilei"
    ]
    assert anonymous_versions == [(anonymous, "merge"), (known, None)]
    assert {(item["type"], item["value"]) for item in export["identities"]} >= {
        ("email", "li.lei@example.com"),
        ("phone", "+8613812345678"),
        ("user_id", "u-lilei"),
    }
    assert "crm_contact" not in {item["type"] for item in export["identities"]}
    assert [
        (link["contact_id"], link["profile_id"], link["opened_by"], link["valid_to"])
        for link in export["contact_links"]
    ] == [(links.contact_id, known, "observed", None)]
    assert [
        (link["group_id"], link["account_id"], link["profile_id"], link["valid_to"])
        for link in export["group_links"]
    ] == [("acme-co", links.account_id, known, None)]
    [decision] = export["match_decisions"]
    assert (decision["id"], decision["profile_id"], decision["other_profile_id"], decision["status"]) == (
        links.pair_id,
        known,
        None,  # the other side is another person's profile
        "rejected",
    )
    assert {item["comparison"] for item in decision["evidence"]} >= {"name", "birthday", "city"}
    assert links.other_profile_id not in answer.text
    survivor = next(profile for profile in export["profiles"] if profile["id"] == known)
    assert survivor["traits"]["name"] == "李雷"
    assert survivor["consent"]["marketing"]["granted"] is True
    assert export["merges"][0]["survivor_id"] == known
    assert export["computed_traits"]["orders"][-1] == {
        "window": "all",
        "order_count": 1,
        "spend": [{"currency": "CNY", "amount": "88.8"}],
    }
    assert refused.status_code == 403  # reading profiles is not enough to export them
    with engine.connect() as connection:
        audited = (
            connection.execute(
                text("SELECT action FROM audit_entries WHERE object_type = 'profile' AND object_id = :id"),
                {"id": known},
            )
            .scalars()
            .all()
        )
    assert "read" in audited


def test_erasure_leaves_no_personal_data_in_any_table_and_keeps_its_record(
    client: TestClient, uow_factory: UowFactory, engine: Engine, admin: Person
) -> None:
    known, anonymous, han = _li_lei_and_han_meimei(client, uow_factory)
    links = _linked_everywhere(client, uow_factory, known)
    han_events = _event_ids(engine, [han])
    # Sent after the last identity run: still waiting in the log when the erasure runs.
    _send(
        client,
        uow_factory,
        [{"type": "track", "userId": "u-lilei", "event": "Came Back", "timestamp": "2026-11-02T01:00:00Z"}],
    )
    before = _texts_of_every_table(engine, links.contact_id)
    holding = {
        table for table, content in before.items() if any(value.lower() in content for value in LI_LEI)
    }
    assert holding >= {
        "cdp_events",
        "cdp_identity_links",
        "cdp_profiles",
        "cdp_profile_merges",
        "cdp_dead_letters",
    }
    assert "李雷" in before["cdp_profiles"]  # the scan reads JSON as text, Chinese included
    assert "li.lei@example.com" in _texts_of_every_table(engine)["contact_points"]

    answer = client.post(
        f"/api/v1/cdp/profiles/{known}/erasure",
        json={"reason": "data_subject_request", "reference": "DSR-2026-0042"},
        headers=admin.headers,
    )
    _process(uow_factory)  # the jobs run again: nothing may bring Li Lei back

    assert answer.status_code == 200, answer.text
    record = answer.json()
    assert record["profile_ids"] == sorted([known, anonymous])
    assert record["counts"] == {
        "profiles": 2,
        "events": 5,
        "unresolved_events": 1,
        "identity_links": 5,  # anon-lilei before and after the merge, user id, email, phone
        "contact_links": 1,
        "group_links": 1,
        "match_pairs_deleted": 0,
        "match_pairs_blanked": 1,  # the rejected pair: its ids and status stay
        "merges": 1,
        "dead_letters": 1,
        "computed_days": 4,
        "computed_activity": 2,
        "computed_orders": 1,
    }
    assert record["kept_contact_ids"] == [links.contact_id]
    after = _texts_of_every_table(engine, links.contact_id)
    leaks = {
        table: [value for value in LI_LEI if value.lower() in content]
        for table, content in after.items()
        if any(value.lower() in content for value in LI_LEI)
    }
    assert leaks == {}
    assert identity.find_profile(uow_factory(), system_actor(), "user_id", "u-lilei") is None
    assert _event_ids(engine, [han]) == han_events
    han_profile = identity.get_profile(uow_factory(), system_actor(), han)
    assert han_profile.traits == {"email": "han.meimei@example.com", "name": "韩梅梅"}
    with engine.connect() as connection:
        erasures = connection.execute(
            text("SELECT id, profile_id, reason, reference FROM cdp_erasures")
        ).all()
        audit = connection.execute(
            text("SELECT action, changes FROM audit_entries WHERE object_id = :id AND action = 'delete'"),
            {"id": known},
        ).all()
    assert [(row.id, row.profile_id, row.reason, row.reference) for row in erasures] == [
        (record["id"], known, "data_subject_request", "DSR-2026-0042")
    ]
    assert len(audit) == 1 and record["id"] in str(audit[0].changes)
    assert links.contact_id in str(audit[0].changes)
    assert privacy.is_erased(uow_factory(), system_actor(), known) is True
    [kept] = privacy.erasures_of(uow_factory(), system_actor(), known)
    assert kept.kept_contact_ids == [links.contact_id]
    # The CRM contact stays, untouched: the customers module governs it.
    contact = customers.get_contact(uow_factory(), system_actor(), links.contact_id)
    assert [email.value for email in contact.emails or []] == ["li.lei@example.com"]
    with engine.connect() as connection:
        memberships = connection.execute(text("SELECT profile_id FROM cdp_group_links")).all()
        pairs = connection.execute(
            text(
                "SELECT id, status, evidence, reason_detail, match_probability FROM cdp_match_candidates"
                " WHERE left_profile_id IN (:a, :b) OR right_profile_id IN (:a, :b)"
            ),
            {"a": known, "b": anonymous},
        ).all()
    assert [row.profile_id for row in memberships if row.profile_id in (known, anonymous)] == []
    assert [(row.id, row.status, row.reason_detail, row.match_probability) for row in pairs] == [
        (links.pair_id, CandidateStatus.REJECTED.value, None, 0.0)
    ]
    assert pairs[0].evidence in ([], "[]")
    # While the contact lives, the contact feed mirrors it again (ADR 0011) — as a new profile
    # holding only the contact's own identifiers, none of what was erased.
    identity.link_crm_contacts(uow_factory())
    mirror = identity.profile_of_contact(uow_factory(), system_actor(), links.contact_id)
    assert mirror is not None and mirror.id not in (known, anonymous)
    assert mirror.traits == {}
    assert {(item.type, item.value) for item in mirror.identities} == {("email", "li.lei@example.com")}
    assert _event_ids(engine, [mirror.id]) == set()


def test_only_who_may_erase_can_and_only_once_on_the_surviving_profile(
    client: TestClient, uow_factory: UowFactory, admin: Person, make_person: Callable[..., Person]
) -> None:
    known, anonymous, _han = _li_lei_and_han_meimei(client, uow_factory)
    request = ErasureIn(reason="data_subject_request")
    marketer = make_person("marketer")

    refused = client.post(
        f"/api/v1/cdp/profiles/{known}/erasure",
        json={"reason": "data_subject_request"},
        headers=marketer.headers,
    )
    free_text = client.post(
        f"/api/v1/cdp/profiles/{known}/erasure",
        json={"reason": "data_subject_request", "reference": "Li Lei li.lei@example.com"},
        headers=admin.headers,
    )
    assert refused.status_code == 403
    assert free_text.status_code == 422
    try:
        privacy.erase_profile(uow_factory(), admin.actor, anonymous, request)
        raise AssertionError("a merged profile was erased on its own")
    except Conflict as error:
        assert error.params == {"profile_id": anonymous, "survivor_id": known}
    privacy.erase_profile(uow_factory(), admin.actor, known, request)
    again = client.post(
        f"/api/v1/cdp/profiles/{known}/erasure", json={"reason": "legal_order"}, headers=admin.headers
    )
    export = client.get(f"/api/v1/cdp/profiles/{known}/export", headers=admin.headers)
    assert again.status_code == 409
    assert export.status_code == 409
    try:
        privacy.erase_profile(uow_factory(), marketer.actor, known, request)
        raise AssertionError("a marketer erased a profile")
    except PermissionDenied:
        pass


def test_the_pages_show_computed_traits_download_the_export_and_confirm_the_erasure(
    client: TestClient,
    uow_factory: UowFactory,
    admin: Person,
    sign_in: Callable[..., Any],
    post_form: Callable[..., Any],
) -> None:
    known, _anonymous, _han = _li_lei_and_han_meimei(client, uow_factory)
    sign_in(admin.user.email)

    panel = client.get(f"/cdp/profiles/{known}/computed-traits", headers={"HX-Request": "true"})
    download = client.get(f"/cdp/profiles/{known}/export")
    erase_page = f"/cdp/profiles/{known}/erase"
    unconfirmed = post_form(erase_page, erase_page, {"reason": "retention_expired", "reference": "R-1"})
    confirmed = post_form(
        erase_page, erase_page, {"reason": "retention_expired", "reference": "R-1", "confirmed": "on"}
    )
    record_page = client.get(erase_page)

    assert panel.status_code == 200
    assert "Order Completed" in panel.text and f"/cdp/profiles/{known}/erase" in panel.text
    assert download.status_code == 200 and download.json()["profile_id"] == known
    assert unconfirmed.status_code == 422
    assert 'value="R-1"' in unconfirmed.text and 'aria-invalid="true"' in unconfirmed.text
    assert confirmed.status_code == 303 and confirmed.headers["location"] == erase_page
    assert record_page.status_code == 200 and "R-1" in record_page.text
    assert 'name="confirmed"' not in record_page.text


def test_erasure_waits_for_a_running_matching_run_and_shows_the_kept_contact(
    client: TestClient, uow_factory: UowFactory, engine: Engine, admin: Person, sign_in: Callable[..., Any]
) -> None:
    known, _anonymous, _han = _li_lei_and_han_meimei(client, uow_factory)
    contact = customers.create_contact(
        uow_factory(),
        system_actor(),
        ContactCreate(family_name="李", given_name="雷", emails=[EmailIn(address="li.lei@example.com")]),
    )
    identity.link_crm_contacts(uow_factory())
    run = matching.start_run(uow_factory(), system_actor())
    with engine.begin() as connection:  # a worker has started it and read every profile
        connection.execute(
            text("UPDATE cdp_matching_runs SET status = 'running' WHERE id = :id"), {"id": run.id}
        )
    request = ErasureIn(reason=ErasureReason.CONSENT_WITHDRAWN)

    try:
        privacy.erase_profile(uow_factory(), admin.actor, known, request)
        raise AssertionError("erased while a matching run held the person's data")
    except Conflict as error:
        assert "matching run" in str(error)
    with engine.begin() as connection:
        connection.execute(
            text("UPDATE cdp_matching_runs SET status = 'failed' WHERE id = :id"), {"id": run.id}
        )
    erased = privacy.erase_profile(uow_factory(), admin.actor, known, request)
    sign_in(admin.user.email)
    page = client.get(f"/cdp/profiles/{known}/erase")

    assert erased.kept_contact_ids == [contact.id]
    assert erased.counts["contact_links"] == 1
    assert page.status_code == 200
    assert f'href="/customers/contacts/{contact.id}"' in page.text
    assert "已删除的 CRM 联系人关联版本" in page.text  # the default language is zh-CN
