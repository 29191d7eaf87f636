"""Accounts, contacts, tags, custom fields and saved views through the REST API: the foundation's
conventions (problem documents, ETag/If-Match, cursor pages, 201 + Location, 204) on every route,
record scope as 404, and masking by clearance."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

VALID_CODE = "91350100M000100Y43"


def _items(client: TestClient, path: str, headers: dict[str, str], **params: Any) -> list[dict[str, Any]]:
    response = client.get(path, params=params, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()["items"]


def _create(client: TestClient, path: str, headers: dict[str, str], body: dict[str, Any]) -> dict[str, Any]:
    response = client.post(path, json=body, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


# ---------------------------------------------------------------- validation


def test_a_bad_credit_code_gets_422_naming_the_field_and_writes_nothing(client, make_person):
    rep = make_person("sales_rep")

    response = client.post(
        "/api/v1/accounts",
        json={"name": "坏代码公司", "credit_code": VALID_CODE[:-1] + "0"},
        headers=rep.headers,
    )

    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["code"] == "validation_failed"
    assert [error["field"] for error in problem["errors"]] == ["credit_code"]
    assert "check character does not match" in problem["errors"][0]["message"]
    assert problem["instance"] == "/api/v1/accounts"
    assert _items(client, "/api/v1/accounts", rep.headers) == []


def test_a_bad_phone_gets_422_with_its_position_and_writes_nothing(client, make_person):
    rep = make_person("sales_rep")

    response = client.post(
        "/api/v1/contacts",
        json={
            "family_name": "王",
            "given_name": "芳",
            "phones": [{"number": "138 1234 5678"}, {"number": "12345"}],
        },
        headers=rep.headers,
    )

    assert response.status_code == 422
    assert [error["field"] for error in response.json()["errors"]] == ["phones.1.number"]
    assert _items(client, "/api/v1/contacts", rep.headers) == []


def test_an_unknown_custom_field_option_gets_422_and_writes_nothing(client, make_person):
    admin = make_person("admin")
    _create(
        client,
        "/api/v1/custom-fields",
        admin.headers,
        {
            "record_kind": "contact",
            "key": "level",
            "label": "客户等级",
            "kind": "select",
            "options": [{"value": "gold", "label": "金牌"}, {"value": "silver", "label": "银牌"}],
        },
    )

    response = client.post(
        "/api/v1/contacts",
        json={"family_name": "李", "custom_fields": {"level": "platinum"}},
        headers=admin.headers,
    )

    assert response.status_code == 422
    assert [(e["field"], e["code"]) for e in response.json()["errors"]] == [
        ("custom_fields.level", "unknown_option")
    ]
    assert _items(client, "/api/v1/contacts", admin.headers) == []


def test_an_invalid_update_gets_422_and_changes_nothing(client, make_person):
    rep = make_person("sales_rep")
    account = _create(
        client, "/api/v1/accounts", rep.headers, {"name": "原名公司", "phones": [{"number": "13812345678"}]}
    )

    response = client.patch(
        f"/api/v1/accounts/{account['id']}",
        json={"name": "新名公司", "phones": [{"number": "not a phone"}], "credit_code": "123"},
        headers=rep.headers,
    )

    assert response.status_code == 422
    assert {error["field"] for error in response.json()["errors"]} == {"phones.0.number", "credit_code"}
    current = client.get(f"/api/v1/accounts/{account['id']}", headers=rep.headers)
    assert current.json()["name"] == "原名公司"
    assert [phone["value"] for phone in current.json()["phones"]] == ["+8613812345678"]
    assert current.headers["etag"] == '"1"'


# ---------------------------------------------------------------- lifecycle and concurrency


def test_an_account_lifecycle_with_etags_and_a_stale_if_match(client, make_person):
    manager = make_person("sales_manager")

    created = client.post(
        "/api/v1/accounts",
        json={"name": "福州晨光科技有限公司", "credit_code": " 91350100-m000100y43 ", "city": "福州"},
        headers=manager.headers,
    )
    account_id = created.json()["id"]
    path = f"/api/v1/accounts/{account_id}"
    first = client.patch(path, json={"city": "厦门"}, headers={**manager.headers, "If-Match": '"1"'})
    stale = client.patch(path, json={"city": "泉州"}, headers={**manager.headers, "If-Match": '"1"'})
    stale_delete = client.delete(path, headers={**manager.headers, "If-Match": '"1"'})

    assert created.status_code == 201
    assert created.headers["location"] == path
    assert created.headers["etag"] == '"1"'
    assert created.json()["credit_code"] == VALID_CODE
    assert first.status_code == 200
    current_etag = first.headers["etag"]
    assert current_etag == f'"{first.json()["version"]}"' != '"1"'
    assert stale.status_code == 412
    assert stale.json()["code"] == "stale_version"
    assert stale_delete.status_code == 412
    current = client.get(path, headers=manager.headers)
    assert (current.json()["city"], current.headers["etag"]) == ("厦门", current_etag)


def test_delete_and_restore_an_account(client, make_person):
    manager = make_person("sales_manager")
    account = _create(client, "/api/v1/accounts", manager.headers, {"name": "可恢复公司"})
    path = f"/api/v1/accounts/{account['id']}"

    deleted = client.delete(path, headers={**manager.headers, "If-Match": '"1"'})

    assert deleted.status_code == 204
    assert deleted.content == b""
    assert client.get(path, headers=manager.headers).status_code == 404
    assert _items(client, "/api/v1/accounts", manager.headers) == []
    trash = _items(client, "/api/v1/accounts", manager.headers, include_deleted="true")
    assert [item["id"] for item in trash] == [account["id"]]

    restored = client.post(f"{path}/restore", headers=manager.headers)

    assert restored.status_code == 200
    assert restored.json()["deleted_at"] is None
    assert restored.headers["etag"] == f'"{restored.json()["version"]}"'
    assert [item["id"] for item in _items(client, "/api/v1/accounts", manager.headers)] == [account["id"]]


def test_a_malformed_if_match_is_refused(client, make_person):
    rep = make_person("sales_rep")
    account = _create(client, "/api/v1/accounts", rep.headers, {"name": "某公司"})

    response = client.patch(
        f"/api/v1/accounts/{account['id']}",
        json={"city": "福州"},
        headers={**rep.headers, "If-Match": 'W/"1"'},
    )

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "header.If-Match"


def test_a_retried_create_with_an_idempotency_key_makes_one_contact(client, make_person):
    rep = make_person("sales_rep")
    headers = {**rep.headers, "Idempotency-Key": "contact-wang-fang"}

    first = client.post("/api/v1/contacts", json={"family_name": "王", "given_name": "芳"}, headers=headers)
    retry = client.post("/api/v1/contacts", json={"family_name": "王", "given_name": "芳"}, headers=headers)

    assert (first.status_code, retry.status_code) == (201, 201)
    assert retry.headers["idempotent-replayed"] == "true"
    assert retry.headers["location"] == first.headers["location"] == f"/api/v1/contacts/{first.json()['id']}"
    assert [item["full_name"] for item in _items(client, "/api/v1/contacts", rep.headers)] == ["王芳"]


# ---------------------------------------------------------------- scope and masking


def test_a_record_outside_the_readers_scope_is_not_found(client, make_person):
    alice = make_person("sales_rep")
    bob = make_person("sales_rep")
    account = _create(client, "/api/v1/accounts", alice.headers, {"name": "爱丽丝的客户"})
    contact = _create(client, "/api/v1/contacts", alice.headers, {"family_name": "张", "given_name": "三"})
    account_path = f"/api/v1/accounts/{account['id']}"
    contact_path = f"/api/v1/contacts/{contact['id']}"

    answers = [
        client.get(account_path, headers=bob.headers),
        client.patch(account_path, json={"name": "抢走"}, headers=bob.headers),
        client.get(f"{account_path}/history", headers=bob.headers),
        client.get(f"{account_path}/relationships", headers=bob.headers),
        client.get(f"{account_path}/children", headers=bob.headers),
        client.get(contact_path, headers=bob.headers),
        client.patch(contact_path, json={"title": "CEO"}, headers=bob.headers),
        client.get(f"{contact_path}/history", headers=bob.headers),
        client.get("/api/v1/accounts/no-such-account", headers=bob.headers),
    ]

    assert [(answer.status_code, answer.json()["code"]) for answer in answers] == [(404, "not_found")] * 9
    assert _items(client, "/api/v1/accounts", bob.headers) == []
    assert _items(client, "/api/v1/contacts", bob.headers) == []
    assert client.get(account_path, headers=alice.headers).json()["name"] == "爱丽丝的客户"


def test_fields_above_the_readers_clearance_are_null_and_named(client, make_person):
    manager = make_person("sales_manager")
    reader = make_person("read_only")
    contact = _create(
        client,
        "/api/v1/contacts",
        manager.headers,
        {
            "family_name": "赵",
            "given_name": "敏",
            "phones": [{"number": "13812345678"}],
            "birthday": "1990-05-01",
            "city": "福州",
        },
    )
    account = _create(
        client, "/api/v1/accounts", manager.headers, {"name": "营收公司", "annual_revenue": "1250000.5"}
    )
    rep = make_person("sales_rep")
    _create(client, "/api/v1/accounts", rep.headers, {"name": "代表公司", "annual_revenue": "99"})

    read = client.get(f"/api/v1/contacts/{contact['id']}", headers=reader.headers).json()
    listed = _items(client, "/api/v1/contacts", reader.headers)[0]
    rep_view = _items(client, "/api/v1/accounts", rep.headers)[0]

    for shown in (read, listed):
        assert (shown["full_name"], shown["city"]) == ("赵敏", "福州")
        assert (shown["phones"], shown["emails"], shown["birthday"], shown["wechat_id"]) == (None,) * 4
        assert sorted(shown["masked_fields"]) == ["address", "birthday", "emails", "phones", "wechat_id"]
    assert (rep_view["name"], rep_view["annual_revenue"], rep_view["masked_fields"]) == (
        "代表公司",
        None,
        ["annual_revenue"],
    )
    manager_view = client.get(f"/api/v1/accounts/{account['id']}", headers=manager.headers).json()
    assert (manager_view["annual_revenue"], manager_view["masked_fields"]) == ("1250000.50", [])


# ---------------------------------------------------------------- lists


def test_filters_sort_and_cursor_pages_round_trip(client, make_person):
    manager = make_person("sales_manager")
    for name, city, employees in (
        ("甲公司", "福州", 10),
        ("乙公司", "福州", 300),
        ("丙公司", "厦门", 50),
        ("丁公司", "福州", 120),
        ("戊公司", "福州", 7),
    ):
        _create(
            client,
            "/api/v1/accounts",
            manager.headers,
            {"name": name, "city": city, "employee_count": employees},
        )

    seen: list[tuple[str, int]] = []
    cursor = None
    pages = 0
    while True:
        params: dict[str, Any] = {
            "filter": ["city:eq:福州", "employee_count:gte:8"],
            "sort": "-employee_count",
        }
        params.update(limit=2, **({"cursor": cursor} if cursor else {}))
        page = client.get("/api/v1/accounts", params=params, headers=manager.headers).json()
        seen += [(item["name"], item["employee_count"]) for item in page["items"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break

    assert seen == [("乙公司", 300), ("丁公司", 120), ("甲公司", 10)]
    assert pages == 2
    assert [item["name"] for item in _items(client, "/api/v1/accounts", manager.headers, q="丙")] == [
        "丙公司"
    ]


def test_a_bad_filter_sort_or_limit_gets_422_naming_the_parameter(client, make_person):
    rep = make_person("sales_rep")

    answers = {
        "filter": client.get("/api/v1/accounts", params={"filter": "city"}, headers=rep.headers),
        "operator": client.get("/api/v1/accounts", params={"filter": "city:like:x"}, headers=rep.headers),
        "field": client.get("/api/v1/accounts", params={"filter": "shoe_size:eq:42"}, headers=rep.headers),
        "sort": client.get("/api/v1/contacts", params={"sort": "-nope"}, headers=rep.headers),
        "limit": client.get("/api/v1/contacts", params={"limit": 501}, headers=rep.headers),
        "view": client.get("/api/v1/contacts", params={"view_id": "no-such-view"}, headers=rep.headers),
    }

    assert {key: (a.status_code, a.json()["errors"][0]["field"]) for key, a in answers.items()} == {
        "filter": (422, "filter"),
        "operator": (422, "filter"),
        "field": (422, "filter"),
        "sort": (422, "sort"),
        "limit": (422, "query.limit"),
        "view": (422, "view_id"),
    }


def test_bulk_tagging_through_the_api_is_all_or_nothing(client, make_person):
    manager = make_person("sales_manager")
    alice = make_person("sales_rep")
    tag = _create(client, "/api/v1/tags", manager.headers, {"name": "重点客户", "colour": "#FF0000"})
    mine = [_create(client, "/api/v1/accounts", alice.headers, {"name": name}) for name in ("甲", "乙")]
    theirs = _create(client, "/api/v1/accounts", manager.headers, {"name": "丙"})

    refused = client.post(
        "/api/v1/accounts/bulk",
        json={"record_ids": [mine[0]["id"], theirs["id"]], "action": "add_tags", "tag_ids": [tag["id"]]},
        headers=alice.headers,
    )
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "record_ids.1"
    assert _items(client, "/api/v1/accounts", alice.headers, filter=f"tag:eq:{tag['id']}") == []

    done = client.post(
        "/api/v1/accounts/bulk",
        json={"record_ids": [m["id"] for m in mine], "action": "add_tags", "tag_ids": [tag["id"]]},
        headers=alice.headers,
    )

    assert done.status_code == 200
    assert done.json() == {"changed": 2, "record_ids": [m["id"] for m in mine]}
    tagged = _items(client, "/api/v1/accounts", alice.headers, filter=f"tag:eq:{tag['id']}")
    assert sorted((a["name"], [t["colour"] for t in a["tags"]]) for a in tagged) == [
        ("乙", ["#ff0000"]),
        ("甲", ["#ff0000"]),
    ]


def test_bulk_delete_of_contacts(client, make_person):
    manager = make_person("sales_manager")
    contacts = [
        _create(client, "/api/v1/contacts", manager.headers, {"family_name": name}) for name in ("钱", "孙")
    ]

    done = client.post(
        "/api/v1/contacts/bulk",
        json={"record_ids": [contacts[0]["id"]], "action": "delete"},
        headers=manager.headers,
    )

    assert done.json()["changed"] == 1
    assert [c["full_name"] for c in _items(client, "/api/v1/contacts", manager.headers)] == ["孙"]


def test_history_lists_each_changed_field(client, make_person):
    rep = make_person("sales_rep")
    contact = _create(client, "/api/v1/contacts", rep.headers, {"family_name": "赵", "given_name": "敏"})
    client.patch(f"/api/v1/contacts/{contact['id']}", json={"title": "总监"}, headers=rep.headers)

    history = client.get(f"/api/v1/contacts/{contact['id']}/history", headers=rep.headers)

    assert history.status_code == 200
    changes = history.json()
    assert [(c["action"], c["field"], c["old"], c["new"]) for c in changes if c["field"] == "title"] == [
        ("update", "title", None, "总监")
    ]
    assert changes[0]["actor"] == rep.user.email
    assert {c["action"] for c in changes} == {"update", "create"}
    # Keys derived from the name change with it: they are not changes of their own.
    assert {c["field"] for c in changes} == {"family_name", "given_name", "gender", "owner_id", "title"}
    owner = next(c for c in changes if c["field"] == "owner_id")
    assert (owner["new"], owner["new_label"], owner["old_label"]) == (rep.user.id, rep.user.name, None)


def test_history_names_the_team_and_the_parent_account_beside_their_ids(client, make_person):
    admin = make_person("admin")
    team = _create(client, "/api/v1/teams", admin.headers, {"name": "华东销售部"})
    group = _create(client, "/api/v1/accounts", admin.headers, {"name": "晨光集团"})
    account = _create(client, "/api/v1/accounts", admin.headers, {"name": "晨光公司"})
    changed = client.patch(
        f"/api/v1/accounts/{account['id']}",
        json={"name": "晨光科技", "team_id": team["id"], "parent_id": group["id"]},
        headers=admin.headers,
    )
    assert changed.status_code == 200, changed.text

    changes = client.get(f"/api/v1/accounts/{account['id']}/history", headers=admin.headers).json()

    update = {c["field"]: c for c in changes if c["action"] == "update"}
    assert sorted(update) == ["name", "parent_id", "team_id"]  # not name_key, search_text
    assert (update["team_id"]["new"], update["team_id"]["new_label"]) == (team["id"], "华东销售部")
    assert (update["parent_id"]["new"], update["parent_id"]["new_label"]) == (group["id"], "晨光集团")
    assert (update["name"]["old"], update["name"]["new"], update["name"]["new_label"]) == (
        "晨光公司",
        "晨光科技",
        None,
    )


def test_relationships_and_subsidiaries(client, make_person):
    manager = make_person("sales_manager")
    group = _create(client, "/api/v1/accounts", manager.headers, {"name": "集团"})
    branch = _create(
        client, "/api/v1/accounts", manager.headers, {"name": "分公司", "parent_id": group["id"]}
    )
    supplier = _create(client, "/api/v1/accounts", manager.headers, {"name": "供应商"})
    base = f"/api/v1/accounts/{group['id']}"

    added = client.post(
        f"{base}/relationships",
        json={"to_account_id": supplier["id"], "kind": "customer_of"},
        headers=manager.headers,
    )
    twice = client.post(
        f"{base}/relationships",
        json={"to_account_id": supplier["id"], "kind": "customer_of"},
        headers=manager.headers,
    )
    listed = client.get(f"{base}/relationships", headers=manager.headers).json()
    children = client.get(f"{base}/children", headers=manager.headers).json()

    assert added.status_code == 201
    relationship_id = added.json()["id"]
    assert added.headers["location"] == f"{base}/relationships/{relationship_id}"
    assert twice.status_code == 422
    assert [(r["from_account_name"], r["kind"], r["to_account_name"]) for r in listed] == [
        ("集团", "customer_of", "供应商")
    ]
    assert children == [{"id": branch["id"], "name": "分公司"}]
    assert branch["parent_name"] == "集团"

    removed = client.delete(f"{base}/relationships/{relationship_id}", headers=manager.headers)
    again = client.delete(f"{base}/relationships/{relationship_id}", headers=manager.headers)

    assert removed.status_code == 204
    assert again.status_code == 404
    assert client.get(f"{base}/relationships", headers=manager.headers).json() == []


# ---------------------------------------------------------------- tags, custom fields, saved views


def test_tags_crud(client, make_person):
    manager = make_person("sales_manager")
    rep = make_person("sales_rep")

    created = client.post("/api/v1/tags", json={"name": "重点", "colour": "#00AA00"}, headers=manager.headers)
    tag_id = created.json()["id"]
    renamed = client.patch(
        f"/api/v1/tags/{tag_id}", json={"name": "重点客户"}, headers={**manager.headers, "If-Match": '"1"'}
    )
    stale = client.patch(
        f"/api/v1/tags/{tag_id}", json={"name": "过期"}, headers={**manager.headers, "If-Match": '"1"'}
    )
    duplicate = client.post("/api/v1/tags", json={"name": "重点客户"}, headers=manager.headers)
    by_rep = client.post("/api/v1/tags", json={"name": "代表的"}, headers=rep.headers)

    assert created.status_code == 201
    assert created.headers["location"] == f"/api/v1/tags/{tag_id}"
    assert created.headers["etag"] == '"1"'
    assert created.json()["colour"] == "#00aa00"
    assert (renamed.status_code, renamed.headers["etag"], renamed.json()["name"]) == (200, '"2"', "重点客户")
    assert stale.status_code == 412
    assert (duplicate.status_code, duplicate.json()["errors"][0]["field"]) == (422, "name")
    assert by_rep.status_code == 403
    assert [t["name"] for t in client.get("/api/v1/tags", headers=rep.headers).json()] == ["重点客户"]

    admin = make_person("admin")
    assert client.delete(f"/api/v1/tags/{tag_id}", headers=admin.headers).status_code == 204
    assert client.get("/api/v1/tags", headers=rep.headers).json() == []
    assert client.delete(f"/api/v1/tags/{tag_id}", headers=admin.headers).status_code == 404


def test_custom_fields_crud(client, make_person):
    admin = make_person("admin")
    rep = make_person("sales_rep")

    created = client.post(
        "/api/v1/custom-fields",
        json={"record_kind": "account", "key": "budget", "label": "预算", "kind": "money"},
        headers=admin.headers,
    )
    field_id = created.json()["id"]
    _create(
        client,
        "/api/v1/custom-fields",
        admin.headers,
        {"record_kind": "contact", "key": "hobby", "label": "爱好", "kind": "text"},
    )
    read = client.get(f"/api/v1/custom-fields/{field_id}", headers=rep.headers)
    updated = client.patch(
        f"/api/v1/custom-fields/{field_id}",
        json={"label": "年度预算", "is_required": True},
        headers={**admin.headers, "If-Match": '"1"'},
    )
    stale = client.patch(
        f"/api/v1/custom-fields/{field_id}",
        json={"label": "旧"},
        headers={**admin.headers, "If-Match": '"1"'},
    )
    by_rep = client.post(
        "/api/v1/custom-fields",
        json={"record_kind": "account", "key": "mine", "label": "我的", "kind": "text"},
        headers=rep.headers,
    )
    duplicate = client.post(
        "/api/v1/custom-fields",
        json={"record_kind": "account", "key": "budget", "label": "又一个", "kind": "text"},
        headers=admin.headers,
    )

    assert created.status_code == 201
    assert created.headers["location"] == f"/api/v1/custom-fields/{field_id}"
    assert (read.status_code, read.headers["etag"], read.json()["key"]) == (200, '"1"', "budget")
    assert (updated.headers["etag"], updated.json()["label"], updated.json()["is_required"]) == (
        '"2"',
        "年度预算",
        True,
    )
    assert stale.status_code == 412
    assert by_rep.status_code == 403
    assert (duplicate.status_code, duplicate.json()["errors"][0]["field"]) == (422, "key")
    listed = client.get("/api/v1/custom-fields", params={"record_kind": "account"}, headers=rep.headers)
    assert [f["key"] for f in listed.json()] == ["budget"]
    assert [f["key"] for f in client.get("/api/v1/custom-fields", headers=rep.headers).json()] == [
        "budget",
        "hobby",
    ]
    assert client.get("/api/v1/custom-fields/nope", headers=rep.headers).status_code == 404

    account = client.post(
        "/api/v1/accounts",
        json={"name": "预算公司", "custom_fields": {"budget": "1,000.5"}},
        headers=rep.headers,
    )
    assert account.json()["custom_fields"] == {"budget": 1000.5}


def test_saved_views_private_and_shared(client, make_person):
    alice = make_person("marketer")
    bob = make_person("marketer")
    for name, city in (("福州一号", "福州"), ("厦门一号", "厦门")):
        _create(client, "/api/v1/accounts", alice.headers, {"name": name, "city": city})

    private = client.post(
        "/api/v1/saved-views",
        json={"record_kind": "account", "name": "我的福州", "filters": ["city:eq:福州"]},
        headers=alice.headers,
    )
    shared = _create(
        client,
        "/api/v1/saved-views",
        alice.headers,
        {"record_kind": "account", "name": "厦门客户", "filters": ["city:eq:厦门"], "is_shared": True},
    )
    bad = client.post(
        "/api/v1/saved-views",
        json={"record_kind": "account", "name": "坏的", "filters": ["city"]},
        headers=alice.headers,
    )
    private_id = private.json()["id"]

    assert private.status_code == 201
    assert private.headers["location"] == f"/api/v1/saved-views/{private_id}"
    assert (bad.status_code, bad.json()["errors"][0]["field"]) == (422, "filters.0")

    def names(person) -> list[str]:
        response = client.get(
            "/api/v1/saved-views", params={"record_kind": "account"}, headers=person.headers
        )
        return [view["name"] for view in response.json()]

    assert names(alice) == ["厦门客户", "我的福州"]
    assert names(bob) == ["厦门客户"]
    assert (
        client.get("/api/v1/saved-views", params={"record_kind": "contact"}, headers=alice.headers).json()
        == []
    )
    assert client.get("/api/v1/saved-views", headers=alice.headers).status_code == 422
    in_view = _items(client, "/api/v1/accounts", bob.headers, view_id=shared["id"])
    assert [item["name"] for item in in_view] == ["厦门一号"]
    refused = client.get("/api/v1/accounts", params={"view_id": private_id}, headers=bob.headers)
    assert (refused.status_code, refused.json()["errors"][0]["field"]) == (422, "view_id")

    assert client.delete(f"/api/v1/saved-views/{private_id}", headers=bob.headers).status_code == 404
    assert client.delete(f"/api/v1/saved-views/{shared['id']}", headers=bob.headers).status_code == 403
    assert client.delete(f"/api/v1/saved-views/{private_id}", headers=alice.headers).status_code == 204
    assert names(alice) == ["厦门客户"]


def test_a_contact_lifecycle_with_employment(client, make_person):
    rep = make_person("sales_rep")
    account = _create(client, "/api/v1/accounts", rep.headers, {"name": "东家"})

    created = client.post(
        "/api/v1/contacts",
        json={
            "family_name": "王",
            "given_name": "芳",
            "emails": [{"address": "Wang.Fang@Example.com"}],
            "employments": [{"account_id": account["id"], "title": "经理"}],
        },
        headers=rep.headers,
    )
    path = created.headers["location"]
    updated = client.patch(path, json={"department": "采购部"}, headers={**rep.headers, "If-Match": '"1"'})
    deleted = client.delete(path, headers={**rep.headers, "If-Match": updated.headers["etag"]})

    assert created.status_code == 201
    assert created.json()["emails"][0]["value"] == "wang.fang@example.com"
    assert [(job["account_name"], job["title"]) for job in created.json()["employments"]] == [
        ("东家", "经理")
    ]
    assert (updated.status_code, updated.json()["department"]) == (200, "采购部")
    # a rep may not delete (reps' grants have no delete), and says so instead of hiding the record
    assert deleted.status_code == 403
    assert client.get(path, headers=rep.headers).status_code == 200
