"""The global search pages over HTTP: the results page, the live results of the top bar's box,
and the reader's record scope."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from loopcrm.modules.customers import service as customers
from loopcrm.modules.customers.schemas import AccountCreate, ContactCreate

from ..support import web_forms


def _result_names(html: str) -> list[str]:
    return re.findall(r'<span class="search-hit-name">([^<]*)</span>', html)


@pytest.fixture
def other_rep(make_person):  # type: ignore[no-untyped-def]
    return make_person("sales_rep", name="销售 韩梅梅", email="other@example.com")


def _contact(uow_factory, person, family_name: str, given_name: str, **values):  # type: ignore[no-untyped-def]
    data = ContactCreate.model_validate({"family_name": family_name, "given_name": given_name, **values})
    return customers.create_contact(uow_factory(), person.actor, data)


def test_a_rep_finds_their_contact_by_pinyin_initials_and_nothing_of_another_rep(
    client: TestClient, rep, other_rep, uow_factory
):
    wang_fang = _contact(uow_factory, rep, "王", "芳", title="采购经理", city="杭州")
    _contact(uow_factory, other_rep, "王", "峰", city="杭州")  # also "wf", but not the rep's
    web_forms.sign_in(client, rep.user.email)

    answer = client.get("/customers/search", params={"q": "wf"})

    assert answer.status_code == 200
    assert _result_names(answer.text) == ["王芳"]
    assert f'href="/customers/contacts/{wang_fang.id}"' in answer.text
    assert "采购经理 · 杭州" in answer.text
    assert "负责人：销售 李雷" in answer.text
    assert "“wf”的搜索结果：1 条" in answer.text
    assert "王峰" not in answer.text


def test_accounts_and_contacts_come_mixed_each_with_its_kind_and_link(client: TestClient, rep, uow_factory):
    account = customers.create_account(
        uow_factory(),
        rep.actor,
        AccountCreate(name="芳华贸易有限公司", name_en="Fanghua Trading", city="宁波"),
    )
    contact = _contact(uow_factory, rep, "王", "芳")
    web_forms.sign_in(client, rep.user.email)

    answer = client.get("/customers/search", params={"q": "芳"})

    assert sorted(_result_names(answer.text)) == ["王芳", "芳华贸易有限公司"]
    account_item = answer.text[answer.text.index(f'href="/customers/accounts/{account.id}"') :]
    account_item = account_item[: account_item.index("</li>")]
    assert "芳华贸易有限公司" in account_item and ">公司</span>" in account_item
    assert "Fanghua Trading · 宁波" in account_item
    contact_item = answer.text[answer.text.index(f'href="/customers/contacts/{contact.id}"') :]
    assert ">联系人</span>" in contact_item[: contact_item.index("</li>")]


def test_a_whole_phone_number_finds_the_contact_and_says_so(client: TestClient, rep, uow_factory):
    _contact(uow_factory, rep, "李", "娜", phones=[{"number": "138 0013 8000"}])
    web_forms.sign_in(client, rep.user.email)

    answer = client.get("/customers/search", params={"q": "13800138000"})

    assert _result_names(answer.text) == ["李娜"]
    assert "电话号码匹配" in answer.text
    results = answer.text[answer.text.index('<ul class="search-hits">') :]
    assert "138" not in results[: results.index("</ul>")]  # the number itself is not shown


def test_the_live_results_are_a_fragment_with_a_link_to_all_results(client: TestClient, rep, uow_factory):
    wang_fang = _contact(uow_factory, rep, "王", "芳")
    web_forms.sign_in(client, rep.user.email)
    htmx = {"HX-Request": "true"}

    found = client.get("/customers/search/suggestions", params={"q": "wf"}, headers=htmx)
    none = client.get("/customers/search/suggestions", params={"q": "zzzz"}, headers=htmx)
    empty = client.get("/customers/search/suggestions", params={"q": " "}, headers=htmx)

    assert found.status_code == 200
    assert "<html" not in found.text and "<form" not in found.text
    assert _result_names(found.text) == ["王芳"]
    assert f'href="/customers/contacts/{wang_fang.id}"' in found.text
    assert 'href="/customers/search?q=wf"' in found.text and "查看“wf”的全部结果" in found.text
    assert "没有找到与“zzzz”匹配的结果。" in none.text
    assert empty.text == ""  # nothing at all, so the dropdown (CSS :empty) stays closed


def test_the_results_page_explains_an_empty_query_and_a_search_without_results(client: TestClient, rep):
    web_forms.sign_in(client, rep.user.email)

    empty = client.get("/customers/search")
    nothing = client.get("/customers/search", params={"q": "不存在的人"})

    assert empty.status_code == 200 and "请输入姓名、拼音首字母" in empty.text
    assert _result_names(empty.text) == []
    assert "没有找到与“不存在的人”匹配的结果。" in nothing.text
    assert 'value="不存在的人"' in nothing.text  # the query stays in the box


def test_the_top_bar_has_the_search_box_for_signed_in_readers_only(client: TestClient, rep):
    signed_out = client.get("/login").text
    web_forms.sign_in(client, rep.user.email)
    home = client.get("/").text

    assert 'id="global-search-q"' not in signed_out
    box = home[home.index('<form class="global-search"') :]
    box = box[: box.index("</form>")]
    assert 'role="search"' in box and 'method="get"' in box and 'action="/customers/search"' in box
    assert 'hx-get="/customers/search/suggestions"' in box
    assert 'hx-trigger="input changed delay:250ms, search"' in box
    assert '<label class="visually-hidden" for="global-search-q">搜索客户和联系人</label>' in box


def test_searching_needs_a_signed_in_reader(client: TestClient):
    answer = client.get("/customers/search", params={"q": "wf"}, follow_redirects=False)

    assert answer.status_code == 303
    assert answer.headers["location"] == "/login?next=/customers/search%3Fq%3Dwf"
