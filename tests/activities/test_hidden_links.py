"""An activity's links to records its reader may not read: shown as hidden, with no id and no name,
through the API and on the activity's page, and kept unchanged when that reader changes the links."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from loopcrm.modules.activities import service as activities
from loopcrm.modules.activities.schemas import ActivityCreate, ActivityUpdate, LinkOut
from loopcrm.modules.customers import service as customers
from loopcrm.modules.customers.schemas import ContactCreate
from loopcrm.platform.auth import service as auth
from loopcrm.platform.auth.schemas import TeamCreate
from loopcrm.platform.permissions import system_actor

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


# ------------------------------------------------------------------ changing links one cannot see


@dataclass
class EastTeam:
    """A sales team: its manager reads every member's contacts, each rep only their own."""

    manager: Any  # conftest Person
    rep: Any
    contact_a: str  # the rep's
    contact_b: str  # the teammate's: the rep may not read it
    contact_c: str  # the rep's


@pytest.fixture
def east(uow_factory, make_person) -> EastTeam:  # type: ignore[no-untyped-def]
    team = auth.create_team(uow_factory(), system_actor(), TeamCreate(name="East"))
    manager = make_person("sales_manager", name="东区经理", team_ids=(team.id,))
    rep = make_person("sales_rep", name="东区销售", team_ids=(team.id,))
    teammate = make_person("sales_rep", name="东区同事", team_ids=(team.id,))

    def contact(family_name: str, given_name: str, owner: Any) -> str:
        data = ContactCreate(family_name=family_name, given_name=given_name, owner_id=owner.user.id)
        return customers.create_contact(uow_factory(), owner.actor, data).id

    # The manager's actor was resolved before the reps joined: resolve it again, as a request would.
    manager = dataclasses.replace(manager, actor=auth.actor_for_user(uow_factory(), manager.user.id))
    return EastTeam(
        manager=manager,
        rep=rep,
        contact_a=contact("王", "芳", rep),
        contact_b=contact("李", "雷", teammate),
        contact_c=contact("张", "伟", rep),
    )


def _contacts(*contact_ids: str) -> list[dict[str, str]]:
    return [{"subject_type": "contact", "subject_id": contact_id} for contact_id in contact_ids]


def _linked_ids(answer: Any) -> list[str | None]:
    """The ids of the records an activity in an API answer is linked to, oldest link first."""
    assert answer.status_code == 200, answer.text
    return [link["subject_id"] for link in answer.json()["links"]]


def test_a_rep_who_sends_back_the_links_they_see_keeps_the_link_they_cannot_see(
    client: TestClient, east: EastTeam
) -> None:
    # Given the rep's note about contact A, which their manager also linked to the teammate's B,
    created = client.post(
        "/api/v1/activities",
        headers=east.rep.headers,
        json={"kind": "note", "subject": "预算评审", "links": _contacts(east.contact_a)},
    )
    assert created.status_code == 201, created.text
    path = f"/api/v1/activities/{created.json()['id']}"
    by_manager = client.patch(
        path, headers=east.manager.headers, json={"links": _contacts(east.contact_a, east.contact_b)}
    )
    assert by_manager.status_code == 200, by_manager.text
    assert client.get(path, headers=east.rep.headers).json()["links"] == [
        {"subject_type": "contact", "subject_id": east.contact_a, "hidden": False},
        {"subject_type": "contact", "subject_id": None, "hidden": True},
    ]

    # when the rep sends back the one link they see,
    kept = client.patch(path, headers=east.rep.headers, json={"links": _contacts(east.contact_a)})

    # then B is still linked (the rep still sees it only as hidden);
    assert kept.status_code == 200, kept.text
    assert kept.json()["links"] == [
        {"subject_type": "contact", "subject_id": east.contact_a, "hidden": False},
        {"subject_type": "contact", "subject_id": None, "hidden": True},
    ]
    assert kept.json()["version"] == by_manager.json()["version"]  # nothing changed

    # when the rep adds C, it is added and B stays, and the manager sees all three;
    added = client.patch(
        path, headers=east.rep.headers, json={"links": _contacts(east.contact_a, east.contact_c)}
    )
    assert added.status_code == 200, added.text
    assert added.json()["links"] == [
        {"subject_type": "contact", "subject_id": east.contact_a, "hidden": False},
        {"subject_type": "contact", "subject_id": None, "hidden": True},
        {"subject_type": "contact", "subject_id": east.contact_c, "hidden": False},
    ]
    assert _linked_ids(client.get(path, headers=east.manager.headers)) == [
        east.contact_a,
        east.contact_b,
        east.contact_c,
    ]

    # and when the rep removes A, only A goes.
    removed = client.patch(path, headers=east.rep.headers, json={"links": _contacts(east.contact_c)})
    assert removed.status_code == 200, removed.text
    assert _linked_ids(client.get(path, headers=east.manager.headers)) == [east.contact_b, east.contact_c]


def test_an_update_keeps_the_meeting_attendees_the_actor_cannot_see(uow_factory, east: EastTeam) -> None:
    # Given the rep's meeting with contact A attending, to which the manager added the teammate's B,
    starts = datetime(2026, 11, 24, 9, tzinfo=UTC)
    meeting = activities.log_activity(
        uow_factory(),
        east.rep.actor,
        ActivityCreate.model_validate(
            {
                "kind": "meeting",
                "subject": "季度回顾",
                "occurred_at": starts,
                "meeting": {
                    "ends_at": starts + timedelta(hours=1),
                    "attendee_records": _contacts(east.contact_a),
                },
            }
        ),
    )
    activities.update_activity(
        uow_factory(),
        east.manager.actor,
        meeting.id,
        ActivityUpdate.model_validate(
            {"meeting": {"attendee_records": _contacts(east.contact_a, east.contact_b)}}
        ),
    )

    # when the rep replaces the attendees they see with C and links the meeting to A,
    seen_by_rep = activities.update_activity(
        uow_factory(),
        east.rep.actor,
        meeting.id,
        ActivityUpdate.model_validate(
            {"links": _contacts(east.contact_a), "meeting": {"attendee_records": _contacts(east.contact_c)}}
        ),
    )

    # then B still attends: hidden for the rep, named for the manager.
    assert seen_by_rep.meeting is not None
    assert sorted(seen_by_rep.meeting.attendee_records, key=lambda link: link.hidden) == [
        LinkOut(subject_type="contact", subject_id=east.contact_c),
        LinkOut(subject_type="contact", hidden=True),
    ]
    seen_by_manager = activities.get_activity(uow_factory(), east.manager.actor, meeting.id)
    assert seen_by_manager.meeting is not None
    assert sorted(link.subject_id for link in seen_by_manager.meeting.attendee_records) == sorted(
        [east.contact_b, east.contact_c]
    )
    assert sorted(str(link.subject_id) for link in seen_by_manager.links) == sorted(
        [east.contact_a, east.contact_b, east.contact_c]
    )
