"""The event log's group-commit writer on SQLite: its checkpoint thread copies the write-ahead
log into the database between commits, so no request's commit pays for that copy (ADR 0009)."""

from __future__ import annotations

import os
import time
from collections.abc import Callable

import pytest
from sqlalchemy import make_url

from loopcrm.modules.cdp.schemas import SourceCreated
from loopcrm.modules.cdp.service.messages import RequestFacts, read_batch
from loopcrm.modules.cdp.service.writer import EventWriter, Submission
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
