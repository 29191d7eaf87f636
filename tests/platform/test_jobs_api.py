"""Admins see and steer the job queue over the API; the web process runs jobs itself by default."""

from __future__ import annotations

import time
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from loopcrm.app import create_app
from loopcrm.platform.auth.models import LoginAttempt, WebSession
from loopcrm.platform.db import create_session_factory, utc_now
from loopcrm.platform.jobs import service as jobs
from loopcrm.platform.jobs.models import Job, JobStatus
from loopcrm.platform.jobs.registry import task
from loopcrm.platform.jobs.worker import Worker


@task("tests.jobs_api.always_fails", max_attempts=1)
def always_fails(uow, payload, context) -> None:
    raise RuntimeError("the mail server said no")


def test_an_admin_lists_failed_jobs_and_retries_one(
    client: TestClient, make_person, uow_factory, settings, engine
) -> None:
    admin = make_person("admin")
    with uow_factory() as uow:
        job = jobs.enqueue(uow, "tests.jobs_api.always_fails", {"to": "a@example.com"})
        uow.commit()
    Worker(create_session_factory(engine), settings, run_scheduler=False).run_once()

    failed = client.get("/api/v1/jobs", params={"status": "failed"}, headers=admin.headers).json()["items"]
    counts = client.get("/api/v1/jobs/counts", headers=admin.headers).json()
    retried = client.post(f"/api/v1/jobs/{job.id}/retry", headers=admin.headers)
    retried_again = client.post(f"/api/v1/jobs/{job.id}/retry", headers=admin.headers)

    assert [item["id"] for item in failed] == [job.id]
    assert "the mail server said no" in failed[0]["last_error"]
    assert counts["failed"] == 1
    assert retried.status_code == 200
    assert retried.json()["status"] == "queued" and retried.json()["attempts"] == 0
    assert retried_again.status_code == 409


def test_a_rep_cannot_see_the_job_queue(client: TestClient, make_person) -> None:
    rep = make_person("sales_rep")

    assert client.get("/api/v1/jobs", headers=rep.headers).status_code == 403


def test_the_web_process_runs_the_hourly_housekeeping_in_its_embedded_worker(
    settings, engine, make_person, uow_factory
) -> None:
    person = make_person("sales_rep")
    long_ago = utc_now() - timedelta(days=2)
    with uow_factory() as uow:
        uow.session.add(
            WebSession(token_digest="d" * 64, user_id=person.user.id, csrf_token="c", expires_at=long_ago)
        )
        uow.session.add(LoginAttempt(email="x@example.com", ip="192.0.2.1", at=long_ago, succeeded=False))
        uow.session.add(LoginAttempt(email="x@example.com", ip="192.0.2.1", at=utc_now(), succeeded=False))
        uow.commit()
    embedded = settings.model_copy(update={"embedded_worker": True, "worker_poll_seconds": 0.05})

    with TestClient(create_app(embedded, engine=engine)):
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with uow_factory() as uow:
                done = uow.session.scalar(
                    select(func.count())
                    .select_from(Job)
                    .where(Job.name == "platform.housekeeping", Job.status == JobStatus.SUCCEEDED.value)
                )
            if done:
                break
            time.sleep(0.05)

    with uow_factory() as uow:
        assert uow.session.scalar(select(func.count()).select_from(WebSession)) == 0
        assert uow.session.scalar(select(func.count()).select_from(LoginAttempt)) == 1
        assert done == 1
