"""Search over accounts and contacts: the global search box (ranked, mixed kinds) and the ``q`` of
lists, through the full-text index — Hanzi, pinyin, initials, Latin names, email, phone endings,
credit codes; record scope, masked fields and deleted records."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from sqlalchemy import text

from loopcrm.modules.customers import service as customers
from loopcrm.modules.customers.identifiers import (
    credit_code_check_character,
    organisation_code_check_character,
)
from loopcrm.modules.customers.schemas import (
    AccountCreate,
    ContactCreate,
    ContactUpdate,
    ListQuery,
    SearchMatch,
)
from loopcrm.modules.customers.service.search import parse_query


def _code(region: str, organisation: str) -> str:
    body = "91" + region + organisation + organisation_code_check_character(organisation)
    return body + credit_code_check_character(body)


CODE = _code("310000", "MA1K0000")


def _account(uow_factory, person, **fields):
    return customers.create_account(uow_factory(), person.actor, AccountCreate.model_validate(fields))


def _contact(uow_factory, person, **fields):
    return customers.create_contact(uow_factory(), person.actor, ContactCreate.model_validate(fields))


@dataclass
class World:
    alice: object
    bob: object
    admin: object
    reader: object
    ids: dict[str, str]


@pytest.fixture
def world(uow_factory, make_person) -> World:
    """Alice's customers, one namesake of Bob's, and a deleted contact of Alice's."""
    alice, bob = make_person("sales_rep"), make_person("sales_rep")
    admin, reader = make_person("admin"), make_person("read_only")
    ids = {}
    chenguang = _account(
        uow_factory,
        alice,
        name="上海晨光文具股份有限公司",
        name_en="Chenguang Stationery",
        credit_code=CODE,
        city="上海",
    )
    ids["晨光"] = chenguang.id
    ids["王芳"] = _contact(
        uow_factory,
        alice,
        family_name="王",
        given_name="芳",
        city="上海",
        title="采购经理",
        phones=[{"number": "138 1234 5678"}],
        emails=[{"address": "Wang.Fang@chenguang.example.cn"}],
        employments=[{"account_id": chenguang.id}],
    ).id
    ids["汪洋"] = _contact(uow_factory, alice, family_name="汪", given_name="洋", city="北京").id
    ids["单田芳"] = _contact(uow_factory, alice, family_name="单", given_name="田芳", city="上海").id
    ids["Jane Doe"] = _contact(
        uow_factory,
        alice,
        family_name="Doe",
        given_name="Jane",
        city="上海",
        phones=[{"number": "+1 415 555 0123"}],
        emails=[{"address": "jane.doe@example.com"}],
    ).id
    ids["José Álvarez"] = _contact(uow_factory, alice, family_name="Álvarez", given_name="José").id
    ids["bob 王芳"] = _contact(
        uow_factory, bob, family_name="王", given_name="芳", phones=[{"number": "139 0000 5678"}]
    ).id
    gone = _contact(
        uow_factory, alice, family_name="王", given_name="小丽", phones=[{"number": "137 0000 5678"}]
    )
    customers.delete_contact(uow_factory(), admin.actor, gone.id)
    return World(alice, bob, admin, reader, ids)


def _search(uow_factory, person, q: str, limit: int = 20) -> list[tuple[str, str]]:
    return [
        (hit.name, hit.match.value)
        for hit in customers.search_customers(uow_factory(), person.actor, q, limit=limit)
    ]


def _names(uow_factory, person, q: str) -> list[str]:
    return [name for name, _ in _search(uow_factory, person, q)]


def _listed(uow_factory, person, q: str, *, filters=(), sort=None, kind="contact") -> list[str]:
    query = ListQuery(q=q, filters=list(filters), sort=sort)
    if kind == "account":
        page = customers.list_accounts(uow_factory(), person.actor, query, limit=50, cursor=None)
        return [item.name for item in page.items]
    page = customers.list_contacts(uow_factory(), person.actor, query, limit=50, cursor=None)
    return [item.full_name for item in page.items]


def test_names_are_found_by_hanzi_substring_pinyin_and_initials(uow_factory, world):
    alice = world.alice

    assert _search(uow_factory, alice, "晨光") == [("上海晨光文具股份有限公司", "partial")]
    assert _search(uow_factory, alice, "上海晨光") == [("上海晨光文具股份有限公司", "name")]
    assert _search(uow_factory, alice, "芳") == [("王芳", "partial"), ("单田芳", "partial")]
    assert _search(uow_factory, alice, "田芳") == [("单田芳", "partial")]
    assert _search(uow_factory, alice, "wangfang") == [("王芳", "name")]
    assert _search(uow_factory, alice, "wf") == [("王芳", "name")]
    assert _search(uow_factory, alice, "wy") == [("汪洋", "name")]
    assert _search(uow_factory, alice, "tianfang") == [("单田芳", "partial")]
    # 单 as a surname reads shan; people who do not know that type dan, and find it too.
    assert _names(uow_factory, alice, "shantianfang") == ["单田芳"]
    assert _names(uow_factory, alice, "dantianfang") == ["单田芳"]
    assert _names(uow_factory, alice, "chenguang") == ["上海晨光文具股份有限公司"]
    # pinyin makes homophones find each other: 王 and 汪 are both wang.
    assert _search(uow_factory, alice, "wang") == [("汪洋", "name"), ("王芳", "name")]
    assert _names(uow_factory, alice, "李") == []


def test_latin_names_are_found_by_word_prefix_in_any_case_and_without_accents(uow_factory, world):
    alice = world.alice

    assert _search(uow_factory, alice, "jane") == [("Jane Doe", "name")]
    assert _names(uow_factory, alice, "JAN") == ["Jane Doe"]
    assert _search(uow_factory, alice, "ja") == [("Jane Doe", "name"), ("José Álvarez", "name")]  # initials
    assert _names(uow_factory, alice, "do") == ["Jane Doe"]
    assert _names(uow_factory, alice, "jose") == ["José Álvarez"]
    assert _names(uow_factory, alice, "ÁLVAR") == ["José Álvarez"]
    assert _names(uow_factory, alice, "Chenguang stat") == ["上海晨光文具股份有限公司"]
    assert _names(uow_factory, alice, "oe") == []  # inside a Latin word is not the start of one


def test_every_word_of_a_query_must_match(uow_factory, world):
    alice = world.alice

    assert _names(uow_factory, alice, "doe jane") == ["Jane Doe"]
    assert _names(uow_factory, alice, "jane smith") == []
    assert _names(uow_factory, alice, "王 芳") == ["王芳"]
    assert _names(uow_factory, alice, "芳 shan") == ["单田芳"]
    assert _names(uow_factory, alice, "wang 5678") == ["王芳"]
    assert _names(uow_factory, alice, "wang 0000") == []


def test_emails_phones_and_credit_codes_are_found_exactly_and_rank_first(uow_factory, world):
    alice = world.alice

    assert _search(uow_factory, alice, "wang.fang@chenguang.example.cn") == [("王芳", "email")]
    assert _search(uow_factory, alice, "WANG.FANG@Chenguang.example.cn") == [("王芳", "email")]
    assert _search(uow_factory, alice, "jane.doe@") == [("Jane Doe", "partial")]
    assert _search(uow_factory, alice, "wang.fang@chen") == [("王芳", "partial")]
    assert _search(uow_factory, alice, "13812345678") == [("王芳", "phone")]
    assert _search(uow_factory, alice, "+86 138 1234 5678") == [("王芳", "phone")]
    assert _search(uow_factory, alice, "5678") == [("王芳", "partial")]
    assert _search(uow_factory, alice, "555-0123") == [("Jane Doe", "partial")]
    assert _search(uow_factory, alice, "56") == []  # too few digits to be a phone's end
    assert _search(uow_factory, alice, CODE) == [("上海晨光文具股份有限公司", "credit_code")]
    assert _search(uow_factory, alice, CODE.lower()) == [("上海晨光文具股份有限公司", "credit_code")]
    assert _search(uow_factory, alice, CODE[:8]) == [("上海晨光文具股份有限公司", "partial")]


def test_exact_identifiers_come_first_then_name_beginnings_then_the_rest(uow_factory, make_person):
    admin = make_person("admin")
    _account(uow_factory, admin, name="乙公司", external_id=f"{CODE}-OLD")
    _account(uow_factory, admin, name="甲方科技发展有限公司", credit_code=CODE)
    _account(uow_factory, admin, name="晨光文具股份有限公司")
    _account(uow_factory, admin, name="新晨光")
    _contact(uow_factory, admin, family_name="晨", given_name="光")

    assert _search(uow_factory, admin, CODE) == [
        ("甲方科技发展有限公司", "credit_code"),
        ("乙公司", "partial"),
    ]
    assert _search(uow_factory, admin, "晨光") == [
        ("晨光", "name"),
        ("晨光文具股份有限公司", "name"),
        ("新晨光", "partial"),
    ]
    hits = customers.search_customers(uow_factory(), admin.actor, "晨光", limit=2)
    assert [(hit.record_kind, hit.name) for hit in hits] == [
        ("contact", "晨光"),
        ("account", "晨光文具股份有限公司"),
    ]


def test_a_hit_tells_namesakes_apart_with_public_fields_only(uow_factory, world):
    [hit] = customers.search_customers(uow_factory(), world.alice.actor, "wf", limit=5)

    assert hit.model_dump(exclude={"owner_name"}) == {
        "record_kind": "contact",
        "id": world.ids["王芳"],
        "name": "王芳",
        "name_en": None,
        "title": "采购经理",
        "account_name": "上海晨光文具股份有限公司",
        "city": "上海",
        "match": SearchMatch.NAME,
    }
    assert hit.owner_name == world.alice.user.name


def test_search_keeps_to_the_readers_scope(uow_factory, world):
    assert _names(uow_factory, world.alice, "王芳") == ["王芳"]
    assert [
        hit.id for hit in customers.search_customers(uow_factory(), world.alice.actor, "王芳", limit=5)
    ] == [world.ids["王芳"]]
    assert [
        hit.id for hit in customers.search_customers(uow_factory(), world.bob.actor, "王芳", limit=5)
    ] == [world.ids["bob 王芳"]]
    assert _names(uow_factory, world.bob, "jane") == []
    assert _names(uow_factory, world.bob, "13812345678") == []
    assert sorted(
        hit.id for hit in customers.search_customers(uow_factory(), world.admin.actor, "王芳", limit=5)
    ) == sorted([world.ids["王芳"], world.ids["bob 王芳"]])
    assert _listed(uow_factory, world.bob, "wf") == ["王芳"]
    assert _listed(uow_factory, world.bob, "jane") == []


def test_a_reader_who_cannot_see_phones_and_emails_cannot_search_by_them(uow_factory, world):
    reader = world.reader

    assert _names(uow_factory, reader, "13812345678") == []
    assert _names(uow_factory, reader, "5678") == []
    assert _names(uow_factory, reader, "wang.fang@chenguang.example.cn") == []
    assert _names(uow_factory, reader, "jane.doe@") == []
    assert _listed(uow_factory, reader, "5678") == []
    assert _listed(uow_factory, reader, "jane.doe@example.com") == []
    # Names and credit codes are public: the same reader finds the records by them.
    assert sorted(_names(uow_factory, reader, "王芳")) == ["王芳", "王芳"]
    assert _names(uow_factory, reader, CODE) == ["上海晨光文具股份有限公司"]
    assert _names(uow_factory, world.admin, "5678") == ["王芳", "王芳"]


def test_deleted_records_are_not_found_unless_a_list_asks_for_them(uow_factory, world):
    assert _names(uow_factory, world.alice, "王小丽") == []
    assert _names(uow_factory, world.alice, "xiaoli") == []
    assert _listed(uow_factory, world.alice, "王小丽") == []
    page = customers.list_contacts(
        uow_factory(), world.alice.actor, ListQuery(q="xiaoli", include_deleted=True), limit=50, cursor=None
    )
    assert [item.full_name for item in page.items] == ["王小丽"]


def test_list_search_combines_with_filters_and_sorting(uow_factory, world):
    alice = world.alice

    assert _listed(uow_factory, alice, "芳", sort="full_name") == ["单田芳", "王芳"]
    assert _listed(uow_factory, alice, "芳", filters=["city:eq:上海"], sort="-full_name") == [
        "王芳",
        "单田芳",
    ]
    assert _listed(uow_factory, alice, "wang", filters=["city:eq:北京"]) == ["汪洋"]
    assert _listed(uow_factory, alice, "5678", filters=["city:eq:上海"]) == ["王芳"]
    assert _listed(uow_factory, alice, "晨光", kind="account") == ["上海晨光文具股份有限公司"]
    assert _listed(uow_factory, alice, "", filters=["phones:contains:5678"]) == ["王芳"]
    assert _listed(uow_factory, alice, "", filters=["phones:eq:+8613812345678"]) == ["王芳"]
    assert _listed(uow_factory, alice, "", filters=["emails:starts_with:JANE."]) == ["Jane Doe"]
    assert sorted(_listed(uow_factory, alice, "", filters=["phones:ne:5678"])) == [
        "Jane Doe",
        "José Álvarez",
        "单田芳",
        "汪洋",
    ]


def test_a_renamed_record_is_found_by_its_new_name_only(uow_factory, world, engine):
    alice = world.alice
    customers.update_contact(
        uow_factory(), alice.actor, world.ids["王芳"], ContactUpdate(family_name="王", given_name="芬")
    )

    assert _names(uow_factory, alice, "王芬") == ["王芬"]
    assert _names(uow_factory, alice, "wangfang") == []
    assert _names(uow_factory, alice, "wangfen") == ["王芬"]
    if engine.dialect.name == "sqlite":  # the FTS index agrees with the stored texts, row by row
        with engine.begin() as connection:
            for table in ("accounts_search", "contacts_search"):
                connection.execute(text(f"INSERT INTO {table}({table}, rank) VALUES ('integrity-check', 1)"))


def test_queries_are_read_as_the_index_was_written():
    words = parse_query("  王芳Jane  wang.fang@X.com +86-138 ab_cd ＡＢＣ !!  ")

    assert [(word.terms, word.phone_key, word.email_prefix) for word in words] == [
        (("王芳", "jane"), None, None),
        ((), None, "wang.fang@x.com"),
        (("86", "138"), "83168", None),
        (("ab", "cd"), None, None),
        (("abc",), None, None),
    ]
    assert len(parse_query("a b c d e f g h")) == 6


def test_the_search_api_ranks_mixed_hits_within_the_readers_scope(client, world):
    by_initials = client.get("/api/v1/search", params={"q": "wf"}, headers=world.alice.headers)
    by_company = client.get("/api/v1/search", params={"q": "晨光", "limit": 1}, headers=world.alice.headers)
    of_bob = client.get("/api/v1/search", params={"q": "wf"}, headers=world.bob.headers)
    by_phone_unseen = client.get("/api/v1/search", params={"q": "5678"}, headers=world.reader.headers)
    empty = client.get("/api/v1/search", params={"q": ""}, headers=world.alice.headers)
    anonymous = client.get("/api/v1/search", params={"q": "wf"})

    assert by_initials.status_code == 200
    assert [(hit["record_kind"], hit["id"], hit["match"]) for hit in by_initials.json()] == [
        ("contact", world.ids["王芳"], "name")
    ]
    assert by_initials.json()[0]["account_name"] == "上海晨光文具股份有限公司"
    assert "phones" not in by_initials.json()[0] and "emails" not in by_initials.json()[0]
    assert [(hit["record_kind"], hit["id"]) for hit in by_company.json()] == [("account", world.ids["晨光"])]
    assert [hit["id"] for hit in of_bob.json()] == [world.ids["bob 王芳"]]
    assert by_phone_unseen.json() == []
    assert empty.status_code == 422
    assert empty.headers["content-type"] == "application/problem+json"
    assert anonymous.status_code == 401


@pytest.mark.parametrize("window", [3, 50])
def test_the_newest_partial_matches_are_the_candidates_whether_the_newest_records_hold_them_or_not(
    uow_factory, make_person, monkeypatch, window
) -> None:
    """Matches inside a name (not its beginning) come from the newest matching records only; on
    PostgreSQL an admin's are first looked for among the newest records of the table (a window
    of 3 holds two of them, a window of 50 all, and otherwise every match is read and sorted):
    either way the same newest two."""
    from loopcrm.modules.customers.service import search

    monkeypatch.setattr(search, "CANDIDATES_PER_SOURCE", 2)
    monkeypatch.setattr(search, "NEWEST_WINDOW", window)
    admin = make_person("admin")
    for family, given in (
        ("李", "芳"),
        ("张", "芳华"),
        ("刘", "伟"),
        ("陈", "小芳"),
        ("赵", "明"),
        ("杨", "芳"),
    ):
        _contact(uow_factory, admin, family_name=family, given_name=given)

    assert _search(uow_factory, admin, "芳") == [("杨芳", "partial"), ("陈小芳", "partial")]
    assert _search(uow_factory, admin, "伟") == [("刘伟", "partial")]
    assert _search(uow_factory, admin, "芳 华") == [("张芳华", "partial")]


def test_a_search_in_a_city_sorted_by_name_pages_through_every_match_in_name_order(
    uow_factory, make_person, monkeypatch
) -> None:
    """A city's matches by name (answered by walking ``contacts (city, full_name, id)``) and a
    province's (read ahead in the name order, two rows at a time here) page the same way: every
    live match of the place, in name order, each once."""
    from loopcrm.platform import listing

    monkeypatch.setattr(listing, "LOOK_AHEAD_ROWS", (2,))
    admin = make_person("admin")
    for family, given, city in (
        ("丁", "一", "上海"),
        ("王", "伟", "上海"),
        ("王", "芳", "北京"),
        ("王", "磊", "上海"),
        ("万", "明", "上海"),
        ("王", "静", "上海"),
        ("王", "强", "上海"),
        ("汪", "洋", "上海"),
    ):
        _contact(uow_factory, admin, family_name=family, given_name=given, city=city, province=city)
    gone = _contact(uow_factory, admin, family_name="王", given_name="丽", city="上海", province="上海")
    customers.delete_contact(uow_factory(), admin.actor, gone.id)

    def pages(place: str) -> list[list[str]]:
        query = ListQuery(q="王", filters=[place], sort="full_name")
        found, cursor = [], None
        while True:
            page = customers.list_contacts(uow_factory(), admin.actor, query, limit=2, cursor=cursor)
            found.append([item.full_name for item in page.items])
            if page.next_cursor is None:
                return found
            cursor = page.next_cursor

    expected = [["王伟", "王强"], ["王磊", "王静"]]
    assert pages("city:eq:上海") == expected
    assert pages("province:eq:上海") == expected
