"""The job queue's promises: transactional enqueue, one run per job, retries with backoff, delays,
idempotency keys, periodic slots, fenced leases, and what admins may see and do.

Workers here run in the test process against the real database, with a clock the test moves by
hand; process crashes, signals and racing workers are in ``test_jobs_worker.py``.
"""

from __future__ import annotations

import logging
import re
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import (
    Column,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    event,
    func,
    insert,
    inspect,
    select,
    update,
)
from sqlalchemy.orm import sessionmaker

from loopcrm.platform.audit.models import AuditEntry
from loopcrm.platform.db import Base, create_database_engine, create_session_factory, utc_now
from loopcrm.platform.errors import Conflict, NotFound, PermissionDenied
from loopcrm.platform.jobs.models import Job, JobStatus
from loopcrm.platform.jobs.registry import JobContext, TaskRegistry, UnknownTaskError, task
from loopcrm.platform.jobs.schemas import JobOut
from loopcrm.platform.jobs.service import (
    JobOutcome,
    cancel_job,
    claim_next_job,
    count_jobs_by_status,
    enqueue,
    enqueue_continuation,
    get_job,
    list_jobs,
    must_make_room,
    next_step_at,
    purge_finished_jobs,
    retry_job,
)
from loopcrm.platform.jobs.worker import Scheduler, Worker
from loopcrm.platform.migrations import alembic_config, upgrade
from loopcrm.platform.permissions import Actor, SecurityLevel, system_actor
from loopcrm.platform.unit_of_work import UnitOfWork
from loopcrm.settings import Settings

from ..support.hand_clock import HandClock

EFFECTS = Table(
    "test_job_effects",
    MetaData(),
    Column("id", Integer, primary_key=True),
    Column("label", String(100), nullable=False),
)

ADMIN = Actor(user_id="admin-1", label="Admin", role_key="admin", grants={}, clearance=SecurityLevel.SECRET)
SALES_REP = Actor(
    user_id="rep-1", label="Rep", role_key="sales_rep", grants={}, clearance=SecurityLevel.INTERNAL
)


@task("tests.jobs.record_effect")
def record_effect(uow: UnitOfWork, payload: dict[str, Any], context: JobContext) -> None:
    uow.session.execute(insert(EFFECTS).values(label=payload["label"]))


@task("tests.jobs.record_then_fail", max_attempts=3)
def record_then_fail(uow: UnitOfWork, payload: dict[str, Any], context: JobContext) -> None:
    uow.session.execute(insert(EFFECTS).values(label=payload["label"]))
    raise RuntimeError("the mail server refused the message")


def note_the_give_up(uow: UnitOfWork, payload: dict[str, Any], context: JobContext) -> None:
    uow.session.execute(insert(EFFECTS).values(label=f"gave up {payload['label']} on {context.attempt}"))


def fail_to_give_up(uow: UnitOfWork, payload: dict[str, Any], context: JobContext) -> None:
    uow.session.execute(insert(EFFECTS).values(label="half a give-up"))
    raise RuntimeError("the give-up fails too")


@task("tests.jobs.fail_then_give_up", max_attempts=2, on_give_up=note_the_give_up)
def fail_then_give_up(uow: UnitOfWork, payload: dict[str, Any], context: JobContext) -> None:
    uow.session.execute(insert(EFFECTS).values(label=payload["label"]))
    raise RuntimeError("the import step keeps failing")


@task("tests.jobs.fail_and_fail_to_give_up", max_attempts=1, on_give_up=fail_to_give_up)
def fail_and_fail_to_give_up(uow: UnitOfWork, payload: dict[str, Any], context: JobContext) -> None:
    raise RuntimeError("the step fails")


@task("tests.jobs.greet_customer", max_attempts=1)
def greet_customer(uow: UnitOfWork, payload: dict[str, Any], context: JobContext) -> None:
    """Fails until the customer it greets exists: a job an admin retries once the data is fixed."""
    customer = uow.session.scalar(select(EFFECTS.c.label).where(EFFECTS.c.label == payload["customer"]))
    if customer is None:
        raise LookupError(f"no customer {payload['customer']}")
    uow.session.execute(insert(EFFECTS).values(label=f"greeted {customer}"))


contexts_seen: list[JobContext] = []


@task("tests.jobs.remember_context", max_attempts=2)
def remember_context(uow: UnitOfWork, payload: dict[str, Any], context: JobContext) -> None:
    """Keeps what the worker handed over, and fails the first attempt so a retry shows its number."""
    contexts_seen.append(context)
    if context.attempt == 1:
        raise RuntimeError("first attempt fails on purpose")


def take_the_job_over(uow: UnitOfWork) -> None:
    """Another worker ("thief") claims the running job, its lease looking expired an hour later."""
    claim_next_job(
        create_session_factory(uow.session.get_bind()),  # type: ignore[arg-type]
        worker_id="thief",
        now=utc_now() + timedelta(hours=1),
        lease=timedelta(minutes=5),
    )


@task("tests.jobs.overtaken")
def overtaken(uow: UnitOfWork, payload: dict[str, Any], context: JobContext) -> None:
    """Another worker takes the job over (its lease looks expired an hour later) while this runs."""
    take_the_job_over(uow)
    uow.session.execute(insert(EFFECTS).values(label="written by the overtaken worker"))


@task("tests.jobs.hold_the_write_lock")
def hold_the_write_lock(uow: UnitOfWork, payload: dict[str, Any], context: JobContext) -> None:
    """Writes first (on SQLite that takes the database's write lock), then works for several lease
    periods; its after-commit work is slow too, so the heartbeat still beats after the commit."""
    uow.session.execute(insert(EFFECTS).values(label=f"attempt {context.attempt}"))
    time.sleep(payload["seconds"])
    uow.after_commit(lambda: time.sleep(payload["after_commit_seconds"]))


@task("tests.jobs.taken_over_then_slow")
def taken_over_then_slow(uow: UnitOfWork, payload: dict[str, Any], context: JobContext) -> None:
    """Another worker takes the job over (its lease looks expired an hour later); then this run
    works long enough for its heartbeat to find out."""
    take_the_job_over(uow)
    time.sleep(payload["seconds"])
    uow.session.execute(insert(EFFECTS).values(label="written by the overtaken worker"))


@pytest.fixture
def effects(engine: Engine) -> Iterator[Table]:
    """A table only the test tasks write to: what a handler did, visible once committed."""
    EFFECTS.create(engine)
    yield EFFECTS
    EFFECTS.drop(engine)  # on PostgreSQL the per-test reset knows only the migrated tables


@pytest.fixture
def session_factory(engine: Engine) -> sessionmaker[Any]:
    return create_session_factory(engine)


@dataclass(frozen=True)
class JobQueue:
    """What most tests here work with: the database (its effects table created), a unit of work per
    call, and workers on the test's settings."""

    engine: Engine
    uow_factory: Callable[[], UnitOfWork]
    session_factory: sessionmaker[Any]
    settings: Settings

    def worker(self, **options: Any) -> Worker:
        return Worker(self.session_factory, self.settings, **options)

    def enqueue(self, name: str, payload: dict[str, Any], **options: Any) -> JobOut:
        return enqueue_committed(self.uow_factory, name, payload, **options)

    def read(self, job_id: str) -> JobOut:
        return read_job(self.uow_factory, job_id)

    def effect_labels(self) -> list[str]:
        return effect_labels(self.engine)

    def job_count(self) -> int:
        return job_count(self.engine)


@pytest.fixture
def queue(
    engine: Engine,
    uow_factory: Callable[[], UnitOfWork],
    session_factory: sessionmaker[Any],
    settings: Settings,
    effects: Table,
) -> JobQueue:
    return JobQueue(engine, uow_factory, session_factory, settings)


def effect_labels(engine: Engine) -> list[str]:
    with engine.connect() as connection:
        return list(connection.scalars(select(EFFECTS.c.label).order_by(EFFECTS.c.id)))


def job_count(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.scalar(select(func.count()).select_from(Job)) or 0)


def read_job(uow_factory: Callable[[], UnitOfWork], job_id: str) -> JobOut:
    return get_job(uow_factory(), system_actor(), job_id)


def enqueue_committed(
    uow_factory: Callable[[], UnitOfWork], name: str, payload: dict[str, Any], **options: Any
) -> JobOut:
    with uow_factory() as uow:
        job = enqueue(uow, name, payload, **options)
        uow.commit()
    return job


# --- Enqueue is part of the caller's transaction ---------------------------------------------------


def test_a_job_enqueued_in_a_rolled_back_transaction_never_runs(queue: JobQueue) -> None:
    with queue.uow_factory() as uow:
        enqueue(uow, "tests.jobs.record_effect", {"label": "rolled back"})
        # leaving without commit() rolls back, as a failing service would

    ran = queue.worker().run_once()

    assert ran is False
    assert queue.job_count() == 0
    assert queue.effect_labels() == []


def test_a_committed_job_runs_once_and_its_effect_commits_with_the_succeeded_status(queue: JobQueue) -> None:
    job = queue.enqueue("tests.jobs.record_effect", {"label": "welcome email"})
    clock = HandClock()
    worker = queue.worker(clock=clock)

    first = worker.run_next()
    second = worker.run_next()

    assert (first, second) == (JobOutcome.SUCCEEDED, None)
    assert queue.effect_labels() == ["welcome email"]
    done = queue.read(job.id)
    assert done.status is JobStatus.SUCCEEDED
    assert done.attempts == 1
    assert done.worker_id == worker.worker_id
    assert done.started_at == clock.now
    assert done.finished_at == clock.now
    assert done.lease_until is None
    assert done.last_error is None


def test_a_handler_gets_the_workers_settings_the_job_id_its_attempt_and_the_clock(
    uow_factory: Callable[[], UnitOfWork], session_factory: sessionmaker[Any], settings: Settings
) -> None:
    contexts_seen.clear()
    job = enqueue_committed(uow_factory, "tests.jobs.remember_context", {})
    clock = HandClock()
    worker = Worker(session_factory, settings, clock=clock)

    first = worker.run_next()
    first_run_at = clock.now
    clock.advance(timedelta(seconds=2))
    second = worker.run_next()

    assert (first, second) == (JobOutcome.RETRY_SCHEDULED, JobOutcome.SUCCEEDED)
    assert contexts_seen == [
        JobContext(settings=settings, job_id=job.id, attempt=1, now=first_run_at),
        JobContext(settings=settings, job_id=job.id, attempt=2, now=first_run_at + timedelta(seconds=2)),
    ]


def test_a_failing_job_rolls_back_its_effects_and_retries_with_exponential_backoff(queue: JobQueue) -> None:
    job = queue.enqueue("tests.jobs.record_then_fail", {"label": "should never stick"})
    clock = HandClock()
    start = clock.now
    worker = queue.worker(clock=clock)

    first = worker.run_next()
    after_first = queue.read(job.id)
    clock.advance(timedelta(seconds=1.999))
    too_early = worker.run_next()
    clock.advance(timedelta(milliseconds=1))
    second = worker.run_next()
    after_second = queue.read(job.id)

    assert (first, too_early, second) == (JobOutcome.RETRY_SCHEDULED, None, JobOutcome.RETRY_SCHEDULED)
    assert after_first.status is JobStatus.QUEUED
    assert after_first.attempts == 1
    assert after_first.run_at == start + timedelta(seconds=2)
    assert after_second.attempts == 2
    assert after_second.run_at == start + timedelta(seconds=2) + timedelta(seconds=4)
    assert after_second.worker_id is None
    assert after_second.last_error is not None
    assert after_second.last_error.splitlines()[-1] == "RuntimeError: the mail server refused the message"
    assert queue.effect_labels() == []


def test_a_job_fails_for_good_after_its_last_attempt_and_keeps_the_error(queue: JobQueue) -> None:
    job = queue.enqueue("tests.jobs.record_then_fail", {"label": "x"}, max_attempts=2)
    clock = HandClock()
    worker = queue.worker(clock=clock)

    outcomes = [worker.run_next()]
    clock.advance(timedelta(seconds=2))
    outcomes.append(worker.run_next())
    clock.advance(timedelta(days=1))
    outcomes.append(worker.run_next())

    assert outcomes == [JobOutcome.RETRY_SCHEDULED, JobOutcome.FAILED, None]
    failed = queue.read(job.id)
    assert failed.status is JobStatus.FAILED
    assert failed.attempts == 2
    assert failed.max_attempts == 2
    assert failed.finished_at == clock.now - timedelta(days=1)
    assert failed.last_error is not None
    assert failed.last_error.startswith("Traceback (most recent call last):")
    assert failed.last_error.splitlines()[-1] == "RuntimeError: the mail server refused the message"
    assert queue.effect_labels() == []


def test_a_task_gives_up_once_after_its_last_attempt_in_the_transaction_that_fails_the_job(
    queue: JobQueue,
) -> None:
    job = queue.enqueue("tests.jobs.fail_then_give_up", {"label": "run-7"})
    clock = HandClock()
    worker = queue.worker(clock=clock)

    first = worker.run_next()
    labels_after_first = queue.effect_labels()
    clock.advance(timedelta(seconds=2))
    last = worker.run_next()

    assert (first, last) == (JobOutcome.RETRY_SCHEDULED, JobOutcome.FAILED)
    assert labels_after_first == []  # a retry is not a give-up
    assert queue.effect_labels() == ["gave up run-7 on 2"]  # the handler's own write rolled back
    assert queue.read(job.id).status is JobStatus.FAILED


def test_a_give_up_that_fails_is_rolled_back_and_the_job_still_fails(queue: JobQueue) -> None:
    job = queue.enqueue("tests.jobs.fail_and_fail_to_give_up", {})
    worker = queue.worker(clock=HandClock())

    outcome = worker.run_next()

    assert outcome is JobOutcome.FAILED
    assert queue.read(job.id).status is JobStatus.FAILED
    assert queue.effect_labels() == []


def test_a_delayed_job_does_not_run_before_it_is_due(queue: JobQueue) -> None:
    job = queue.enqueue("tests.jobs.record_effect", {"label": "reminder"}, delay=timedelta(hours=1))
    clock = HandClock()
    worker = queue.worker(clock=clock)

    now = worker.run_next()
    clock.now = job.run_at - timedelta(microseconds=1)
    just_before = worker.run_next()
    clock.now = job.run_at
    on_time = worker.run_next()

    assert job.run_at - job.created_at == timedelta(hours=1)
    assert (now, just_before, on_time) == (None, None, JobOutcome.SUCCEEDED)
    assert queue.effect_labels() == ["reminder"]


def test_enqueue_with_a_known_idempotency_key_returns_the_existing_job_and_keeps_the_transaction(
    engine: Engine, uow_factory: Callable[[], UnitOfWork], effects: Table
) -> None:
    first = enqueue_committed(
        uow_factory, "tests.jobs.record_effect", {"label": "first"}, idempotency_key="welcome:42"
    )

    with uow_factory() as uow:
        uow.session.execute(insert(EFFECTS).values(label="the caller's own write"))
        second = enqueue(uow, "tests.jobs.record_effect", {"label": "second"}, idempotency_key="welcome:42")
        other = enqueue(uow, "tests.jobs.record_effect", {"label": "other"})
        uow.commit()

    assert second.id == first.id
    assert second.payload == {"label": "first"}
    assert job_count(engine) == 2
    assert read_job(uow_factory, other.id).status is JobStatus.QUEUED
    assert effect_labels(engine) == ["the caller's own write"]


def test_concurrent_enqueues_of_one_idempotency_key_make_one_job_and_both_transactions_commit(
    engine: Engine, uow_factory: Callable[[], UnitOfWork], effects: Table
) -> None:
    # Given one transaction has enqueued the key and not yet committed,
    first_enqueued = threading.Event()
    results: dict[str, str] = {}

    def enqueue_first() -> None:
        with uow_factory() as uow:
            results["first"] = enqueue(
                uow, "tests.jobs.record_effect", {"label": "a"}, idempotency_key="k"
            ).id
            first_enqueued.set()
            threading.Event().wait(0.3)  # the second transaction now waits on our uncommitted key
            uow.commit()

    def enqueue_second() -> None:
        first_enqueued.wait()
        with uow_factory() as uow:
            uow.session.execute(insert(EFFECTS).values(label="second caller's write"))
            results["second"] = enqueue(
                uow, "tests.jobs.record_effect", {"label": "b"}, idempotency_key="k"
            ).id
            uow.commit()

    # when a second transaction enqueues the same key,
    threads = [threading.Thread(target=enqueue_first), threading.Thread(target=enqueue_second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)

    # then it gets the first one's job, and its own other writes still commit.
    assert results["second"] == results["first"]
    assert job_count(engine) == 1
    assert effect_labels(engine) == ["second caller's write"]


def test_enqueue_refuses_unknown_tasks_and_payloads_that_are_not_json(
    uow_factory: Callable[[], UnitOfWork],
) -> None:
    with uow_factory() as uow:
        with pytest.raises(
            UnknownTaskError, match=re.escape("no task named 'tests.jobs.typo' is registered")
        ):
            enqueue(uow, "tests.jobs.typo", {})
        with pytest.raises(
            TypeError, match=re.escape("the payload of a 'tests.jobs.record_effect' job must be JSON")
        ):
            enqueue(uow, "tests.jobs.record_effect", {"when": datetime(2026, 1, 1, tzinfo=UTC)})
        with pytest.raises(ValueError, match="pass run_at or delay, not both"):
            enqueue(uow, "tests.jobs.record_effect", {}, run_at=utc_now(), delay=timedelta(1))


def test_a_job_of_a_task_this_worker_does_not_know_waits_for_a_worker_that_does(
    uow_factory: Callable[[], UnitOfWork],
    session_factory: sessionmaker[Any],
    settings: Settings,
    effects: Table,
) -> None:
    # Given a job enqueued by a newer release, and a worker of an older one that lacks the task,
    job = enqueue_committed(uow_factory, "tests.jobs.record_effect", {"label": "x"})
    clock = HandClock()
    old_worker = Worker(session_factory, settings, clock=clock, tasks=TaskRegistry())

    # when the old worker takes it,
    outcome = old_worker.run_next()

    # then the job goes back to the queue with a backoff, for a worker that has the task.
    assert outcome is JobOutcome.RETRY_SCHEDULED
    waiting = read_job(uow_factory, job.id)
    assert (waiting.status, waiting.attempts, waiting.run_at) == (
        JobStatus.QUEUED,
        1,
        clock.now + timedelta(seconds=2),
    )
    assert waiting.last_error is not None
    assert waiting.last_error.splitlines()[-1] == (
        "LookupError: no task named 'tests.jobs.record_effect' is registered"
        f" in worker {old_worker.worker_id}"
    )


# --- Leases --------------------------------------------------------------------------------------


def test_a_worker_that_lost_its_lease_rolls_back_its_handler_effects(queue: JobQueue) -> None:
    job = queue.enqueue("tests.jobs.overtaken", {})
    worker = queue.worker()

    outcome = worker.run_next()

    assert outcome is JobOutcome.LEASE_LOST
    assert queue.effect_labels() == []
    taken_over = queue.read(job.id)
    assert taken_over.status is JobStatus.RUNNING
    assert taken_over.worker_id == "thief"
    assert taken_over.attempts == 2


def lease_lost_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [record.getMessage() for record in caplog.records if "lease lost" in record.getMessage()]


def test_a_step_longer_than_its_lease_completes_once_and_no_lease_is_reported_lost(
    queue: JobQueue,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Given a lease of 0.6 s and a step that writes, then works 1.5 s (on SQLite holding the write
    # lock, so the heartbeat's renewals wait for it), and spends 0.5 s after its commit,
    job = queue.enqueue("tests.jobs.hold_the_write_lock", {"seconds": 1.5, "after_commit_seconds": 0.5})
    worker = queue.worker(lease=timedelta(seconds=0.6), run_scheduler=False)
    found_by_other_worker: list[Any] = []

    def look_for_work_past_the_first_lease() -> None:
        time.sleep(1.0)
        found_by_other_worker.append(
            claim_next_job(
                queue.session_factory, worker_id="other", now=utc_now(), lease=timedelta(minutes=1)
            )
        )

    # when it runs while another worker looks for work after the first lease period,
    other_worker = threading.Thread(target=look_for_work_past_the_first_lease)
    with caplog.at_level(logging.INFO, logger="loopcrm.platform.jobs"):
        other_worker.start()
        outcome = worker.run_next()
        other_worker.join()
    again = worker.run_next()

    # then the step ran once and committed, the other worker found nothing to take over, and the
    # heartbeat that renewed after the commit did not report a lost lease.
    assert (outcome, again) == (JobOutcome.SUCCEEDED, None)
    assert found_by_other_worker == [None]
    assert queue.effect_labels() == ["attempt 1"]
    done = queue.read(job.id)
    assert (done.status, done.attempts, done.worker_id) == (JobStatus.SUCCEEDED, 1, worker.worker_id)
    assert lease_lost_warnings(caplog) == []


def test_a_heartbeat_reports_a_lease_another_worker_took_over(
    queue: JobQueue,
    caplog: pytest.LogCaptureFixture,
) -> None:
    job = queue.enqueue("tests.jobs.taken_over_then_slow", {"seconds": 0.6})
    worker = queue.worker(lease=timedelta(seconds=0.3), run_scheduler=False)

    with caplog.at_level(logging.INFO, logger="loopcrm.platform.jobs"):
        outcome = worker.run_next()

    assert outcome is JobOutcome.LEASE_LOST
    assert queue.effect_labels() == []
    assert lease_lost_warnings(caplog) == [
        f"job {job.id} (tests.jobs.taken_over_then_slow): lease lost to another worker; "
        "this run will be rolled back",
        f"job {job.id} (tests.jobs.taken_over_then_slow): lease lost during attempt 1; "
        "its effects were rolled back",
    ]


DEAD_WORKER_LEASE = timedelta(seconds=30)


def claim_as_a_worker_that_dies(session_factory: sessionmaker[Any], clock: HandClock) -> None:
    """A worker ("dead-host:7:abc") claims the next job and then never renews its lease nor reports back."""
    claim_next_job(session_factory, worker_id="dead-host:7:abc", now=clock.now, lease=DEAD_WORKER_LEASE)


def run_while_leased_and_after_expiry(
    worker: Worker, clock: HandClock
) -> tuple[JobOutcome | None, JobOutcome | None]:
    """Runs the worker at the last instant of the dead worker's lease, then a microsecond after it."""
    clock.advance(DEAD_WORKER_LEASE)
    while_leased = worker.run_next()
    clock.advance(timedelta(microseconds=1))
    return while_leased, worker.run_next()


def test_the_job_of_a_worker_that_died_runs_again_once_its_lease_expired(queue: JobQueue) -> None:
    # Given a worker claimed the job and then died (it never renews its lease nor reports back),
    job = queue.enqueue("tests.jobs.record_effect", {"label": "recovered"})
    clock = HandClock()
    claim_as_a_worker_that_dies(queue.session_factory, clock)

    # when another worker looks for work while the lease holds, and after it expired,
    worker = queue.worker(clock=clock, run_scheduler=False)
    while_leased, after_expiry = run_while_leased_and_after_expiry(worker, clock)

    # then it runs the job once, as its second attempt, saying what happened to the first.
    assert (while_leased, after_expiry) == (None, JobOutcome.SUCCEEDED)
    assert queue.effect_labels() == ["recovered"]
    done = queue.read(job.id)
    assert (done.status, done.attempts, done.worker_id) == (JobStatus.SUCCEEDED, 2, worker.worker_id)
    assert done.last_error == "worker dead-host:7:abc stopped during attempt 1: its lease expired"


def test_a_job_whose_worker_died_on_its_last_attempt_fails_with_the_expired_lease_as_its_error(
    uow_factory: Callable[[], UnitOfWork],
    session_factory: sessionmaker[Any],
    settings: Settings,
    effects: Table,
) -> None:
    # Given a worker claimed the job's only attempt and then died (it never reports back),
    job = enqueue_committed(uow_factory, "tests.jobs.record_effect", {"label": "x"}, max_attempts=1)
    clock = HandClock()
    claim_as_a_worker_that_dies(session_factory, clock)

    # when another worker looks for work while the lease holds, and after it expired,
    worker = Worker(session_factory, settings, clock=clock)
    while_leased, after_expiry = run_while_leased_and_after_expiry(worker, clock)

    # then the job is not run again but failed, saying why.
    assert (while_leased, after_expiry) == (None, None)
    failed = read_job(uow_factory, job.id)
    assert failed.status is JobStatus.FAILED
    assert failed.attempts == 1
    assert failed.finished_at == clock.now
    assert failed.last_error == "worker dead-host:7:abc stopped during attempt 1: its lease expired"


# --- Periodic tasks --------------------------------------------------------------------------------

PERIODIC = TaskRegistry()  # not the application's registry: other tests' schedulers must not see it


@PERIODIC.periodic("tests.jobs.hourly_digest", every=timedelta(hours=1))
def hourly_digest(uow: UnitOfWork, payload: dict[str, Any], context: JobContext) -> None:
    uow.session.execute(insert(EFFECTS).values(label=f"digest {payload['slot_start']}"))


def test_two_schedulers_ticking_in_one_slot_enqueue_the_periodic_task_once(
    engine: Engine, session_factory: sessionmaker[Any], effects: Table
) -> None:
    now = datetime(2026, 11, 23, 10, 17, 5, tzinfo=UTC)
    schedulers = [Scheduler(session_factory, tasks=PERIODIC), Scheduler(session_factory, tasks=PERIODIC)]
    barrier = threading.Barrier(2)
    ticks: list[list[JobOut]] = [[], []]

    def tick(index: int) -> None:
        barrier.wait()
        ticks[index] = schedulers[index].tick(now)

    threads = [threading.Thread(target=tick, args=(index,)) for index in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)
    later_in_the_slot = [
        scheduler.tick(datetime(2026, 11, 23, 10, 59, 59, tzinfo=UTC)) for scheduler in schedulers
    ]
    fresh_scheduler = Scheduler(session_factory, tasks=PERIODIC).tick(now)

    assert job_count(engine) == 1
    (job,) = ticks[0]
    assert ticks[1] == [job]
    assert fresh_scheduler == [job]
    assert later_in_the_slot == [[], []]
    assert job.name == "tests.jobs.hourly_digest"
    assert job.idempotency_key == "tests.jobs.hourly_digest@2026-11-23T10:00:00+00:00"
    assert job.run_at == datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
    assert job.payload == {"slot_start": "2026-11-23T10:00:00+00:00"}


def test_a_slot_enqueued_by_another_scheduler_between_its_two_reads_is_returned_not_skipped(
    engine: Engine, session_factory: sessionmaker[Any], effects: Table
) -> None:
    if engine.dialect.name == "sqlite":
        pytest.skip("SQLite runs writing units of work one at a time (BEGIN IMMEDIATE): no such race")
    # Given scheduler A has found no job for the slot, and B enqueues it right then (B commits
    # before A asks whether an earlier run is unfinished: the race CI once hit on PostgreSQL),
    now = datetime(2026, 11, 23, 10, 17, 5, tzinfo=UTC)
    first, second = Scheduler(session_factory, tasks=PERIODIC), Scheduler(session_factory, tasks=PERIODIC)
    from_second: list[JobOut] = []
    started: list[threading.Thread] = []

    def enqueue_meanwhile(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        # Only A's first "is an earlier run unfinished" query waits for B's whole tick.
        if "EXISTS" in statement.upper() and not started and threading.current_thread() is main:
            worker = threading.Thread(target=lambda: from_second.extend(second.tick(now)))
            started.append(worker)
            worker.start()
            worker.join(timeout=20)

    main = threading.current_thread()

    event.listen(engine, "before_cursor_execute", enqueue_meanwhile)
    try:
        from_first = first.tick(now)
    finally:
        event.remove(engine, "before_cursor_execute", enqueue_meanwhile)

    # then A returns B's job for the slot instead of skipping the slot as if an earlier run were
    # unfinished, and the slot has one job.
    assert len(from_second) == 1
    assert from_first == from_second
    assert job_count(engine) == 1


def test_the_scheduler_skips_a_slot_while_the_previous_run_is_unfinished(
    engine: Engine, session_factory: sessionmaker[Any], settings: Settings, effects: Table
) -> None:
    # Given the 10:00 run was enqueued and no worker has run it by 11:05,
    scheduler = Scheduler(session_factory, tasks=PERIODIC)
    scheduler.tick(datetime(2026, 11, 23, 10, 17, tzinfo=UTC))
    skipped = scheduler.tick(datetime(2026, 11, 23, 11, 5, tzinfo=UTC))

    # when a worker finally runs it and the scheduler ticks again in the 11:00 slot,
    clock = HandClock()
    clock.now = datetime(2026, 11, 23, 11, 6, tzinfo=UTC)
    ran = Worker(session_factory, settings, clock=clock, tasks=PERIODIC, run_scheduler=False).run_next()
    caught_up = scheduler.tick(datetime(2026, 11, 23, 11, 7, tzinfo=UTC))

    # then the 11:00 slot is enqueued once, not stacked behind the unfinished run.
    assert skipped == []
    assert ran is JobOutcome.SUCCEEDED
    assert effect_labels(engine) == ["digest 2026-11-23T10:00:00+00:00"]
    assert [job.idempotency_key for job in caught_up] == [
        "tests.jobs.hourly_digest@2026-11-23T11:00:00+00:00"
    ]
    assert job_count(engine) == 2


BACKLOG = TaskRegistry()  # one periodic task that drains a backlog two items a run


@BACKLOG.periodic("tests.jobs.drain_backlog", every=timedelta(hours=1))
def drain_backlog(uow: UnitOfWork, payload: dict[str, Any], context: JobContext) -> None:
    session = uow.session
    waiting = list(
        session.scalars(
            select(EFFECTS.c.id).where(EFFECTS.c.label == "waiting").order_by(EFFECTS.c.id).limit(2)
        )
    )
    session.execute(
        update(EFFECTS).where(EFFECTS.c.id.in_(waiting)).values(label=f"done by {context.job_id}")
    )
    if len(waiting) == 2:
        # What it works through is contended while a row says so (ingestion writing, in the app).
        busy = session.scalar(select(func.count()).where(EFFECTS.c.label == "busy")) > 0
        enqueue_continuation(uow, "tests.jobs.drain_backlog", context, contended=busy, tasks=BACKLOG)


@pytest.mark.parametrize(
    ("embedded", "busy"),
    [(False, True), (True, True), (True, False)],
    ids=["own worker, contended", "embedded worker, contended", "embedded worker, free"],
)
def test_a_periodic_run_that_stops_at_its_limit_queues_the_next_at_once_and_its_slots_wait(
    engine: Engine,
    session_factory: sessionmaker[Any],
    settings: Settings,
    effects: Table,
    embedded: bool,
    busy: bool,
) -> None:
    # Given five waiting items, a task that takes two a run, and its 10:00 run enqueued,
    with engine.begin() as connection:
        connection.execute(insert(EFFECTS), [{"label": "waiting"}] * 5 + [{"label": "busy"}] * busy)
    scheduler = Scheduler(session_factory, tasks=BACKLOG)
    [first] = scheduler.tick(datetime(2026, 11, 23, 10, 17, tzinfo=UTC))
    clock = HandClock()
    clock.now = datetime(2026, 11, 23, 10, 18, tzinfo=UTC)
    worker = Worker(
        session_factory, settings, clock=clock, tasks=BACKLOG, run_scheduler=False, embedded=embedded
    )

    # when a worker runs it, the scheduler ticks in the next slot, and the worker goes on a
    # second later each time (SQLite's pause between runs is as long as a run took),
    outcomes = [worker.run_next()]
    skipped = scheduler.tick(datetime(2026, 11, 23, 11, 5, tzinfo=UTC))
    for _ in range(3):
        clock.now += timedelta(seconds=1)
        outcomes.append(worker.run_next())

    # then each full run queued the next until the backlog was drained, and the 11:00 slot was
    # skipped while they were queued: three runs, never two at once. The next run is due when
    # the last began, unless what the task works through is contended and the run shared the
    # web process or SQLite's write lock: then a moment later (four times a run's milliseconds).
    with engine.connect() as connection:
        jobs = connection.execute(
            select(Job.id, Job.payload, Job.status, Job.run_at)
            .where(Job.name == "tests.jobs.drain_backlog")
            .order_by(Job.created_at, Job.id)
        ).all()
    assert outcomes == [JobOutcome.SUCCEEDED] * 3 + [None]
    assert skipped == []
    assert [job.payload for job in jobs] == [
        {"slot_start": "2026-11-23T10:00:00+00:00"},
        {"continues": jobs[0].id},
        {"continues": jobs[1].id},
    ]
    assert {job.status for job in jobs} == {JobStatus.SUCCEEDED.value}
    assert first.id == jobs[0].id
    began = [datetime(2026, 11, 23, 10, 18, tzinfo=UTC), datetime(2026, 11, 23, 10, 18, 1, tzinfo=UTC)]
    pauses = [job.run_at - start for job, start in zip(jobs[1:], began, strict=True)]
    if busy and (embedded or engine.dialect.name == "sqlite"):
        assert all(timedelta(0) < pause < timedelta(seconds=1) for pause in pauses)
    else:
        assert pauses == [timedelta(0), timedelta(0)]
    assert (
        effect_labels(engine) == [f"done by {jobs[index].id}" for index in (0, 0, 1, 1, 2)] + ["busy"] * busy
    )


def test_a_run_makes_room_only_where_it_shares_with_a_registered_writer_that_is_busy(
    engine: Engine, session_factory: sessionmaker[Any], settings: Settings
) -> None:
    # Given a registry whose one writer (ingestion, in the app) is busy or not as this says,
    tasks = TaskRegistry()
    writer = {"busy": False}
    tasks.busy_writer_probe(lambda uow: writer["busy"])
    started = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)

    # when runs in the web process or in a worker of their own ask, with the writer busy or not
    # (and, for lock_only, counting only SQLite's write lock as shared),
    answers, lock_only = {}, {}
    for embedded in (False, True):
        for busy in (False, True):
            writer["busy"] = busy
            context = JobContext(
                settings, "job-1", 1, started, embedded=embedded, began=time.monotonic() - 0.5
            )
            with UnitOfWork(session_factory) as uow:
                answers[embedded, busy] = must_make_room(uow, context, tasks=tasks)
                lock_only[embedded, busy] = must_make_room(
                    uow, context, counting_the_process=False, tasks=tasks
                )
            due = next_step_at(context, making_room=answers[embedded, busy])
            assert due == started if not answers[embedded, busy] else due >= started + timedelta(seconds=2)

    # then only a busy writer that shares the process, or SQLite's one write lock, makes room:
    # the next step is then due four times as long after as the run took (half a second here).
    shares_the_lock = engine.dialect.name == "sqlite"
    assert answers == {
        (False, False): False,
        (False, True): shares_the_lock,
        (True, False): False,
        (True, True): True,
    }
    assert lock_only == {
        (False, False): False,
        (False, True): shares_the_lock,
        (True, False): False,
        (True, True): shares_the_lock,
    }


LONG_STEPS = TaskRegistry()  # steps that hold the database's write lock for a while each


@LONG_STEPS.task("tests.jobs.long_step")
def long_step(uow: UnitOfWork, payload: dict[str, Any], context: JobContext) -> None:
    uow.session.execute(insert(EFFECTS).values(label=payload["label"]))
    started_steps.set()
    time.sleep(0.6)


started_steps = threading.Event()


def test_on_sqlite_a_worker_between_two_jobs_lets_a_connection_waiting_for_the_write_lock_in(
    engine: Engine, session_factory: sessionmaker[Any], settings: Settings, effects: Table
) -> None:
    if engine.dialect.name != "sqlite":
        pytest.skip("SQLite's one write lock")
    # Given three steps queued, each holding the write lock for 0.6 s, and a worker running them,
    with UnitOfWork(session_factory) as uow:
        for number in (1, 2, 3):
            enqueue(uow, "tests.jobs.long_step", {"label": f"step {number}"}, tasks=LONG_STEPS)
        uow.commit()
    started_steps.clear()
    worker = Worker(session_factory, settings, tasks=LONG_STEPS, run_scheduler=False)
    stop = threading.Event()
    running = threading.Thread(target=worker.run_forever, args=(stop,))
    running.start()
    try:
        # when another connection (a web request) asks for the lock while the first step runs,
        assert started_steps.wait(10)
        waiting = sqlite3.connect(str(engine.url.database), timeout=10, isolation_level=None)
        waiting.execute("BEGIN IMMEDIATE")
        waiting.execute("INSERT INTO test_job_effects (label) VALUES ('web request')")
        waiting.execute("COMMIT")
        waiting.close()
        deadline = time.monotonic() + 10
        while len(effect_labels(engine)) < 4 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        stop.set()
        running.join(10)

    # then it got the lock between the first and the second step, not after all of them.
    assert effect_labels(engine) == ["step 1", "web request", "step 2", "step 3"]


def test_short_jobs_run_back_to_back_with_a_pause_only_every_half_second(
    engine: Engine, session_factory: sessionmaker[Any], settings: Settings, effects: Table
) -> None:
    # Given twenty quick jobs (a fan-out of emails, say) and a worker running them,
    with UnitOfWork(session_factory) as uow:
        for number in range(20):
            enqueue(uow, "tests.jobs.record_effect", {"label": f"email {number}"})
        uow.commit()
    worker = Worker(session_factory, settings, run_scheduler=False)
    stop = threading.Event()
    running = threading.Thread(target=worker.run_forever, args=(stop,))
    began = time.monotonic()
    running.start()
    deadline = began + 10
    while len(effect_labels(engine)) < 20 and time.monotonic() < deadline:
        time.sleep(0.01)
    took = time.monotonic() - began
    stop.set()
    running.join(10)

    # then they all ran well within the 2.4 s that a pause after each (on SQLite) would take.
    assert len(effect_labels(engine)) == 20
    assert took < 1.5


# --- Administration -------------------------------------------------------------------------------


def test_an_admin_retries_a_failed_job_and_it_runs_again_with_all_its_attempts(queue: JobQueue) -> None:
    # Given a job that failed because its customer was missing, and the customer now exists,
    job = queue.enqueue("tests.jobs.greet_customer", {"customer": "王芳"})
    worker = queue.worker()
    assert worker.run_next() is JobOutcome.FAILED
    with queue.engine.begin() as connection:
        connection.execute(insert(EFFECTS).values(label="王芳"))

    # when an admin retries it,
    retried = retry_job(queue.uow_factory(), ADMIN, job.id)
    outcome = worker.run_next()

    # then it is queued with its attempts back, runs, and the retry is in the audit log.
    assert retried.status is JobStatus.QUEUED
    assert retried.attempts == 0
    assert retried.finished_at is None
    assert retried.last_error is not None
    assert retried.last_error.splitlines()[-1] == "LookupError: no customer 王芳"
    assert outcome is JobOutcome.SUCCEEDED
    assert queue.effect_labels() == ["王芳", "greeted 王芳"]
    done = queue.read(job.id)
    assert (done.status, done.attempts) == (JobStatus.SUCCEEDED, 1)
    with queue.engine.connect() as connection:
        entry = connection.execute(
            select(AuditEntry.actor_id, AuditEntry.action, AuditEntry.changes).where(
                AuditEntry.object_type == "job", AuditEntry.object_id == job.id
            )
        ).one()
    assert tuple(entry) == ("admin-1", "update", {"attempts": [1, 0], "status": ["failed", "queued"]})


def test_an_admin_cancels_a_queued_job_and_no_worker_runs_it(queue: JobQueue) -> None:
    job = queue.enqueue("tests.jobs.record_effect", {"label": "cancelled"})

    cancelled = cancel_job(queue.uow_factory(), ADMIN, job.id)
    ran = queue.worker().run_once()

    assert cancelled.status is JobStatus.CANCELLED
    assert ran is False
    assert queue.effect_labels() == []


def test_only_queued_jobs_can_be_cancelled_and_only_stopped_jobs_retried(
    uow_factory: Callable[[], UnitOfWork], session_factory: sessionmaker[Any], effects: Table
) -> None:
    running = enqueue_committed(uow_factory, "tests.jobs.record_effect", {"label": "running"})
    claim_next_job(session_factory, worker_id="busy-host:1:abc", now=utc_now(), lease=timedelta(minutes=1))
    queued = enqueue_committed(uow_factory, "tests.jobs.record_effect", {"label": "queued"})

    with pytest.raises(Conflict, match="Only queued jobs can be cancelled; this one is running"):
        cancel_job(uow_factory(), ADMIN, running.id)
    with pytest.raises(Conflict, match="Only failed or cancelled jobs can be retried; this one is queued"):
        retry_job(uow_factory(), ADMIN, queued.id)
    with pytest.raises(NotFound):
        get_job(uow_factory(), ADMIN, "no-such-job")


def test_a_sales_rep_may_not_see_retry_or_cancel_jobs(
    uow_factory: Callable[[], UnitOfWork], effects: Table
) -> None:
    job = enqueue_committed(uow_factory, "tests.jobs.record_effect", {"label": "x"})

    for attempt in (
        lambda: list_jobs(uow_factory(), SALES_REP),
        lambda: count_jobs_by_status(uow_factory(), SALES_REP),
        lambda: get_job(uow_factory(), SALES_REP, job.id),
        lambda: retry_job(uow_factory(), SALES_REP, job.id),
        lambda: cancel_job(uow_factory(), SALES_REP, job.id),
    ):
        with pytest.raises(PermissionDenied):
            attempt()
    assert read_job(uow_factory, job.id).status is JobStatus.QUEUED


def test_admins_list_jobs_of_one_status_newest_first_page_by_page(
    uow_factory: Callable[[], UnitOfWork],
    session_factory: sessionmaker[Any],
    settings: Settings,
    effects: Table,
) -> None:
    # Given three jobs that succeeded, one that failed and one that is running
    # (ids are time-ordered to the millisecond, so the jobs are enqueued a few milliseconds apart),
    def enqueue_apart(name: str, label: str, **options: Any) -> JobOut:
        time.sleep(0.003)
        return enqueue_committed(uow_factory, name, {"label": label}, **options)

    succeeded = [enqueue_apart("tests.jobs.record_effect", label) for label in ("a", "b", "c")]
    failed = enqueue_apart("tests.jobs.record_then_fail", "f", max_attempts=1)
    worker = Worker(session_factory, settings)
    while worker.run_once():
        pass
    running = enqueue_apart("tests.jobs.record_effect", "r")
    claim_next_job(session_factory, worker_id="busy-host:1:abc", now=utc_now(), lease=timedelta(minutes=1))

    # when an admin lists them,
    first_page = list_jobs(uow_factory(), ADMIN, status=JobStatus.SUCCEEDED, limit=2)
    second_page = list_jobs(
        uow_factory(), ADMIN, status=JobStatus.SUCCEEDED, limit=2, cursor=first_page.next_cursor
    )
    everything = list_jobs(uow_factory(), ADMIN)
    counts = count_jobs_by_status(uow_factory(), ADMIN)

    # then each status pages newest first, and the counts cover every status.
    assert [job.id for job in first_page.items] == [succeeded[2].id, succeeded[1].id]
    assert [job.id for job in second_page.items] == [succeeded[0].id]
    assert second_page.next_cursor is None
    assert [job.id for job in everything.items] == [
        running.id,
        failed.id,
        succeeded[2].id,
        succeeded[1].id,
        succeeded[0].id,
    ]
    assert counts == {
        JobStatus.QUEUED: 0,
        JobStatus.RUNNING: 1,
        JobStatus.SUCCEEDED: 3,
        JobStatus.FAILED: 1,
        JobStatus.CANCELLED: 0,
    }


def test_housekeeping_purges_old_finished_jobs_but_keeps_failed_ones(queue: JobQueue) -> None:
    # Given jobs that succeeded, were cancelled or failed eight days ago, and one that succeeded today,
    old = [queue.enqueue("tests.jobs.record_effect", {"label": str(n)}) for n in range(2)]
    cancel_job(queue.uow_factory(), ADMIN, old[1].id)
    failed = queue.enqueue("tests.jobs.record_then_fail", {"label": "f"}, max_attempts=1)
    clock = HandClock()
    clock.advance(timedelta(seconds=1))
    worker = queue.worker(clock=clock)
    while worker.run_once():
        pass
    with queue.engine.begin() as connection:
        connection.execute(update(Job).values(finished_at=utc_now() - timedelta(days=8)))
    recent = queue.enqueue("tests.jobs.record_effect", {"label": "recent"})
    while worker.run_once():
        pass

    # when housekeeping purges what finished more than a week ago,
    with pytest.raises(PermissionDenied):
        purge_finished_jobs(queue.uow_factory(), ADMIN, finished_before=utc_now() - timedelta(days=7))
    purged = purge_finished_jobs(
        queue.uow_factory(), system_actor(), finished_before=utc_now() - timedelta(days=7)
    )

    # then only the old succeeded and cancelled jobs are gone.
    assert purged == 2
    remaining = list_jobs(queue.uow_factory(), ADMIN).items
    assert sorted(job.id for job in remaining) == sorted([failed.id, recent.id])


# --- Schema ----------------------------------------------------------------------------------------


def test_the_jobs_table_matches_its_migration(engine: Engine) -> None:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = [d for d in compare_metadata(context, Base.metadata) if "jobs" in repr(d)]

    assert differences == []


def test_the_jobs_migration_downgrades_and_upgrades_again(tmp_path: Path) -> None:
    engine = create_database_engine(f"sqlite:///{tmp_path / 'migration.sqlite3'}")
    try:
        upgrade(engine, "20261123_platform_jobs")
        with engine.begin() as connection:
            config = alembic_config(str(engine.url))
            config.attributes["connection"] = connection
            command.downgrade(config, "20261123_platform_initial")
        tables_after_downgrade = set(inspect(engine).get_table_names())
        upgrade(engine, "20261123_platform_jobs")
        tables_after_upgrade = set(inspect(engine).get_table_names())
    finally:
        engine.dispose()

    assert "jobs" not in tables_after_downgrade
    assert "jobs" in tables_after_upgrade
