"""Duplicates and merges through the REST API: the warning on create, a record's duplicates,
merge (201 + Location), preview, history, undo, and the refusals as problem documents."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient


def _post(
    client: TestClient, path: str, headers: dict[str, str], body: dict[str, Any], status: int = 201
) -> Any:
    response = client.post(path, json=body, headers=headers)
    assert response.status_code == status, response.text
    return response.json()


def _get(client: TestClient, path: str, headers: dict[str, str], status: int = 200, **params: Any) -> Any:
    response = client.get(path, params=params, headers=headers)
    assert response.status_code == status, response.text
    return response.json()


def test_the_create_answer_names_possible_duplicates_and_the_record_lists_them(client, make_person):
    admin = make_person("admin")
    first = _post(
        client,
        "/api/v1/contacts",
        admin.headers,
        {"given_name": "Jane", "emails": [{"address": "jane@example.com"}]},
    )

    second = _post(
        client,
        "/api/v1/contacts",
        admin.headers,
        {"given_name": "J.", "emails": [{"address": "Jane@Example.com"}]},
    )

    assert second["possible_duplicates"] == [
        {"record_kind": "contact", "id": first["id"], "label": "Jane", "reasons": ["email"]}
    ]
    assert _get(client, f"/api/v1/contacts/{first['id']}/duplicates", admin.headers) == [
        {"record_kind": "contact", "id": second["id"], "label": "J.", "reasons": ["email"]}
    ]
    assert _get(client, f"/api/v1/contacts/{first['id']}", admin.headers)["possible_duplicates"] == []


def test_merge_preview_history_and_undo_over_http(client, make_person):
    admin = make_person("admin")
    survivor = _post(client, "/api/v1/accounts", admin.headers, {"name": "Acme Trading", "city": "Shanghai"})
    merged = _post(
        client,
        "/api/v1/accounts",
        admin.headers,
        {
            "name": "ACME Trading Ltd.",
            "city": "Shanghai",
            "website": "acme.example.com",
            "industry": "finance",
        },
    )
    assert [match["id"] for match in merged["possible_duplicates"]] == [survivor["id"]]

    preview = _get(
        client,
        "/api/v1/merges/preview",
        admin.headers,
        record_kind="account",
        survivor_id=survivor["id"],
        merged_id=merged["id"],
    )
    assert [(f["field"], f["default"]) for f in preview["fields"]] == [
        ("name", "survivor"),
        ("industry", "merged"),
        ("website", "merged"),
    ]

    response = client.post(
        "/api/v1/accounts/merges",
        json={"survivor_id": survivor["id"], "merged_id": merged["id"], "chosen": {"name": "merged"}},
        headers=admin.headers,
    )
    assert response.status_code == 201, response.text
    merge = response.json()
    assert response.headers["Location"] == f"/api/v1/merges/{merge['id']}"
    assert merge["chosen"] == {"name": "merged", "industry": "merged", "website": "merged"}
    assert merge["is_undoable"] is True
    kept = _get(client, f"/api/v1/accounts/{survivor['id']}", admin.headers)
    assert (kept["name"], kept["domain"]) == ("ACME Trading Ltd.", "acme.example.com")
    _get(client, f"/api/v1/accounts/{merged['id']}", admin.headers, status=404)
    listed = _get(client, "/api/v1/merges", admin.headers, record_kind="account", record_id=merged["id"])
    assert [item["id"] for item in listed["items"]] == [merge["id"]]

    undone = _post(client, f"/api/v1/merges/{merge['id']}/undo", admin.headers, {}, status=200)

    assert undone["undone_by"] == admin.user.id
    assert _get(client, f"/api/v1/accounts/{survivor['id']}", admin.headers)["name"] == "Acme Trading"
    assert (
        _get(client, f"/api/v1/accounts/{merged['id']}", admin.headers)["website"]
        == "https://acme.example.com"
    )
    again = client.post(f"/api/v1/merges/{merge['id']}/undo", headers=admin.headers)
    assert again.status_code == 409
    assert again.headers["content-type"] == "application/problem+json"
    assert again.json()["detail"] == "This merge has already been undone"


def test_merge_refusals_are_problem_documents(client, make_person):
    rep = make_person("sales_rep")
    manager = make_person("sales_manager")
    mine = _post(client, "/api/v1/contacts", rep.headers, {"given_name": "Jane"})
    also_mine = _post(client, "/api/v1/contacts", rep.headers, {"given_name": "Jane"})
    managed = _post(client, "/api/v1/contacts", manager.headers, {"given_name": "Jane"})

    refused = client.post(
        "/api/v1/contacts/merges",
        json={"survivor_id": mine["id"], "merged_id": also_mine["id"]},
        headers=rep.headers,
    )
    assert refused.status_code == 403
    hidden = client.post(
        "/api/v1/contacts/merges",
        json={"survivor_id": managed["id"], "merged_id": mine["id"]},
        headers=manager.headers,
    )
    assert hidden.status_code == 404
    unknown = client.post(
        "/api/v1/contacts/merges",
        json={"survivor_id": managed["id"], "merged_id": mine["id"], "chosen": {"title": "theirs"}},
        headers=manager.headers,
    )
    assert unknown.status_code == 422
    assert [e["field"] for e in unknown.json()["errors"]] == ["chosen.title"]
    assert _get(client, "/api/v1/merges/no-such-merge", manager.headers, status=404)["code"] == "not_found"
