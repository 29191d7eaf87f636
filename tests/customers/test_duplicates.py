"""Duplicate detection: each reason on its own, names that are and are not similar, record scope,
a record's own duplicates, the list of possible duplicates, and the warning on create."""

from __future__ import annotations

import pytest
from rapidfuzz import fuzz

from loopcrm.modules.customers import service as customers
from loopcrm.modules.customers.identifiers import (
    credit_code_check_character,
    organisation_code_check_character,
)
from loopcrm.modules.customers.names import normalize_name_for_matching
from loopcrm.modules.customers.schemas import AccountCreate, ContactCreate
from loopcrm.modules.customers.service.duplicates import SIMILAR_NAME_RATIO
from loopcrm.platform.errors import NotFound


def _code(region: str, organisation: str) -> str:
    """A valid credit code of a company (91) in ``region`` with the 8-character organisation code."""
    body = "91" + region + organisation + organisation_code_check_character(organisation)
    return body + credit_code_check_character(body)


def _account(uow_factory, person, **fields):
    return customers.create_account(uow_factory(), person.actor, AccountCreate.model_validate(fields))


def _contact(uow_factory, person, **fields):
    return customers.create_contact(uow_factory(), person.actor, ContactCreate.model_validate(fields))


def _found(uow_factory, person, kind: str, **fields) -> dict[str, list[str]]:
    schema = AccountCreate if kind == "account" else ContactCreate
    with uow_factory() as uow:
        matches = customers.find_duplicates(uow, person.actor, kind, schema.model_validate(fields))
    return {match.label: match.reasons for match in matches}


def test_each_reason_finds_its_account(uow_factory, make_person):
    admin = make_person("admin")
    code = _code("310000", "MA1K0000")
    _account(uow_factory, admin, name="代码相同公司", credit_code=code)
    _account(uow_factory, admin, name="外部编号公司", external_id="ERP-7")
    _account(uow_factory, admin, name="邮箱公司", emails=[{"address": "Sales@Acme.example.com"}])
    _account(uow_factory, admin, name="电话公司", phones=[{"number": "021 6123 4567"}])
    _account(uow_factory, admin, name="上海晨光文具股份有限公司", city="上海")
    _account(uow_factory, admin, name="无关公司", city="上海", emails=[{"address": "other@example.com"}])

    found = _found(
        uow_factory,
        admin,
        "account",
        name="上海晨光文具有限公司",
        city="上海",
        credit_code=code,
        external_id="ERP-7",
        emails=[{"address": "sales@acme.example.com"}],
        phones=[{"number": "+86 21 61234567"}],
    )

    assert found == {
        "代码相同公司": ["credit_code"],
        "外部编号公司": ["external_id"],
        "邮箱公司": ["email"],
        "电话公司": ["phone"],
        "上海晨光文具股份有限公司": ["similar_name"],
    }


def test_matches_are_listed_strongest_reason_first(uow_factory, make_person):
    admin = make_person("admin")
    _contact(
        uow_factory, admin, family_name="王", given_name="芳", city="杭州", phones=[{"number": "13812345678"}]
    )
    _contact(uow_factory, admin, family_name="李", given_name="四", emails=[{"address": "wf@example.com"}])

    with uow_factory() as uow:
        matches = customers.find_duplicates(
            uow,
            admin.actor,
            "contact",
            ContactCreate.model_validate(
                {
                    "family_name": "王",
                    "given_name": "芳",
                    "city": "杭州",
                    "phones": [{"number": "138-1234-5678"}],
                    "emails": [{"address": "WF@example.com"}],
                }
            ),
        )

    assert [(match.label, match.reasons) for match in matches] == [
        ("李四", ["email"]),
        ("王芳", ["phone", "similar_name"]),
    ]


@pytest.mark.parametrize(
    ("stored", "typed", "is_similar"),
    [
        ("Acme Trading Co., Ltd.", "ACME Tradng Ltd", True),  # one dropped letter: ratio 95
        ("Jonathan Smith Consulting", "Jonathon Smith Consulting", True),  # one changed letter
        ("上海晨光文具", "上海晨光文具用品有限公司", True),  # the same name with its trade added
        ("上海晨光文具", "上海晨阳文具", False),  # another company: one character of six
        ("北京百度网讯科技有限公司", "北京百度在线科技有限公司", False),  # two characters of eight
    ],
)
def test_similar_account_names_in_the_same_city(uow_factory, make_person, stored, typed, is_similar):
    admin = make_person("admin")
    _account(uow_factory, admin, name=stored, city="上海")

    assert bool(_found(uow_factory, admin, "account", name=typed, city="上海")) is is_similar
    assert _found(uow_factory, admin, "account", name=typed, city="北京") == {}


def test_the_ratio_threshold_separates_typos_from_other_names():
    def ratio(first: str, second: str) -> float:
        return fuzz.ratio(normalize_name_for_matching(first), normalize_name_for_matching(second))

    assert ratio("Acme Trading", "Acme Tradng") >= SIMILAR_NAME_RATIO
    assert ratio("Jonathan Smith", "Jonathon Smith") >= SIMILAR_NAME_RATIO
    assert ratio("John Smith", "Joan Smith") < SIMILAR_NAME_RATIO  # two people
    assert ratio("王芳", "王方") < SIMILAR_NAME_RATIO


def test_people_match_by_name_or_its_sound_only_in_a_known_city(uow_factory, make_person):
    admin = make_person("admin")
    _contact(uow_factory, admin, family_name="王", given_name="芳", city="上海")
    _contact(uow_factory, admin, family_name="王", given_name="明", city="上海")
    _contact(uow_factory, admin, family_name="王", given_name="芳", city="北京")
    _contact(uow_factory, admin, family_name="王", given_name="芳")

    assert _found(uow_factory, admin, "contact", family_name="王", given_name="芳", city="上海") == {
        "王芳": ["similar_name"]
    }
    # A pinyin input method's commonest slip is a character of the same sound: 汪芳 / 王芳 (wangfang).
    assert _found(uow_factory, admin, "contact", family_name="汪", given_name="芳", city="上海") == {
        "王芳": ["similar_name"]
    }
    assert _found(uow_factory, admin, "contact", family_name="王", given_name="方", city="广州") == {}
    assert _found(uow_factory, admin, "contact", family_name="王", given_name="芳") == {}


def test_a_reader_is_never_warned_about_records_outside_their_scope(uow_factory, make_person):
    alice = make_person("sales_rep")
    bob = make_person("sales_rep")
    admin = make_person("admin")
    _contact(
        uow_factory, alice, family_name="Doe", given_name="Jane", emails=[{"address": "jane@example.com"}]
    )

    assert _found(uow_factory, bob, "contact", given_name="J", emails=[{"address": "jane@example.com"}]) == {}
    assert _found(
        uow_factory, alice, "contact", given_name="J", emails=[{"address": "jane@example.com"}]
    ) == {"Jane Doe": ["email"]}
    assert _found(
        uow_factory, admin, "contact", given_name="J", emails=[{"address": "jane@example.com"}]
    ) == {"Jane Doe": ["email"]}


def test_deleted_records_are_not_duplicates(uow_factory, make_person):
    admin = make_person("admin")
    gone = _contact(uow_factory, admin, given_name="Gone", emails=[{"address": "gone@example.com"}])
    customers.delete_contact(uow_factory(), admin.actor, gone.id)

    assert (
        _found(uow_factory, admin, "contact", given_name="G", emails=[{"address": "gone@example.com"}]) == {}
    )


def test_a_create_answers_with_the_possible_duplicates_but_still_creates(uow_factory, make_person):
    rep = make_person("sales_rep")
    first = _contact(uow_factory, rep, family_name="张", given_name="伟", phones=[{"number": "13900001111"}])

    second = _contact(
        uow_factory, rep, family_name="张", given_name="伟", phones=[{"number": "+8613900001111"}]
    )
    account = _account(uow_factory, rep, name="全新公司")

    assert first.possible_duplicates == []
    assert [(m.id, m.label, m.reasons) for m in second.possible_duplicates] == [(first.id, "张伟", ["phone"])]
    assert account.possible_duplicates == []


def test_the_duplicates_of_a_record_leave_out_the_record(uow_factory, make_person):
    manager = make_person("sales_manager")
    other = make_person("sales_manager")
    first = _account(uow_factory, manager, name="Acme Trading", city="Shanghai", external_id="A-1")
    second = _account(uow_factory, manager, name="ACME Trading Ltd.", city="Shanghai")

    found = customers.duplicates_of(uow_factory(), manager.actor, "account", second.id)

    assert [(m.id, m.reasons) for m in found] == [(first.id, ["similar_name"])]
    with pytest.raises(NotFound):
        customers.duplicates_of(uow_factory(), other.actor, "account", second.id)


def test_the_list_of_possible_duplicates_pairs_recent_records(uow_factory, make_person):
    admin = make_person("admin")
    jane = _contact(uow_factory, admin, given_name="Jane", emails=[{"address": "jane@example.com"}])
    _contact(uow_factory, admin, given_name="Alone")
    jane_again = _contact(uow_factory, admin, given_name="Jane D.", emails=[{"address": "JANE@example.com"}])
    li = _contact(uow_factory, admin, family_name="李", given_name="雷", city="北京")
    li_again = _contact(uow_factory, admin, family_name="李", given_name="雷", city="北京")

    scan = customers.scan_duplicates(uow_factory(), admin.actor, "contact")

    assert [(p.first_id, p.second_id, p.reasons) for p in scan.pairs] == [
        (li_again.id, li.id, ["similar_name"]),
        (jane_again.id, jane.id, ["email"]),
    ]
    assert scan.next_before is None
    older = customers.scan_duplicates(uow_factory(), admin.actor, "contact", window=2)
    assert [(p.first_id, p.second_id) for p in older.pairs] == [(li_again.id, li.id)]
    assert older.next_before == li.id


def test_many_candidates_at_once_find_what_each_finds_alone(uow_factory, make_person):
    """The batch an import runs for a chunk: each candidate gets exactly its own matches, though
    the statements are shared (the same key in two cities, keys that continue each other, a typo,
    a shared phone, a pinyin slip, a person without a city)."""
    admin = make_person("admin")
    _account(uow_factory, admin, name="上海晨光文具", city="上海")
    _account(uow_factory, admin, name="上海晨光文具用品有限公司", city="北京")
    _account(uow_factory, admin, name="Acme Trading", city="Shanghai", phones=[{"number": "021 6123 4567"}])
    _account(uow_factory, admin, name="Acme Tradings", city="Beijing")
    _account(uow_factory, admin, name="无城市文具公司")
    _contact(uow_factory, admin, family_name="王", given_name="芳", city="上海")
    typed = [
        AccountCreate(name="上海晨光文具用品", city="上海"),  # continues 上海's key, not 北京's
        AccountCreate(name="上海晨光文具用品有限公司", city="北京"),  # equal to 北京's only
        AccountCreate(name="ACME Tradng", city="Shanghai"),  # a typo, same city
        AccountCreate(name="Other", city="Beijing", phones=[{"number": "+86 21 61234567"}]),
        AccountCreate(name="无城市文具用品"),  # a typed account without a city: any city
        AccountCreate(name="Nothing Alike", city="Shanghai"),
    ]
    people = [
        ContactCreate(family_name="汪", given_name="芳", city="上海"),  # the same sound
        ContactCreate(family_name="王", given_name="芳", city="北京"),  # another city
        ContactCreate(family_name="王", given_name="芳"),  # no city: not compared
    ]

    with uow_factory() as uow:
        for kind, candidates in (("account", typed), ("contact", people)):
            together = customers.find_duplicates_of_many(uow, admin.actor, kind, candidates)
            alone = [customers.find_duplicates(uow, admin.actor, kind, candidate) for candidate in candidates]
            assert together == alone
        accounts = customers.find_duplicates_of_many(uow, admin.actor, "account", typed)
        contacts = customers.find_duplicates_of_many(uow, admin.actor, "contact", people)

    assert [[(match.label, match.reasons) for match in found] for found in accounts] == [
        [("上海晨光文具", ["similar_name"])],
        [("上海晨光文具用品有限公司", ["similar_name"])],
        [("Acme Trading", ["similar_name"])],
        [("Acme Trading", ["phone"])],
        [("无城市文具公司", ["similar_name"])],
        [],
    ]
    assert [[match.label for match in found] for found in contacts] == [["王芳"], [], []]


def test_many_candidates_need_one_excluded_id_each(uow_factory, make_person):
    admin = make_person("admin")
    with uow_factory() as uow, pytest.raises(ValueError, match="one id"):
        customers.find_duplicates_of_many(
            uow, admin.actor, "account", [AccountCreate(name="A")], exclude_ids=[None, None]
        )
