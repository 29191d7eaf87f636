"""Workers under real conditions: killed mid-job, stopped by SIGTERM, racing each other, keeping a
lease alive, and running in the web process's background thread.

Worker processes are ``tests/support/jobs_worker_process.py``, which runs the same entry point
as ``loopcrm worker``.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Column, Engine, Integer, MetaData, String, Table, insert, select
from sqlalchemy.orm import sessionmaker

from loopcrm.platform.db import create_session_factory, utc_now
from loopcrm.platform.jobs.models import Job, JobStatus
from loopcrm.platform.jobs.registry import JobContext, TaskRegistry, task
from loopcrm.platform.jobs.schemas import JobOut
from loopcrm.platform.jobs.service import JobOutcome, claim_next_job, enqueue, get_job
from loopcrm.platform.jobs.worker import BackgroundWorker, Worker
from loopcrm.platform.permissions import system_actor
from loopcrm.platform.unit_of_work import UnitOfWork
from loopcrm.settings import Settings

WORKER_SCRIPT = Path(__file__).resolve().parents[1] / "support" / "jobs_worker_process.py"
SLOW_EFFECT_TASK = "tests.jobs.slow_effect"  # registered by the worker script

# The enqueuing side knows the worker process's task by name and policy; its handler runs there.
PROCESS_TASKS = TaskRegistry()
PROCESS_TASKS.register(SLOW_EFFECT_TASK, lambda uow, payload, context: None, max_attempts=3)

EFFECTS = Table(
    "test_job_effects",
    MetaData(),
    Column("id", Integer, primary_key=True),
    Column("label", String(100), nullable=False),
)


@task("tests.jobs.numbered_effect")
def numbered_effect(uow: UnitOfWork, payload: dict[str, Any], context: JobContext) -> None:
    time.sleep(0.005)  # long enough for the other workers to be claiming at the same time
    uow.session.execute(insert(EFFECTS).values(label=str(payload["number"])))


@task("tests.jobs.outlast_the_lease")
def outlast_the_lease(uow: UnitOfWork, payload: dict[str, Any], context: JobContext) -> None:
    """Runs past several lease periods, then checks whether another worker could take the job."""
    time.sleep(payload["seconds"])
    taken_over = claim_next_job(
        create_session_factory(uow.session.get_bind()),  # type: ignore[arg-type]
        worker_id="thief",
        now=utc_now(),
        lease=timedelta(minutes=1),
    )
    uow.session.execute(insert(EFFECTS).values(label="taken over" if taken_over else "still ours"))


@pytest.fixture
def effects(engine: Engine) -> Iterator[Table]:
    EFFECTS.create(engine)
    yield EFFECTS
    EFFECTS.drop(engine)  # on PostgreSQL the per-test reset knows only the migrated tables


@pytest.fixture
def session_factory(engine: Engine) -> sessionmaker[Any]:
    return create_session_factory(engine)


@pytest.fixture
def worker_processes() -> Iterator[Callable[..., subprocess.Popen[bytes]]]:
    """Starts worker processes; any still alive at the end of the test are killed."""
    started: list[subprocess.Popen[bytes]] = []

    def start(
        database_url: str, data_dir: Path, *, lease_seconds: float, handler_sleep: float
    ) -> subprocess.Popen[bytes]:
        process = subprocess.Popen(
            [
                sys.executable,
                str(WORKER_SCRIPT),
                database_url,
                "--data-dir",
                str(data_dir),
                "--lease-seconds",
                str(lease_seconds),
                "--handler-sleep",
                str(handler_sleep),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        started.append(process)
        return process

    yield start
    for process in started:
        if process.poll() is None:
            process.kill()
            process.wait()


def wait_until(condition: Callable[[], bool], *, timeout: float = 15.0, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting until {what}")
        time.sleep(0.02)


def effect_labels(engine: Engine) -> list[str]:
    with engine.connect() as connection:
        return list(connection.scalars(select(EFFECTS.c.label).order_by(EFFECTS.c.id)))


def read_job(session_factory: sessionmaker[Any], job_id: str) -> JobOut:
    """Read through a read-only unit of work: on SQLite it does not wait for a running handler's
    write lock, as an admin page must not."""
    return get_job(UnitOfWork(session_factory, read_only=True), system_actor(), job_id)


def enqueue_committed(
    uow_factory: Callable[[], UnitOfWork],
    name: str,
    payload: dict[str, Any],
    tasks: TaskRegistry | None = None,
) -> JobOut:
    with uow_factory() as uow:
        job = enqueue(uow, name, payload, **({"tasks": tasks} if tasks else {}))
        uow.commit()
    return job


def test_the_job_of_a_killed_worker_runs_again_exactly_once_after_its_lease_expires(
    database_url: str,
    engine: Engine,
    uow_factory: Callable[[], UnitOfWork],
    session_factory: sessionmaker[Any],
    effects: Table,
    worker_processes: Callable[..., subprocess.Popen[bytes]],
    tmp_path: Path,
) -> None:
    # Given a worker process that has written its job's effect and is still inside the handler,
    marker = tmp_path / "handler-started"
    job = enqueue_committed(
        uow_factory, SLOW_EFFECT_TASK, {"label": "crash test", "marker": str(marker)}, PROCESS_TASKS
    )
    doomed = worker_processes(database_url, tmp_path / "data", lease_seconds=1, handler_sleep=60)
    wait_until(marker.exists, what="the first worker is inside the handler")
    claimed = read_job(session_factory, job.id)

    # when it is killed with SIGKILL and another worker starts,
    doomed.kill()
    doomed.wait()
    marker.unlink()
    survivor = worker_processes(database_url, tmp_path / "data", lease_seconds=1, handler_sleep=0)
    wait_until(
        lambda: read_job(session_factory, job.id).status == JobStatus.SUCCEEDED, what="the job succeeded"
    )
    survivor.send_signal(signal.SIGTERM)

    # then the job ran again once its lease expired, and its effect exists exactly once.
    assert survivor.wait(timeout=15) == 0
    assert claimed.status is JobStatus.RUNNING
    assert claimed.worker_id is not None
    assert claimed.worker_id.split(":")[1] == str(doomed.pid)
    assert effect_labels(engine) == ["crash test"]
    done = read_job(session_factory, job.id)
    assert done.status is JobStatus.SUCCEEDED
    assert done.attempts == 2
    assert done.worker_id is not None
    assert done.worker_id.split(":")[1] == str(survivor.pid)
    assert done.last_error == f"worker {claimed.worker_id} stopped during attempt 1: its lease expired"


def test_a_worker_process_finishes_its_current_job_on_sigterm_then_exits(
    database_url: str,
    engine: Engine,
    uow_factory: Callable[[], UnitOfWork],
    session_factory: sessionmaker[Any],
    effects: Table,
    worker_processes: Callable[..., subprocess.Popen[bytes]],
    tmp_path: Path,
) -> None:
    # Given a worker process one second into a handler, with another job waiting,
    marker = tmp_path / "handler-started"
    jobs = [
        enqueue_committed(
            uow_factory, SLOW_EFFECT_TASK, {"label": label, "marker": str(marker)}, PROCESS_TASKS
        )
        for label in ("first", "second")
    ]
    worker = worker_processes(database_url, tmp_path / "data", lease_seconds=30, handler_sleep=1)
    wait_until(marker.exists, what="the worker is inside the handler")

    # when it receives SIGTERM,
    signalled_at = time.monotonic()
    worker.send_signal(signal.SIGTERM)
    exit_status = worker.wait(timeout=15)
    stopped_after = time.monotonic() - signalled_at

    # then it completes that job, starts no other, and exits cleanly.
    assert exit_status == 0
    assert stopped_after < 5
    after = [read_job(session_factory, job.id) for job in jobs]
    statuses = sorted((job.status, job.attempts) for job in after)
    assert statuses == [(JobStatus.QUEUED, 0), (JobStatus.SUCCEEDED, 1)]
    assert len(effect_labels(engine)) == 1


def test_racing_workers_run_every_job_exactly_once(
    engine: Engine,
    uow_factory: Callable[[], UnitOfWork],
    session_factory: sessionmaker[Any],
    settings: Settings,
    effects: Table,
) -> None:
    # Given 40 due jobs and four workers starting together,
    with uow_factory() as uow:
        for number in range(40):
            enqueue(uow, "tests.jobs.numbered_effect", {"number": number})
        uow.commit()
    workers = [Worker(session_factory, settings, run_scheduler=False) for _ in range(4)]
    start = threading.Barrier(len(workers))
    outcomes: list[JobOutcome] = []

    def work(worker: Worker) -> None:
        start.wait()
        while (outcome := worker.run_next()) is not None:
            outcomes.append(outcome)

    # when they race for the jobs,
    threads = [threading.Thread(target=work, args=(worker,)) for worker in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    # then each job ran once, on whichever worker claimed it first.
    assert outcomes == [JobOutcome.SUCCEEDED] * 40
    assert sorted(int(label) for label in effect_labels(engine)) == list(range(40))
    with engine.connect() as connection:
        rows = connection.execute(select(Job.status, Job.attempts, Job.worker_id)).all()
    assert {(status, attempts) for status, attempts, _ in rows} == {(JobStatus.SUCCEEDED.value, 1)}
    assert len({worker_id for _, _, worker_id in rows}) > 1


def test_the_heartbeat_keeps_a_long_job_from_being_taken_over(
    engine: Engine,
    uow_factory: Callable[[], UnitOfWork],
    session_factory: sessionmaker[Any],
    settings: Settings,
    effects: Table,
) -> None:
    # Given a lease of 0.3 s and a handler that runs for 0.7 s,
    job = enqueue_committed(uow_factory, "tests.jobs.outlast_the_lease", {"seconds": 0.7})
    worker = Worker(session_factory, settings, lease=timedelta(seconds=0.3))

    # when another worker tries to take the job near the end of the run,
    outcome = worker.run_next()

    # then it finds the lease renewed, and the job succeeds on its first attempt.
    assert outcome is JobOutcome.SUCCEEDED
    assert effect_labels(engine) == ["still ours"]
    done = read_job(session_factory, job.id)
    assert (done.status, done.attempts, done.worker_id) == (JobStatus.SUCCEEDED, 1, worker.worker_id)


def test_a_background_worker_runs_jobs_until_stopped(
    engine: Engine,
    uow_factory: Callable[[], UnitOfWork],
    session_factory: sessionmaker[Any],
    settings: Settings,
    effects: Table,
) -> None:
    # Given the worker thread that `loopcrm serve` starts on the embedded default,
    quick_settings = settings.model_copy(update={"worker_poll_seconds": 0.02})
    background = BackgroundWorker(Worker(session_factory, quick_settings))
    background.start()
    try:
        # when a job is enqueued while it polls,
        job = enqueue_committed(uow_factory, "tests.jobs.numbered_effect", {"number": 7})
        wait_until(
            lambda: read_job(session_factory, job.id).status == JobStatus.SUCCEEDED, what="the job ran"
        )
    finally:
        stopped = background.stop(timeout=10)

    # then it runs the job, and stops when asked.
    assert stopped is True
    assert background.is_running is False
    assert effect_labels(engine) == ["7"]
