"""Data-subject export and erasure: the export holds every event and identity version of the
person and of every profile merged into them; erasure leaves no trace of the person in any table
(scanned as text), keeps an erasure record of ids and counts, leaves other people alone, and does
not let events still waiting in the log bring the person back."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine, MetaData, select, text
from tests.conftest import Person

from loopcrm.modules.cdp import service as cdp
from loopcrm.modules.cdp.computed import service as computed
from loopcrm.modules.cdp.identity import service as identity
from loopcrm.modules.cdp.identity.schemas import MergeIn
from loopcrm.modules.cdp.privacy import service as privacy
from loopcrm.modules.cdp.privacy.schemas import ErasureIn
from loopcrm.modules.cdp.schemas import SourceCreate
from loopcrm.platform.errors import Conflict, PermissionDenied
from loopcrm.platform.permissions import system_actor
from loopcrm.platform.unit_of_work import UnitOfWork

UowFactory = Callable[[], UnitOfWork]
# What identifies the person who asks for erasure, in every spelling a client may send.
LI_LEI = ("li.lei@example.com", "Li.Lei@Example.com", "13812345678", "李雷", "u-lilei", "anon-lilei")


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


def _texts_of_every_table(engine: Engine) -> dict[str, str]:
    """Every row of every table as one lower-cased text per table, the way a person searching a
    backup would see it."""
    metadata = MetaData()
    metadata.reflect(engine)
    found = {}
    with engine.connect() as connection:
        for table in metadata.sorted_tables:
            rows = connection.execute(select(table)).all()
            found[table.name] = "\n".join(repr(tuple(row)) for row in rows).lower()
    return found


def _event_ids(engine: Engine, profile_ids: list[str]) -> set[str]:
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT id, profile_id FROM cdp_events")).all()
    return {row.id for row in rows if row.profile_id in profile_ids}


def test_the_export_holds_every_event_identity_version_and_merged_profile(
    client: TestClient,
    uow_factory: UowFactory,
    engine: Engine,
    admin: Person,
    make_person: Callable[..., Person],
) -> None:
    known, anonymous, _han = _li_lei_and_han_meimei(client, uow_factory)

    answer = client.get(f"/api/v1/cdp/profiles/{known}/export", headers=admin.headers)
    marketer = make_person("marketer")
    refused = client.get(f"/api/v1/cdp/profiles/{known}/export", headers=marketer.headers)

    assert answer.status_code == 200, answer.text
    assert answer.headers["content-disposition"] == f'attachment; filename="profile-{known}.json"'
    assert answer.headers["cache-control"] == "no-store"
    export = answer.json()
    assert {event["id"] for event in export["events"]} == _event_ids(engine, [known, anonymous])
    assert len(export["events"]) == 3
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
    han_events = _event_ids(engine, [han])
    # Sent after the last identity run: still waiting in the log when the erasure runs.
    _send(
        client,
        uow_factory,
        [{"type": "track", "userId": "u-lilei", "event": "Came Back", "timestamp": "2026-11-02T01:00:00Z"}],
    )
    before = _texts_of_every_table(engine)
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
        "events": 3,
        "unresolved_events": 1,
        "identity_links": 5,  # anon-lilei before and after the merge, user id, email, phone
        "merges": 1,
        "dead_letters": 1,
        "computed_days": 3,
        "computed_activity": 2,
        "computed_orders": 1,
    }
    after = _texts_of_every_table(engine)
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
    assert privacy.is_erased(uow_factory(), system_actor(), known) is True


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
