"""The duplicates and merge pages over HTTP, signed in as a browser is: the list of possible
duplicates, the merge screen and its refusals, the merge's page, undo and the history."""

from __future__ import annotations

import re

import pytest

from loopcrm.modules.activities import service as activities
from loopcrm.modules.activities.schemas import ActivityCreate
from loopcrm.modules.customers import service as customers
from loopcrm.modules.customers.schemas import ContactCreate, ContactUpdate, MergeIn

from ..support import web_forms
from ..support.web_forms import PASSWORD


def _contact(uow_factory, person, **fields):
    return customers.create_contact(uow_factory(), person.actor, ContactCreate.model_validate(fields))


def _submit_merge(client, screen, survivor, merged, choices: dict[str, str]):
    """Submits the merge screen ``screen`` of two contacts at the versions they had when read,
    choosing each field's value as in ``choices`` (field: ``"survivor"`` or ``"merged"``)."""
    data = {
        "csrf_token": web_forms.csrf_token_of(screen.text),
        "kind": "contact",
        "survivor_id": survivor.id,
        "merged_id": merged.id,
        "survivor_version": str(survivor.version),
        "merged_version": str(merged.version),
    }
    choice_fields = {f"choice.{field}": value for field, value in choices.items()}
    return client.post("/customers/merges", data={**data, **choice_fields}, follow_redirects=False)


@pytest.fixture
def manager(make_person):
    return make_person("sales_manager", email="manager@example.com", password=PASSWORD)


def test_the_list_links_each_pair_to_its_merge_screen(client, uow_factory, manager):
    older = _contact(
        uow_factory, manager, family_name="王", given_name="芳", emails=[{"address": "wf@example.com"}]
    )
    newer = _contact(
        uow_factory, manager, family_name="王", given_name="芳", emails=[{"address": "WF@example.com"}]
    )
    web_forms.sign_in(client, manager.user.email)

    page = client.get("/customers/duplicates", params={"kind": "contact"})

    assert page.status_code == 200
    assert f"/customers/merge?kind=contact&amp;survivor={older.id}&amp;merged={newer.id}" in page.text
    assert client.get("/customers/duplicates", params={"kind": "planet"}).status_code == 404


def test_merge_choose_values_then_undo_in_pages(client, uow_factory, manager):
    survivor = _contact(uow_factory, manager, given_name="Jane", title="CEO", city="Shanghai")
    merged = _contact(uow_factory, manager, given_name="Jane", title="Founder", department="Board")
    web_forms.sign_in(client, manager.user.email)

    screen = client.get(
        "/customers/merge", params={"kind": "contact", "survivor": survivor.id, "merged": merged.id}
    )
    assert screen.status_code == 200
    assert 'name="choice.title" value="survivor" checked' in screen.text
    assert 'name="choice.department" value="merged" checked' in screen.text
    assert '<button type="submit" class="button">合并记录</button>' in screen.text
    answer = _submit_merge(
        client, screen, survivor, merged, {"title": "merged", "department": "merged", "city": "survivor"}
    )
    assert answer.status_code == 303, answer.text
    merge_path = answer.headers["location"]
    done = client.get(merge_path)
    assert "Jane 已合并到 Jane。" in done.text
    assert customers.get_contact(uow_factory(), manager.actor, survivor.id).title == "Founder"

    undone = client.post(
        f"{merge_path}/undo", data={"csrf_token": web_forms.csrf_token_of(done.text)}, follow_redirects=True
    )

    assert undone.status_code == 200
    assert "合并已撤销" in undone.text
    assert customers.get_contact(uow_factory(), manager.actor, survivor.id).title == "CEO"
    assert customers.get_contact(uow_factory(), manager.actor, merged.id).title == "Founder"
    history = client.get("/customers/merges", params={"kind": "contact"})
    assert "已撤销" in history.text
    assert "<h1>合并历史</h1>" in history.text  # not 合并记录, the merge screen's button


def test_a_stale_merge_screen_keeps_the_choices_and_explains(client, uow_factory, manager):
    survivor = _contact(uow_factory, manager, given_name="Jane", title="CEO")
    merged = _contact(uow_factory, manager, given_name="Jane", title="Founder")
    web_forms.sign_in(client, manager.user.email)
    screen = client.get(
        "/customers/merge", params={"kind": "contact", "survivor": survivor.id, "merged": merged.id}
    )
    customers.update_contact(uow_factory(), manager.actor, survivor.id, ContactUpdate(title="CTO"))

    answer = _submit_merge(client, screen, survivor, merged, {"title": "merged"})

    assert answer.status_code == 409
    assert 'name="choice.title" value="merged" checked' in answer.text
    assert customers.get_contact(uow_factory(), manager.actor, merged.id).deleted_at is None


def test_an_unsafe_undo_is_explained_on_the_merge_page(client, uow_factory, manager):
    first = _contact(uow_factory, manager, given_name="Jane")
    second = _contact(uow_factory, manager, given_name="Jane")
    web_forms.sign_in(client, manager.user.email)
    merge = customers.merge_records(
        uow_factory(), manager.actor, "contact", MergeIn(survivor_id=first.id, merged_id=second.id)
    )
    page = client.get(f"/customers/merges/{merge.id}")
    customers.update_contact(uow_factory(), manager.actor, first.id, ContactUpdate(title="CTO"))

    answer = client.post(
        f"/customers/merges/{merge.id}/undo",
        data={"csrf_token": web_forms.csrf_token_of(page.text)},
        follow_redirects=True,
    )

    assert answer.status_code == 200
    assert "合并后被修改过" in answer.text
    assert 'action="/customers/merges/' not in answer.text  # no undo button any more
    assert customers.get_contact(uow_factory(), manager.actor, first.id).title == "CTO"


def test_picking_a_duplicate_of_one_record(client, uow_factory, manager):
    record = _contact(uow_factory, manager, given_name="Jane", phones=[{"number": "13800001111"}])
    other = _contact(uow_factory, manager, given_name="J.", phones=[{"number": "13800001111"}])
    web_forms.sign_in(client, manager.user.email)

    page = client.get("/customers/merge", params={"kind": "contact", "survivor": record.id})

    assert page.status_code == 200
    assert f"survivor={record.id}&amp;merged={other.id}" in page.text


def test_the_merge_screen_says_how_many_activities_move(client, uow_factory, manager):
    survivor = _contact(uow_factory, manager, given_name="Jane", title="CEO")
    merged = _contact(uow_factory, manager, given_name="Jane", title="Founder")
    for subject, record in (("展会上认识", merged), ("寄样品", merged), ("第一次拜访", survivor)):
        activities.log_activity(
            uow_factory(),
            manager.actor,
            ActivityCreate.model_validate(
                {
                    "kind": "note",
                    "subject": subject,
                    "links": [{"subject_type": "contact", "subject_id": record.id}],
                }
            ),
        )
    web_forms.sign_in(client, manager.user.email)

    screen = client.get(
        "/customers/merge", params={"kind": "contact", "survivor": survivor.id, "merged": merged.id}
    )
    swapped = client.get(
        "/customers/merge", params={"kind": "contact", "survivor": merged.id, "merged": survivor.id}
    )

    moves = screen.text.split('id="moves-heading"', 1)[1].split("</section>", 1)[0]
    assert re.findall(r"<li>([^<]*)</li>", moves) == ["活动: 2"]
    assert "<li>活动: 1</li>" in swapped.text
