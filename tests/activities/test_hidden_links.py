"""An activity's links to records its reader may not read: shown as hidden, with no id and no name,
through the API and on the activity's page."""

from __future__ import annotations

from fastapi.testclient import TestClient

from loopcrm.modules.activities import service as activities
from loopcrm.modules.activities.schemas import ActivityCreate

from ..support.web_forms import PASSWORD


def _note_about(uow_factory, author, *people):  # type: ignore[no-untyped-def]
    """A note the author links to the user records of ``people`` (the tests' record type)."""
    return activities.log_activity(
        uow_factory(),
        author.actor,
        ActivityCreate.model_validate(
            {
                "kind": "note",
                "subject": "Budget review",
                "body": "Both teams agreed on the budget.",
                "links": [{"subject_type": "user", "subject_id": person.user.id} for person in people],
            }
        ),
    )


def test_the_api_hides_the_id_of_a_linked_record_the_reader_may_not_read(
    client: TestClient, make_person, uow_factory
) -> None:
    # Given an admin's note linked to a rep's own record and to another rep's,
    admin = make_person("admin")
    rep = make_person("sales_rep", name="Rep One")
    other = make_person("sales_rep", name="Rep Two")
    note = _note_about(uow_factory, admin, rep, other)

    # when the rep (who may read only their own user record) reads it,
    answer = client.get(f"/api/v1/activities/{note.id}", headers=rep.headers)
    listed = client.get("/api/v1/activities", headers=rep.headers, params={"subject": f"user:{rep.user.id}"})
    seen_by_admin = client.get(f"/api/v1/activities/{note.id}", headers=admin.headers)

    # then the other rep's record shows only its kind, while the admin sees both records.
    assert answer.status_code == 200, answer.text
    assert sorted(answer.json()["links"], key=lambda link: link["hidden"]) == [
        {"subject_type": "user", "subject_id": rep.user.id, "hidden": False},
        {"subject_type": "user", "subject_id": None, "hidden": True},
    ]
    assert other.user.id not in answer.text
    assert [item["links"] for item in listed.json()["items"]] == [answer.json()["links"]]
    assert sorted(link["subject_id"] for link in seen_by_admin.json()["links"]) == sorted(
        [rep.user.id, other.user.id]
    )
    assert all(link["hidden"] is False for link in seen_by_admin.json()["links"])


def test_the_activity_page_names_a_linked_record_the_reader_may_not_read_only_as_hidden(
    client: TestClient, make_person, sign_in, uow_factory
) -> None:
    admin = make_person("admin")
    rep = make_person("sales_rep", name="Rep One", email="rep@example.com", password=PASSWORD)
    other = make_person("sales_rep", name="Rep Two")
    note = _note_about(uow_factory, admin, rep, other)
    sign_in("rep@example.com")

    html = client.get(f"/activities/{note.id}").text

    assert '<span class="muted">无权查看的记录</span>' in html
    assert f'<a href="/admin/users/{rep.user.id}">Rep One</a>' in html
    assert other.user.id not in html
    assert "Rep Two" not in html
