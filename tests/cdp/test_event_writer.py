"""The event log's group-commit writer: on SQLite its checkpoint thread copies the write-ahead
log into the database between commits, so no request's commit pays for that copy (ADR 0009); and
a request that stopped waiting for its commit does not stop the writer answering the others."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import Engine, func, make_url, select

from loopcrm.modules.cdp.models import Event
from loopcrm.modules.cdp.schemas import SourceCreated
from loopcrm.modules.cdp.service.messages import RequestFacts, read_batch
from loopcrm.modules.cdp.service.writer import EVENT_LOG_LOCK_KEY, EventWriter, Submission
from loopcrm.platform.db import utc_now


def test_on_sqlite_committed_events_reach_the_database_file_without_waiting_for_the_writer(
    database_url: str, make_source: Callable[..., SourceCreated]
) -> None:
    if not database_url.startswith("sqlite"):
        pytest.skip("SQLite's write-ahead log")
    database_file = str(make_url(database_url).database)
    source = make_source()
    facts = RequestFacts(received_at=utc_now(), ip="127.0.0.1", source_id=source.id)
    messages = [{"type": "track", "event": "Seen", "anonymousId": f"visitor-{n}"} for n in range(2000)]
    rows = read_batch({"batch": messages}, facts).rows
    writer = EventWriter(database_url, max_queued_events=10_000, lock_timeout_seconds=5)
    size_before = os.path.getsize(database_file)

    try:
        outcome = writer.submit(
            Submission(source_id=source.id, rows=rows, rejections=[], received_at=facts.received_at)
        ).result(timeout=10)
        # ~1 MB of log: far below the 8,000 pages at which the writer's own commit would copy it
        deadline = time.monotonic() + 5
        while os.path.getsize(database_file) < size_before + 500_000 and time.monotonic() < deadline:
            time.sleep(0.05)
        size_after = os.path.getsize(database_file)
    finally:
        writer.stop()

    assert outcome.stored == 2000
    assert size_after >= size_before + 500_000  # the events' pages, copied by the checkpoint thread


@contextlib.contextmanager
def _write_lock_held(engine: Engine, database_url: str) -> Iterator[Callable[[], None]]:
    """The event log's write lock taken by another transaction; yields its release."""
    if engine.dialect.name == "sqlite":
        holder = sqlite3.connect(str(make_url(database_url).database), isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
        try:
            yield lambda: holder.execute("ROLLBACK")
        finally:
            holder.close()
        return
    with engine.connect() as connection:
        connection.exec_driver_sql(f"SELECT pg_advisory_lock({EVENT_LOG_LOCK_KEY})")
        yield lambda: connection.exec_driver_sql(f"SELECT pg_advisory_unlock({EVENT_LOG_LOCK_KEY})")


def test_a_request_that_stopped_waiting_does_not_stop_the_writer_answering_the_next(
    database_url: str, engine: Engine, make_source: Callable[..., SourceCreated]
) -> None:
    source = make_source()
    facts = RequestFacts(received_at=utc_now(), ip="127.0.0.1", source_id=source.id)

    def submission(name: str) -> Submission:
        messages = [{"type": "track", "event": name, "anonymousId": f"visitor-{n}"} for n in range(10)]
        rows = read_batch({"batch": messages}, facts).rows
        return Submission(source_id=source.id, rows=rows, rejections=[], received_at=facts.received_at)

    writer = EventWriter(database_url, max_queued_events=10_000, lock_timeout_seconds=10)
    given_up, waiting = submission("Given up"), submission("Waiting")
    try:
        # Given a writer held up by another transaction's lock, a request whose handler stops
        # waiting (its timeout cancels the future) and one still waiting behind it,
        with _write_lock_held(engine, database_url) as release:
            first = writer.submit(given_up)
            second = writer.submit(waiting)
            time.sleep(0.2)
            assert first.cancel()
            release()
        # when the lock is released, the one still waiting gets its answer and so does the next.
        answered = second.result(timeout=10)
        after = writer.submit(submission("After")).result(timeout=10)
    finally:
        writer.stop()

    assert (answered.stored, after.stored) == (10, 10)
    with engine.connect() as connection:
        stored = dict(
            connection.execute(select(Event.event, func.count()).group_by(Event.event)).tuples().all()
        )
    # The given-up request's events were committed too: its client retries, deduplicated.
    assert stored == {"Given up": 10, "Waiting": 10, "After": 10}
