"""Imports of accounts and contacts from CSV and XLSX files: upload, mapping, preview, a job that
lands the rows chunk by chunk, the report of rejected rows, and undo (ADR 0006)."""

from loopcrm.modules.customers.service.imports.access import IMPORT
from loopcrm.modules.customers.service.imports.contracts import (
    ImportPreview,
    ImportRunOut,
    ImportSetup,
    ImportStart,
    ImportTargetOut,
    PreviewRow,
    RowMessage,
)
from loopcrm.modules.customers.service.imports.files import MAX_UPLOAD_BYTES
from loopcrm.modules.customers.service.imports.report import (
    OUTCOME_NAMES,
    describe,
    import_report,
    message_text,
)
from loopcrm.modules.customers.service.imports.runs import (
    IMPORT_TASK,
    get_import,
    import_setup,
    list_imports,
    preview_import,
    remove_abandoned_uploads,
    start_import,
    upload_import,
)
from loopcrm.modules.customers.service.imports.steps import CHUNK_ROWS, give_up_import, run_import_step
from loopcrm.modules.customers.service.imports.undo import UNDO_TASK, give_up_undo, run_undo_step, undo_import

__all__ = [
    "CHUNK_ROWS",
    "IMPORT",
    "IMPORT_TASK",
    "MAX_UPLOAD_BYTES",
    "OUTCOME_NAMES",
    "UNDO_TASK",
    "ImportPreview",
    "ImportRunOut",
    "ImportSetup",
    "ImportStart",
    "ImportTargetOut",
    "PreviewRow",
    "RowMessage",
    "describe",
    "get_import",
    "give_up_import",
    "give_up_undo",
    "import_report",
    "import_setup",
    "list_imports",
    "message_text",
    "preview_import",
    "remove_abandoned_uploads",
    "run_import_step",
    "run_undo_step",
    "start_import",
    "undo_import",
    "upload_import",
]
