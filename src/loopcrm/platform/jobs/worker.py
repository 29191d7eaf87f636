"""Workers: the loop that claims and runs jobs, renews their leases and ticks the scheduler.

Two ways to run one, same code:

* inside ``loopcrm serve`` on the embedded default, as a :class:`BackgroundWorker` thread;
* as ``loopcrm worker`` processes in production, through :func:`run_worker_process`, which
  finishes the current job on SIGTERM and then exits.

Any number of workers may run against one database; the claim protocol in
:mod:`loopcrm.platform.jobs.service` keeps each job with one worker at a time.
"""

from __future__ import annotations

import logging
import os
import secrets
import signal
import socket
import sqlite3
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from types import FrameType, TracebackType

from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from loopcrm.platform.db import create_database_engine, create_session_factory, utc_now
from loopcrm.platform.jobs.registry import TaskRegistry, registry
from loopcrm.platform.jobs.schemas import JobOut
from loopcrm.platform.jobs.service import (
    ClaimedJob,
    Clock,
    JobOutcome,
    LeaseRenewal,
    claim_next_job,
    enqueue_periodic_slot,
    extend_lease,
    run_claimed_job,
)
from loopcrm.platform.migrations import is_current
from loopcrm.platform.unit_of_work import UnitOfWork
from loopcrm.settings import Settings

log = logging.getLogger(__name__)

# A lease is renewed three times per lease period, so two renewals in a row may fail (a slow
# database, a long SQLite write lock) before another worker may take the job over.
HEARTBEATS_PER_LEASE = 3


def new_worker_id() -> str:
    """``host:pid:random``: says where a job runs, and stays unique across restarts and threads."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


class Scheduler:
    """Enqueues each periodic task once per slot.

    Every worker runs one. Several schedulers ticking in the same slot agree through the slot's
    idempotency key, so the slot gets one job. The scheduler remembers which slots it has seen
    settled, so a tick costs a database round trip only when a slot begins.
    """

    def __init__(self, session_factory: sessionmaker[Session], *, tasks: TaskRegistry = registry) -> None:
        self._session_factory = session_factory
        self._tasks = tasks
        self._settled_slots: dict[str, datetime] = {}

    def tick(self, now: datetime) -> list[JobOut]:
        """Enqueue the current slot of every periodic task not yet settled; returns their jobs."""
        jobs: list[JobOut] = []
        for periodic_task in self._tasks.periodic_tasks():
            slot_start = periodic_task.slot_start(now)
            if self._settled_slots.get(periodic_task.name) == slot_start:
                continue
            job = enqueue_periodic_slot(
                UnitOfWork(self._session_factory), periodic_task, now, tasks=self._tasks
            )
            if job is not None:
                self._settled_slots[periodic_task.name] = slot_start
                jobs.append(job)
        return jobs


class _Heartbeat:
    """Renews the lease of the running job from a side thread while its handler runs."""

    def __init__(
        self,
        session_factory: sessionmaker[Session],
        claimed: ClaimedJob,
        *,
        lease: timedelta,
        clock: Clock,
    ) -> None:
        self._session_factory = session_factory
        self._claimed = claimed
        self._lease = lease
        self._clock = clock
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._renew_until_stopped, name=f"job-heartbeat-{claimed.id}", daemon=True
        )

    def __enter__(self) -> _Heartbeat:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join(timeout=self._lease.total_seconds())
        if self._thread.is_alive():
            log.warning("heartbeat of job %s did not stop in time", self._claimed.id)

    def _renew_until_stopped(self) -> None:
        interval = self._lease.total_seconds() / HEARTBEATS_PER_LEASE
        while not self._stop.wait(interval):
            try:
                renewal = extend_lease(
                    self._session_factory, self._claimed, now=self._clock(), lease=self._lease
                )
            except Exception as error:
                if isinstance(error, OperationalError) and _is_sqlite_busy(error):
                    # Someone held SQLite's one write lock all along, most often this very run. The
                    # lease may lapse meanwhile, but a claim needs that lock too: nobody can take
                    # the job over while it is held, and the run's end is fenced by its attempt.
                    log.info(
                        "job %s: lease not renewed while the database's write lock is held (usually by "
                        "this run); no worker can claim the job meanwhile",
                        self._claimed.id,
                    )
                else:  # a slow or unreachable database: the next beat tries again
                    log.warning("could not renew the lease of job %s: %s", self._claimed.id, error)
                continue
            if renewal is LeaseRenewal.RENEWED:
                continue
            if renewal is LeaseRenewal.TAKEN_OVER:
                log.warning(
                    "job %s (%s): lease lost to another worker; this run will be rolled back",
                    self._claimed.id,
                    self._claimed.name,
                )
            return


def _is_sqlite_busy(error: OperationalError) -> bool:
    """SQLite's busy timeout ran out: another connection held the write lock all along."""
    return getattr(error.orig, "sqlite_errorcode", None) == sqlite3.SQLITE_BUSY


# SQLite hands its write lock to no one in particular: a connection waiting for it polls, with
# sleeps that grow to 100 ms. A worker that claims its next job the instant it commits one keeps
# the lock as long as it has work (an import's steps), and the web requests waiting meanwhile
# time out. So on SQLite, once the worker has run jobs back to back for half a second, it leaves
# the lock free a little longer than one poll before the next (short jobs, such as a fan-out of
# emails, are not slowed to one per pause).
SQLITE_BACK_TO_BACK_SECONDS = 0.5
SQLITE_LOCK_HANDOVER_SECONDS = 0.12


class Worker:
    """Claims and runs jobs one at a time, and ticks the scheduler between them.

    ``lease`` and ``clock`` exist for tests (a lease of a second, a clock moved forward);
    production takes both from the settings and the system clock.
    """

    def __init__(
        self,
        session_factory: sessionmaker[Session],
        settings: Settings,
        *,
        worker_id: str | None = None,
        lease: timedelta | None = None,
        clock: Clock = utc_now,
        tasks: TaskRegistry = registry,
        run_scheduler: bool = True,
        embedded: bool = False,
    ) -> None:
        self._session_factory = session_factory
        self.embedded = embedded  # inside the web process: handlers share it with requests
        self._settings = settings
        self.worker_id = worker_id or new_worker_id()
        self.lease = lease if lease is not None else timedelta(seconds=settings.job_lease_seconds)
        self.poll_seconds = settings.worker_poll_seconds
        self._clock = clock
        self._tasks = tasks
        self._scheduler = Scheduler(session_factory, tasks=tasks) if run_scheduler else None
        with session_factory() as session:
            self._hands_over_lock = session.get_bind().dialect.name == "sqlite"

    def run_next(self) -> JobOutcome | None:
        """Claim the next due job and run it; ``None`` when no job was due."""
        claimed = claim_next_job(
            self._session_factory, worker_id=self.worker_id, now=self._clock(), lease=self.lease
        )
        if claimed is None:
            return None
        log.debug(
            "worker %s runs job %s (%s), attempt %d",
            self.worker_id,
            claimed.id,
            claimed.name,
            claimed.attempt,
        )
        with _Heartbeat(self._session_factory, claimed, lease=self.lease, clock=self._clock):
            return run_claimed_job(
                self._session_factory,
                claimed,
                settings=self._settings,
                tasks=self._tasks,
                clock=self._clock,
                embedded=self.embedded,
            )

    def run_once(self) -> bool:
        """Claim and run one job; whether there was one."""
        return self.run_next() is not None

    def tick_scheduler(self) -> list[JobOut]:
        """Enqueue the periodic jobs whose slot has begun (nothing if this worker runs no scheduler)."""
        if self._scheduler is None:
            return []
        return self._scheduler.tick(self._clock())

    def run_forever(self, stop_event: threading.Event) -> None:
        """Work until ``stop_event`` is set; the job running at that moment is finished first.

        Jobs run one after another while any are due (on SQLite with a pause of
        ``SQLITE_LOCK_HANDOVER_SECONDS`` after each ``SQLITE_BACK_TO_BACK_SECONDS`` of them, for
        whoever waits for the write lock); when none is, the worker waits the poll interval. A
        database outage is logged and retried at the same pace, never fatal.
        """
        busy_since: float | None = None  # when the current run of back-to-back jobs began
        log.info("worker %s started", self.worker_id)
        while not stop_event.is_set():
            try:
                self.tick_scheduler()
            except Exception:  # a failed tick must not keep due jobs from running
                log.exception("worker %s: the scheduler tick failed; trying again", self.worker_id)
            busy_since = busy_since if busy_since is not None else time.monotonic()
            try:
                ran = self.run_once()
            except Exception:
                log.exception("worker %s: claiming or recording a job failed; trying again", self.worker_id)
                ran = False
            if not ran:
                busy_since = None
                stop_event.wait(self.poll_seconds)
            elif self._hands_over_lock and time.monotonic() - busy_since >= SQLITE_BACK_TO_BACK_SECONDS:
                busy_since = None
                stop_event.wait(SQLITE_LOCK_HANDOVER_SECONDS)
        log.info("worker %s stopped", self.worker_id)


class BackgroundWorker:
    """A worker on a daemon thread of the web process: ``loopcrm serve`` on the embedded default.

    Start it when the application starts and stop it when it shuts down; :meth:`stop` lets the
    current job finish.
    """

    def __init__(self, worker: Worker) -> None:
        self.worker = worker
        self._stop_event = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError("the background worker was already started")
        self._thread = threading.Thread(
            target=self.worker.run_forever, args=(self._stop_event,), name="loopcrm-worker", daemon=True
        )
        self._thread.start()

    def stop(self, timeout: float | None = None) -> bool:
        """Ask the worker to stop and wait for it; ``False`` if it was still busy after ``timeout``."""
        self._stop_event.set()
        if self._thread is None:
            return True
        self._thread.join(timeout)
        return not self._thread.is_alive()

    @property
    def is_running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()


def run_worker_process(settings: Settings, *, lease: timedelta | None = None) -> int:
    """``loopcrm worker``: run jobs until SIGTERM or SIGINT; returns the process exit status.

    The application's tasks must be registered (their modules imported) before calling this.
    A second signal stops the process at once; the job it was running then runs again once
    its lease expires. Refuses to start while the database lacks migrations: workers never
    migrate, ``loopcrm migrate`` does.
    """
    engine = create_database_engine(settings.resolved_database_url)
    try:
        if not is_current(engine):
            log.error("the database is not at the newest migration; run `loopcrm migrate` first")
            return 1
        worker = Worker(create_session_factory(engine), settings, lease=lease)
        stop_event = threading.Event()
        restore_signals = _stop_on_signals(stop_event)
        try:
            worker.run_forever(stop_event)
        finally:
            restore_signals()
        return 0
    finally:
        engine.dispose()


def _stop_on_signals(stop_event: threading.Event) -> Callable[[], None]:
    """Make SIGTERM and SIGINT set ``stop_event``; the returned function puts the old handlers back."""
    watched = (signal.SIGTERM, signal.SIGINT)
    previous = {number: signal.getsignal(number) for number in watched}

    def restore() -> None:
        for number, handler in previous.items():
            signal.signal(number, handler if handler is not None else signal.SIG_DFL)

    def request_stop(signal_number: int, frame: FrameType | None) -> None:
        log.info(
            "worker received %s: finishing the current job, then stopping", signal.Signals(signal_number).name
        )
        stop_event.set()
        restore()  # a second signal takes the usual, immediate effect

    for number in watched:
        signal.signal(number, request_stop)
    return restore
