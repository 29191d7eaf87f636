"""Every unsafe request of a signed-in page needs the session's CSRF token; the jobs admin page."""

from __future__ import annotations

from fastapi.testclient import TestClient

from loopcrm.platform.jobs import service as jobs
from loopcrm.platform.jobs.models import JobStatus
from loopcrm.platform.jobs.registry import TaskRegistry
from loopcrm.platform.permissions import system_actor


def test_a_signed_in_form_without_the_token_is_refused_and_changes_nothing(
    client: TestClient, rep, sign_in, uow_factory
):
    from loopcrm.platform.auth import service as auth

    sign_in(rep.user.email)

    missing = client.post("/profile", data={"name": "黑客", "locale": "en", "timezone": "UTC"})
    wrong = client.post(
        "/profile", data={"name": "黑客", "locale": "en", "timezone": "UTC", "csrf_token": "guess"}
    )

    assert missing.status_code == wrong.status_code == 403
    assert "表单已失效" in missing.text
    assert auth.get_user(uow_factory(), system_actor(), rep.user.id).name == rep.user.name


def test_htmx_sends_the_token_in_a_header(client: TestClient, rep, sign_in, form_token):
    sign_in(rep.user.email)
    token = form_token(client.get("/profile").text)

    answer = client.post(
        "/profile",
        data={"name": "李雷", "locale": "zh_CN", "timezone": "Asia/Shanghai"},
        headers={"HX-Request": "true", "X-CSRF-Token": token},
        follow_redirects=False,
    )

    assert answer.status_code == 200
    assert answer.headers["hx-redirect"] == "/profile"


def test_the_token_is_in_the_meta_tag_and_the_htmx_headers_of_every_page(
    client: TestClient, rep, sign_in, form_token
):
    sign_in(rep.user.email)

    html = client.get("/").text

    token = form_token(html)
    assert f'<meta name="csrf-token" content="{token}">' in html
    assert f'hx-headers=\'{{"X-CSRF-Token": "{token}"}}\'' in html


def _enqueue(uow_factory, count: int) -> list[str]:  # type: ignore[no-untyped-def]
    tasks = TaskRegistry()
    tasks.register("web_test.reminder", lambda *arguments: None)
    ids = []
    with uow_factory() as uow:
        for _ in range(count):
            ids.append(jobs.enqueue(uow, "web_test.reminder", {}, tasks=tasks).id)
        uow.commit()
    return ids


def test_an_admin_cancels_a_queued_job_and_queues_it_again(
    client: TestClient, admin, sign_in, post_form, uow_factory
):
    first, _second = _enqueue(uow_factory, 2)
    sign_in(admin.user.email)

    listing = client.get("/admin/jobs")
    cancelled = post_form("/admin/jobs?status=queued", f"/admin/jobs/{first}/cancel?status=queued", {})
    retried = post_form("/admin/jobs?status=cancelled", f"/admin/jobs/{first}/retry?status=cancelled", {})
    refused = post_form("/admin/jobs", f"/admin/jobs/{first}/retry", {})

    assert '排队中 <span class="count">2</span>' in listing.text
    assert cancelled.headers["location"] == "/admin/jobs?status=queued"
    assert retried.status_code == 303
    assert jobs.get_job(uow_factory(), system_actor(), first).status is JobStatus.QUEUED
    assert refused.status_code == 303
    assert "只有失败或已取消的任务可以重试；该任务当前状态为“排队中”" in client.get("/admin/jobs").text
