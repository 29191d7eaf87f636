"""Group commit of the event log: one writer thread commits many requests' events in one
transaction, then answers them all (ADR 0009).

A request hands its validated rows to :meth:`EventWriter.submit` and waits; the writer takes
everything queued, inserts it with multi-row statements, commits, and only then resolves each
request's future. So a ``200`` always means committed, and the cost of a commit (the fsync) is
shared by every request that arrived meanwhile instead of paid by each.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import logging
import queue
import threading
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import Future, InvalidStateError
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Connection, Engine, Table, event, insert
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from loopcrm.modules.cdp.models import DeadLetter, Event, SourceMinute
from loopcrm.modules.cdp.service.messages import Rejection, json_bytes
from loopcrm.platform.db import create_database_engine, new_id

log = logging.getLogger(__name__)

EVENTS = cast(Table, Event.__table__)
DEAD_LETTERS = cast(Table, DeadLetter.__table__)
SOURCE_MINUTES = cast(Table, SourceMinute.__table__)

# One transaction takes at most this many events: enough to share a commit among ~100 requests
# of 100 events, small enough that a transaction never holds the write lock for long.
MAX_GROUP_EVENTS = 10_000
# SQLite: the writer's page cache (KiB, as PRAGMA cache_size takes it negated). The log's index
# on messageIds (random keys) touches a different page for nearly every event; with SQLite's
# default 2 MB the writer read most of them from the file again on each transaction.
SQLITE_WRITER_CACHE_KIB = 64 * 1024
# SQLite: how often the checkpoint thread copies the write-ahead log into the database, and the
# WAL size (pages) at which the writer's own commit checkpoints, as a backstop if that thread
# falls behind. A checkpoint in the commit delayed every request of the group by ~15 %.
CHECKPOINT_INTERVAL_SECONDS = 0.25
SQLITE_WRITER_AUTOCHECKPOINT_PAGES = 8000
# The key of the PostgreSQL advisory lock that serialises event-log writers of several processes,
# so that sequence order is commit order and the identity job never skips an event.
EVENT_LOG_LOCK_KEY = 0x6C6F6F70_63647031  # "loopcdp1"


class WriterUnavailable(Exception):
    """The event log cannot take the events now (queue full, database busy or down): retry later."""

    def __init__(self, reason: str, retry_after_seconds: int) -> None:
        self.reason = reason
        self.retry_after_seconds = retry_after_seconds
        super().__init__(reason)


@dataclass
class Submission:
    """One request's rows and dead letters, and the future its handler awaits."""

    source_id: str
    rows: list[dict[str, Any]]
    rejections: list[Rejection]
    received_at: datetime
    future: Future[WriteOutcome] = field(default_factory=Future)


@dataclass(frozen=True)
class WriteOutcome:
    """What became of one request's messages once committed."""

    stored: int  # in the log now: new, or already there from an earlier try (same messageId)
    rejected: int  # dead-lettered


class EventWriter:
    """The single writer of the event log in this process.

    ``lock_timeout_seconds`` bounds how long a transaction waits for the database's write lock
    (SQLite) or a row/table lock (PostgreSQL) before the requests get 503 and retry.
    """

    def __init__(
        self,
        database_url: str,
        *,
        max_queued_events: int,
        lock_timeout_seconds: float,
    ) -> None:
        self.database_url = database_url
        self.max_queued_events = max_queued_events
        self.lock_timeout_seconds = lock_timeout_seconds
        self._queue: queue.SimpleQueue[Submission | None] = queue.SimpleQueue()
        self._queued_events = 0
        self._counter_lock = threading.Lock()
        self._start_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._engine: Engine | None = None
        self._checkpointer: threading.Thread | None = None
        self._checkpoints_stop = threading.Event()

    def _build_engine(self) -> Engine:
        engine = create_database_engine(self.database_url)
        timeout_ms = int(self.lock_timeout_seconds * 1000)

        @event.listens_for(engine, "connect")
        def _bound_lock_waits(dbapi_connection: Any, connection_record: Any) -> None:
            cursor = dbapi_connection.cursor()
            if engine.dialect.name == "sqlite":
                cursor.execute(f"PRAGMA busy_timeout={timeout_ms}")
                cursor.execute(f"PRAGMA cache_size=-{SQLITE_WRITER_CACHE_KIB}")
                cursor.execute(f"PRAGMA wal_autocheckpoint={SQLITE_WRITER_AUTOCHECKPOINT_PAGES}")
            else:
                cursor.execute(f"SET lock_timeout = {timeout_ms}")
                cursor.execute(f"SET statement_timeout = {max(timeout_ms * 4, 10_000)}")
            cursor.close()
            if engine.dialect.name == "postgresql":
                dbapi_connection.commit()

        return engine

    def start(self) -> None:
        """Start the writer thread (idempotent; the first submission starts it too)."""
        with self._start_lock:
            if self._thread is not None and self._thread.is_alive():
                return
            if self._engine is None:
                self._engine = self._build_engine()
            self._thread = threading.Thread(target=self._run, name="cdp-event-writer", daemon=True)
            self._thread.start()
            if self._engine.dialect.name == "sqlite" and self._checkpointer is None:
                # Each thread has its own stop signal: one that outlived stop()'s wait still ends.
                self._checkpoints_stop = threading.Event()
                self._checkpointer = threading.Thread(
                    target=_checkpoint_periodically,
                    args=(self._engine, self._checkpoints_stop),
                    name="cdp-event-checkpoint",
                    daemon=True,
                )
                self._checkpointer.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Commit what is queued, then stop the threads."""
        thread = self._thread
        if thread is None:
            return
        self._queue.put(None)
        thread.join(timeout)
        self._thread = None
        self._checkpoints_stop.set()
        if self._checkpointer is not None:
            self._checkpointer.join(timeout)
            self._checkpointer = None
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None

    def submit(self, submission: Submission) -> Future[WriteOutcome]:
        """Queue a request's rows; raises :class:`WriterUnavailable` when the queue is full."""
        count = len(submission.rows) + len(submission.rejections)
        with self._counter_lock:
            if self._queued_events and self._queued_events + count > self.max_queued_events:
                raise WriterUnavailable("The event queue is full", retry_after_seconds=1)
            self._queued_events += count
        if self._thread is None or not self._thread.is_alive():
            self.start()
        self._queue.put(submission)
        return submission.future

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            group = [first]
            size = len(first.rows)
            stopping = False
            while size < MAX_GROUP_EVENTS:
                try:
                    following = self._queue.get_nowait()
                except queue.Empty:
                    break
                if following is None:
                    stopping = True
                    break
                group.append(following)
                size += len(following.rows)
            self._commit_group(group)
            if stopping:
                return

    def _commit_group(self, group: list[Submission]) -> None:
        try:
            outcomes = self._write(group)
        except DBAPIError as error:
            if len(group) > 1 and not _is_transient(error):
                # Something in one request broke the transaction: write each request alone so
                # only that one fails.
                for submission in group:
                    self._commit_group([submission])
                return
            log.warning("the event log could not be written: %s", error.orig)
            self._fail(group, WriterUnavailable("The database is busy or unavailable", 2))
            return
        except SQLAlchemyError:
            log.exception("the event log could not be written")
            self._fail(group, WriterUnavailable("The database is unavailable", 5))
            return
        except BaseException as error:  # the thread must survive to answer the next requests
            log.exception("unexpected error in the event writer")
            self._fail(group, error)
            return
        for submission, outcome in zip(group, outcomes, strict=True):
            self._release(submission)
            # A request that stopped waiting (its handler answered 503 and cancelled the future)
            # has nobody to tell: its events are stored, and the client's retry is deduplicated.
            with contextlib.suppress(InvalidStateError):
                submission.future.set_result(outcome)

    def _fail(self, group: Iterable[Submission], error: BaseException) -> None:
        for submission in group:
            self._release(submission)
            with contextlib.suppress(InvalidStateError):  # cancelled: see _commit_group
                submission.future.set_exception(error)

    def _release(self, submission: Submission) -> None:
        with self._counter_lock:
            self._queued_events -= len(submission.rows) + len(submission.rejections)

    def _write(self, group: list[Submission]) -> list[WriteOutcome]:
        if self._engine is None:
            raise RuntimeError("the event writer is not started")
        with self._engine.begin() as connection:
            dialect = connection.dialect.name
            if dialect == "postgresql":
                connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({EVENT_LOG_LOCK_KEY})")
            as_parameters = _event_parameters_for(dialect)
            minutes: dict[tuple[str, datetime], Counter[str]] = {}
            pending: dict[tuple[str, datetime], list[tuple[Any, ...]]] = {}
            for submission in group:
                key = (submission.source_id, submission.received_at.replace(second=0, microsecond=0))
                counts = minutes.setdefault(key, Counter())
                counts["rejected"] += len(submission.rejections)
                if submission.rows:
                    pending.setdefault(key, []).extend(as_parameters(row) for row in submission.rows)
            for key, parameters in pending.items():
                inserted = _insert_events(connection, dialect, parameters)
                minutes[key]["accepted"] += inserted
                minutes[key]["deduplicated"] += len(parameters) - inserted
            dead_letters = [
                {
                    "id": new_id(),
                    "source_id": submission.source_id,
                    "received_at": submission.received_at,
                    "code": rejection.code.value,
                    "reason": rejection.reason[:1000],
                    "message_id": rejection.message_id,
                    "raw": rejection.raw,
                }
                for submission in group
                for rejection in submission.rejections
            ]
            if dead_letters:
                connection.execute(insert(DEAD_LETTERS), dead_letters)
            _count_minutes(connection, minutes)
        return [WriteOutcome(stored=len(item.rows), rejected=len(item.rejections)) for item in group]


def _checkpoint_periodically(engine: Engine, stop: threading.Event) -> None:
    """SQLite: copy the write-ahead log into the database off the commit path, until ``stop``.

    A passive checkpoint waits for nobody and blocks nobody; the writer's next commit finds the
    log copied and starts it over, so the WAL stays small. A failure is logged once until a
    checkpoint succeeds again (the writer's own commits checkpoint meanwhile).
    """
    failing = False
    while not stop.wait(CHECKPOINT_INTERVAL_SECONDS):
        try:
            # A raw connection: the engine begins a transaction (BEGIN IMMEDIATE) on every
            # connection it hands out, and a checkpoint inside one fails ("table is locked").
            connection = engine.raw_connection()
            try:
                connection.execute("PRAGMA wal_checkpoint(PASSIVE)")
            finally:
                connection.close()
        except Exception as error:  # the thread must go on: the next checkpoint may succeed
            if not failing:
                log.warning("the event log's checkpoint failed: %s", error)
            failing = True
        else:
            failing = False


_EVENT_COLUMNS = (
    "id",
    "source_id",
    "message_id",
    "type",
    "event",
    "user_id",
    "anonymous_id",
    "group_id",
    "previous_id",
    "timestamp",
    "received_at",
    "sent_at",
    "original_timestamp",
    "properties",
    "context",
    "extra",
)
_JSON_COLUMNS = frozenset({"properties", "context", "extra"})
_TIME_COLUMNS = frozenset({"timestamp", "received_at", "sent_at", "original_timestamp"})


_QUOTED_COLUMNS = ", ".join(f'"{name}"' for name in _EVENT_COLUMNS)
# Rows per INSERT statement on SQLite: 16 columns × 1,000 rows stays under its limit of 32,766
# parameters.
ROWS_PER_STATEMENT = 1000


@functools.cache
def _insert_events_sql(rows: int) -> str:
    """SQLite's INSERT of ``rows`` events … ON CONFLICT (source, messageId) DO NOTHING: a retried
    batch adds nothing, and a messageId repeated inside one statement is kept once."""
    row = "(" + ", ".join("?" for _ in _EVENT_COLUMNS) + ")"
    values = ", ".join(row for _ in range(rows))
    sql = f"INSERT INTO cdp_events ({_QUOTED_COLUMNS}) VALUES {values}"  # noqa: S608 (fixed column names)
    return sql + " ON CONFLICT (source_id, message_id) DO NOTHING"


# PostgreSQL's types of the event columns, for the arrays that ``_UNNEST_INSERT`` unpacks (the
# same statement as SQLite's, with one array per column).
_POSTGRESQL_TYPES = {
    **{name: "varchar" for name in _EVENT_COLUMNS},
    **{name: "timestamptz" for name in _TIME_COLUMNS},
    **{name: "json" for name in _JSON_COLUMNS},
}
_COLUMN_ARRAYS = ", ".join(f"%b::{_POSTGRESQL_TYPES[name]}[]" for name in _EVENT_COLUMNS)
_UNNEST_INSERT = (
    f"INSERT INTO cdp_events ({_QUOTED_COLUMNS}) SELECT * FROM unnest({_COLUMN_ARRAYS}) "  # noqa: S608
    "ON CONFLICT (source_id, message_id) DO NOTHING"
)


def _insert_events(connection: Connection, dialect: str, parameters: list[tuple[Any, ...]]) -> int:
    """Insert event rows; returns how many were new.

    Plain DBAPI, not SQLAlchemy's per-value type processing, which would cost more than the insert
    itself at tens of thousands of rows a second. On PostgreSQL one statement takes one array per
    column (``unnest``): 16 parameters to adapt and send instead of 16 a row, in binary (``%b``),
    since psycopg escapes each element of a text-format array with a regular expression. On SQLite,
    multi-row statements, not executemany: the sqlite3 driver releases the GIL around every row
    of an executemany and must win it back from the request handlers each time, which stalls this
    thread for up to a switch interval per row.
    """
    if dialect == "postgresql":
        columns = [list(column) for column in zip(*parameters, strict=True)]
        return int(connection.exec_driver_sql(_UNNEST_INSERT, tuple(columns)).rowcount)
    inserted = 0
    for start in range(0, len(parameters), ROWS_PER_STATEMENT):
        chunk = parameters[start : start + ROWS_PER_STATEMENT]
        flat = tuple(itertools.chain.from_iterable(chunk))
        inserted += connection.exec_driver_sql(_insert_events_sql(len(chunk)), flat).rowcount
    return inserted


def _sqlite_time(value: datetime | None) -> str | None:
    # What SQLAlchemy's DateTime stores on SQLite: UTC, "YYYY-MM-DD HH:MM:SS.ffffff", no zone.
    return None if value is None else value.isoformat(" ", "microseconds")[:26]


def _event_parameters_for(dialect: str) -> Callable[[dict[str, Any]], tuple[Any, ...]]:
    """The DBAPI parameters of one event row: JSON as text, times as the dialect stores them.

    One function per transaction: on SQLite it remembers the times it formatted, because a
    request's events share their receipt time and a batch's its ``sentAt``.
    """

    def dumps(value: Any) -> str:
        return json_bytes(value).decode("utf-8", "surrogatepass")

    # On SQLite each distinct time is formatted once; psycopg sends datetimes as they are.
    formatted: dict[datetime | None, str | None] = {None: None}

    def time(value: datetime | None) -> str | datetime | None:
        if dialect != "sqlite":
            return value
        text = formatted.get(value)
        if text is None and value is not None:
            text = formatted[value] = _sqlite_time(value)
        return text

    def parameters(row: dict[str, Any]) -> tuple[Any, ...]:
        return (
            row["id"],
            row["source_id"],
            row["message_id"],
            row["type"],
            row["event"],
            row["user_id"],
            row["anonymous_id"],
            row["group_id"],
            row["previous_id"],
            time(row["timestamp"]),
            time(row["received_at"]),
            time(row["sent_at"]),
            time(row["original_timestamp"]),
            dumps(row["properties"]),
            dumps(row["context"]),
            dumps(row["extra"]),
        )

    return parameters


def _count_minutes(connection: Connection, minutes: dict[tuple[str, datetime], Counter[str]]) -> None:
    """Add this transaction's counts to each source's row of the minute (created if new)."""
    if not minutes:
        return
    build = postgresql_insert if connection.dialect.name == "postgresql" else sqlite_insert
    for (source_id, minute), counts in sorted(minutes.items()):
        statement = build(SOURCE_MINUTES).values(
            source_id=source_id,
            minute=minute,
            accepted=counts["accepted"],
            rejected=counts["rejected"],
            deduplicated=counts["deduplicated"],
        )
        statement = statement.on_conflict_do_update(
            index_elements=["source_id", "minute"],
            set_={
                "accepted": SOURCE_MINUTES.c.accepted + statement.excluded.accepted,
                "rejected": SOURCE_MINUTES.c.rejected + statement.excluded.rejected,
                "deduplicated": SOURCE_MINUTES.c.deduplicated + statement.excluded.deduplicated,
            },
        )
        connection.execute(statement)


def _is_transient(error: DBAPIError) -> bool:
    """Whether retrying later may succeed: locks, timeouts, lost connections."""
    if error.connection_invalidated:
        return True
    text = str(error.orig).lower()
    return any(
        marker in text
        for marker in ("locked", "busy", "timeout", "connection", "could not", "terminating", "shutdown")
    )
