"""Contracts of imports: what the API, the pages and the job exchange with the import use cases."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, Field

from loopcrm.modules.customers.models import ImportRowOutcome, ImportStatus, RecordKind, UpsertKey
from loopcrm.platform.auth.schemas import Input
from loopcrm.platform.timestamps import IsoDateTime

MAX_COLUMNS = 200

TargetKey = Annotated[str, Field(min_length=1, max_length=60)]


class ImportStart(Input):
    """How to read a file: the target of each column in file order, and how to find existing
    records. ``remember`` keeps the mapping for the next file with the same header row."""

    mapping: list[TargetKey] = Field(
        max_length=MAX_COLUMNS, description="per column: a field, `custom_fields.<key>` or `ignore`"
    )
    upsert_key: UpsertKey = UpsertKey.NONE
    remember: bool = True


class ImportRunOut(BaseModel):
    """One import run with its progress and counts."""

    id: str
    record_kind: RecordKind
    file_name: str
    file_format: str
    encoding: str | None
    file_size: int
    headers: list[str]
    mapping: list[str]
    upsert_key: UpsertKey
    status: ImportStatus
    total_rows: int | None = Field(description="data rows in the file; known once a worker has read it")
    processed_rows: int
    created_count: int
    updated_count: int
    unchanged_count: int
    rejected_count: int
    warning_count: int
    reversed_count: int = Field(description="records the undo deleted or restored")
    undo_skipped_count: int = Field(description="records the undo left alone: changed since the import")
    error: str | None = Field(description="why the file could not be read to its end")
    error_message_id: str | None = Field(default=None, description="`error` with {placeholders}")
    error_params: dict[str, Any] = Field(default_factory=dict)
    created_by: str
    created_at: IsoDateTime
    started_at: IsoDateTime | None
    finished_at: IsoDateTime | None
    undone_by: str | None
    undone_at: IsoDateTime | None

    @property
    def progress_percent(self) -> int:
        if self.status in (ImportStatus.COMPLETED, ImportStatus.UNDONE):
            return 100
        if not self.total_rows:
            return 0
        return min(100, self.processed_rows * 100 // self.total_rows)

    @property
    def is_undoable(self) -> bool:
        return self.status in (ImportStatus.COMPLETED, ImportStatus.FAILED)


class ImportTargetOut(BaseModel):
    """A field a column can be imported into. Standard fields have an English ``label``; custom
    fields the admin's labels."""

    key: str
    label: str
    label_en: str | None = None
    is_custom: bool = False
    is_repeatable: bool = Field(description="several columns may map to it (phones, emails, tags)")


class ImportSetup(BaseModel):
    """What choosing a mapping needs: the run, the targets, the upsert keys, the first rows."""

    run: ImportRunOut
    targets: list[ImportTargetOut]
    upsert_keys: list[UpsertKey]
    sample_rows: list[list[str]]
    is_remembered: bool = Field(description="the suggested mapping is the one you used last time")


class RowMessage(BaseModel):
    """Why a row was refused, or a warning about it; ``column`` is the file's column (0-based)."""

    field: str
    column: int | None
    code: str
    message: str = Field(description="in English, placeholders filled in")
    message_id: str = Field(description="the English message with {placeholders}, for translation")
    params: dict[str, Any]


class PreviewRow(BaseModel):
    """What the import would do with one row, if it ran now."""

    row_number: int
    cells: list[str]
    outcome: ImportRowOutcome
    record_id: str | None
    problems: list[RowMessage]
    warnings: list[RowMessage]


class ImportPreview(BaseModel):
    """The first rows of a file, each with the outcome it would get; nothing is written."""

    rows: list[PreviewRow]
