"""Use cases of an import before it runs and while it runs: upload a file, see its columns and a
suggested mapping, preview the first rows, start it, follow it.

The file is stored on upload and read in every later step from ``<data_dir>/imports/<run id>``
(ADR 0006); entry points pass the installation's ``data_dir``. Reading files happens outside
the unit of work, so the embedded database's write lock is never held while a file is parsed.
"""

from __future__ import annotations

import functools
from datetime import datetime, timedelta
from pathlib import Path
from typing import BinaryIO

from sqlalchemy import select

from loopcrm.modules.customers.models import (
    ImportMapping,
    ImportRun,
    ImportStatus,
    RecordKind,
    UpsertKey,
)
from loopcrm.modules.customers.service.custom_fields import definitions
from loopcrm.modules.customers.service.imports import files
from loopcrm.modules.customers.service.imports.access import IMPORT, load_run, run_out
from loopcrm.modules.customers.service.imports.contracts import (
    ImportPreview,
    ImportRunOut,
    ImportSetup,
    ImportStart,
    ImportTargetOut,
    PreviewRow,
    RowMessage,
)
from loopcrm.modules.customers.service.imports.fields import (
    IGNORE,
    UPSERT_KEY_NAMES,
    UPSERT_KEY_TARGETS,
    Target,
    guess_mapping,
    header_signature,
    targets,
    upsert_keys,
)
from loopcrm.modules.customers.service.imports.landing import ChunkLanding, Plan
from loopcrm.modules.customers.service.imports.rows import Note
from loopcrm.modules.customers.service.object_types import OBJECT_TYPE_OF_KIND
from loopcrm.platform.audit.models import AuditAction
from loopcrm.platform.audit.service import record_change
from loopcrm.platform.db import new_id, utc_now
from loopcrm.platform.errors import Conflict, FieldError, ValidationFailed
from loopcrm.platform.jobs.service import enqueue
from loopcrm.platform.pagination import Page, paginate
from loopcrm.platform.permissions import Action, Actor, require, scope_condition
from loopcrm.platform.unit_of_work import UnitOfWork

IMPORT_TASK = "customers.import_rows"
PREVIEW_ROWS = 10
SAMPLE_ROWS = 5
MAX_FILE_NAME = 255
# An upload nobody started within a week is forgotten: its file holds personal data.
ABANDONED_UPLOAD_AGE = timedelta(days=7)


def _refusal(error: files.UnreadableFile) -> ValidationFailed:
    return ValidationFailed([FieldError("file", error.message, "unreadable_file", dict(error.params))])


def _targets(uow: UnitOfWork, record_kind: str) -> list[Target]:
    return targets(record_kind, definitions(uow.session, record_kind, active_only=True))


def upload_import(
    uow: UnitOfWork, actor: Actor, data_dir: Path, record_kind: RecordKind, file_name: str, source: BinaryIO
) -> ImportRunOut:
    """Store an uploaded CSV or XLSX file and read its header row; the run waits for a mapping.

    The suggested mapping is the one the actor used last for the same header row, else a guess
    from the headers' names. A file that cannot be read is refused (422 on ``file``).
    """
    require(actor, IMPORT.key, Action.CREATE)
    require(actor, OBJECT_TYPE_OF_KIND[record_kind.value].key, Action.CREATE)
    run_id = new_id()
    directory = files.run_directory(data_dir, run_id)
    try:
        path, size = files.store_upload(directory, source)
        file_format = files.file_format(path)
        rows, encoding = files.first_rows(path, file_format, 0)
    except files.UnreadableFile as error:
        files.remove_files(directory)
        raise _refusal(error) from None
    headers = [header.strip() for header in rows[0]] if rows else []
    if not any(headers):
        files.remove_files(directory)
        raise ValidationFailed.single("file", "The file has no header row", "no_header")
    try:
        with uow:
            available = _targets(uow, record_kind.value)
            remembered = _remembered(uow, actor, record_kind.value, headers, available)
            mapping, upsert_key = remembered or (
                guess_mapping(record_kind.value, headers, available),
                UpsertKey.NONE.value,
            )
            run = ImportRun(
                id=run_id,
                record_kind=record_kind.value,
                file_name=(Path(file_name).name or "upload")[:MAX_FILE_NAME],
                file_format=file_format,
                encoding=encoding,
                file_size=size,
                headers=headers,
                mapping=mapping,
                upsert_key=upsert_key,
                status=ImportStatus.UPLOADED.value,
                created_by=actor.user_id,
                created_at=utc_now(),
            )
            uow.session.add(run)
            uow.session.flush()
            record_change(
                uow, actor, AuditAction.CREATE, IMPORT.key, run.id, {"file_name": [None, run.file_name]}
            )
            result = run_out(run)
            uow.commit()
            return result
    except BaseException:
        files.remove_files(directory)
        raise


def _remembered(
    uow: UnitOfWork, actor: Actor, record_kind: str, headers: list[str], available: list[Target]
) -> tuple[list[str], str] | None:
    """The actor's mapping for this header row, if every target in it still exists."""
    if actor.user_id is None:
        return None
    stored = _stored_mapping(uow, actor.user_id, record_kind, header_signature(headers))
    known = {target.key for target in available} | {IGNORE}
    if stored is None or len(stored.mapping) != len(headers) or not set(stored.mapping) <= known:
        return None
    return list(stored.mapping), stored.upsert_key


def import_setup(uow: UnitOfWork, actor: Actor, data_dir: Path, run_id: str) -> ImportSetup:
    """The run with everything choosing its mapping needs, and the first rows of its file."""
    with uow:
        run = load_run(uow.session, actor, run_id, Action.READ)
        available = _targets(uow, run.record_kind)
        is_remembered = _remembered(uow, actor, run.record_kind, run.headers, available) is not None
        result = run_out(run)
    sample: list[list[str]] = []
    if result.status is ImportStatus.UPLOADED:
        directory = files.run_directory(data_dir, result.id)
        try:
            rows, _ = files.first_rows(directory / files.UPLOAD_STEM, result.file_format, SAMPLE_ROWS)
            sample = rows[1:]
        except (files.UnreadableFile, OSError):
            sample = []
    return ImportSetup(
        run=result,
        targets=[
            ImportTargetOut(
                key=target.key,
                label=target.label,
                label_en=target.label_en,
                is_custom=target.is_custom,
                is_repeatable=target.is_repeatable,
            )
            for target in available
        ],
        upsert_keys=upsert_keys(result.record_kind.value),
        sample_rows=sample,
        is_remembered=is_remembered,
    )


def check_start(run: ImportRun, data: ImportStart, available: list[Target]) -> None:
    """The mapping fits the file and the kind; the upsert key has a column to read from."""
    errors: list[FieldError] = []
    if len(data.mapping) != len(run.headers):
        errors.append(
            FieldError(
                "mapping", "Give one target per column: {count}", "wrong_length", {"count": len(run.headers)}
            )
        )
    by_key = {target.key: target for target in available}
    seen: set[str] = set()
    for index, key in enumerate(data.mapping):
        if key == IGNORE:
            continue
        target = by_key.get(key)
        if target is None:
            errors.append(
                FieldError(f"mapping.{index}", "Unknown field {key}", "unknown_field", {"key": key})
            )
        elif key in seen and not target.is_repeatable:
            errors.append(
                FieldError(
                    f"mapping.{index}",
                    "Only one column can go into {field}",
                    "duplicate",
                    {"field": target.label},
                )
            )
        seen.add(key)
    if data.upsert_key not in upsert_keys(run.record_kind):
        errors.append(FieldError("upsert_key", "Accounts only can be found by credit code", "not_allowed"))
    elif data.upsert_key is not UpsertKey.NONE and UPSERT_KEY_TARGETS[data.upsert_key] not in seen:
        errors.append(
            FieldError(
                "upsert_key",
                "Map a column to {field} to find existing records by it",
                "key_not_mapped",
                {"field": UPSERT_KEY_NAMES[data.upsert_key.value]},
            )
        )
    name_targets = (
        {"name"} if run.record_kind == RecordKind.ACCOUNT else {"full_name", "family_name", "given_name"}
    )
    if data.upsert_key is UpsertKey.NONE and not name_targets & seen:
        errors.append(
            FieldError("mapping", "Map a column to the name: every new record needs one", "name_not_mapped")
        )
    if errors:
        raise ValidationFailed(errors)


def _message(note: Note) -> RowMessage:
    params = dict(note.params)
    try:
        text = note.message.format(**params) if params else note.message
    except (KeyError, IndexError, ValueError):
        text = note.message
    return RowMessage(
        field=note.field,
        column=note.column,
        code=note.code,
        message=text,
        message_id=note.message,
        params=params,
    )


def preview_import(
    uow: UnitOfWork, actor: Actor, data_dir: Path, run_id: str, data: ImportStart, *, rows: int = PREVIEW_ROWS
) -> ImportPreview:
    """What the first rows would come to with this mapping: the import is run on them in a
    transaction that is rolled back, so the answer is exactly what starting it would do."""
    with uow:
        run = load_run(uow.session, actor, run_id, Action.UPDATE)
        check_start(run, data, _targets(uow, run.record_kind))
        file_format, record_kind = run.file_format, run.record_kind
    try:
        found, _ = files.first_rows(
            files.run_directory(data_dir, run_id) / files.UPLOAD_STEM, file_format, rows
        )
    except (files.UnreadableFile, OSError) as error:
        raise _refusal(
            error if isinstance(error, files.UnreadableFile) else files.UnreadableFile("The file is gone")
        ) from None
    numbered = [(number, cells) for number, cells in enumerate(found, start=1) if number > 1]
    with uow:
        landing = ChunkLanding(uow, actor, Plan(record_kind, data.mapping, data.upsert_key))
        landed = landing.land(numbered)
        result = ImportPreview(
            rows=[
                PreviewRow(
                    row_number=row.number,
                    cells=row.cells,
                    outcome=row.outcome,
                    record_id=row.record_id,
                    problems=[_message(note) for note in row.problems],
                    warnings=[_message(note) for note in row.warnings],
                )
                for row in landed
            ]
        )
        uow.rollback()  # a preview writes nothing
        return result


def start_import(uow: UnitOfWork, actor: Actor, run_id: str, data: ImportStart) -> ImportRunOut:
    """Fix the mapping and queue the run; a worker lands its rows chunk by chunk."""
    with uow:
        session = uow.session
        run = load_run(session, actor, run_id, Action.UPDATE, for_update=True)
        if run.status != ImportStatus.UPLOADED:
            raise Conflict("This import has already been started")
        check_start(run, data, _targets(uow, run.record_kind))
        run.mapping = list(data.mapping)
        run.upsert_key = data.upsert_key.value
        run.status = ImportStatus.QUEUED.value
        if data.remember and actor.user_id is not None:
            _remember(uow, actor, run)
        enqueue(
            uow,
            IMPORT_TASK,
            {"run_id": run.id, "format": run.file_format},
            idempotency_key=f"{IMPORT_TASK}:{run.id}:start",
        )
        record_change(
            uow,
            actor,
            AuditAction.UPDATE,
            IMPORT.key,
            run.id,
            {"status": [ImportStatus.UPLOADED.value, run.status], "upsert_key": [None, run.upsert_key]},
        )
        result = run_out(run)
        uow.commit()
        return result


def _stored_mapping(
    uow: UnitOfWork, user_id: str | None, record_kind: str, signature: str
) -> ImportMapping | None:
    """The mapping the user kept for files of this kind with this header row."""
    return uow.session.scalar(
        select(ImportMapping).where(
            ImportMapping.user_id == user_id,
            ImportMapping.record_kind == record_kind,
            ImportMapping.signature == signature,
        )
    )


def _remember(uow: UnitOfWork, actor: Actor, run: ImportRun) -> None:
    signature = header_signature(run.headers)
    stored = _stored_mapping(uow, actor.user_id, run.record_kind, signature)
    if stored is None:
        stored = ImportMapping(user_id=actor.user_id, record_kind=run.record_kind, signature=signature)
        uow.session.add(stored)
    stored.mapping = list(run.mapping)
    stored.upsert_key = run.upsert_key
    stored.updated_at = utc_now()


def get_import(uow: UnitOfWork, actor: Actor, run_id: str) -> ImportRunOut:
    with uow:
        return run_out(load_run(uow.session, actor, run_id, Action.READ))


def list_imports(uow: UnitOfWork, actor: Actor, *, limit: int, cursor: str | None) -> Page[ImportRunOut]:
    """Runs the actor may see (their own, their team's, or all), newest first."""
    with uow:
        condition = scope_condition(actor, IMPORT.key, Action.READ, owner_column=ImportRun.created_by)
        return paginate(
            uow.session,
            select(ImportRun).where(condition),
            ImportRun.id,
            limit=limit,
            cursor=cursor,
            convert=run_out,
        )


def remove_abandoned_uploads(uow: UnitOfWork, data_dir: Path, now: datetime) -> int:
    """Forget the uploads nobody started within :data:`ABANDONED_UPLOAD_AGE`, files and all (the
    files hold personal data); run by the daily housekeeping job. Returns how many went."""
    session = uow.session
    abandoned = session.scalars(
        select(ImportRun).where(
            ImportRun.status == ImportStatus.UPLOADED.value,
            ImportRun.created_at < now - ABANDONED_UPLOAD_AGE,
        )
    ).all()
    for run in abandoned:
        session.delete(run)
        uow.after_commit(functools.partial(files.remove_files, files.run_directory(data_dir, run.id)))
    return len(abandoned)
