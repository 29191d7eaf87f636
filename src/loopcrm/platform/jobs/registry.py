"""The task registry: which handler runs a job of a given name, how often it may fail, and how
long to wait between attempts.

Modules register their tasks at import time in their ``jobs.py``::

    @task("journeys.send_message", max_attempts=5)
    def send_message(uow: UnitOfWork, payload: dict[str, Any], context: JobContext) -> None: ...


    @periodic("sales.recompute_forecast", every=timedelta(hours=1))
    def recompute_forecast(uow: UnitOfWork, payload: dict[str, Any], context: JobContext) -> None: ...

The :class:`JobContext` carries what the worker knows and the payload should not: the
installation's settings (a handler that sends mail builds ``Mailer(context.settings)``), the job's
id and attempt number (for idempotency keys and logs) and the worker's clock reading when the run
began (tests move that clock by hand, so handlers compare due times with ``context.now``, never
with the system clock).

A handler runs inside a unit of work that the worker commits together with the job's
completion, so its database effects happen exactly once. It must not commit the unit of work
itself, and it must make its other side effects (email, webhooks) idempotent, because a worker
may die after sending and before committing. On the embedded SQLite database the handler's
transaction holds the single write lock from its first query until the commit: do slow I/O
before the first query and keep the database work short.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from loopcrm.platform.jobs.models import MAX_NAME_LENGTH
from loopcrm.platform.unit_of_work import UnitOfWork
from loopcrm.settings import Settings


@dataclass(frozen=True)
class JobContext:
    """What a handler may need besides its payload, handed over by the worker running the job."""

    settings: Settings  # the worker's settings: SMTP, base URL, locale defaults
    job_id: str  # the job being run: stable across attempts, so it can key external effects
    attempt: int  # 1 on the first run; a retry or a takeover after a lost lease counts up
    now: datetime  # the worker's clock when this run began (aware, UTC)
    # Whether the worker runs inside the web process (``loopcrm serve``'s embedded worker), where
    # a handler shares the interpreter with requests and ingestion.
    embedded: bool = False
    # When the handler was called, on the monotonic clock: how long a run has taken so far.
    began: float = field(default_factory=time.monotonic, compare=False)


Handler = Callable[[UnitOfWork, dict[str, Any], JobContext], None]
# Says, in the caller's active transaction, whether a writer that long jobs make room for (event
# ingestion) is busy now; modules register theirs with ``busy_writer_probe``.
BusyWriterProbe = Callable[[UnitOfWork], bool]
Backoff = Callable[[int], timedelta]  # attempts made so far (1 after the first failure) → delay
# Called when a job has failed its last attempt, in the transaction that marks it failed: what
# the job was doing can be marked failed too (an import run that would otherwise stay "running").
GiveUp = Callable[[UnitOfWork, dict[str, Any], JobContext], None]

# Ten attempts with doubling delays spread retries over about 17 minutes: long enough to ride out
# a mail server restart or a database failover, short enough that a broken job shows up as failed
# on the admin page within the hour.
DEFAULT_MAX_ATTEMPTS = 10

# No retry waits longer than an hour, however many attempts a task allows.
MAX_BACKOFF = timedelta(hours=1)

# Periodic slots are aligned to the Unix epoch in UTC: every=1 day starts at 00:00 UTC.
SLOT_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class UnknownTaskError(LookupError):
    """No task of this name is registered: a typo, or the module's ``jobs.py`` was not imported."""


def exponential_backoff(attempts: int) -> timedelta:
    """2, 4, 8, … seconds after the 1st, 2nd, 3rd, … failure, never more than :data:`MAX_BACKOFF`."""
    if attempts >= 32:  # 2**32 seconds is far past the cap; avoid building huge numbers
        return MAX_BACKOFF
    return min(timedelta(seconds=2**attempts), MAX_BACKOFF)


@dataclass(frozen=True)
class Task:
    """A registered kind of job. ``every`` is set for periodic tasks, which the scheduler enqueues."""

    name: str
    handler: Handler
    max_attempts: int = DEFAULT_MAX_ATTEMPTS
    backoff: Backoff = exponential_backoff
    every: timedelta | None = None
    on_give_up: GiveUp | None = None

    @property
    def is_periodic(self) -> bool:
        return self.every is not None

    def slot_start(self, now: datetime) -> datetime:
        """The start of the periodic slot that contains ``now``."""
        if self.every is None:
            raise ValueError(f"task {self.name!r} is not periodic")
        return SLOT_EPOCH + ((now - SLOT_EPOCH) // self.every) * self.every

    def slot_key(self, slot_start: datetime) -> str:
        """The idempotency key of one slot: several schedulers ticking in it enqueue one job."""
        return f"{self.name}@{slot_start.astimezone(UTC).isoformat()}"


class TaskRegistry:
    """Task names → tasks. The process-wide :data:`registry` serves the application; tests may
    build their own so that their periodic tasks do not leak into other tests' schedulers."""

    def __init__(self) -> None:
        self._tasks: dict[str, Task] = {}
        self.busy_writer_probes: list[BusyWriterProbe] = []

    def busy_writer_probe(self, probe: BusyWriterProbe) -> BusyWriterProbe:
        """Register a writer that jobs sharing its process or SQLite's write lock make room for
        while it is busy (``jobs.service.must_make_room``); usable as a decorator."""
        if probe not in self.busy_writer_probes:
            self.busy_writer_probes.append(probe)
        return probe

    def register(
        self,
        name: str,
        handler: Handler,
        *,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
        backoff: Backoff = exponential_backoff,
        every: timedelta | None = None,
        on_give_up: GiveUp | None = None,
    ) -> Task:
        """Declare a task. Registering a name again with another handler or policy is an error."""
        if not name or len(name) > MAX_NAME_LENGTH:
            raise ValueError(f"task names are 1 to {MAX_NAME_LENGTH} characters: {name!r}")
        if max_attempts < 1:
            raise ValueError(f"task {name!r} needs max_attempts of at least 1")
        if every is not None and every < timedelta(seconds=1):
            raise ValueError(f"periodic task {name!r} needs an interval of at least one second")
        new_task = Task(
            name=name,
            handler=handler,
            max_attempts=max_attempts,
            backoff=backoff,
            every=every,
            on_give_up=on_give_up,
        )
        existing = self._tasks.get(name)
        if existing is not None and existing != new_task:
            raise ValueError(f"task {name!r} is already registered differently")
        self._tasks[name] = new_task
        return new_task

    def task(
        self,
        name: str,
        *,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
        backoff: Backoff = exponential_backoff,
        on_give_up: GiveUp | None = None,
    ) -> Callable[[Handler], Handler]:
        """Decorator form of :meth:`register` for a task that callers enqueue."""

        def decorate(handler: Handler) -> Handler:
            self.register(name, handler, max_attempts=max_attempts, backoff=backoff, on_give_up=on_give_up)
            return handler

        return decorate

    def periodic(
        self,
        name: str,
        *,
        every: timedelta,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
        backoff: Backoff = exponential_backoff,
    ) -> Callable[[Handler], Handler]:
        """Decorator registering a task that the scheduler enqueues once per ``every``.

        The handler's payload is ``{"slot_start": "<ISO time>"}``. A slot is skipped while an
        earlier run of the same task is still queued or running, so runs never overlap or pile
        up behind a stopped worker.
        """

        def decorate(handler: Handler) -> Handler:
            self.register(name, handler, max_attempts=max_attempts, backoff=backoff, every=every)
            return handler

        return decorate

    def get(self, name: str) -> Task:
        try:
            return self._tasks[name]
        except KeyError:
            raise UnknownTaskError(f"no task named {name!r} is registered") from None

    def find(self, name: str) -> Task | None:
        return self._tasks.get(name)

    def periodic_tasks(self) -> list[Task]:
        return [registered for registered in self._tasks.values() if registered.is_periodic]

    def __contains__(self, name: object) -> bool:
        return name in self._tasks

    def __len__(self) -> int:
        return len(self._tasks)


registry = TaskRegistry()
"""The application's tasks; ``loopcrm serve`` and ``loopcrm worker`` run these."""

task = registry.task
periodic = registry.periodic
busy_writer_probe = registry.busy_writer_probe
register_task = registry.register
