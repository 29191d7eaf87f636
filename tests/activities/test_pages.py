"""The activity pages over HTTP: logging from the panel, refused input kept, tasks, calendar, detail."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient

from loopcrm.modules.activities import service as activities
from loopcrm.modules.activities.schemas import ActivityCreate
from loopcrm.platform.db import utc_now

from ..support.web_forms import PASSWORD


def _log_task(uow_factory, person):  # type: ignore[no-untyped-def]
    """A task "准备合同" due in three hours, assigned to ``person`` and linked to their user record."""
    return activities.log_activity(
        uow_factory(),
        person.actor,
        ActivityCreate.model_validate(
            {
                "kind": "task",
                "subject": "准备合同",
                "occurred_at": (utc_now() + timedelta(hours=3)).isoformat(),
                "task": {"assignee_id": person.user.id},
                "links": [{"subject_type": "user", "subject_id": person.user.id}],
            }
        ),
    )


def test_smoke_pages_render(client: TestClient, make_person, sign_in, post_form, uow_factory) -> None:
    rep = make_person("sales_rep", email="rep@example.com", password=PASSWORD)
    sign_in("rep@example.com")
    task = _log_task(uow_factory, rep)
    for path in (
        "/activities",
        "/activities/calendar",
        "/activities/calendar?view=week",
        f"/activities/{task.id}",
        f"/activities/new?kind=call&subject_type=user&subject_id={rep.user.id}&next=/",
        f"/activities/new?kind=meeting&subject_type=user&subject_id={rep.user.id}&next=/",
        f"/activities/new?kind=email&subject_type=user&subject_id={rep.user.id}&next=/",
        f"/activities/new?kind=task&subject_type=user&subject_id={rep.user.id}&next=/",
        f"/activities/new?kind=note&subject_type=user&subject_id={rep.user.id}&next=/",
        f"/activities/timeline?subject=user:{rep.user.id}",
        "/notifications",
        "/notifications/bell",
    ):
        answer = client.get(path)
        assert answer.status_code == 200, (path, answer.text[:3000])


def test_the_log_page_is_titled_log_an_activity(client: TestClient, make_person, sign_in) -> None:
    rep = make_person("sales_rep", email="rep@example.com", password=PASSWORD)
    sign_in("rep@example.com")

    html = client.get(f"/activities/new?kind=call&subject_type=user&subject_id={rep.user.id}&next=/").text

    assert '<div class="page-header"><h1>记录活动</h1></div>' in html
    assert "<title>记录活动 · " in html


def test_my_tasks_offers_to_mark_a_task_done_as_an_action(
    client: TestClient, make_person, sign_in, uow_factory
):
    rep = make_person("sales_rep", email="rep@example.com", password=PASSWORD)
    _log_task(uow_factory, rep)
    sign_in("rep@example.com")

    html = client.get("/activities").text

    row = html.split("准备合同", 1)[1].split("</tr>", 1)[0]
    button = row.split("<button", 1)[1].split("</button>", 1)[0]
    assert button.endswith("标记为完成")  # an action, not the state 已完成
    assert "已完成" not in row
