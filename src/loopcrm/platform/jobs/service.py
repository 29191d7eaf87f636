"""Use cases of the job queue: enqueue in the caller's transaction, claim, run, retry, administer.

Every time is the worker's clock (``utc_now`` unless a test passes another), never the
database's: SQLite has no usable ``now()`` for aware timestamps. Hosts running workers must
keep their clocks synchronised (NTP); skew only has to stay well below the lease.
"""

from __future__ import annotations

import json
import logging
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, cast

from sqlalchemy import CursorResult, delete, exists, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from loopcrm.platform.audit.models import AuditAction
from loopcrm.platform.audit.service import record_change
from loopcrm.platform.db import new_id, utc_now
from loopcrm.platform.errors import Conflict, NotFound
from loopcrm.platform.jobs.models import (
    MAX_IDEMPOTENCY_KEY_LENGTH,
    Job,
    JobStatus,
    truncate_error,
)
from loopcrm.platform.jobs.registry import (
    GiveUp,
    JobContext,
    Task,
    TaskRegistry,
    exponential_backoff,
    registry,
)
from loopcrm.platform.jobs.schemas import JobOut
from loopcrm.platform.pagination import DEFAULT_PAGE_SIZE, Page, paginate
from loopcrm.platform.permissions import Action, Actor, ObjectType, Scope, register_object_type, require
from loopcrm.platform.unit_of_work import UnitOfWork
from loopcrm.settings import Settings

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]

JOB = register_object_type(
    ObjectType(
        key="job",
        label="Background jobs",
        default_grants={"admin": {Action.READ: Scope.ALL, Action.UPDATE: Scope.ALL}},
    )
)

# A claim first settles expired leases whose attempts are used up; it looks at no more than this
# many in one transaction so a backlog of dead jobs cannot hold the claim's locks for long.
MAX_EXPIRED_SETTLED_PER_CLAIM = 100


# --- Enqueueing: part of the caller's transaction ---------------------------------------------


def enqueue(
    uow: UnitOfWork,
    name: str,
    payload: dict[str, Any] | None = None,
    *,
    run_at: datetime | None = None,
    delay: timedelta | None = None,
    idempotency_key: str | None = None,
    max_attempts: int | None = None,
    tasks: TaskRegistry = registry,
) -> JobOut:
    """Add a job to the caller's active unit of work; it can run only once the caller commits.

    A rollback discards the job with the rest of the change. With ``idempotency_key``, a job
    that already has the key is returned instead of adding another (whatever its status), and
    the caller's transaction stays usable: the insert runs in a savepoint, so a concurrent
    enqueue of the same key costs only the savepoint.
    """
    task = tasks.get(name)
    if run_at is not None and delay is not None:
        raise ValueError("pass run_at or delay, not both")
    if run_at is not None and run_at.tzinfo is None:
        raise ValueError("run_at must be timezone-aware")
    if idempotency_key is not None and not 1 <= len(idempotency_key) <= MAX_IDEMPOTENCY_KEY_LENGTH:
        raise ValueError(f"idempotency keys are 1 to {MAX_IDEMPOTENCY_KEY_LENGTH} characters")
    attempts_allowed = task.max_attempts if max_attempts is None else max_attempts
    if attempts_allowed < 1:
        raise ValueError("max_attempts must be at least 1")
    now = utc_now()
    job = Job(
        id=new_id(),
        name=name,
        payload=_as_stored_json(name, payload or {}),
        status=JobStatus.QUEUED.value,
        run_at=run_at if run_at is not None else now + (delay or timedelta(0)),
        attempts=0,
        max_attempts=attempts_allowed,
        lease_until=None,
        worker_id=None,
        last_error=None,
        idempotency_key=idempotency_key,
        created_at=now,
        started_at=None,
        finished_at=None,
    )
    session = uow.session
    if idempotency_key is None:
        session.add(job)
        return JobOut.model_validate(job)
    existing = _job_with_key(session, idempotency_key)
    if existing is not None:
        return JobOut.model_validate(existing)
    try:
        with session.begin_nested():
            session.add(job)
    except IntegrityError:
        # Another transaction committed the same key between our check and our insert.
        existing = _job_with_key(session, idempotency_key)
        if existing is None:
            raise
        return JobOut.model_validate(existing)
    return JobOut.model_validate(job)


def _as_stored_json(name: str, payload: dict[str, Any]) -> dict[str, Any]:
    """The payload exactly as the handler will receive it, or a clear error now, not in the worker."""
    try:
        stored: dict[str, Any] = json.loads(json.dumps(payload))
    except (TypeError, ValueError) as error:
        raise TypeError(f"the payload of a {name!r} job must be JSON: {error}") from None
    return stored


def _job_with_key(session: Session, idempotency_key: str) -> Job | None:
    return session.scalar(select(Job).where(Job.idempotency_key == idempotency_key))


def enqueue_periodic_slot(
    uow: UnitOfWork, task: Task, now: datetime, *, tasks: TaskRegistry = registry
) -> JobOut | None:
    """Enqueue the run of a periodic task for the slot containing ``now``, at most once.

    Returns the slot's job (new, or the one another scheduler already enqueued), or ``None``
    when an earlier run is still queued or running and this slot is skipped for now.
    """
    slot_start = task.slot_start(now)
    slot_key = task.slot_key(slot_start)
    with uow:
        existing = _job_with_key(uow.session, slot_key)
        if existing is not None:
            return JobOut.model_validate(existing)
        # An earlier slot's run still queued or running: not this slot's job, which another
        # scheduler may have enqueued since the look-up above (then ``enqueue`` returns it).
        unfinished = uow.session.scalar(
            select(
                exists().where(
                    Job.name == task.name,
                    Job.status.in_([JobStatus.QUEUED.value, JobStatus.RUNNING.value]),
                    or_(Job.idempotency_key.is_(None), Job.idempotency_key != slot_key),
                )
            )
        )
        if unfinished:
            log.debug(  # every poll until the previous run ends, so not at info level
                "periodic task %s: skipping slot %s, the previous run is unfinished", task.name, slot_key
            )
            return None
        job = enqueue(
            uow,
            task.name,
            {"slot_start": slot_start.isoformat()},
            run_at=slot_start,
            idempotency_key=slot_key,
            tasks=tasks,
        )
        uow.commit()
        return job


# A continuing task that shares the process or SQLite's write lock with busy ingestion works at
# most a fifth of the time: about what one capped run per 5-second slot took, which ingestion at
# its full rate withstood.
SHARED_CONTINUATION_PAUSE = 4


def shares_with_writers(session: Session, *, embedded: bool) -> bool:
    """Whether a job's run shares what other writers (ingestion) need while it runs: the web
    process and its interpreter lock (``embedded``, ``loopcrm serve``'s worker) or the database's
    one write lock (SQLite). Such a run should be short, and pause while they are busy."""
    return embedded or session.get_bind().dialect.name == "sqlite"


def must_make_room(
    uow: UnitOfWork, context: JobContext, *, counting_the_process: bool = True, tasks: TaskRegistry = registry
) -> bool:
    """Whether a run should make room for other writers now: one of the registered writers
    (``busy_writer_probe``: event ingestion) is busy, and the run shares with it SQLite's write
    lock or (unless not ``counting_the_process``) the process (``context.embedded``). Such a
    run keeps its steps short and pauses between them (:func:`next_step_at`)."""
    embedded = context.embedded and counting_the_process
    return shares_with_writers(uow.session, embedded=embedded) and any(
        probe(uow) for probe in tasks.busy_writer_probes
    )


def next_step_at(context: JobContext, *, making_room: bool, began: float | None = None) -> datetime:
    """When the next step of a job that continues its own work is due: at once, or, for a run
    that is making room for busy writers, after ``SHARED_CONTINUATION_PAUSE`` times as long as
    this run's database work took (since ``began`` on the monotonic clock, by default since the
    run began). Back to back, such runs slowed ingestion at its full rate to seconds a request,
    and on SQLite made it time out (docs/benchmarks.md)."""
    if not making_room:
        return context.now
    since = context.began if began is None else began
    return context.now + SHARED_CONTINUATION_PAUSE * timedelta(seconds=time.monotonic() - since)


def enqueue_continuation(
    uow: UnitOfWork, name: str, context: JobContext, *, contended: bool, tasks: TaskRegistry = registry
) -> JobOut:
    """Queue the next run of the running periodic task ``name``, in the handler's transaction.

    For a task that stops at its per-run limit with work left (the event log after a burst): one
    run per slot would cap its throughput at that limit per period, so it could fall behind for
    good. The new run is an unfinished job of the task, so the scheduler skips the task's slots
    while it is queued and runs never overlap; a handler that fails or loses its lease rolls the
    continuation back with the rest of its work.

    The next run is due at once, unless the handler says the resource it works through is
    ``contended`` (ingestion is writing the event log now) and this run shared something with
    that writer: the process and its interpreter lock (the embedded worker of ``loopcrm
    serve``) or the database's one write lock (SQLite). Then it pauses (:func:`next_step_at`).
    """
    making_room = contended and shares_with_writers(uow.session, embedded=context.embedded)
    due = next_step_at(context, making_room=making_room)
    return enqueue(uow, name, {"continues": context.job_id}, run_at=due, tasks=tasks)


# --- Running: claim under a lease, run in one transaction with the completion ------------------


class JobOutcome(StrEnum):
    """What one run of a claimed job came to."""

    SUCCEEDED = "succeeded"  # the handler's effects and the succeeded status committed together
    RETRY_SCHEDULED = "retry_scheduled"  # the handler failed; the job is queued again after a backoff
    FAILED = "failed"  # the handler failed on its last attempt; the job is failed for good
    LEASE_LOST = "lease_lost"  # another worker took the job over; this run's effects were rolled back


@dataclass(frozen=True)
class ClaimedJob:
    """What a worker knows about the job it holds; ``attempt`` is the claim's fencing token."""

    id: str
    name: str
    payload: dict[str, Any]
    attempt: int
    max_attempts: int
    worker_id: str
    lease_until: datetime


def claim_next_job(
    session_factory: sessionmaker[Session], *, worker_id: str, now: datetime, lease: timedelta
) -> ClaimedJob | None:
    """Take the oldest due job, or a running one whose worker stopped renewing its lease.

    On PostgreSQL ``FOR UPDATE SKIP LOCKED`` lets concurrent workers pass over each other's
    candidates; on SQLite the unit of work begins IMMEDIATE and holds the single write lock.
    Either way no two workers hold the same claim. Taking over an expired lease counts as an
    attempt; when none are left the job fails instead.
    """
    with UnitOfWork(session_factory) as uow:
        for _ in range(MAX_EXPIRED_SETTLED_PER_CLAIM):
            job = uow.session.scalar(
                select(Job)
                .where(Job.claimable(now))
                .order_by(Job.run_at, Job.id)
                .limit(1)
                .with_for_update(skip_locked=True)
            )
            if job is None:
                break
            if job.status == JobStatus.RUNNING:
                job.last_error = (
                    f"worker {job.worker_id} stopped during attempt {job.attempts}: its lease expired"
                )
                if not job.has_attempts_left:
                    job.status = JobStatus.FAILED.value
                    job.lease_until = None
                    job.finished_at = now
                    uow.session.flush()
                    log.error("job %s (%s) failed: %s", job.id, job.name, job.last_error)
                    continue
                log.warning("job %s (%s): %s; running it again", job.id, job.name, job.last_error)
            job.status = JobStatus.RUNNING.value
            job.attempts += 1
            job.worker_id = worker_id
            job.lease_until = now + lease
            job.started_at = now
            claimed = ClaimedJob(
                id=job.id,
                name=job.name,
                payload=dict(job.payload),
                attempt=job.attempts,
                max_attempts=job.max_attempts,
                worker_id=worker_id,
                lease_until=job.lease_until,
            )
            uow.commit()
            return claimed
        uow.commit()
        return None


class LeaseRenewal(StrEnum):
    """What a heartbeat found when it renewed the lease of the job its worker runs."""

    RENEWED = "renewed"  # the claim holds; the lease now ends one lease period from now
    ENDED = "ended"  # this very run already recorded its end (succeeded, retry or failed): nothing to renew
    TAKEN_OVER = "taken_over"  # another claim replaced this one; this run's effects will be rolled back


def extend_lease(
    session_factory: sessionmaker[Session], claimed: ClaimedJob, *, now: datetime, lease: timedelta
) -> LeaseRenewal:
    """Renew the worker's lease, or say why there is none to renew.

    A heartbeat can renew after its run committed and before the worker stops it: on SQLite it
    waits for the write lock the run holds, and gets it the moment the run commits. That run's
    own end (same attempt, no longer running) is :attr:`LeaseRenewal.ENDED`, not a lost lease;
    only another attempt or another worker's claim is :attr:`LeaseRenewal.TAKEN_OVER`.
    """
    with UnitOfWork(session_factory) as uow:
        result = uow.session.execute(
            update(Job)
            .where(Job.held_by(claimed.id, claimed.worker_id, claimed.attempt))
            .values(lease_until=now + lease)
            .execution_options(synchronize_session=False)
        )
        if cast(CursorResult[Any], result).rowcount == 1:
            uow.commit()
            return LeaseRenewal.RENEWED
        found = uow.session.execute(
            select(Job.status, Job.attempts).where(Job.id == claimed.id)
        ).one_or_none()
        if found is None or (found.attempts == claimed.attempt and found.status != JobStatus.RUNNING):
            return LeaseRenewal.ENDED  # finished (or purged since): the worker is about to stop us
        return LeaseRenewal.TAKEN_OVER


class JobUnitOfWork(UnitOfWork):
    """The unit of work a handler runs in; only the worker commits it, with the job's completion.

    A handler that committed on its own would make its effects durable even when its lease was
    lost, and the job would run twice; so ``commit()`` refuses.
    """

    def commit(self) -> None:
        raise RuntimeError("a job handler must not commit: the worker commits its work with the job")

    def commit_with_job(self) -> None:
        super().commit()


def run_claimed_job(
    session_factory: sessionmaker[Session],
    claimed: ClaimedJob,
    *,
    settings: Settings,
    tasks: TaskRegistry = registry,
    clock: Clock = utc_now,
    embedded: bool = False,
) -> JobOutcome:
    """Run the handler and mark the job succeeded in the same transaction, fenced by the claim.

    The handler gets a :class:`JobContext` with ``settings``, the claim's attempt number and the
    clock's reading as the run begins.

    If the claim no longer holds when the handler finishes, everything the handler wrote is
    rolled back: the worker that took over runs it instead. A failure rolls the handler's work
    back and, in a new transaction, schedules a retry or marks the job failed.
    """
    task = tasks.find(claimed.name)
    try:
        uow = JobUnitOfWork(session_factory)
        with uow:
            if task is None:
                raise LookupError(
                    f"no task named {claimed.name!r} is registered in worker {claimed.worker_id}"
                )
            context = JobContext(
                settings=settings, job_id=claimed.id, attempt=claimed.attempt, now=clock(), embedded=embedded
            )
            task.handler(uow, dict(claimed.payload), context)
            result = uow.session.execute(
                update(Job)
                .where(Job.held_by(claimed.id, claimed.worker_id, claimed.attempt))
                .values(status=JobStatus.SUCCEEDED.value, lease_until=None, finished_at=clock())
                .execution_options(synchronize_session=False)
            )
            if cast(CursorResult[Any], result).rowcount != 1:
                log.warning(
                    "job %s (%s): lease lost during attempt %d; its effects were rolled back",
                    claimed.id,
                    claimed.name,
                    claimed.attempt,
                )
                return JobOutcome.LEASE_LOST
            uow.commit_with_job()
    except Exception as error:
        return _record_failure(session_factory, claimed, task, error, clock(), settings)
    log.info("job %s (%s) succeeded on attempt %d", claimed.id, claimed.name, claimed.attempt)
    return JobOutcome.SUCCEEDED


def _record_failure(
    session_factory: sessionmaker[Session],
    claimed: ClaimedJob,
    task: Task | None,
    error: Exception,
    now: datetime,
    settings: Settings,
) -> JobOutcome:
    report = truncate_error("".join(traceback.format_exception(error)).rstrip())
    with UnitOfWork(session_factory) as uow:
        job = uow.session.scalar(
            select(Job).where(Job.held_by(claimed.id, claimed.worker_id, claimed.attempt)).with_for_update()
        )
        if job is None:
            log.warning("job %s (%s) failed after its lease was lost: %s", claimed.id, claimed.name, error)
            return JobOutcome.LEASE_LOST
        job.last_error = report
        job.lease_until = None
        if job.has_attempts_left:
            backoff = task.backoff if task is not None else exponential_backoff
            job.status = JobStatus.QUEUED.value
            job.worker_id = None
            job.run_at = now + backoff(job.attempts)
            outcome = JobOutcome.RETRY_SCHEDULED
            log.warning(
                "job %s (%s) failed on attempt %d of %d; retrying at %s",
                job.id,
                job.name,
                job.attempts,
                job.max_attempts,
                job.run_at.isoformat(),
                exc_info=error,
            )
        else:
            job.status = JobStatus.FAILED.value
            job.finished_at = now
            outcome = JobOutcome.FAILED
            log.error(
                "job %s (%s) failed on its last attempt %d", job.id, job.name, job.attempts, exc_info=error
            )
            if task is not None and task.on_give_up is not None:
                _give_up(uow, task.on_give_up, claimed, now, settings)
        uow.commit()
        return outcome


def _give_up(
    uow: UnitOfWork, give_up: GiveUp, claimed: ClaimedJob, now: datetime, settings: Settings
) -> None:
    """Run a task's ``on_give_up`` in a savepoint: if it fails too, the job is still marked failed."""
    context = JobContext(settings=settings, job_id=claimed.id, attempt=claimed.attempt, now=now)
    try:
        with uow.session.begin_nested():
            give_up(uow, dict(claimed.payload), context)
    except Exception:
        log.exception("job %s (%s): its give-up handler failed as well", claimed.id, claimed.name)


# --- Administration ------------------------------------------------------------------------------


def list_jobs(
    uow: UnitOfWork,
    actor: Actor,
    *,
    status: JobStatus | None = None,
    limit: int = DEFAULT_PAGE_SIZE,
    cursor: str | None = None,
) -> Page[JobOut]:
    """Jobs newest first, optionally of one status, for the admin page and API."""
    require(actor, JOB.key, Action.READ)
    with uow:
        statement = select(Job)
        if status is not None:
            statement = statement.where(Job.status == status.value)
        return paginate(
            uow.session, statement, Job.id, limit=limit, cursor=cursor, convert=JobOut.model_validate
        )


def count_jobs_by_status(uow: UnitOfWork, actor: Actor) -> dict[JobStatus, int]:
    """How many jobs are in each status (zero included), for the admin page's summary."""
    require(actor, JOB.key, Action.READ)
    with uow:
        rows = uow.session.execute(select(Job.status, func.count()).group_by(Job.status)).all()
    counts = {status: 0 for status in JobStatus}
    for status, count in rows:
        counts[JobStatus(status)] = count
    return counts


def get_job(uow: UnitOfWork, actor: Actor, job_id: str) -> JobOut:
    require(actor, JOB.key, Action.READ)
    with uow:
        return JobOut.model_validate(_find_job(uow, job_id, for_update=False))


def retry_job(uow: UnitOfWork, actor: Actor, job_id: str) -> JobOut:
    """Send a failed or cancelled job back to the queue, due now, with all its attempts again.

    The last error stays until the next attempt replaces it, so the admin page still shows why
    the job stopped.
    """
    require(actor, JOB.key, Action.UPDATE)
    with uow:
        job = _find_job(uow, job_id, for_update=True)
        if not job.is_retryable:
            raise Conflict(
                "Only failed or cancelled jobs can be retried; this one is {status}", status=job.status
            )
        before = {"status": job.status, "attempts": job.attempts}
        job.status = JobStatus.QUEUED.value
        job.attempts = 0
        job.run_at = utc_now()
        job.worker_id = None
        job.lease_until = None
        job.finished_at = None
        _record_admin_change(uow, actor, job, before)
        uow.commit()
        return JobOut.model_validate(job)


def cancel_job(uow: UnitOfWork, actor: Actor, job_id: str) -> JobOut:
    """Stop a queued job before any worker takes it; a running handler cannot be stopped."""
    require(actor, JOB.key, Action.UPDATE)
    with uow:
        job = _find_job(uow, job_id, for_update=True)
        if not job.is_cancellable:
            raise Conflict("Only queued jobs can be cancelled; this one is {status}", status=job.status)
        before = {"status": job.status, "attempts": job.attempts}
        job.status = JobStatus.CANCELLED.value
        job.finished_at = utc_now()
        _record_admin_change(uow, actor, job, before)
        uow.commit()
        return JobOut.model_validate(job)


def purge_finished_jobs(uow: UnitOfWork, actor: Actor, *, finished_before: datetime) -> int:
    """Delete succeeded and cancelled jobs that finished before a cut-off; returns how many.

    Failed jobs stay until an admin retries them. Nobody but the system actor may delete jobs
    by default; a periodic housekeeping task is the intended caller.
    """
    require(actor, JOB.key, Action.DELETE)
    with uow:
        deleted = delete_finished_jobs(uow.session, finished_before=finished_before)
        uow.commit()
        return deleted


def delete_finished_jobs(session: Session, *, finished_before: datetime) -> int:
    """The deletion behind :func:`purge_finished_jobs`, inside a transaction the caller owns
    (the platform's housekeeping task runs it in its handler's unit of work)."""
    result = session.execute(
        delete(Job)
        .where(
            Job.status.in_([JobStatus.SUCCEEDED.value, JobStatus.CANCELLED.value]),
            Job.finished_at < finished_before,
        )
        .execution_options(synchronize_session=False)
    )
    return cast(CursorResult[Any], result).rowcount


def _find_job(uow: UnitOfWork, job_id: str, *, for_update: bool) -> Job:
    statement = select(Job).where(Job.id == job_id)
    if for_update:
        statement = statement.with_for_update()  # a worker may be claiming it right now
    job = uow.session.scalar(statement)
    if job is None:
        raise NotFound("No job {job_id}", job_id=job_id)
    return job


def _record_admin_change(uow: UnitOfWork, actor: Actor, job: Job, before: dict[str, Any]) -> None:
    after = {"status": job.status, "attempts": job.attempts}
    changes = {name: [before[name], after[name]] for name in before if before[name] != after[name]}
    record_change(uow, actor, AuditAction.UPDATE, JOB.key, job.id, changes)
