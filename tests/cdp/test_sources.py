"""Event sources through the REST API and the pages: who may manage them, the write key shown once,
optimistic concurrency, counters."""

from __future__ import annotations

from collections.abc import Callable

import httpx
from fastapi.testclient import TestClient
from tests.conftest import Person


def test_an_admin_creates_a_source_and_sees_the_write_key_only_in_that_answer(
    client: TestClient, make_person: Callable[..., Person]
) -> None:
    admin = make_person("admin")

    created = client.post(
        "/api/v1/cdp/sources",
        json={"name": "Shop", "channel": "ecommerce", "allowed_origins": ["https://Shop.example.com/"]},
        headers=admin.headers,
    )
    read = client.get(f"/api/v1/cdp/sources/{created.json()['id']}", headers=admin.headers)

    assert created.status_code == 201
    body = created.json()
    assert body["write_key"].startswith("lcw_") and body["write_key"][:12] == body["write_key_prefix"]
    assert body["allowed_origins"] == ["https://shop.example.com"]
    assert created.headers["etag"] == '"1"'
    assert read.status_code == 200 and "write_key" not in read.json()
    assert read.json()["write_key_prefix"] == body["write_key_prefix"]


def test_a_non_admin_cannot_manage_sources_and_a_marketer_may_only_read_them(
    client: TestClient, make_person: Callable[..., Person]
) -> None:
    admin, rep, marketer = make_person("admin"), make_person("sales_rep"), make_person("marketer")
    source = client.post(
        "/api/v1/cdp/sources", json={"name": "App", "channel": "app"}, headers=admin.headers
    ).json()

    rep_create = client.post("/api/v1/cdp/sources", json={"name": "X", "channel": "web"}, headers=rep.headers)
    rep_list = client.get("/api/v1/cdp/sources", headers=rep.headers)
    marketer_list = client.get("/api/v1/cdp/sources", headers=marketer.headers)
    marketer_update = client.patch(
        f"/api/v1/cdp/sources/{source['id']}", json={"is_enabled": False}, headers=marketer.headers
    )
    marketer_rotate = client.post(f"/api/v1/cdp/sources/{source['id']}/write-key", headers=marketer.headers)
    marketer_events = client.get("/api/v1/cdp/events", headers=marketer.headers)

    assert (rep_create.status_code, rep_list.status_code) == (403, 403)
    assert marketer_list.status_code == 200
    assert [item["name"] for item in marketer_list.json()["items"]] == ["App"]
    assert (marketer_update.status_code, marketer_rotate.status_code, marketer_events.status_code) == (
        403,
        403,
        403,
    )


def test_a_stale_if_match_is_412_and_rotation_replaces_the_key(
    client: TestClient, make_person: Callable[..., Person]
) -> None:
    admin = make_person("admin")
    source = client.post(
        "/api/v1/cdp/sources", json={"name": "Web", "channel": "web"}, headers=admin.headers
    ).json()
    path = f"/api/v1/cdp/sources/{source['id']}"

    renamed = client.patch(path, json={"name": "Website"}, headers={**admin.headers, "If-Match": '"1"'})
    stale = client.patch(path, json={"name": "Old"}, headers={**admin.headers, "If-Match": '"1"'})
    rotated = client.post(f"{path}/write-key", headers=admin.headers)
    old_key = client.post("/v1/track", json={"writeKey": source["write_key"], "event": "E", "userId": "u"})
    new_key = client.post(
        "/v1/track", json={"writeKey": rotated.json()["write_key"], "event": "E", "userId": "u"}
    )

    assert (renamed.status_code, renamed.headers["etag"]) == (200, '"2"')
    assert stale.status_code == 412
    assert rotated.status_code == 200 and rotated.json()["write_key"] != source["write_key"]
    assert (old_key.status_code, new_key.status_code) == (401, 200)


def test_the_sources_page_shows_live_counters_and_the_source_page_the_dead_letters(
    client: TestClient, admin: Person, sign_in: Callable[..., httpx.Response]
) -> None:
    source = client.post(
        "/api/v1/cdp/sources", json={"name": "线上商城", "channel": "ecommerce"}, headers=admin.headers
    ).json()
    client.post(
        "/v1/batch",
        json={
            "writeKey": source["write_key"],
            "batch": [{"type": "track", "event": "E", "userId": "u"}, {"type": "bogus", "userId": "u"}],
        },
    )
    sign_in(admin.user.email)

    listing = client.get("/cdp")
    detail = client.get(f"/cdp/sources/{source['id']}")

    assert listing.status_code == 200
    assert ("线上商城" in listing.text and "电商" in listing.text) or "E-commerce" in listing.text
    assert '<td class="number">1</td><td class="number">1</td><td class="number">0</td>' in listing.text
    assert detail.status_code == 200
    assert '<strong data-counter="accepted">1</strong>' in detail.text
    assert "unknown_type" in detail.text and "&#34;bogus&#34;" in detail.text
    assert source["write_key"] not in detail.text


def test_the_source_page_polls_its_counters_fragment_which_shows_new_events(
    client: TestClient, admin: Person, sign_in: Callable[..., httpx.Response]
) -> None:
    # Given a source page open in a browser, before the source received anything
    source = client.post(
        "/api/v1/cdp/sources", json={"name": "App", "channel": "app"}, headers=admin.headers
    ).json()
    sign_in(admin.user.email)
    path = f"/cdp/sources/{source['id']}"
    detail = client.get(path)

    # When a client sends a batch and htmx fetches the counters fragment again
    client.post(
        "/v1/batch",
        json={
            "writeKey": source["write_key"],
            "batch": [{"type": "track", "event": "E", "userId": "u", "messageId": "m"}] * 2
            + [{"type": "screen", "userId": "u", "messageId": "n"}],
        },
    )
    fragment = client.get(f"{path}/counters", headers={"HX-Request": "true"})

    # Then the page holds the polling panel, and the fragment is that panel with the new counts
    polling = f'hx-get="{path}/counters" hx-swap="outerHTML" hx-trigger="every 5s">'
    assert polling in detail.text and "hx-replace-url" not in detail.text
    assert '<strong data-counter="accepted">0</strong>' in detail.text
    assert fragment.status_code == 200
    assert "<html" not in fragment.text and fragment.text.count('id="source-counters"') == 1
    assert polling in fragment.text  # the swapped-in panel keeps polling
    assert '<strong data-counter="accepted">2</strong>' in fragment.text
    assert '<strong data-counter="deduplicated">1</strong>' in fragment.text
    assert "计数每 5 秒自动更新。" in fragment.text


def test_a_sales_rep_gets_403_on_the_sources_pages(
    client: TestClient, admin: Person, rep: Person, sign_in: Callable[..., httpx.Response]
) -> None:
    source = client.post(
        "/api/v1/cdp/sources", json={"name": "App", "channel": "app"}, headers=admin.headers
    ).json()
    sign_in(rep.user.email)

    assert client.get("/cdp").status_code == 403
    assert client.get("/cdp/sources/new").status_code == 403
    assert client.get(f"/cdp/sources/{source['id']}/counters").status_code == 403
