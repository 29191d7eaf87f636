"""The 360° profile over the REST API: search by each kind of identifier, a profile's events in
pages, its timeline, who may read and merge, and a manual merge undone through the API."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from tests.conftest import Person

from loopcrm.modules.cdp import service as cdp
from loopcrm.modules.cdp.identity import service as identity
from loopcrm.modules.cdp.models import ChannelType
from loopcrm.modules.cdp.schemas import SourceCreate
from loopcrm.modules.customers import service as customers
from loopcrm.modules.customers.schemas import ContactCreate, EmailIn
from loopcrm.platform.permissions import system_actor
from loopcrm.platform.unit_of_work import UnitOfWork

# One person seen on the web, then identified, then on WeChat and in the app.
LI_LEI: list[dict[str, Any]] = [
    {"type": "page", "anonymousId": "anon-li", "name": "Home", "timestamp": "2026-12-01T08:00:00Z"},
    {
        "type": "identify",
        "anonymousId": "anon-li",
        "userId": "u-li",
        "traits": {"email": "Li.Lei@Example.com", "phone": "138 0013 8000", "name": "李雷"},
        "timestamp": "2026-12-01T08:01:00Z",
    },
    {
        "type": "track",
        "userId": "u-li",
        "event": "Order Completed",
        "properties": {"total": 199.5},
        "context": {
            "externalIds": [
                {"id": "union-li", "type": "wechat_unionid", "collection": "users"},
                {"id": "open-li", "type": "wechat_openid:wx01", "collection": "users"},
                {"id": "buyer-9", "type": "tmall_buyer_id", "collection": "users"},
            ],
            "device": {"id": "device-li"},
        },
        "timestamp": "2026-12-01T08:02:00Z",
    },
    {"type": "track", "userId": "u-li", "event": "Cart Viewed", "timestamp": "2026-12-01T08:03:00Z"},
    {"type": "screen", "userId": "u-li", "name": "Checkout", "timestamp": "2026-12-01T08:04:00Z"},
]


def _ingest(
    client: TestClient, uow_factory: Callable[[], UnitOfWork], messages: list[dict[str, Any]]
) -> None:
    """Send messages through /v1/batch and run the identity job over them, as the worker would."""
    source = cdp.create_source(
        uow_factory(), system_actor(), SourceCreate(name="Shop", channel=ChannelType.WEB)
    )
    answer = client.post("/v1/batch", json={"batch": messages, "writeKey": source.write_key})
    assert answer.status_code == 200, answer.text
    identity.resolve_pending_events(uow_factory())


def _search(client: TestClient, person: Person, **params: str) -> Any:
    return client.get("/api/v1/cdp/profiles", params=params, headers=person.headers)


@pytest.fixture
def li_lei(client: TestClient, uow_factory: Callable[[], UnitOfWork], admin: Person) -> dict[str, Any]:
    _ingest(client, uow_factory, LI_LEI)
    found = _search(client, admin, identifier_type="user_id", identifier="u-li")
    assert found.status_code == 200, found.text
    [profile] = found.json()["items"]
    return dict(profile)


@pytest.mark.parametrize(
    ("identifier_type", "identifier"),
    [
        ("email", " LI.LEI@example.COM "),
        ("phone", "+86 138-0013-8000"),
        ("phone", "13800138000"),
        ("user_id", "u-li"),
        ("anonymous_id", "anon-li"),
        ("device_id", "device-li"),
        ("wechat_unionid", "union-li"),
        ("wechat_openid:wx01", "open-li"),
        ("wechat_openid", "open-li"),
        ("tmall_buyer_id", "buyer-9"),
        (None, "li.lei@example.com"),
        (None, "138 0013 8000"),
        (None, "union-li"),
        (None, "buyer-9"),
    ],
)
def test_a_profile_is_found_by_each_kind_of_identifier(
    client: TestClient,
    admin: Person,
    li_lei: dict[str, Any],
    identifier_type: str | None,
    identifier: str,
) -> None:
    params = {"identifier": identifier} | ({"identifier_type": identifier_type} if identifier_type else {})

    found = _search(client, admin, **params)

    assert found.status_code == 200, found.text
    assert [item["id"] for item in found.json()["items"]] == [li_lei["id"]]


def test_the_profile_shows_its_identities_and_traits_and_carries_an_etag(
    client: TestClient, admin: Person, li_lei: dict[str, Any]
) -> None:
    read = client.get(f"/api/v1/cdp/profiles/{li_lei['id']}", headers=admin.headers)
    identities = client.get(f"/api/v1/cdp/profiles/{li_lei['id']}/identities", headers=admin.headers)

    assert read.status_code == 200
    assert read.headers["etag"] == f'"{read.json()["version"]}"'
    assert read.json()["traits"] == {"email": "Li.Lei@Example.com", "phone": "138 0013 8000", "name": "李雷"}
    assert read.json()["masked_fields"] == [] and read.json()["merged_into"] is None
    assert sorted((item["type"], item["value"]) for item in identities.json()) == [
        ("anonymous_id", "anon-li"),
        ("device_id", "device-li"),
        ("email", "li.lei@example.com"),
        ("phone", "+8613800138000"),
        ("tmall_buyer_id", "buyer-9"),
        ("user_id", "u-li"),
        ("wechat_openid:wx01", "open-li"),
        ("wechat_unionid", "union-li"),
    ]


def test_bad_searches_are_problem_documents_and_an_unknown_holder_is_an_empty_page(
    client: TestClient, admin: Person, li_lei: dict[str, Any]
) -> None:
    unknown_type = _search(client, admin, identifier_type="passport", identifier="E123")
    bad_email = _search(client, admin, identifier_type="email", identifier="not-an-email")
    placeholder = _search(client, admin, identifier_type="user_id", identifier="undefined")
    type_alone = _search(client, admin, identifier_type="email")
    nobody = _search(client, admin, identifier_type="email", identifier="han.meimei@example.com")
    missing = client.get("/api/v1/cdp/profiles/0190aaaa-0000-7000-8000-000000000000", headers=admin.headers)

    assert unknown_type.status_code == 422
    assert unknown_type.headers["content-type"].startswith("application/problem+json")
    assert [(error["field"], error["code"]) for error in unknown_type.json()["errors"]] == [
        ("identifier_type", "unknown_identifier_type")
    ]
    assert [error["code"] for error in bad_email.json()["errors"]] == ["invalid_identifier"]
    assert [error["code"] for error in placeholder.json()["errors"]] == ["invalid_identifier"]
    assert [error["code"] for error in type_alone.json()["errors"]] == ["missing_identifier"]
    assert (bad_email.status_code, placeholder.status_code, type_alone.status_code) == (422, 422, 422)
    assert nobody.status_code == 200 and nobody.json() == {"items": [], "next_cursor": None}
    assert missing.status_code == 404


def test_events_come_newest_first_in_pages_and_filter_by_name_and_type(
    client: TestClient, admin: Person, li_lei: dict[str, Any]
) -> None:
    path = f"/api/v1/cdp/profiles/{li_lei['id']}/events"

    first = client.get(path, params={"limit": 2}, headers=admin.headers).json()
    second = client.get(
        path, params={"limit": 2, "cursor": first["next_cursor"]}, headers=admin.headers
    ).json()
    third = client.get(
        path, params={"limit": 2, "cursor": second["next_cursor"]}, headers=admin.headers
    ).json()
    by_name = client.get(path, params={"event": "Order Completed"}, headers=admin.headers).json()
    by_type = client.get(path, params={"type": "track"}, headers=admin.headers).json()
    bad_type = client.get(path, params={"type": "purchase"}, headers=admin.headers)
    bad_cursor = client.get(path, params={"cursor": "bm9wZQ"}, headers=admin.headers)

    names = [(event["type"], event["event"]) for page in (first, second, third) for event in page["items"]]
    assert names == [
        ("screen", "Checkout"),
        ("track", "Cart Viewed"),
        ("track", "Order Completed"),
        ("identify", None),
        ("page", "Home"),
    ]
    assert third["next_cursor"] is None
    assert [event["properties"] for event in by_name["items"]] == [{"total": 199.5}]
    assert [event["event"] for event in by_type["items"]] == ["Cart Viewed", "Order Completed"]
    assert (bad_type.status_code, bad_cursor.status_code) == (422, 422)


def test_the_timeline_pages_events_and_filters_them_by_kind(
    client: TestClient, admin: Person, li_lei: dict[str, Any]
) -> None:
    path = f"/api/v1/cdp/profiles/{li_lei['id']}/timeline"

    first = client.get(path, params={"limit": 3}, headers=admin.headers).json()
    rest = client.get(path, params={"limit": 3, "cursor": first["next_cursor"]}, headers=admin.headers).json()
    actions = client.get(path, params={"kind": "cdp_track"}, headers=admin.headers).json()
    views = client.get(path, params={"kind": ["cdp_page", "cdp_identify"]}, headers=admin.headers).json()
    unknown = client.get(path, params={"kind": "purchase"}, headers=admin.headers)

    entries = first["items"] + rest["items"]
    assert [(entry["kind"], entry["title"]) for entry in entries] == [
        ("cdp_page", "Checkout"),
        ("cdp_track", "Cart Viewed"),
        ("cdp_track", "Order Completed"),
        ("cdp_identify", "u-li"),
        ("cdp_page", "Home"),
    ]
    assert rest["next_cursor"] is None
    assert {entry["source"] for entry in entries} == {"cdp_events"}
    assert entries[2]["summary"] == "total: 199.5" and entries[2]["event"]["properties"] == {"total": 199.5}
    assert [entry["title"] for entry in actions["items"]] == ["Cart Viewed", "Order Completed"]
    assert [entry["title"] for entry in views["items"]] == ["Checkout", "u-li", "Home"]
    assert unknown.status_code == 422
    assert [error["code"] for error in unknown.json()["errors"]] == ["unknown_kind"]


def test_a_sales_rep_without_profile_rights_gets_403_and_a_marketer_may_read_and_merge(
    client: TestClient,
    uow_factory: Callable[[], UnitOfWork],
    make_person: Callable[..., Person],
    li_lei: dict[str, Any],
) -> None:
    rep, marketer = make_person("sales_rep"), make_person("marketer")
    profile_path = f"/api/v1/cdp/profiles/{li_lei['id']}"
    _ingest(client, uow_factory, [{"type": "track", "anonymousId": "anon-other", "event": "Viewed"}])
    [other] = _search(client, marketer, identifier_type="anonymous_id", identifier="anon-other").json()[
        "items"
    ]

    rep_answers = [
        client.get("/api/v1/cdp/profiles", headers=rep.headers).status_code,
        client.get(profile_path, headers=rep.headers).status_code,
        client.get(f"{profile_path}/identities", headers=rep.headers).status_code,
        client.get(f"{profile_path}/events", headers=rep.headers).status_code,
        client.get(f"{profile_path}/timeline", headers=rep.headers).status_code,
        client.get(f"{profile_path}/merges", headers=rep.headers).status_code,
        client.post(
            "/api/v1/cdp/merges",
            json={"survivor_id": li_lei["id"], "merged_id": other["id"], "note": "same"},
            headers=rep.headers,
        ).status_code,
        client.put(
            "/api/v1/cdp/trait-strategies/plan", json={"strategy": "oldest"}, headers=rep.headers
        ).status_code,
    ]
    marketer_read = client.get(profile_path, headers=marketer.headers)
    marketer_merge = client.post(
        "/api/v1/cdp/merges",
        json={"survivor_id": li_lei["id"], "merged_id": other["id"], "note": "same person"},
        headers=marketer.headers,
    )

    assert rep_answers == [403] * 8
    assert marketer_read.status_code == 200 and marketer_read.json()["identities"]
    assert marketer_merge.status_code == 201, marketer_merge.text


def test_a_manual_merge_through_the_api_moves_identities_and_events_and_undo_restores_them(
    client: TestClient,
    uow_factory: Callable[[], UnitOfWork],
    admin: Person,
    li_lei: dict[str, Any],
) -> None:
    # Given a second profile the shop knows to be Li Lei (a phone order, never linked by the rules)
    _ingest(
        client,
        uow_factory,
        [
            {
                "type": "track",
                "anonymousId": "anon-phone",
                "event": "Phone Order",
                "traits": {"phone": "139 0000 0001"},
                "context": {"traits": {"phone": "139 0000 0001"}},
                "timestamp": "2026-12-02T09:00:00Z",
            }
        ],
    )
    [other] = _search(client, admin, identifier="139 0000 0001").json()["items"]
    survivor_path = f"/api/v1/cdp/profiles/{li_lei['id']}"

    # When an admin merges it by hand
    merged = client.post(
        "/api/v1/cdp/merges",
        json={"survivor_id": li_lei["id"], "merged_id": other["id"], "note": "same buyer, phone order"},
        headers=admin.headers,
    )
    after_merge_events = client.get(f"{survivor_path}/events", headers=admin.headers).json()["items"]
    by_phone = _search(client, admin, identifier_type="phone", identifier="13900000001").json()["items"]
    merged_profile = client.get(f"/api/v1/cdp/profiles/{other['id']}", headers=admin.headers).json()
    merges = client.get(f"{survivor_path}/merges", headers=admin.headers).json()

    # Then the survivor holds the phone and the event; the merged profile points at it
    assert merged.status_code == 201, merged.text
    merge = merged.json()
    assert (merge["reason"], merge["note"], merge["undone_at"]) == ("manual", "same buyer, phone order", None)
    assert after_merge_events[0]["event"] == "Phone Order" and len(after_merge_events) == 6
    assert [item["id"] for item in by_phone] == [li_lei["id"]]
    assert merged_profile["merged_into"] == li_lei["id"]
    assert [item["id"] for item in merges] == [merge["id"]]

    # When the merge is undone
    undone = client.post(f"/api/v1/cdp/merges/{merge['id']}/undo", headers=admin.headers)
    again = client.post(f"/api/v1/cdp/merges/{merge['id']}/undo", headers=admin.headers)

    # Then both profiles are as they were, and a second undo is a conflict
    assert undone.status_code == 200 and undone.json()["undone_at"] is not None
    assert again.status_code == 409
    assert len(client.get(f"{survivor_path}/events", headers=admin.headers).json()["items"]) == 5
    assert [item["id"] for item in _search(client, admin, identifier="13900000001").json()["items"]] == [
        other["id"]
    ]
    assert (
        client.get(f"/api/v1/cdp/profiles/{other['id']}", headers=admin.headers).json()["merged_into"] is None
    )


def test_a_merge_the_rules_forbid_is_a_conflict_and_a_bad_body_is_422(
    client: TestClient, uow_factory: Callable[[], UnitOfWork], admin: Person, li_lei: dict[str, Any]
) -> None:
    _ingest(client, uow_factory, [{"type": "identify", "userId": "u-han", "traits": {"name": "韩梅梅"}}])
    [han] = _search(client, admin, identifier_type="user_id", identifier="u-han").json()["items"]

    two_user_ids = client.post(
        "/api/v1/cdp/merges",
        json={"survivor_id": li_lei["id"], "merged_id": han["id"], "note": "same?"},
        headers=admin.headers,
    )
    no_note = client.post(
        "/api/v1/cdp/merges",
        json={"survivor_id": li_lei["id"], "merged_id": han["id"]},
        headers=admin.headers,
    )
    unknown_merge = client.post(
        "/api/v1/cdp/merges/0190aaaa-0000-7000-8000-000000000000/undo", headers=admin.headers
    )

    assert two_user_ids.status_code == 409
    assert no_note.status_code == 422
    assert [error["field"] for error in no_note.json()["errors"]] == ["note"]
    assert unknown_merge.status_code == 404


def test_an_admin_sets_a_trait_strategy_and_a_bad_one_is_refused(client: TestClient, admin: Person) -> None:
    chosen = client.put(
        "/api/v1/cdp/trait-strategies/orders_count", json={"strategy": "sum"}, headers=admin.headers
    )
    bad = client.put(
        "/api/v1/cdp/trait-strategies/orders_count", json={"strategy": "max"}, headers=admin.headers
    )
    extra = client.put(
        "/api/v1/cdp/trait-strategies/orders_count", json={"strategy": "sum", "x": 1}, headers=admin.headers
    )

    assert chosen.status_code == 200 and chosen.json() == {"trait": "orders_count", "strategy": "sum"}
    assert (bad.status_code, extra.status_code) == (422, 422)


def test_the_timeline_of_a_profile_linked_to_a_contact_holds_the_contacts_activities(
    client: TestClient,
    uow_factory: Callable[[], UnitOfWork],
    admin: Person,
    make_person: Callable[..., Person],
) -> None:
    # Given a CRM contact with an email, a call logged with them, and a visitor who identifies
    # with that email after the contact feed has run
    contact = customers.create_contact(
        uow_factory(),
        system_actor(),
        ContactCreate(family_name="王", given_name="芳", emails=[EmailIn(address="fang@example.com")]),
    )
    identity.link_crm_contacts(uow_factory())
    call = client.post(
        "/api/v1/activities",
        json={
            "kind": "call",
            "subject": "询价电话",
            "occurred_at": "2026-12-01T08:30:00Z",
            "call": {"direction": "inbound", "outcome": "connected"},
            "links": [{"subject_type": "contact", "subject_id": contact.id}],
        },
        headers=admin.headers,
    )
    assert call.status_code == 201, call.text
    _ingest(
        client,
        uow_factory,
        [
            {
                "type": "page",
                "anonymousId": "anon-fang",
                "name": "Pricing",
                "timestamp": "2026-12-01T08:00:00Z",
            },
            {
                "type": "identify",
                "anonymousId": "anon-fang",
                "traits": {"email": "Fang@Example.com"},
                "timestamp": "2026-12-01T09:00:00Z",
            },
        ],
    )
    [profile] = _search(client, admin, identifier="fang@example.com").json()["items"]
    path = f"/api/v1/cdp/profiles/{profile['id']}/timeline"
    analyst, manager = make_person("analyst"), make_person("sales_manager")

    # When the admin reads the profile's timeline, all of it and only calls
    everything = client.get(path, headers=admin.headers).json()["items"]
    calls = client.get(path, params={"kind": "call"}, headers=admin.headers).json()["items"]
    by_contact = _search(client, admin, identifier_type="crm_contact", identifier=contact.id).json()["items"]

    # Then the call sits between the two events, newest first
    assert profile["contact_id"] == contact.id
    assert [item["id"] for item in by_contact] == [profile["id"]]
    assert [(entry["source"], entry["kind"], entry["title"]) for entry in everything] == [
        ("cdp_events", "cdp_identify", "anon-fang"),
        ("activities", "call", "询价电话"),
        ("cdp_events", "cdp_page", "Pricing"),
    ]
    assert [entry["title"] for entry in calls] == ["询价电话"]
    assert everything[1]["activity"]["id"] == call.json()["id"] and everything[1]["event"] is None
    # and a reader who may read profiles but not this contact (a sales manager: team scope) sees
    # the events only, while an analyst (reads every contact) sees the call too
    manager_view = client.get(path, headers=manager.headers).json()["items"]
    analyst_view = client.get(path, headers=analyst.headers).json()["items"]
    assert [entry["title"] for entry in manager_view] == ["anon-fang", "Pricing"]
    assert [entry["title"] for entry in analyst_view] == ["anon-fang", "询价电话", "Pricing"]
