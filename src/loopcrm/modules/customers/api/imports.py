"""REST routes of imports and exports: upload a file, read its suggested mapping, preview, start,
follow, download the report, undo; and export account and contact lists to CSV or XLSX.

An upload is a ``multipart/form-data`` POST of ``file`` and ``record_kind``, limited by
``LOOPCRM_MAX_UPLOAD_BYTES`` (a 50 MiB file and its fields) rather than the 1 MB of JSON bodies.
Downloads stream: large exports start at once and use constant memory.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, Path, Query, UploadFile, status
from fastapi.responses import StreamingResponse

from loopcrm.modules.customers.api.records import Listing
from loopcrm.modules.customers.downloads import send_download
from loopcrm.modules.customers.models import RecordKind
from loopcrm.modules.customers.service import exports, imports
from loopcrm.modules.customers.service.exports import ExportFormat
from loopcrm.platform.http.dependencies import (
    DEFAULT_PAGE_SIZE,
    AppSettings,
    CurrentActor,
    Cursor,
    Limit,
    Uow,
)
from loopcrm.platform.i18n import translator
from loopcrm.platform.pagination import Page

router = APIRouter()

ImportId = Annotated[str, Path(min_length=1, max_length=36)]
Format = Annotated[ExportFormat, Query(alias="format", description="csv (UTF-8 with BOM) or xlsx")]
Columns = Annotated[
    list[Annotated[str, Query(max_length=60)]] | None,
    Query(alias="column", max_length=60, description="repeatable: the columns to export, in order"),
]
_FILE_RESPONSES: dict[int | str, dict[str, object]] = {
    200: {
        "description": "the file",
        "content": {
            "text/csv": {"schema": {"type": "string"}},
            exports.MEDIA_TYPES[ExportFormat.XLSX]: {"schema": {"type": "string", "format": "binary"}},
        },
    }
}


@router.post(
    "/imports", response_model=imports.ImportRunOut, status_code=status.HTTP_201_CREATED, tags=["imports"]
)
def upload_import(
    actor: CurrentActor,
    uow: Uow,
    settings: AppSettings,
    file: Annotated[
        UploadFile, File(description="CSV (UTF-8 or GBK) or XLSX; the first row names the columns")
    ],
    record_kind: Annotated[RecordKind, Form()],
) -> imports.ImportRunOut:
    """Store a file to import; the answer suggests a mapping (remembered or guessed)."""
    return imports.upload_import(uow, actor, settings.data_dir, record_kind, file.filename or "", file.file)


@router.get("/imports", response_model=Page[imports.ImportRunOut], tags=["imports"])
def list_imports(
    actor: CurrentActor, uow: Uow, limit: Limit = DEFAULT_PAGE_SIZE, cursor: Cursor = None
) -> Page[imports.ImportRunOut]:
    """Your imports (your team's or everyone's for managers and admins), newest first."""
    return imports.list_imports(uow, actor, limit=limit, cursor=cursor)


@router.get("/imports/{import_id}", response_model=imports.ImportRunOut, tags=["imports"])
def read_import(import_id: ImportId, actor: CurrentActor, uow: Uow) -> imports.ImportRunOut:
    """One import with its status, progress and counts."""
    return imports.get_import(uow, actor, import_id)


@router.get("/imports/{import_id}/setup", response_model=imports.ImportSetup, tags=["imports"])
def import_setup(
    import_id: ImportId, actor: CurrentActor, uow: Uow, settings: AppSettings
) -> imports.ImportSetup:
    """The targets a column can map to, the upsert keys, and the file's first rows."""
    return imports.import_setup(uow, actor, settings.data_dir, import_id)


@router.post("/imports/{import_id}/preview", response_model=imports.ImportPreview, tags=["imports"])
def preview_import(
    import_id: ImportId, data: imports.ImportStart, actor: CurrentActor, uow: Uow, settings: AppSettings
) -> imports.ImportPreview:
    """What the first rows would come to with this mapping; nothing is written."""
    return imports.preview_import(uow, actor, settings.data_dir, import_id, data)


@router.post(
    "/imports/{import_id}/start",
    response_model=imports.ImportRunOut,
    status_code=status.HTTP_202_ACCEPTED,
    tags=["imports"],
)
def start_import(
    import_id: ImportId, data: imports.ImportStart, actor: CurrentActor, uow: Uow
) -> imports.ImportRunOut:
    """Run the import with this mapping; follow it with ``GET /imports/{id}``."""
    return imports.start_import(uow, actor, import_id, data)


@router.post(
    "/imports/{import_id}/undo",
    response_model=imports.ImportRunOut,
    status_code=status.HTTP_202_ACCEPTED,
    tags=["imports"],
)
def undo_import(import_id: ImportId, actor: CurrentActor, uow: Uow) -> imports.ImportRunOut:
    """Delete what the import created and restore what it updated, except records changed since."""
    return imports.undo_import(uow, actor, import_id)


@router.get(
    "/imports/{import_id}/report",
    response_class=StreamingResponse,
    responses=_FILE_RESPONSES,
    tags=["imports"],
)
def import_report(
    import_id: ImportId, actor: CurrentActor, uow: Uow, export_format: Format = ExportFormat.CSV
) -> StreamingResponse:
    """Every rejected row with its original values and reasons (in your language), and every row
    that landed with a warning."""
    return send_download(
        imports.import_report(uow, actor, import_id, translator(actor.locale), export_format)
    )


@router.get(
    "/accounts/export", response_class=StreamingResponse, responses=_FILE_RESPONSES, tags=["accounts"]
)
def export_accounts(
    actor: CurrentActor,
    uow: Uow,
    query: Listing,
    export_format: Format = ExportFormat.CSV,
    columns: Columns = None,
) -> StreamingResponse:
    """The accounts the list would show for these parameters, as a file; fields above your
    clearance are empty and their header says so."""
    download = exports.export_records(
        uow, actor, RecordKind.ACCOUNT, query, export_format, translator(actor.locale), columns=columns
    )
    return send_download(download)


@router.get(
    "/contacts/export", response_class=StreamingResponse, responses=_FILE_RESPONSES, tags=["contacts"]
)
def export_contacts(
    actor: CurrentActor,
    uow: Uow,
    query: Listing,
    export_format: Format = ExportFormat.CSV,
    columns: Columns = None,
) -> StreamingResponse:
    """The contacts the list would show for these parameters, as a file; fields above your
    clearance are empty and their header says so."""
    download = exports.export_records(
        uow, actor, RecordKind.CONTACT, query, export_format, translator(actor.locale), columns=columns
    )
    return send_download(download)
