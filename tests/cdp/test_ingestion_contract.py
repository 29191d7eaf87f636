"""The transport rules of CDP_CONTRACT.md, over HTTP to the whole application."""

from __future__ import annotations

import base64
import gzip
import json
import sqlite3
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, make_url
from tests.conftest import POSTGRES_URL

from loopcrm.app import create_app
from loopcrm.modules.cdp import service as cdp
from loopcrm.modules.cdp.schemas import SourceCreated, SourceUpdate
from loopcrm.platform.permissions import system_actor
from loopcrm.platform.unit_of_work import UnitOfWork
from loopcrm.settings import Settings


@pytest.fixture(scope="module")
def database_url(module_database_url: str) -> str:
    """The tests of this module share one database: each reads only its own source's rows."""
    return module_database_url


@pytest.fixture(scope="module")
def client(module_app: FastAPI) -> Iterator[TestClient]:
    """The whole application over HTTP, in process, built once for the module."""
    with TestClient(module_app) as test_client:
        yield test_client


def _events(uow_factory: Callable[[], UnitOfWork], source_id: str) -> list[Any]:
    return list(
        reversed(
            cdp.list_events(uow_factory(), system_actor(), limit=500, cursor=None, source_id=source_id).items
        )
    )


def _dead_letters(uow_factory: Callable[[], UnitOfWork], source_id: str) -> list[Any]:
    return cdp.list_dead_letters(uow_factory(), system_actor(), source_id, limit=50, cursor=None).items


def test_gzip_body_with_basic_auth_is_accepted(
    client: TestClient, make_source: Callable[..., SourceCreated], uow_factory: Callable[[], UnitOfWork]
) -> None:
    source = make_source()
    body = gzip.compress(
        json.dumps({"batch": [{"type": "track", "event": "Zipped", "anonymousId": "a1"}]}).encode()
    )
    basic = base64.b64encode(source.write_key.encode()).decode()  # without the colon

    response = client.post(
        "/v1/batch",
        content=body,
        headers={"Content-Encoding": "gzip", "Content-Type": "text/plain", "Authorization": f"Basic {basic}"},
    )

    assert response.status_code == 200 and response.json() == {"success": True}
    assert [event.event for event in _events(uow_factory, source.id)] == ["Zipped"]


def test_write_key_in_the_query_and_short_paths_of_analytics_js(
    client: TestClient, make_source: Callable[..., SourceCreated], uow_factory: Callable[[], UnitOfWork]
) -> None:
    source = make_source()

    track = client.post(f"/v1/t?writeKey={source.write_key}", json={"event": "Pixel", "userId": 7})
    page = client.post(
        "/v1/p", content=json.dumps({"writeKey": source.write_key, "anonymousId": "a", "name": "Home"})
    )

    assert (track.status_code, page.status_code) == (200, 200)
    events = _events(uow_factory, source.id)
    assert [(event.type, event.event, event.user_id) for event in events] == [
        ("track", "Pixel", "7"),
        ("page", "Home", None),
    ]


def test_one_invalid_message_is_dead_lettered_and_the_others_stored(
    client: TestClient, make_source: Callable[..., SourceCreated], uow_factory: Callable[[], UnitOfWork]
) -> None:
    source = make_source()
    batch = {
        "writeKey": source.write_key,
        "context": {"app": {"name": "shop"}, "locale": "zh-CN"},
        "integrations": {"All": True},
        "batch": [
            {"type": "track", "event": "Good", "userId": "u1", "context": {"locale": "en"}, "custom": [1, 2]},
            {"type": "track", "userId": "u1", "messageId": "bad-1"},  # no event name
            {"type": "identify", "userId": "u2", "traits": {"email": "a@example.com"}},
        ],
    }

    response = client.post("/v1/batch", json=batch)

    assert response.status_code == 200
    good, identify = _events(uow_factory, source.id)
    assert good.context == {"app": {"name": "shop"}, "locale": "en", "ip": "testclient"}  # the message wins
    assert good.extra == {"custom": [1, 2], "integrations": {"All": True}}  # unknown fields kept
    assert identify.properties == {"email": "a@example.com"}
    [letter] = _dead_letters(uow_factory, source.id)
    assert (letter.code, letter.message_id) == ("missing_field", "bad-1")
    assert letter.reason == "A track message needs an event name"
    assert json.loads(letter.raw) == {"type": "track", "userId": "u1", "messageId": "bad-1"}


def test_clock_skew_is_corrected_from_sent_at(
    client: TestClient, make_source: Callable[..., SourceCreated], uow_factory: Callable[[], UnitOfWork]
) -> None:
    source = make_source()
    # The client's clock is one hour ahead: it says it sent at 11:00 an event from 10:59:30.
    batch = {
        "writeKey": source.write_key,
        "sentAt": "2030-01-01T11:00:00Z",
        "batch": [{"type": "track", "event": "E", "userId": "u", "timestamp": "2030-01-01T10:59:30Z"}],
    }

    client.post("/v1/batch", json=batch)

    [event] = _events(uow_factory, source.id)
    assert (event.received_at - event.timestamp).total_seconds() == pytest.approx(30, abs=0.001)
    assert event.original_timestamp.isoformat() == "2030-01-01T10:59:30+00:00"


def test_oversize_request_is_refused_with_400_and_a_clear_code(
    client: TestClient, make_source: Callable[..., SourceCreated]
) -> None:
    source = make_source()
    padding = "x" * 20_000
    batch = {
        "writeKey": source.write_key,
        "batch": [{"type": "track", "event": "Big", "userId": "u", "properties": {"p": padding}}] * 30,
    }

    response = client.post("/v1/batch", json=batch)

    assert response.status_code == 400
    assert response.json()["code"] == "request_too_large"


def test_an_oversize_message_is_refused_alone(
    client: TestClient, make_source: Callable[..., SourceCreated], uow_factory: Callable[[], UnitOfWork]
) -> None:
    source = make_source()
    batch = {
        "writeKey": source.write_key,
        "batch": [
            {"type": "track", "event": "Huge", "userId": "u", "properties": {"p": "x" * 40_000}},
            {"type": "track", "event": "Small", "userId": "u"},
        ],
    }

    assert client.post("/v1/batch", json=batch).status_code == 200

    assert [event.event for event in _events(uow_factory, source.id)] == ["Small"]
    assert [letter.code for letter in _dead_letters(uow_factory, source.id)] == ["message_too_large"]


def test_not_json_is_400_and_unknown_or_disabled_keys_are_401(
    client: TestClient, make_source: Callable[..., SourceCreated], uow_factory: Callable[[], UnitOfWork]
) -> None:
    source = make_source()
    message = {"type": "track", "event": "E", "userId": "u"}

    not_json = client.post(f"/v1/track?writeKey={source.write_key}", content=b"{not json")
    unknown = client.post("/v1/track", json={**message, "writeKey": "lcw_nobody"})
    missing = client.post("/v1/track", json=message)
    cdp.update_source(uow_factory(), system_actor(), source.id, SourceUpdate(is_enabled=False))
    disabled = client.post("/v1/track", json={**message, "writeKey": source.write_key})

    assert (not_json.status_code, not_json.json()["code"]) == (400, "invalid_json")
    for refused in (unknown, missing, disabled):
        assert refused.status_code == 401
        assert refused.json() == {
            "code": "invalid_write_key",
            "message": "The write key is unknown or its source is disabled",
        }


def test_cors_preflight_echoes_the_origin_and_allowed_origins_are_enforced(
    client: TestClient, make_source: Callable[..., SourceCreated]
) -> None:
    source = make_source(allowed_origins=["https://shop.example.com"])

    preflight = client.options(
        "/v1/t",
        headers={
            "Origin": "https://shop.example.com",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
    )
    allowed = client.post(
        "/v1/t",
        json={"writeKey": source.write_key, "event": "E", "anonymousId": "a"},
        headers={"Origin": "https://shop.example.com"},
    )
    elsewhere = client.post(
        "/v1/t",
        json={"writeKey": source.write_key, "event": "E", "anonymousId": "a"},
        headers={"Origin": "https://evil.example.net"},
    )

    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == "https://shop.example.com"
    assert preflight.headers["access-control-allow-headers"] == (
        "Authorization, Content-Type, AnonymousId, Content-Encoding"
    )
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == "https://shop.example.com"
    assert (elsewhere.status_code, elsewhere.json()["code"]) == (403, "origin_not_allowed")


def test_settings_document_points_analytics_js_at_this_server(
    client: TestClient, make_source: Callable[..., SourceCreated]
) -> None:
    source = make_source()

    response = client.get(f"/v1/projects/{source.write_key}/settings")
    unknown = client.get("/v1/projects/lcw_nobody/settings")

    assert response.status_code == 200
    assert response.json()["integrations"]["Segment.io"] == {
        "apiKey": source.write_key,
        "apiHost": "testserver/v1",
        "protocol": "http",
        "unbundledIntegrations": [],
        "addBundledMetadata": False,
    }
    assert unknown.status_code == 401


def test_rate_limit_per_source_answers_429_with_retry_after(
    client: TestClient, make_source: Callable[..., SourceCreated]
) -> None:
    source = make_source(rate_limit_per_second=5)
    batch = {"writeKey": source.write_key, "batch": [{"type": "track", "event": "E", "userId": "u"}] * 10}

    first = client.post("/v1/batch", json=batch)
    second = client.post("/v1/batch", json=batch)

    assert first.status_code == 200
    assert (second.status_code, second.json()["code"]) == (429, "rate_limited")
    assert second.headers["retry-after"] == "1"


@pytest.fixture
def impatient_client(settings: Settings, engine: Engine) -> Iterator[TestClient]:
    """The application with a writer that waits only 0.2 s for a database lock."""
    impatient = settings.model_copy(update={"cdp_lock_timeout_seconds": 0.2})
    with TestClient(create_app(impatient, engine=engine)) as test_client:
        yield test_client


def test_a_locked_database_answers_503_with_retry_after_and_nothing_is_lost_on_retry(
    impatient_client: TestClient,
    make_source: Callable[..., SourceCreated],
    engine: Engine,
    uow_factory: Callable[[], UnitOfWork],
) -> None:
    source = make_source()
    batch = {
        "writeKey": source.write_key,
        "batch": [{"type": "track", "event": "E", "userId": "u", "messageId": "m"}],
    }
    impatient_client.post("/v1/batch", json={**batch, "batch": []})  # the source is known, the writer started

    # Given another connection holding the lock the writer needs
    if POSTGRES_URL:
        holder = engine.raw_connection()
        holder.cursor().execute("LOCK TABLE cdp_events IN ACCESS EXCLUSIVE MODE")
    else:
        holder = sqlite3.connect(make_url(str(engine.url)).database, isolation_level=None)
        holder.execute("BEGIN EXCLUSIVE")
    try:
        refused = impatient_client.post("/v1/batch", json=batch)
    finally:
        holder.rollback() if POSTGRES_URL else holder.execute("ROLLBACK")
        holder.close()
    retried = impatient_client.post("/v1/batch", json=batch)

    assert refused.status_code == 503
    assert refused.headers["retry-after"] == "2"
    assert refused.json()["code"] == "temporarily_unavailable"
    assert retried.status_code == 200
    assert [event.message_id for event in _events(uow_factory, source.id)] == ["m"]
