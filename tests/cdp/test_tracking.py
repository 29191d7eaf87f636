"""The web tracker's paths over HTTP: analytics.js and its chunks come from LoopCRM's own copy of
``@segment/analytics-next`` (``make install``), and nothing else is served from there."""

from __future__ import annotations

from fastapi.testclient import TestClient

from loopcrm.modules.cdp.api.tracking import TRACKER_DIRECTORY


def test_analytics_js_is_the_packages_standalone_build_for_any_write_key(client: TestClient) -> None:
    answer = client.get("/analytics.js/v1/lcw_anything/analytics.min.js")

    assert answer.status_code == 200
    assert answer.headers["content-type"] == "text/javascript; charset=utf-8"
    assert answer.headers["cache-control"] == "public, max-age=300"
    assert answer.content == (TRACKER_DIRECTORY / "standalone.js").read_bytes()
    # The chunks it lazy-loads are beside it, under the public path it computes from analytics._cdn
    assert b'"/analytics-next/bundles/"' in answer.content


def test_every_chunk_of_the_build_is_served_and_cached_for_good(client: TestClient) -> None:
    chunks = sorted(path.name for path in TRACKER_DIRECTORY.glob("*.bundle.*.js"))
    assert len(chunks) >= 5  # auto-track, queryString, remoteMiddleware, schemaFilter, tsub…

    for chunk in chunks:
        answer = client.get(f"/analytics-next/bundles/{chunk}")
        assert answer.status_code == 200, chunk
        assert answer.headers["cache-control"] == "public, max-age=31536000, immutable"
        assert answer.content == (TRACKER_DIRECTORY / chunk).read_bytes()


def test_only_chunk_names_are_served_from_the_bundles_path(client: TestClient) -> None:
    for name in (
        "standalone.js",
        "..%2F..%2Fsettings.py",
        "queryString.bundle.js",
        "x.bundle.0123abcd.js.map",
    ):
        answer = client.get(f"/analytics-next/bundles/{name}")
        assert answer.status_code == 404, name
