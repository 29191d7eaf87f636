"""The report of a run: every rejected row with its original values and the reasons, and every
row that landed with a warning (a possible duplicate), in the reader's language.

The report keeps the file's own columns, so a user can fix the rejected rows in it and import the
corrected report again; the run's extra columns (row number, outcome, reasons, warnings) are
ignored by the column guess.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from sqlalchemy import or_, select

from loopcrm.modules.customers.models import ImportRowOutcome, ImportRowResult
from loopcrm.modules.customers.service.exports import Download, ExportFormat, spreadsheet
from loopcrm.modules.customers.service.imports.access import load_run
from loopcrm.platform.i18n import N_, Translator
from loopcrm.platform.permissions import Action, Actor
from loopcrm.platform.unit_of_work import UnitOfWork

REPORT_PAGE_ROWS = 1000
# Msgids of their own: a bare "Created" is the date column of lists and exports (创建时间), and a
# msgid has one translation in every catalogue.
OUTCOME_NAMES = {
    ImportRowOutcome.CREATED.value: N_("Created (import outcome)"),
    ImportRowOutcome.UPDATED.value: N_("Updated (import outcome)"),
    ImportRowOutcome.UNCHANGED.value: N_("Unchanged (import outcome)"),
    ImportRowOutcome.REJECTED.value: N_("Rejected (import outcome)"),
}


def message_text(translator: Translator, message: str, params: Mapping[str, Any] | None) -> str:
    """A reason in the reader's language; a ``field`` parameter names a field by its msgid."""
    shown = dict(params or {})
    field_name = shown.get("field")
    if isinstance(field_name, str):
        shown["field"] = translator.gettext(field_name)
    return translator.message(message, shown)


def describe(translator: Translator, headers: list[str], notes: list[dict[str, Any]] | None) -> str:
    """Reasons or warnings as one cell: "手机: 12345 不是有效的电话号码; …"."""
    texts = []
    for note in notes or []:
        text = message_text(translator, note["message"], note.get("params"))
        column = note.get("column")
        if column is not None and 0 <= column < len(headers) and headers[column]:
            text = f"{headers[column]}: {text}"
        texts.append(text)
    return "; ".join(texts)


def import_report(
    uow: UnitOfWork,
    actor: Actor,
    run_id: str,
    translator: Translator,
    export_format: ExportFormat = ExportFormat.CSV,
) -> Download:
    """The run's rejected and warned rows as CSV (UTF-8 with BOM, for Excel) or XLSX."""
    with uow:
        run = load_run(uow.session, actor, run_id, Action.READ)
        headers = list(run.headers)
        stem = run.file_name.rsplit(".", 1)[0] or "import"

    def pages() -> Iterator[list[list[Any]]]:
        after = 0
        while True:
            with uow:
                found = uow.session.scalars(
                    select(ImportRowResult)
                    .where(
                        ImportRowResult.run_id == run_id,
                        ImportRowResult.id > after,
                        or_(
                            ImportRowResult.outcome == ImportRowOutcome.REJECTED.value,
                            ImportRowResult.warnings.is_not(None),
                        ),
                    )
                    .order_by(ImportRowResult.id)
                    .limit(REPORT_PAGE_ROWS)
                ).all()
                page = [
                    [
                        row.row_number,
                        *_padded(row.cells or [], len(headers)),
                        translator.gettext(OUTCOME_NAMES[row.outcome]),
                        describe(translator, headers, row.problems),
                        describe(translator, headers, row.warnings),
                    ]
                    for row in found
                ]
                after = found[-1].id if found else after
            if not page:
                return
            yield page

    header = [
        translator.gettext(N_("Row")),
        *headers,
        translator.gettext(N_("Outcome")),
        translator.gettext(N_("Reasons")),
        translator.gettext(N_("Warnings")),
    ]
    title = translator.gettext(N_("Import report"))
    return spreadsheet(f"{stem}-report.{export_format.value}", export_format, title, header, pages())


def _padded(cells: list[str], width: int) -> list[str]:
    return (cells + [""] * width)[:width]
