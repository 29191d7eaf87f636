"""Record scope and field masking on every surface that shows customers: lists, the global search,
the timeline, exports and the REST API (issue 3's "must show").

One sales organisation serves every test, so each surface is checked against the same answer:

* East team, managed by ``manager``, with the reps ``rep`` and ``teammate``; South team with the
  rep ``outsider``; an ``admin``; a ``reader`` (read-only role, public clearance).
* Accounts: 东区甲公司 (rep's), 东区乙公司 (teammate's), 南区丙公司 (outsider's) and 南区托管公司,
  owned by the outsider but filed under the East team (team scope reaches a record through its
  team as well as through its owner).
* Contacts: 王芳 (rep's) and 李雷 (teammate's) both work at 东区甲公司; 赵敏 (outsider's) at 南区丙公司.
  Each has a phone ending in 5678 and an email address.
* Every account has an annual revenue (confidential), a credit limit (custom, confidential) and
  board notes (custom, secret). Contacts have a birthday (confidential) and phones, emails, a
  WeChat id and an address (internal).

Clearances of the built-in roles: admin secret, sales manager confidential, sales rep internal,
read-only public. A field above the reader's clearance is ``None`` and named in ``masked_fields``;
it can be neither searched, filtered nor sorted on (the order of rows would reveal it).
"""

from __future__ import annotations

import csv
import dataclasses
import io
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from loopcrm.modules.activities import service as activities
from loopcrm.modules.activities.schemas import ActivityCreate
from loopcrm.modules.customers import service as customers
from loopcrm.modules.customers.models import RecordKind
from loopcrm.modules.customers.schemas import AccountCreate, ContactCreate, CustomFieldCreate, ListQuery
from loopcrm.modules.customers.service import exports
from loopcrm.modules.customers.service.exports import ExportFormat
from loopcrm.platform.auth import service as auth
from loopcrm.platform.auth.schemas import TeamCreate
from loopcrm.platform.errors import NotFound, ValidationFailed
from loopcrm.platform.i18n import translator
from loopcrm.platform.permissions import system_actor

from ..support import web_forms
from ..support.web_forms import PASSWORD
from .conftest import log_call

ALL_ACCOUNTS = ["东区乙公司", "东区甲公司", "南区丙公司", "南区托管公司"]
ALL_CONTACTS = ["李雷", "王芳", "赵敏"]
# Who reads which records: own for reps, the East team's (members' and filed under it) for its
# manager, everything for the admin and the read-only role.
ACCOUNTS_IN_SCOPE = {
    "rep": ["东区甲公司"],
    "teammate": ["东区乙公司"],
    "outsider": ["南区丙公司", "南区托管公司"],
    "manager": ["东区乙公司", "东区甲公司", "南区托管公司"],
    "admin": ALL_ACCOUNTS,
    "reader": ALL_ACCOUNTS,
}
CONTACTS_IN_SCOPE = {
    "rep": ["王芳"],
    "teammate": ["李雷"],
    "outsider": ["赵敏"],
    "manager": ["李雷", "王芳"],
    "admin": ALL_CONTACTS,
    "reader": ALL_CONTACTS,
}
# What each clearance cannot see of an account and of a contact.
ACCOUNT_MASKS = {
    "reader": [
        "annual_revenue",
        "custom_fields.board_notes",
        "custom_fields.credit_limit",
        "emails",
        "phones",
    ],
    "rep": ["annual_revenue", "custom_fields.board_notes", "custom_fields.credit_limit"],
    "manager": ["custom_fields.board_notes"],
    "admin": [],
}
CONTACT_MASKS = {
    "reader": ["address", "birthday", "emails", "phones", "wechat_id"],
    "rep": ["birthday"],
    "manager": [],
    "admin": [],
}


@dataclass
class Org:
    people: dict[str, Any]  # role in the organisation → conftest Person
    accounts: dict[str, str]  # name → id
    contacts: dict[str, str]  # name → id

    def __getattr__(self, name: str) -> Any:
        try:
            return self.people[name]
        except KeyError:
            raise AttributeError(name) from None


@pytest.fixture
def org(uow_factory, make_person) -> Org:
    system = system_actor()
    people = {
        "admin": make_person("admin"),
        "manager": make_person("sales_manager", name="东区经理"),
        "rep": make_person("sales_rep", name="东区销售", email="rep@example.com", password=PASSWORD),
        "teammate": make_person("sales_rep", name="东区同事"),
        "outsider": make_person("sales_rep", name="南区销售"),
        "reader": make_person("read_only", email="reader@example.com", password=PASSWORD),
    }
    east = auth.create_team(
        uow_factory(),
        system,
        TeamCreate(
            name="East",
            manager_id=people["manager"].user.id,
            member_ids=[people[key].user.id for key in ("manager", "rep", "teammate")],
        ),
    )
    auth.create_team(uow_factory(), system, TeamCreate(name="South", member_ids=[people["outsider"].user.id]))
    # The actors were resolved before the teams existed: resolve them again, as the next request would.
    people = {
        key: dataclasses.replace(person, actor=auth.actor_for_user(uow_factory(), person.user.id))
        for key, person in people.items()
    }
    admin = people["admin"].actor
    for key, label, level in (
        ("credit_limit", "信用额度", "confidential"),
        ("board_notes", "董事会备注", "secret"),
    ):
        customers.create_custom_field(
            uow_factory(),
            admin,
            CustomFieldCreate.model_validate(
                {
                    "record_kind": "account",
                    "key": key,
                    "label": label,
                    "label_en": key.replace("_", " ").capitalize(),
                    "kind": "money" if key == "credit_limit" else "text",
                    "security_level": level,
                }
            ),
        )

    accounts: dict[str, str] = {}
    for name, owner, team_id, revenue in (
        ("东区甲公司", "rep", None, "1000000"),
        ("东区乙公司", "teammate", None, "2000000"),
        ("南区丙公司", "outsider", None, "3000000"),
        ("南区托管公司", "outsider", east.id, "4000000"),
    ):
        accounts[name] = customers.create_account(
            uow_factory(),
            admin,
            AccountCreate.model_validate(
                {
                    "name": name,
                    "city": "上海",
                    "owner_id": people[owner].user.id,
                    "team_id": team_id,
                    "annual_revenue": revenue,
                    "phones": [{"number": "021 6000 " + revenue[:4]}],
                    "custom_fields": {"credit_limit": revenue[:3], "board_notes": f"{name}的机密"},
                }
            ),
        ).id
    contacts: dict[str, str] = {}
    for family, given, owner, account, phone, email in (
        ("王", "芳", "rep", "东区甲公司", "138 1111 5678", "wang.fang@jia.example.cn"),
        ("李", "雷", "teammate", "东区甲公司", "139 2222 5678", "li.lei@jia.example.cn"),
        ("赵", "敏", "outsider", "南区丙公司", "137 3333 5678", "zhao.min@bing.example.cn"),
    ):
        contacts[family + given] = customers.create_contact(
            uow_factory(),
            admin,
            ContactCreate.model_validate(
                {
                    "family_name": family,
                    "given_name": given,
                    "owner_id": people[owner].user.id,
                    "phones": [{"number": phone}],
                    "emails": [{"address": email}],
                    "wechat_id": f"wx_{email.split('@')[0].replace('.', '_')}",
                    "address": "上海市浦东新区世纪大道100号",
                    "birthday": "1990-05-17",
                    "employments": [{"account_id": accounts[account]}],
                }
            ),
        ).id
    return Org(people, accounts, contacts)


def _account_names(uow_factory, person, query: ListQuery | None = None) -> list[str]:
    page = customers.list_accounts(uow_factory(), person.actor, query or ListQuery(), limit=50, cursor=None)
    return sorted(item.name for item in page.items)


def _contact_names(uow_factory, person, query: ListQuery | None = None) -> list[str]:
    page = customers.list_contacts(uow_factory(), person.actor, query or ListQuery(), limit=50, cursor=None)
    return sorted(item.full_name for item in page.items)


def _csv(content: bytes) -> list[list[str]]:
    assert content.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))


# ---------------------------------------------------------------- lists


def test_lists_show_own_records_to_a_rep_the_teams_to_a_manager_and_all_to_an_admin(uow_factory, org):
    seen = {
        role: (_account_names(uow_factory, org.people[role]), _contact_names(uow_factory, org.people[role]))
        for role in ACCOUNTS_IN_SCOPE
    }

    assert seen == {role: (ACCOUNTS_IN_SCOPE[role], CONTACTS_IN_SCOPE[role]) for role in ACCOUNTS_IN_SCOPE}
    # A filter cannot reach past the scope: the rep's filter on another rep's account finds nothing.
    other = ListQuery(filters=[f"account_id:eq:{org.accounts['南区丙公司']}"])
    assert _contact_names(uow_factory, org.rep, other) == []
    assert _contact_names(uow_factory, org.admin, other) == ["赵敏"]


def test_lists_mask_fields_above_the_readers_clearance_and_refuse_to_sort_or_filter_on_them(uow_factory, org):
    def first_account(role: str) -> Any:
        query = ListQuery(filters=["city:eq:上海"], q="东区甲")
        [item] = customers.list_accounts(
            uow_factory(), org.people[role].actor, query, limit=5, cursor=None
        ).items
        return item

    def first_contact(role: str) -> Any:
        [item] = customers.list_contacts(
            uow_factory(), org.people[role].actor, ListQuery(q="王芳"), limit=5, cursor=None
        ).items
        return item

    accounts = {role: first_account(role) for role in ("reader", "rep", "manager", "admin")}
    contacts = {role: first_contact(role) for role in ("reader", "rep", "manager", "admin")}

    assert {role: sorted(item.masked_fields) for role, item in accounts.items()} == ACCOUNT_MASKS
    assert {role: sorted(item.masked_fields) for role, item in contacts.items()} == CONTACT_MASKS
    assert {
        role: (str(item.annual_revenue) if item.annual_revenue is not None else None, item.custom_fields)
        for role, item in accounts.items()
    } == {
        "reader": (None, {}),
        "rep": (None, {}),
        "manager": ("1000000.00", {"credit_limit": 100}),
        "admin": ("1000000.00", {"credit_limit": 100, "board_notes": "东区甲公司的机密"}),
    }
    assert (accounts["reader"].phones, accounts["rep"].phones[0].value) == (None, "+862160001000")
    assert {role: (item.birthday, item.wechat_id) for role, item in contacts.items()} == {
        "reader": (None, None),
        "rep": (None, "wx_wang_fang"),
        "manager": (datetime(1990, 5, 17).date(), "wx_wang_fang"),
        "admin": (datetime(1990, 5, 17).date(), "wx_wang_fang"),
    }

    # The order of rows, or which rows a filter keeps, would reveal a hidden value.
    refused = []
    for role, kind, query in (
        ("rep", "account", ListQuery(sort="-annual_revenue")),
        ("rep", "account", ListQuery(filters=["custom_fields.credit_limit:gt:150"])),
        ("manager", "account", ListQuery(sort="custom_fields.board_notes")),
        ("rep", "contact", ListQuery(filters=["birthday:empty:"])),
        ("reader", "contact", ListQuery(filters=["phones:contains:5678"])),
        ("reader", "contact", ListQuery(sort="wechat_id")),
    ):
        lister = customers.list_accounts if kind == "account" else customers.list_contacts
        with pytest.raises(ValidationFailed) as error:
            lister(uow_factory(), org.people[role].actor, query, limit=5, cursor=None)
        refused.append(error.value.errors[0].code)
    assert refused == ["field_not_allowed"] * 6
    # Within the clearance the same requests work.
    by_revenue = ListQuery(sort="-annual_revenue")
    assert [
        item.name
        for item in customers.list_accounts(
            uow_factory(), org.manager.actor, by_revenue, limit=5, cursor=None
        ).items
    ] == ["南区托管公司", "东区乙公司", "东区甲公司"]
    over = ListQuery(filters=["custom_fields.credit_limit:gt:150"])
    assert _account_names(uow_factory, org.manager, over) == ["东区乙公司", "南区托管公司"]


# ---------------------------------------------------------------- search


def test_the_global_search_finds_only_records_in_the_readers_scope(uow_factory, org):
    def found(role: str, q: str) -> list[tuple[str, str]]:
        hits = customers.search_customers(uow_factory(), org.people[role].actor, q, limit=20)
        return sorted((hit.record_kind.value, hit.name) for hit in hits)

    by_name = {role: found(role, "公司") for role in ACCOUNTS_IN_SCOPE}
    by_phone_end = {role: found(role, "5678") for role in ("rep", "teammate", "outsider", "manager", "admin")}

    assert by_name == {
        # A contact is found by its own name, not its employer's: "公司" finds accounts only.
        role: [("account", name) for name in names]
        for role, names in ACCOUNTS_IN_SCOPE.items()
    }
    assert by_phone_end == {
        role: [("contact", name) for name in CONTACTS_IN_SCOPE[role]] for role in by_phone_end
    }
    # An exact email or whole phone number of a record out of scope finds nothing either.
    assert found("rep", "li.lei@jia.example.cn") == []
    assert found("rep", "139 2222 5678") == []
    assert found("manager", "li.lei@jia.example.cn") == [("contact", "李雷")]
    assert found("outsider", "13922225678") == []


def test_a_reader_cannot_find_a_record_by_a_value_it_may_not_see(uow_factory, org):
    def found(role: str, q: str) -> list[str]:
        return sorted(
            hit.name for hit in customers.search_customers(uow_factory(), org.people[role].actor, q, limit=20)
        )

    # Phones and emails are internal: above the read-only role's public clearance.
    for q in ("5678", "13811115678", "+86 138 1111 5678", "wang.fang@jia.example.cn", "wang.fang@", "6000"):
        assert found("reader", q) == [], q
        assert _contact_names(uow_factory, org.reader, ListQuery(q=q)) == [], q
        assert _account_names(uow_factory, org.reader, ListQuery(q=q)) == [], q
    # Confidential and secret values are not searchable text for anyone, so they reveal nothing.
    for q in ("1990-05-17", "19900517", "东区甲公司的机密", "机密"):
        assert found("admin", q) == [], q
    # The same reader still finds the records by their public names, and an admin by phone.
    assert found("reader", "王芳") == ["王芳"]
    assert found("admin", "13811115678") == ["王芳"]
    assert found("rep", "wang.fang@jia.example.cn") == ["王芳"]


def test_the_search_page_hides_what_the_reader_may_not_see(client: TestClient, org):
    def names(html: str) -> list[str]:
        return re.findall(r'<span class="search-hit-name">([^<]*)</span>', html)

    web_forms.sign_in(client, org.reader.user.email)
    reader_by_phone = client.get("/customers/search", params={"q": "13811115678"})
    reader_by_name = client.get("/customers/search", params={"q": "wf"})
    client.cookies.clear()
    web_forms.sign_in(client, org.rep.user.email)
    rep_by_phone = client.get("/customers/search", params={"q": "5678"})
    rep_suggestions = client.get(
        "/customers/search/suggestions", params={"q": "5678"}, headers={"HX-Request": "true"}
    )

    assert reader_by_phone.status_code == 200
    assert names(reader_by_phone.text) == []
    assert names(reader_by_name.text) == ["王芳"]
    hits = reader_by_name.text[reader_by_name.text.index('<ul class="search-hits">') :]
    hits = hits[: hits.index("</ul>")]
    assert "5678" not in hits and "wang.fang" not in hits
    assert names(rep_by_phone.text) == ["王芳"]
    assert names(rep_suggestions.text) == ["王芳"]


# ---------------------------------------------------------------- timeline


def test_a_timeline_shows_only_the_records_the_reader_may_read(uow_factory, org):
    start = datetime(2026, 11, 2, 9, tzinfo=UTC)
    jia, yi = org.accounts["东区甲公司"], org.accounts["东区乙公司"]
    log_call(uow_factory, org.rep.actor, "甲公司总机", [("account", jia)], start)
    log_call(
        uow_factory,
        org.rep.actor,
        "王芳采购",
        [("contact", org.contacts["王芳"])],
        start + timedelta(hours=1),
    )
    log_call(
        uow_factory,
        org.teammate.actor,
        "李雷技术",
        [("contact", org.contacts["李雷"])],
        start + timedelta(hours=2),
    )
    log_call(uow_factory, org.teammate.actor, "乙公司总机", [("account", yi)], start + timedelta(hours=3))

    def titles(role: str, kind: str, record_id: str) -> list[str] | str:
        try:
            page = customers.timeline(uow_factory(), org.people[role].actor, kind, record_id)
        except NotFound:
            return "not found"
        return [entry.title for entry in page.items]

    # 东区甲公司's timeline includes its contacts' calls, but only of the contacts the reader may
    # read: the rep owns 王芳, not the teammate's 李雷 who works there too.
    assert titles("rep", "account", jia) == ["王芳采购", "甲公司总机"]
    assert titles("manager", "account", jia) == ["李雷技术", "王芳采购", "甲公司总机"]
    assert titles("admin", "account", jia) == ["李雷技术", "王芳采购", "甲公司总机"]
    assert titles("teammate", "account", jia) == "not found"
    assert titles("rep", "contact", org.contacts["李雷"]) == "not found"
    assert titles("manager", "account", yi) == ["乙公司总机"]
    assert titles("manager", "contact", org.contacts["李雷"]) == ["李雷技术"]
    assert titles("outsider", "account", yi) == "not found"
    assert titles("outsider", "account", jia) == "not found"
    assert titles("reader", "account", jia) == ["李雷技术", "王芳采购", "甲公司总机"]


def test_a_timeline_does_not_show_contact_details_above_the_readers_clearance(uow_factory, org):
    activities.log_activity(
        uow_factory(),
        org.rep.actor,
        ActivityCreate.model_validate(
            {
                "kind": "email",
                "subject": "报价单",
                "occurred_at": datetime(2026, 11, 3, 9, tzinfo=UTC).isoformat(),
                "links": [{"subject_type": "contact", "subject_id": org.contacts["王芳"]}],
                "email": {"from_address": "rep@example.com", "to": ["wang.fang@jia.example.cn"]},
            }
        ),
    )

    [for_rep] = customers.timeline(uow_factory(), org.rep.actor, "contact", org.contacts["王芳"]).items
    [for_reader] = customers.timeline(uow_factory(), org.reader.actor, "contact", org.contacts["王芳"]).items

    assert for_rep.activity is not None and for_rep.activity.email is not None
    assert for_rep.activity.email.to == ["wang.fang@jia.example.cn"]
    # The read-only role may not see 王芳's emails (internal), so not on her timeline either.
    assert "wang.fang@jia.example.cn" not in for_reader.model_dump_json()
    assert for_reader.activity is not None and for_reader.activity.masked_fields == ["email_addresses"]
    assert for_rep.activity.masked_fields == []


# ---------------------------------------------------------------- exports


def test_exports_have_the_rows_of_the_readers_scope_and_empty_masked_columns(uow_factory, org):
    def exported(role: str, kind: RecordKind, columns: list[str]) -> list[list[str]]:
        download = exports.export_records(
            uow_factory(),
            org.people[role].actor,
            kind,
            ListQuery(sort="name" if kind is RecordKind.ACCOUNT else "full_name"),
            ExportFormat.CSV,
            translator("en"),
            columns=columns,
        )
        return _csv(b"".join(download.chunks))

    account_columns = [
        "name",
        "annual_revenue",
        "custom_fields.credit_limit",
        "custom_fields.board_notes",
        "phones",
    ]
    accounts = {role: exported(role, RecordKind.ACCOUNT, account_columns) for role in ACCOUNTS_IN_SCOPE}
    contacts = {
        role: exported(role, RecordKind.CONTACT, ["full_name", "birthday", "phones", "wechat_id"])
        for role in ACCOUNTS_IN_SCOPE
    }

    assert {role: sorted(row[0] for row in rows[1:]) for role, rows in accounts.items()} == ACCOUNTS_IN_SCOPE
    assert {role: sorted(row[0] for row in rows[1:]) for role, rows in contacts.items()} == CONTACTS_IN_SCOPE
    assert accounts["rep"] == [
        [
            "Account name",
            "Annual revenue (hidden)",
            "Credit limit (hidden)",
            "Board notes (hidden)",
            "Phones",
        ],
        ["东区甲公司", "", "", "", "+862160001000"],
    ]
    assert accounts["manager"][0] == [
        "Account name",
        "Annual revenue",
        "Credit limit",
        "Board notes (hidden)",
        "Phones",
    ]
    assert accounts["manager"][1:] == [
        ["东区乙公司", "2000000.00", "200", "", "+862160002000"],
        ["东区甲公司", "1000000.00", "100", "", "+862160001000"],
        ["南区托管公司", "4000000.00", "400", "", "+862160004000"],
    ]
    assert accounts["admin"][0] == ["Account name", "Annual revenue", "Credit limit", "Board notes", "Phones"]
    assert accounts["admin"][3] == ["南区丙公司", "3000000.00", "300", "南区丙公司的机密", "+862160003000"]
    assert accounts["reader"][0][1:] == [
        "Annual revenue (hidden)",
        "Credit limit (hidden)",
        "Board notes (hidden)",
        "Phones (hidden)",
    ]
    assert {row[0]: row[1:] for row in accounts["reader"][1:]} == {
        name: ["", "", "", ""] for name in ALL_ACCOUNTS
    }
    assert contacts["rep"] == [
        ["Full name", "Birthday (hidden)", "Phones", "WeChat id"],
        ["王芳", "", "+8613811115678", "wx_wang_fang"],
    ]
    assert contacts["manager"][1:] == [
        ["李雷", "1990-05-17", "+8613922225678", "wx_li_lei"],
        ["王芳", "1990-05-17", "+8613811115678", "wx_wang_fang"],
    ]
    assert contacts["reader"][0] == [
        "Full name",
        "Birthday (hidden)",
        "Phones (hidden)",
        "WeChat id (hidden)",
    ]
    assert all(row[1:] == ["", "", ""] for row in contacts["reader"][1:])


# ---------------------------------------------------------------- REST API


def test_the_api_keeps_to_the_readers_scope(client: TestClient, org):
    def names(role: str, path: str, field: str) -> list[str]:
        answer = client.get(path, headers=org.people[role].headers, params={"limit": 50})
        assert answer.status_code == 200, answer.text
        return sorted(item[field] for item in answer.json()["items"])

    def status(role: str, path: str) -> int:
        return client.get(path, headers=org.people[role].headers).status_code

    listed = {
        role: (names(role, "/api/v1/accounts", "name"), names(role, "/api/v1/contacts", "full_name"))
        for role in ACCOUNTS_IN_SCOPE
    }

    assert listed == {role: (ACCOUNTS_IN_SCOPE[role], CONTACTS_IN_SCOPE[role]) for role in ACCOUNTS_IN_SCOPE}
    managed = org.accounts["南区托管公司"]  # the outsider's, filed under the East team
    li_lei = org.contacts["李雷"]
    assert {
        role: [
            status(role, f"/api/v1/accounts/{managed}"),
            status(role, f"/api/v1/accounts/{managed}/timeline"),
            status(role, f"/api/v1/contacts/{li_lei}"),
            status(role, f"/api/v1/contacts/{li_lei}/timeline"),
            status(role, f"/api/v1/contacts/{li_lei}/history"),
        ]
        for role in ("rep", "teammate", "outsider", "manager", "admin")
    } == {
        "rep": [404, 404, 404, 404, 404],
        "teammate": [404, 404, 200, 200, 200],
        "outsider": [200, 200, 404, 404, 404],
        "manager": [200, 200, 200, 200, 200],
        "admin": [200, 200, 200, 200, 200],
    }
    # A search in the list's q keeps to the scope too.
    assert names("rep", "/api/v1/contacts?q=5678", "full_name") == ["王芳"]
    assert names("manager", "/api/v1/contacts?q=5678", "full_name") == ["李雷", "王芳"]
    # And so does an export over the API.
    exported = client.get(
        "/api/v1/accounts/export", headers=org.manager.headers, params={"column": "name", "sort": "name"}
    )
    assert exported.status_code == 200
    assert _csv(exported.content) == [["客户名称"], ["东区乙公司"], ["东区甲公司"], ["南区托管公司"]]


def test_the_api_masks_fields_above_the_readers_clearance(client: TestClient, org):
    jia = org.accounts["东区甲公司"]

    def account(role: str) -> dict[str, Any]:
        answer = client.get(f"/api/v1/accounts/{jia}", headers=org.people[role].headers)
        assert answer.status_code == 200, answer.text
        return answer.json()

    def listed(role: str) -> dict[str, Any]:
        answer = client.get("/api/v1/accounts", headers=org.people[role].headers, params={"q": "东区甲"})
        [item] = answer.json()["items"]
        return item

    read = {role: account(role) for role in ACCOUNT_MASKS}
    shown_in_list = {role: listed(role) for role in ACCOUNT_MASKS}

    for shown in (read, shown_in_list):
        assert {role: sorted(item["masked_fields"]) for role, item in shown.items()} == ACCOUNT_MASKS
        assert {role: (item["annual_revenue"], item["custom_fields"]) for role, item in shown.items()} == {
            "reader": (None, {}),
            "rep": (None, {}),
            "manager": ("1000000.00", {"credit_limit": 100}),
            "admin": ("1000000.00", {"credit_limit": 100, "board_notes": "东区甲公司的机密"}),
        }
    assert read["reader"]["phones"] is None and read["rep"]["phones"][0]["value"] == "+862160001000"
    contact = client.get(f"/api/v1/contacts/{org.contacts['王芳']}", headers=org.rep.headers).json()
    assert (contact["birthday"], contact["masked_fields"], contact["wechat_id"]) == (
        None,
        ["birthday"],
        "wx_wang_fang",
    )

    # Filters, sorts and searches over hidden values are refused or find nothing.
    refusals = [
        client.get("/api/v1/accounts", headers=org.rep.headers, params={"sort": "-annual_revenue"}),
        client.get(
            "/api/v1/accounts",
            headers=org.manager.headers,
            params={"filter": "custom_fields.board_notes:contains:机密"},
        ),
        client.get(
            "/api/v1/contacts", headers=org.reader.headers, params={"filter": "emails:starts_with:wang"}
        ),
        client.get("/api/v1/contacts/export", headers=org.rep.headers, params={"sort": "birthday"}),
    ]
    assert [(answer.status_code, answer.json()["errors"][0]["code"]) for answer in refusals] == [
        (422, "field_not_allowed")
    ] * 4
    by_email = client.get(
        "/api/v1/contacts", headers=org.reader.headers, params={"q": "wang.fang@jia.example.cn"}
    )
    assert by_email.json()["items"] == []
    exported = client.get(
        "/api/v1/accounts/export",
        headers=org.rep.headers,
        params={"column": ["name", "annual_revenue", "custom_fields.board_notes"]},
    )
    assert _csv(exported.content) == [
        ["客户名称", "年营业额（已隐藏）", "董事会备注（已隐藏）"],
        ["东区甲公司", "", ""],
    ]
