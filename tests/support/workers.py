"""Running a real worker in a test until the queue is empty."""

from __future__ import annotations

import time

from sqlalchemy import Engine, func, select

from loopcrm.platform.jobs.models import Job, JobStatus
from loopcrm.platform.jobs.worker import Worker


def run_until_idle(worker: Worker, engine: Engine, *, timeout: float = 20.0) -> None:
    """Run jobs until none is queued or running. A job due a moment from now is waited for: on
    SQLite a periodic task's follow-up run waits as long as the run before it took."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if worker.run_once():
            continue
        with engine.connect() as connection:
            unfinished = connection.scalar(
                select(func.count())
                .select_from(Job)
                .where(Job.status.in_([JobStatus.QUEUED.value, JobStatus.RUNNING.value]))
            )
        if not unfinished:
            return
        time.sleep(0.02)
    raise AssertionError(f"jobs were still queued after {timeout} s")
