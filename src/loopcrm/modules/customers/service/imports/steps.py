"""The import job: one step lands one chunk of rows and queues the next step.

Each step runs inside the job's unit of work, which the worker commits together with the job's
completion (ADR 0003), so a chunk's records, its row outcomes, the run's counts and the job for
the next chunk commit together or not at all: a worker that dies mid-chunk leaves nothing half
written, and the retry reads the same rows from the same byte offset. Progress therefore moves
once per chunk. The file is read before the first query, so the embedded database's write lock
is held only while rows are written.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, cast

from sqlalchemy import Table, insert, select

from loopcrm.modules.customers.models import (
    ImportRowOutcome,
    ImportRowResult,
    ImportRun,
    ImportStatus,
    UpsertKey,
)
from loopcrm.modules.customers.service.imports import files
from loopcrm.modules.customers.service.imports.landing import ChunkLanding, LandedRow, Plan
from loopcrm.modules.customers.service.imports.runs import IMPORT_TASK
from loopcrm.platform.auth.models import User
from loopcrm.platform.auth.service import build_actor
from loopcrm.platform.db import utc_now
from loopcrm.platform.i18n import N_
from loopcrm.platform.jobs.registry import JobContext
from loopcrm.platform.jobs.service import enqueue, must_make_room, next_step_at
from loopcrm.platform.unit_of_work import UnitOfWork

# Rows per step: large enough that a step's fixed costs (claiming the job, committing) are small
# beside its rows, small enough that the progress bar moves every second or so and the embedded
# database's write lock is released often for the people using the application meanwhile.
CHUNK_ROWS = 1000
# Rows per step while the step makes room for busy ingestion (``must_make_room``): about a quarter
# of a second of work, the longest ingestion then waits for SQLite's lock or the interpreter.
CHUNK_ROWS_MAKING_ROOM = 100


def run_import_step(uow: UnitOfWork, payload: dict[str, Any], context: JobContext) -> None:
    """Land the next chunk of the run named in ``payload`` (inside the job's active unit of work).

    The first step converts a workbook to CSV and counts the rows; each step's payload carries
    the CSV's byte offset and row number where the next one begins. A step that shares SQLite's
    write lock with busy ingestion lands fewer rows and the next one waits (ADR 0018), so an
    import cannot starve ingestion.
    """
    run_id = str(payload["run_id"])
    directory = files.run_directory(context.settings.data_dir, run_id)
    problem: files.UnreadableFile | None = None
    step = dict(payload)
    records: list[list[str]] = []
    finished = True
    making_room = False
    landing_began = time.monotonic()
    try:
        if "table" not in step:
            table, total = files.prepare_table(directory / files.UPLOAD_STEM, str(step["format"]))
            step.update(table=table.as_payload(), total=total, offset=0, row=1)
        table = files.Table.from_payload(directory, step["table"])
        # The first query (SQLite: the write lock) only after the file's conversion. Only that
        # lock counts: on PostgreSQL a step in the web process slowed ingestion no more than a
        # pause would have, and pausing cut the import to a third (docs/benchmarks.md).
        landing_began = time.monotonic()
        making_room = must_make_room(uow, context, counting_the_process=False)
        chunk_rows = CHUNK_ROWS_MAKING_ROOM if making_room else CHUNK_ROWS
        records, step["next_offset"], finished = files.read_records(table, int(step["offset"]), chunk_rows)
    except files.UnreadableFile as error:
        problem = error
    except OSError:
        problem = files.UnreadableFile(N_("The uploaded file is gone; upload it again"))

    session = uow.session
    run = session.scalar(select(ImportRun).where(ImportRun.id == run_id).with_for_update())
    if run is None or run.status not in (ImportStatus.QUEUED, ImportStatus.RUNNING):
        return  # deleted or already finished: a duplicate step has nothing to do
    if run.status == ImportStatus.QUEUED:
        run.status = ImportStatus.RUNNING.value
        run.started_at = utc_now()
        run.total_rows = max(int(step.get("total", 1)) - 1, 0)
    user = session.get(User, run.created_by)
    if user is None or not user.is_active:
        problem = files.UnreadableFile(N_("The user who started the import was deactivated"))
    if problem is not None:
        _finish(uow, run, directory, ImportStatus.FAILED, problem)
        return

    first_row = int(step["row"])
    numbered = [(first_row + index, cells) for index, cells in enumerate(records) if first_row + index > 1]
    landing = ChunkLanding(
        uow,
        build_actor(session, user),  # type: ignore[arg-type]
        Plan(run.record_kind, run.mapping, UpsertKey(run.upsert_key)),
    )
    _record(uow, run, landing.land(numbered))
    last_row = first_row + len(records) - 1
    run.processed_rows = min(max(last_row - 1, 0), run.total_rows or 0)
    if finished:
        _finish(uow, run, directory, ImportStatus.COMPLETED, None)
        return
    next_step = {**step, "offset": step["next_offset"], "row": last_row + 1}
    next_step.pop("next_offset")
    enqueue(
        uow,
        IMPORT_TASK,
        next_step,
        idempotency_key=f"{IMPORT_TASK}:{run.id}:{last_row + 1}",
        run_at=next_step_at(context, making_room=making_room, began=landing_began),
    )


def give_up_import(uow: UnitOfWork, payload: dict[str, Any], data_dir: Path) -> None:
    """A step failed its last attempt (not a bad file: that ends the run by itself). The run ends
    "failed" with the reason, instead of staying "running" for ever; the rows landed by earlier
    steps stay, and the run can be undone."""
    run_id = str(payload["run_id"])
    run = uow.session.scalar(select(ImportRun).where(ImportRun.id == run_id).with_for_update())
    if run is None or run.status not in (ImportStatus.QUEUED, ImportStatus.RUNNING):
        return
    problem = files.UnreadableFile(
        N_("The import stopped after repeated errors; the rows landed before stay and can be undone")
    )
    _finish(uow, run, files.run_directory(data_dir, run_id), ImportStatus.FAILED, problem)


def _record(uow: UnitOfWork, run: ImportRun, landed: list[LandedRow]) -> None:
    """Count the chunk's outcomes and keep what the report and undo need."""
    counts = dict.fromkeys(ImportRowOutcome, 0)
    keep = []
    for row in landed:
        counts[row.outcome] += 1
        if row.warnings:
            run.warning_count += 1
        if row.outcome is ImportRowOutcome.UNCHANGED and not row.warnings:
            continue
        keep.append(
            {
                "run_id": run.id,
                "row_number": row.number,
                "outcome": row.outcome.value,
                "record_id": row.record_id,
                "record_version": row.record.version if row.record is not None else None,
                "cells": row.cells if row.problems or row.warnings else None,
                "problems": [note.as_json() for note in row.problems] or None,
                "warnings": [note.as_json() for note in row.warnings] or None,
                "previous": row.previous,
                "undo_outcome": None,
            }
        )
    if keep:
        uow.session.execute(insert(cast(Table, ImportRowResult.__table__)), keep)
    run.created_count += counts[ImportRowOutcome.CREATED]
    run.updated_count += counts[ImportRowOutcome.UPDATED]
    run.unchanged_count += counts[ImportRowOutcome.UNCHANGED]
    run.rejected_count += counts[ImportRowOutcome.REJECTED]


def _finish(
    uow: UnitOfWork,
    run: ImportRun,
    directory: Path,
    status: ImportStatus,
    problem: files.UnreadableFile | None,
) -> None:
    run.status = status.value
    run.finished_at = utc_now()
    if run.total_rows is not None:
        run.processed_rows = run.total_rows if status is ImportStatus.COMPLETED else run.processed_rows
    if problem is not None:
        run.error = {
            "message": problem.message,
            "params": {key: str(value) for key, value in problem.params.items()},
        }
    uow.after_commit(lambda: files.remove_files(directory))  # the file holds personal data
