"""Imports of leads from CSV or XLSX files: every row is validated, valid rows land as leads in one
transaction, every rejected row is kept with its reasons for a downloadable report.

Rows are matched to existing leads by email, else by phone (the upsert key): a matching lead gets
the row's non-empty values, so importing the same file twice creates nothing the second time.
The customers module's imports are built for accounts and contacts (a mapping step, a job per
chunk, undo); a lead file is smaller and simpler, so this reads the file in the request, with
the header naming the lead fields (English field names or their Chinese labels).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from typing import Any

from openpyxl import load_workbook
from pydantic import ValidationError
from sqlalchemy import select

from loopcrm.modules.sales.leads.models import LeadImport
from loopcrm.modules.sales.leads.schemas import (
    FIELD_ALIASES,
    LeadCreate,
    LeadFields,
    LeadImportOut,
    RejectedRow,
)
from loopcrm.modules.sales.leads.service import records
from loopcrm.modules.sales.leads.service.access import LEAD
from loopcrm.platform.audit.models import AuditAction
from loopcrm.platform.audit.service import record_change
from loopcrm.platform.errors import NotFound, ValidationFailed
from loopcrm.platform.permissions import Action, Actor, require
from loopcrm.platform.unit_of_work import UnitOfWork

MAX_IMPORT_BYTES = 10 * 1024 * 1024
MAX_IMPORT_ROWS = 20_000
IMPORTABLE = tuple(LeadFields.model_fields)


def _decode(content: bytes) -> str:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return content.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ValidationFailed.single("file", "The file is neither UTF-8 nor GB18030 text", "unreadable")


def read_rows(file_name: str, content: bytes) -> tuple[list[str], Iterator[list[str]]]:
    """The header and the data rows of a CSV or XLSX file, as text cells."""
    if len(content) > MAX_IMPORT_BYTES:
        raise ValidationFailed.single("file", "The file is larger than 10 MB", "too_large")
    if file_name.lower().endswith(".xlsx"):
        try:
            workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
        except Exception:  # openpyxl raises many kinds for a damaged workbook
            raise ValidationFailed.single("file", "The workbook cannot be read", "unreadable") from None
        sheet = workbook.worksheets[0]
        table = (
            ["" if cell is None else str(cell).strip() for cell in row]
            for row in sheet.iter_rows(values_only=True)
        )
    elif file_name.lower().endswith((".csv", ".txt")):
        table = (list(row) for row in csv.reader(io.StringIO(_decode(content))))
    else:
        raise ValidationFailed.single("file", "Upload a .csv or .xlsx file", "unsupported_format")
    header = next(table, None)
    if not header:
        raise ValidationFailed.single("file", "The file is empty", "empty")
    return [cell.strip() for cell in header], table


def _columns(header: list[str]) -> dict[int, str]:
    """Which lead field each column holds; unknown columns are ignored."""
    columns: dict[int, str] = {}
    for index, title in enumerate(header):
        key = title.strip().lower().replace(" ", "_")
        name = key if key in IMPORTABLE else FIELD_ALIASES.get(title.strip())
        if name and name not in columns.values():
            columns[index] = name
    if not ({"email", "phone"} & set(columns.values())):
        raise ValidationFailed.single(
            "file", "The header must name an email or a phone column", "no_contact_column"
        )
    return columns


def _import_out(run: LeadImport) -> LeadImportOut:
    return LeadImportOut(
        id=run.id,
        file_name=run.file_name,
        total_rows=run.total_rows,
        created_count=run.created_count,
        updated_count=run.updated_count,
        unchanged_count=run.unchanged_count,
        rejected_count=run.rejected_count,
        rejected_rows=[RejectedRow.model_validate(row) for row in run.rejected_rows],
        created_at=run.created_at,
        created_by=run.created_by,
    )


def _errors_of(error: ValidationError | ValidationFailed) -> list[dict[str, str]]:
    if isinstance(error, ValidationFailed):
        return [{"field": item.field, "message": item.message} for item in error.errors]
    return [
        {
            "field": ".".join(str(part) for part in issue["loc"]) or "row",
            "message": "Choose one of the offered values"
            if issue["type"] == "enum"
            else "This value is not valid",
        }
        for issue in error.errors(include_url=False)
    ]


def import_leads(uow: UnitOfWork, actor: Actor, file_name: str, content: bytes) -> LeadImportOut:
    """Land the valid rows of a file as leads (new or upserted by email, else phone) and keep
    every rejected row with its reasons; one transaction for the whole file."""
    require(actor, LEAD.key, Action.CREATE)
    header, rows = read_rows(file_name, content)
    columns = _columns(header)
    with uow:
        run = LeadImport(
            file_name=file_name[:300], header=header, created_by=actor.user_id, updated_by=actor.user_id
        )
        rejected: list[dict[str, Any]] = []
        created = updated = unchanged = total = 0
        for number, cells in enumerate(rows, start=2):
            if not any(cell.strip() for cell in cells):
                continue
            total += 1
            if total > MAX_IMPORT_ROWS:
                raise ValidationFailed.single(
                    "file", "A file may hold at most {count} rows", "too_many_rows", count=MAX_IMPORT_ROWS
                )
            values = {name: cells[index].strip() for index, name in columns.items() if index < len(cells)}
            given = {name: value for name, value in values.items() if value}
            try:
                data = LeadCreate.model_validate(given)
                outcome = _land(uow, actor, data)
            except (ValidationError, ValidationFailed) as error:
                rejected.append({"row": number, "values": values, "errors": _errors_of(error)})
                continue
            if outcome == "created":
                created += 1
            elif outcome == "updated":
                updated += 1
            else:
                unchanged += 1
        run.total_rows, run.created_count, run.updated_count = total, created, updated
        run.unchanged_count, run.rejected_count, run.rejected_rows = unchanged, len(rejected), rejected
        uow.session.add(run)
        uow.session.flush()
        record_change(
            uow,
            actor,
            AuditAction.CREATE,
            "lead_import",
            run.id,
            {"file_name": [None, file_name], "created": [None, created], "updated": [None, updated]},
        )
        result = _import_out(run)
        uow.commit()
        return result


def _land(uow: UnitOfWork, actor: Actor, data: LeadCreate) -> str:
    """Create the row's lead or fill the matching one; "created", "updated" or "unchanged"."""
    matches = records.leads_with(uow, email=data.email, phone=None) if data.email else []
    if not matches and data.phone:
        matches = records.leads_with(uow, email=None, phone=data.phone)
    if not matches:
        if data.source is None:
            data = data.model_copy(update={"source": "import"})
        records.create_lead_in(uow, actor, data)
        return "created"
    lead = matches[0]
    changes = {
        name: value
        for name in data.model_fields_set & set(IMPORTABLE)
        if (value := records.plain_value(getattr(data, name))) not in (None, "")
        and getattr(lead, name) != value
    }
    if not changes:
        return "unchanged"
    records.update_lead_in(uow, actor, lead.id, changes)
    return "updated"


def get_import(uow: UnitOfWork, actor: Actor, import_id: str) -> LeadImportOut:
    require(actor, LEAD.key, Action.CREATE)
    with uow:
        run = uow.session.get(LeadImport, import_id)
        if run is None or (run.created_by != actor.user_id and not actor.can("lead_settings", Action.READ)):
            raise NotFound("Import not found")
        return _import_out(run)


def list_imports(uow: UnitOfWork, actor: Actor, *, limit: int = 30) -> list[LeadImportOut]:
    """The actor's own imports, newest first."""
    require(actor, LEAD.key, Action.CREATE)
    with uow:
        runs = uow.session.scalars(
            select(LeadImport)
            .where(LeadImport.created_by == actor.user_id)
            .order_by(LeadImport.id.desc())
            .limit(limit)
        )
        return [_import_out(run) for run in runs]


def rejected_rows_csv(run: LeadImportOut, translate: Callable[[str], str] = str) -> bytes:
    """The report of rejected rows: the row number, its reasons, then the row's values."""
    columns = sorted({name for row in run.rejected_rows for name in row.values})
    output = io.StringIO()
    writer = csv.writer(output)
    writer.writerow(["row", "errors", *columns])
    for row in run.rejected_rows:
        reasons = "; ".join(f"{error['field']}: {translate(error['message'])}" for error in row.errors)
        writer.writerow([row.row, reasons, *(row.values.get(name, "") for name in columns)])
    return ("\ufeff" + output.getvalue()).encode("utf-8")  # the BOM makes Excel read it as UTF-8
