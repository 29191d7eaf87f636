"""Exports of account and contact lists to CSV and XLSX: exactly the rows the reader's list shows
(the same scope, filters, search and saved view), with the reader's clearance applied.

A field above the reader's clearance is exported empty and its header says it is hidden, so a
spreadsheet never looks complete when it is not. Rows are read page by page through the list
use cases (each page audited like a list page), so a large export streams in constant memory: CSV
is sent as it is written; XLSX is built with openpyxl's write-only mode into a temporary file
(a workbook is a zip that cannot be sent before it is finished) and then streamed.
"""

from __future__ import annotations

import csv
import io
import itertools
import re
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import Cell
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from loopcrm.modules.customers.models import CustomFieldDefinition, CustomFieldKind, RecordKind
from loopcrm.modules.customers.schemas import AccountOut, ContactOut, ListQuery
from loopcrm.modules.customers.service import listing, records
from loopcrm.modules.customers.service.columns import ACCOUNT_COLUMNS, ALIASES, CONTACT_COLUMNS, Column
from loopcrm.modules.customers.service.custom_fields import CUSTOM_FIELD_PREFIX, definitions
from loopcrm.modules.customers.service.object_types import OBJECT_TYPE_OF_KIND
from loopcrm.modules.customers.service.saved_views import load_view
from loopcrm.platform.audit.models import AuditAction
from loopcrm.platform.audit.service import record_change
from loopcrm.platform.db import utc_now
from loopcrm.platform.i18n import N_, Translator
from loopcrm.platform.pagination import MAX_PAGE_SIZE
from loopcrm.platform.permissions import Action, Actor, SecurityLevel, require
from loopcrm.platform.unit_of_work import UnitOfWork

# A spreadsheet opening a CSV treats a cell starting with one of these as a formula (OWASP "CSV
# injection"); such text gets a leading apostrophe in CSV, unless it is one of the shapes below.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# E.164 phone numbers ("+" and at most 15 digits), alone or joined as the phones column joins them,
# and plain signed numbers: without a letter there is no function and no cell reference to run.
_INERT_TEXT = re.compile(r"^(?:\+\d{1,15}(?:; \+\d{1,15})*|[+-]?\d+(?:\.\d+)?)$")
STREAM_CHUNK_BYTES = 64 * 1024


class ExportFormat(StrEnum):
    """The file types a list can be exported to."""

    CSV = "csv"  # UTF-8 with a byte-order mark, so Excel shows Chinese correctly
    XLSX = "xlsx"  # an Excel workbook, one sheet


MEDIA_TYPES = {
    ExportFormat.CSV: "text/csv; charset=utf-8",
    ExportFormat.XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


@dataclass(frozen=True)
class Download:
    """A file to send: its name, media type, and its bytes as they are produced."""

    file_name: str
    media_type: str
    chunks: Iterator[bytes]

    @property
    def content_disposition(self) -> str:
        """``attachment`` with the name in plain ASCII and in full (RFC 6266, RFC 5987)."""
        fallback = self.file_name.encode("ascii", "replace").decode().replace("?", "_").replace('"', "_")
        return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(self.file_name)}"


def spreadsheet_text(value: str) -> str:
    """CSV text a spreadsheet will not run as a formula: OWASP's leading apostrophe where needed.

    CSV has no cell types, so the apostrophe is the only guard, and it becomes part of the data
    for every other reader (our own importer reads an exported ``'+86…`` as a bad phone). So text
    that cannot carry a formula keeps its exact value: an E.164 phone (``+`` and digits only, or
    several joined by ``"; "``) and a plain signed number hold no letter, hence no function, cell
    reference or DDE call; at worst a spreadsheet shows them as the number they are. Anything
    else starting with ``= + - @``, a tab or a carriage return is quoted, ``-1-2`` included
    (a spreadsheet would compute it). XLSX needs none of this: see :func:`xlsx_chunks`.
    """
    if value.startswith(_FORMULA_STARTS) and not _INERT_TEXT.match(value):
        return "'" + value
    return value


def csv_chunks(header: Sequence[str], pages: Iterable[Iterable[Sequence[Any]]]) -> Iterator[bytes]:
    """A CSV file for Excel: UTF-8 with BOM, CRLF lines, one chunk per page of rows."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([spreadsheet_text(str(cell)) for cell in header])
    yield ("\ufeff" + buffer.getvalue()).encode()
    for page in pages:
        buffer.seek(0)
        buffer.truncate()
        for row in page:
            writer.writerow([_csv_cell(cell) for cell in row])
        yield buffer.getvalue().encode()


def _csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str):
        return spreadsheet_text(value)
    return str(value)


def xlsx_chunks(
    title: str, header: Sequence[str], pages: Iterable[Iterable[Sequence[Any]]]
) -> Iterator[bytes]:
    """An XLSX workbook of one sheet, built in openpyxl's write-only mode and then streamed.

    Every text is written as a text cell, so ``=HYPERLINK(…)`` is shown, never run, and no
    apostrophe is added (in XLSX it would be part of the value, unlike CSV's guard).
    """
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=title[:31])
    sheet.append([_xlsx_text(sheet, str(cell)) for cell in header])
    for page in pages:
        for row in page:
            sheet.append([_xlsx_cell(sheet, cell) for cell in row])
    with tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024) as stored:
        workbook.save(stored)
        stored.seek(0)
        while chunk := stored.read(STREAM_CHUNK_BYTES):
            yield chunk


def _xlsx_text(sheet: WriteOnlyWorksheet, value: str) -> Cell:
    """A cell holding ``value`` as text: openpyxl would store a string starting with ``=`` as a
    formula (and ``#N/A`` as an error), so the cell's type is set to string after the value."""
    cell = WriteOnlyCell(sheet, value=value)
    cell.data_type = "s"
    return cell


def _xlsx_cell(sheet: WriteOnlyWorksheet, value: Any) -> Any:
    if isinstance(value, str):
        return _xlsx_text(sheet, value)
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, datetime):
        return value.replace(tzinfo=None)  # already in the reader's time zone; Excel has none
    return value


def spreadsheet(
    file_name: str,
    export_format: ExportFormat,
    title: str,
    header: Sequence[str],
    pages: Iterable[Iterable[Sequence[Any]]],
) -> Download:
    """A download of ``header`` and ``pages`` as CSV or as an XLSX sheet named ``title``."""
    if export_format is ExportFormat.XLSX:
        chunks = xlsx_chunks(title, header, pages)
    else:
        chunks = csv_chunks(header, pages)
    return Download(file_name, MEDIA_TYPES[export_format], chunks)


# ---------------------------------------------------------------- columns

YES, NO = N_("Yes"), N_("No")
HIDDEN = N_("{field} (hidden)")


def _custom_column(field: CustomFieldDefinition) -> Column:
    key = field.key
    return Column(
        CUSTOM_FIELD_PREFIX + key,
        field.label,
        lambda r, key=key: r.custom_fields.get(key),  # type: ignore[misc]
    )


class _Presenter:
    """Turns output records into the reader's cells: names in their language, times in their zone."""

    def __init__(
        self,
        translator: Translator,
        timezone: str,
        columns: list[Column],
        fields: dict[str, CustomFieldDefinition],
    ) -> None:
        self.translator = translator
        self.zone = ZoneInfo(timezone)
        self.columns = columns
        self.fields = fields
        self.user_names: dict[str, str] = {}

    def header(self, column: Column, hidden: bool) -> str:
        field = (
            self.fields.get(column.key.removeprefix(CUSTOM_FIELD_PREFIX))
            if column.key.startswith(CUSTOM_FIELD_PREFIX)
            else None
        )
        if field is not None:
            name = field.label_en if self.translator.locale == "en" and field.label_en else field.label
        else:
            name = self.translator.gettext(column.header)
        return self.translator.message(HIDDEN, {"field": name}) if hidden else name

    def cell(self, column: Column, record: Any) -> Any:
        if column.masked_field in record.masked_fields:
            return None
        value = column.value(record)
        if value is None or value == "":
            return None
        if column.names is not None:
            return self.translator.gettext(column.names.get(str(value), str(value)))
        if column.key.startswith(CUSTOM_FIELD_PREFIX):
            return self._custom(self.fields.get(column.key.removeprefix(CUSTOM_FIELD_PREFIX)), value)
        if isinstance(value, bool):
            return self.translator.gettext(YES if value else NO)
        if isinstance(value, datetime):
            return value.astimezone(self.zone).replace(microsecond=0)
        return value

    def _custom(self, field: CustomFieldDefinition | None, value: Any) -> Any:
        if field is None:
            return value
        kind = CustomFieldKind(field.kind)
        if kind in (CustomFieldKind.SELECT, CustomFieldKind.MULTI_SELECT):
            labels = {
                option["value"]: (option.get("label_en") if self.translator.locale == "en" else None)
                or option["label"]
                for option in field.options
            }
            chosen = value if isinstance(value, list) else [value]
            return ", ".join(labels.get(str(item), str(item)) for item in chosen)
        if kind is CustomFieldKind.BOOLEAN:
            return self.translator.gettext(YES if value else NO)
        if kind is CustomFieldKind.USER:
            return self.user_names.get(str(value), str(value))
        return value


def _columns(
    record_kind: str, fields: list[CustomFieldDefinition], wanted: Sequence[str] | None
) -> list[Column]:
    standard = ACCOUNT_COLUMNS if record_kind == RecordKind.ACCOUNT else CONTACT_COLUMNS
    available = [*standard, *(_custom_column(field) for field in fields if field.is_active)]
    if not wanted:
        return available
    by_key = {column.key: column for column in available}
    chosen = []
    for key in wanted:
        column = by_key.get(ALIASES.get(key, key))
        if column is not None and column not in chosen:
            chosen.append(column)
    return chosen or available


def export_records(
    uow: UnitOfWork,
    actor: Actor,
    record_kind: RecordKind,
    query: ListQuery,
    export_format: ExportFormat,
    translator: Translator,
    *,
    columns: Sequence[str] | None = None,
) -> Download:
    """The reader's list as a spreadsheet: the rows ``list_accounts``/``list_contacts`` give for
    ``query``, every page of them, in the list's order; ``columns`` (or the saved view's) choose
    and order the columns, else every field is exported.

    The first page is read before this returns, so a refused query (a filter on a hidden field,
    an unknown view) raises here rather than in the middle of a download. The export is audited.
    """
    kind = record_kind.value
    object_type = OBJECT_TYPE_OF_KIND[kind]
    require(actor, object_type.key, Action.READ)
    with uow:
        fields = definitions(uow.session, kind)
        view_columns: list[str] = []
        if query.view_id:
            view = load_view(uow.session, actor, query.view_id, kind)
            view_columns = list(view.definition.get("columns", []))
        chosen = _columns(kind, fields, columns or view_columns)
        levels = {**object_type.field_levels, **records.custom_levels(uow.session, kind)}
        hidden = {
            column.key
            for column in chosen
            if levels.get(column.masked_field, SecurityLevel.PUBLIC) > actor.clearance
        }
        record_change(
            uow,
            actor,
            AuditAction.READ,
            object_type.key,
            None,
            {
                "export": {
                    "format": export_format.value,
                    "q": query.q,
                    "filters": list(query.filters),
                    "view_id": query.view_id,
                    "columns": [column.key for column in chosen],
                }
            },
        )
        uow.commit()
    presenter = _Presenter(translator, actor.timezone, chosen, {field.key: field for field in fields})
    pages = _pages(uow, actor, kind, query)
    first = next(pages)  # raises now when the query is refused

    def rows() -> Iterator[list[list[Any]]]:
        for page in itertools.chain([first], pages):
            _user_names(uow, presenter, page, chosen)
            yield [[presenter.cell(column, record) for column in chosen] for record in page]

    header = [presenter.header(column, column.key in hidden) for column in chosen]
    stamp = utc_now().astimezone(ZoneInfo(actor.timezone)).strftime("%Y%m%d-%H%M")
    plural = "accounts" if kind == RecordKind.ACCOUNT else "contacts"
    file_name = f"{plural}-{stamp}.{export_format.value}"
    title = translator.gettext(N_("Accounts") if kind == RecordKind.ACCOUNT else N_("Contacts"))
    return spreadsheet(file_name, export_format, title, header, rows())


def _pages(
    uow: UnitOfWork, actor: Actor, kind: str, query: ListQuery
) -> Iterator[list[AccountOut] | list[ContactOut]]:
    """Every page of the list, each read (and audited) in its own short transaction."""
    cursor: str | None = None
    while True:
        if kind == RecordKind.ACCOUNT:
            page: Any = listing.list_accounts(uow, actor, query, limit=MAX_PAGE_SIZE, cursor=cursor)
        else:
            page = listing.list_contacts(uow, actor, query, limit=MAX_PAGE_SIZE, cursor=cursor)
        yield page.items
        if not page.next_cursor or not page.items:
            return
        cursor = page.next_cursor


def _user_names(uow: UnitOfWork, presenter: _Presenter, page: list[Any], chosen: list[Column]) -> None:
    """Names of the users that user-kind custom fields of the page point at."""
    user_keys = [
        column.key.removeprefix(CUSTOM_FIELD_PREFIX)
        for column in chosen
        if column.key.startswith(CUSTOM_FIELD_PREFIX)
        and (field := presenter.fields.get(column.key.removeprefix(CUSTOM_FIELD_PREFIX))) is not None
        and field.kind == CustomFieldKind.USER
    ]
    if not user_keys:
        return
    wanted = {
        str(record.custom_fields.get(key))
        for record in page
        for key in user_keys
        if record.custom_fields.get(key)
    }
    missing = wanted - set(presenter.user_names)
    if missing:
        with uow:
            presenter.user_names.update(records.user_names(uow.session, missing))
