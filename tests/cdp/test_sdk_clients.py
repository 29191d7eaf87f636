"""The real SDKs from PyPI — Segment's analytics-python and RudderStack's Python SDK — send to a
running LoopCRM server, and the events are read back through the REST API; once the identity job
has run, the person's profile, identities and events are read back through it too."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from rudderstack.analytics.client import Client as RudderClient
from segment.analytics.client import Client as SegmentClient
from tests.cdp.conftest import LiveServer
from tests.conftest import Person

from loopcrm.modules.cdp.identity import service as identity
from loopcrm.modules.cdp.schemas import SourceCreated
from loopcrm.platform.unit_of_work import UnitOfWork


@pytest.fixture(scope="module")
def database_url(module_database_url: str) -> str:
    """The tests of this module share one database and one live server (see the conftest); each
    makes its own source and admin and reads only that source's events."""
    return module_database_url


def _events(server: LiveServer, admin: Person, **filters: str) -> list[dict[str, Any]]:
    response = httpx.get(
        f"{server.url}/api/v1/cdp/events", params={**filters, "limit": 500}, headers=admin.headers
    )
    assert response.status_code == 200, response.text
    return list(reversed(response.json()["items"]))  # oldest first


def _send_every_type(client: Any, user_id: str, anonymous_id: str, email: str) -> None:
    client.identify(user_id, {"email": email, "name": "李雷"}, anonymous_id=anonymous_id)
    client.track(user_id, "Order Completed", {"total": 199.5, "currency": "CNY"})
    client.page(user_id, category="Docs", name="Pricing", properties={"path": "/pricing"})
    client.group(user_id, "account-7", {"name": "韩梅梅贸易"})
    client.alias(anonymous_id, user_id)
    client.flush()


def _api(server: LiveServer, person: Person, path: str, **params: str) -> Any:
    response = httpx.get(f"{server.url}/api/v1/cdp{path}", params=params, headers=person.headers)
    assert response.status_code == 200, response.text
    return response.json()


@pytest.mark.parametrize("sdk", ["segment", "rudderstack"])
def test_sdk_sends_identify_track_page_group_alias_and_the_events_are_in_the_log(
    sdk: str,
    live_app_server: LiveServer,
    make_source: Callable[..., SourceCreated],
    make_person: Callable[..., Person],
    uow_factory: Callable[[], UnitOfWork],
) -> None:
    # Given a source and the SDK pointed at our server (the Rudder SDK gzips its bodies)
    source = make_source(channel="server")
    user_id, anonymous_id, email = f"user-42-{sdk}", f"anon-1-{sdk}", f"li.lei.{sdk}@example.com"
    admin = make_person("admin", email=f"admin-{sdk}@example.com")
    errors: list[Exception] = []
    client_class = SegmentClient if sdk == "segment" else RudderClient
    client = client_class(
        write_key=source.write_key,
        host=live_app_server.url,
        sync_mode=True,
        on_error=lambda error, batch: errors.append(error),
        max_retries=1,
    )

    # When it sends one message of each type
    _send_every_type(client, user_id, anonymous_id, email)

    # Then all five are in the log, in order, with their fields
    assert errors == []
    events = _events(live_app_server, admin, source_id=source.id)
    assert [event["type"] for event in events] == ["identify", "track", "page", "group", "alias"]
    identify, track, page, group, alias = events
    assert identify["user_id"] == user_id and identify["anonymous_id"] == anonymous_id
    assert identify["properties"] == {"email": email, "name": "李雷"}
    assert track["event"] == "Order Completed"
    assert track["properties"] == {"total": 199.5, "currency": "CNY"}
    assert page["event"] == "Pricing" and page["extra"]["category"] == "Docs"
    assert group["group_id"] == "account-7" and group["properties"] == {"name": "韩梅梅贸易"}
    assert alias["previous_id"] == anonymous_id and alias["user_id"] == user_id
    assert all(event["context"]["ip"] == "127.0.0.1" for event in events)
    assert all(event["context"]["library"]["name"] for event in events)
    assert len({event["message_id"] for event in events}) == 5

    # When the identity job has run, the person is one profile, found by each identifier
    identity.resolve_pending_events(uow_factory())
    by_user = _api(live_app_server, admin, "/profiles", identifier_type="user_id", identifier=user_id)
    by_email = _api(live_app_server, admin, "/profiles", identifier=email.upper())
    by_anonymous = _api(
        live_app_server, admin, "/profiles", identifier_type="anonymous_id", identifier=anonymous_id
    )
    [profile] = by_user["items"]
    assert [item["id"] for item in by_email["items"] + by_anonymous["items"]] == [profile["id"]] * 2
    assert profile["traits"] == {"email": email, "name": "李雷"}
    assert profile["merged_into"] is None

    # Then its identities and its five events, newest first, come through the REST API
    identities = _api(live_app_server, admin, f"/profiles/{profile['id']}/identities")
    assert sorted((item["type"], item["value"]) for item in identities) == [
        ("anonymous_id", anonymous_id),
        ("email", email),
        ("user_id", user_id),
    ]
    profile_events = _api(live_app_server, admin, f"/profiles/{profile['id']}/events")["items"]
    assert [event["id"] for event in reversed(profile_events)] == [event["id"] for event in events]
    assert {event["profile_id"] for event in profile_events} == {profile["id"]}
    timeline = _api(live_app_server, admin, f"/profiles/{profile['id']}/timeline", kind="cdp_track")["items"]
    assert [(entry["title"], entry["summary"]) for entry in timeline] == [
        ("Order Completed", "total: 199.5 · currency: CNY")
    ]


def test_a_retried_batch_creates_no_duplicates(
    live_app_server: LiveServer,
    make_source: Callable[..., SourceCreated],
    make_person: Callable[..., Person],
) -> None:
    # Given a batch the client sends twice (its first answer was lost, say)
    source = make_source()
    admin = make_person("admin", email="admin-retry@example.com")
    batch = {
        "writeKey": source.write_key,
        "sentAt": "2026-12-01T10:00:00Z",
        "batch": [
            {"type": "track", "event": "Viewed", "userId": "u1", "messageId": f"m-{number}"}
            for number in range(3)
        ],
    }

    # When
    first = httpx.post(f"{live_app_server.url}/v1/batch", json=batch)
    second = httpx.post(f"{live_app_server.url}/v1/batch", json=batch)

    # Then both succeed and the log has each event once; the counters say three were deduplicated
    assert (first.status_code, second.status_code) == (200, 200)
    assert first.json() == {"success": True}
    events = _events(live_app_server, admin, source_id=source.id)
    assert sorted(event["message_id"] for event in events) == ["m-0", "m-1", "m-2"]
    counters = httpx.get(
        f"{live_app_server.url}/api/v1/cdp/sources/{source.id}/counters", headers=admin.headers
    ).json()
    assert (counters["accepted"], counters["deduplicated"], counters["rejected"]) == (3, 3, 0)
