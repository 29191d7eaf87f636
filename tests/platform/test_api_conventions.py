"""The REST API's conventions: authentication, problem documents, ETags, idempotency, pagination."""

from __future__ import annotations

import gzip
import json

from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from loopcrm.app import UPLOAD_PATHS
from loopcrm.platform.audit.models import AuditEntry
from loopcrm.platform.auth.models import Team, User


def count(engine: Engine, model: type) -> int:
    with engine.connect() as connection:
        return int(connection.scalar(select(func.count()).select_from(model)) or 0)


def test_a_request_without_a_token_gets_401_as_a_problem_document(client: TestClient) -> None:
    response = client.get("/api/v1/users")

    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["status"] == 401
    assert problem["code"] == "not_authenticated"
    assert problem["type"] == "https://loopcrm.dev/problems/not_authenticated"
    assert problem["instance"] == "/api/v1/users"


def test_an_unknown_token_gets_401(client: TestClient) -> None:
    response = client.get("/api/v1/users", headers={"Authorization": "Bearer lcrm_not-a-real-token"})

    assert response.status_code == 401
    assert response.json()["detail"] == "The API token is not valid"


def test_a_sales_rep_listing_users_gets_403(client: TestClient, make_person) -> None:
    rep = make_person("sales_rep")

    response = client.get("/api/v1/users", headers=rep.headers)

    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"


def test_a_read_only_token_cannot_write(client: TestClient, make_person) -> None:
    from loopcrm.platform.permissions import TokenScope

    admin = make_person("admin", token_scope=TokenScope.READ)

    listed = client.get("/api/v1/users", headers=admin.headers)
    created = client.post("/api/v1/teams", json={"name": "Nope"}, headers=admin.headers)

    assert listed.status_code == 200
    assert created.status_code == 403


def test_an_update_with_a_stale_if_match_gets_412_and_changes_nothing(
    client: TestClient, make_person, engine
) -> None:
    admin = make_person("admin")
    rep = make_person("sales_rep", name="Original")
    first = client.patch(
        f"/api/v1/users/{rep.user.id}",
        json={"name": "First edit"},
        headers={**admin.headers, "If-Match": '"1"'},
    )
    audit_entries = count(engine, AuditEntry)

    stale = client.patch(
        f"/api/v1/users/{rep.user.id}",
        json={"name": "Lost edit"},
        headers={**admin.headers, "If-Match": '"1"'},
    )

    assert first.status_code == 200
    assert first.headers["etag"] == '"2"'
    assert stale.status_code == 412
    assert stale.json()["code"] == "stale_version"
    current = client.get(f"/api/v1/users/{rep.user.id}", headers=admin.headers)
    assert current.json()["name"] == "First edit"
    assert current.headers["etag"] == '"2"'
    assert count(engine, AuditEntry) == audit_entries


def test_an_update_with_the_current_if_match_succeeds_and_bumps_the_etag(
    client: TestClient, make_person
) -> None:
    admin = make_person("admin")
    rep = make_person("sales_rep")

    response = client.patch(
        f"/api/v1/users/{rep.user.id}", json={"locale": "en"}, headers={**admin.headers, "If-Match": '"1"'}
    )

    assert response.status_code == 200
    assert response.json()["locale"] == "en"
    assert response.json()["version"] == 2
    assert response.headers["etag"] == '"2"'


def test_malformed_json_gets_400_with_a_field_error_and_writes_nothing(
    client: TestClient, make_person, engine
) -> None:
    admin = make_person("admin")
    users = count(engine, User)

    response = client.post(
        "/api/v1/users",
        content=b'{"email": "a@example.com",',
        headers={**admin.headers, "Content-Type": "application/json"},
    )

    assert response.status_code == 400
    assert response.json()["code"] == "malformed_json"
    assert response.json()["errors"][0]["field"] == "body"
    assert count(engine, User) == users


def test_wrong_types_and_unknown_fields_get_422_naming_each_field(
    client: TestClient, make_person, engine
) -> None:
    admin = make_person("admin")
    users = count(engine, User)

    response = client.post(
        "/api/v1/users",
        json={"email": "not-an-email", "name": 42, "role": "sales_rep", "favourite_colour": "blue"},
        headers=admin.headers,
    )

    assert response.status_code == 422
    problem = response.json()
    assert problem["code"] == "validation_failed"
    assert {(error["field"], error["code"]) for error in problem["errors"]} == {
        ("email", "value_error"),
        ("name", "string_type"),
        ("favourite_colour", "extra_forbidden"),
    }
    assert count(engine, User) == users


def test_a_domain_rule_violation_gets_422_with_the_field(client: TestClient, make_person, engine) -> None:
    admin = make_person("admin")
    users = count(engine, User)

    response = client.post(
        "/api/v1/users",
        json={"email": "x@example.com", "name": "X", "role": "astronaut"},
        headers=admin.headers,
    )

    assert response.status_code == 422
    assert response.json()["errors"] == [
        {"field": "role", "code": "unknown_role", "message": "Unknown role astronaut"}
    ]
    assert count(engine, User) == users


def test_an_oversize_body_gets_413_and_writes_nothing(
    client: TestClient, make_person, settings, engine
) -> None:
    admin = make_person("admin")
    teams = count(engine, Team)
    body = json.dumps({"name": "Big", "description": "x" * settings.max_request_bytes}).encode()

    declared = client.post(
        "/api/v1/teams", content=body, headers={**admin.headers, "Content-Type": "application/json"}
    )

    def chunks():
        yield body[: len(body) // 2]
        yield body[len(body) // 2 :]

    streamed = client.post(
        "/api/v1/teams", content=chunks(), headers={**admin.headers, "Content-Type": "application/json"}
    )

    assert declared.status_code == 413
    assert declared.json()["code"] == "body_too_large"
    assert streamed.status_code == 413
    assert count(engine, Team) == teams


def test_a_body_that_is_not_json_at_all_is_rejected_not_a_500(client: TestClient, make_person) -> None:
    admin = make_person("admin")

    response = client.post(
        "/api/v1/teams",
        content=gzip.compress(b"binary"),
        headers={**admin.headers, "Content-Type": "application/json"},
    )

    assert response.status_code == 400


def test_a_retried_post_with_the_same_idempotency_key_creates_one_record(
    client: TestClient, make_person, engine
) -> None:
    admin = make_person("admin")
    headers = {**admin.headers, "Idempotency-Key": "create-team-east-1"}

    first = client.post("/api/v1/teams", json={"name": "East"}, headers=headers)
    retry = client.post("/api/v1/teams", json={"name": "East"}, headers=headers)

    assert first.status_code == 201
    assert retry.status_code == 201
    assert retry.json() == first.json()
    assert retry.headers["idempotent-replayed"] == "true"
    assert retry.headers["location"] == first.headers["location"]
    assert count(engine, Team) == 1


def test_an_idempotency_key_reused_for_another_body_gets_422(client: TestClient, make_person, engine) -> None:
    admin = make_person("admin")
    headers = {**admin.headers, "Idempotency-Key": "key-1"}
    client.post("/api/v1/teams", json={"name": "East"}, headers=headers)

    response = client.post("/api/v1/teams", json={"name": "West"}, headers=headers)

    assert response.status_code == 422
    assert response.json()["code"] == "idempotency_key_reused"
    assert count(engine, Team) == 1


def test_a_failed_request_does_not_burn_its_idempotency_key(client: TestClient, make_person, engine) -> None:
    admin = make_person("admin")
    rep = make_person("sales_rep")
    headers = {"Idempotency-Key": "key-2"}

    refused = client.post("/api/v1/teams", json={"name": "East"}, headers={**rep.headers, **headers})
    accepted = client.post("/api/v1/teams", json={"name": "East"}, headers={**admin.headers, **headers})

    assert refused.status_code == 403
    assert accepted.status_code == 201
    assert count(engine, Team) == 1


def test_lists_page_with_a_cursor_until_the_end(client: TestClient, make_person) -> None:
    admin = make_person("admin")
    for number in range(5):
        client.post("/api/v1/teams", json={"name": f"Team {number}"}, headers=admin.headers)

    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = client.get("/api/v1/teams", params=params, headers=admin.headers).json()
        seen += [team["name"] for team in page["items"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break

    assert seen == [f"Team {number}" for number in range(5)]
    assert pages == 3


def test_a_limit_over_the_maximum_is_rejected(client: TestClient, make_person) -> None:
    admin = make_person("admin")

    response = client.get("/api/v1/teams", params={"limit": 501}, headers=admin.headers)

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "query.limit"


def test_every_response_carries_a_request_id_and_echoes_a_sane_one(client: TestClient) -> None:
    generated = client.get("/healthz")
    echoed = client.get("/healthz", headers={"X-Request-ID": "trace-123"})
    replaced = client.get("/healthz", headers={"X-Request-ID": "bad id with spaces"})

    assert len(generated.headers["x-request-id"]) == 32
    assert echoed.headers["x-request-id"] == "trace-123"
    assert replaced.headers["x-request-id"] != "bad id with spaces"


def test_health_and_readiness(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready", "checks": {"database": "ok", "migrations": "ok"}}


def test_the_openapi_document_and_docs_are_served(client: TestClient) -> None:
    spec = client.get("/api/v1/openapi.json")
    docs = client.get("/api/docs")

    assert spec.status_code == 200
    paths = spec.json()["paths"]
    for path in ("/api/v1/users", "/api/v1/teams", "/api/v1/roles", "/api/v1/tokens", "/api/v1/audit-log"):
        assert path in paths
    assert docs.status_code == 200
    assert "/static/vendor/swagger-ui/swagger-ui-bundle.js" in docs.text
    assert "cdn" not in docs.text.lower()
    assert client.get("/static/vendor/swagger-ui/swagger-ui-bundle.js").status_code == 200


def test_the_api_offers_exactly_the_languages_the_ui_has() -> None:
    from typing import get_args

    from loopcrm.platform.auth.schemas import Locale
    from loopcrm.platform.i18n import SUPPORTED_LOCALES

    assert get_args(Locale) == SUPPORTED_LOCALES


def test_a_duplicate_team_name_in_any_script_gets_422_not_a_server_error(
    client: TestClient, make_person
) -> None:
    admin = make_person("admin")

    results = [
        client.post("/api/v1/teams", json={"name": name}, headers=admin.headers)
        for name in ("Équipe", "Équipe", "EAST", "east")
    ]

    assert [response.status_code for response in results] == [201, 422, 201, 422]
    assert results[1].json()["errors"][0]["field"] == "name"


def test_nul_characters_are_refused_everywhere_and_change_nothing(
    client: TestClient, make_person, engine
) -> None:
    admin = make_person("admin")
    teams = count(engine, Team)

    in_body = client.post("/api/v1/teams", json={"name": "East\u0000"}, headers=admin.headers)
    in_path = client.get("/api/v1/users/abc%00def", headers=admin.headers)
    in_query = client.get("/api/v1/users", params={"q": "a\u0000"}, headers=admin.headers)

    assert in_body.status_code == 422
    assert in_body.json()["errors"][0]["field"] == "name"
    assert in_path.status_code == 400
    assert in_query.status_code == 400
    assert count(engine, Team) == teams


def test_the_routes_given_the_uploads_body_limit_are_exactly_those_that_take_a_file(
    client: TestClient,
) -> None:
    document = client.app.openapi()  # type: ignore[attr-defined]
    taking_files = {
        path
        for path, operations in document["paths"].items()
        if "multipart/form-data" in operations.get("post", {}).get("requestBody", {}).get("content", {})
    }

    assert taking_files == UPLOAD_PATHS
