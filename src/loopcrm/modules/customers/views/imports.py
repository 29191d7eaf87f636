"""Pages of imports and the list exports.

``/customers/imports`` lists the reader's imports and takes a new file; an import's page shows,
by its status, the column mapping with a preview (htmx swaps the preview in; without script the
page comes back with it), the progress bar while a worker lands the rows (htmx polls a fragment
once a second; without script the page refreshes itself), or the counts with the report
download and the undo button. The account and contact lists link to
``/customers/{accounts|contacts}/export`` with their own query.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import Response

from loopcrm.modules.customers.downloads import send_download
from loopcrm.modules.customers.models import ImportStatus, RecordKind, UpsertKey
from loopcrm.modules.customers.schemas import ListQuery
from loopcrm.modules.customers.service import exports, imports
from loopcrm.modules.customers.service.exports import ExportFormat
from loopcrm.modules.customers.service.imports.fields import IGNORE, UPSERT_KEY_NAMES
from loopcrm.platform.errors import Conflict, DomainError, ValidationFailed
from loopcrm.platform.i18n import N_
from loopcrm.platform.permissions import Action
from loopcrm.platform.web.flash import FlashLevel
from loopcrm.platform.web.forms import FormState
from loopcrm.platform.web.pages import Form, Viewer, WebPage, is_htmx, redirect, render, web_router

router = web_router()

IMPORTS_PATH = "/customers/imports"
PAGE_SIZE = 30
STATUS_NAMES = {
    ImportStatus.UPLOADED.value: N_("Waiting for a mapping"),
    ImportStatus.QUEUED.value: N_("Queued"),
    ImportStatus.RUNNING.value: N_("Running"),
    ImportStatus.COMPLETED.value: N_("Completed"),
    ImportStatus.FAILED.value: N_("Failed"),
    ImportStatus.UNDOING.value: N_("Undoing"),
    ImportStatus.UNDONE.value: N_("Undone"),
}
STATUS_BADGES = {
    ImportStatus.COMPLETED.value: "success",
    ImportStatus.FAILED.value: "danger",
    ImportStatus.RUNNING.value: "info",
    ImportStatus.QUEUED.value: "info",
    ImportStatus.UNDOING.value: "info",
    ImportStatus.UNDONE.value: "muted",
}
KIND_NAMES = {RecordKind.ACCOUNT.value: N_("Accounts"), RecordKind.CONTACT.value: N_("Contacts")}


def _run_path(run_id: str) -> str:
    return f"{IMPORTS_PATH}/{run_id}"


def _common(page: WebPage) -> dict[str, Any]:
    return {
        "message_text": lambda message, params: imports.message_text(page.translator, message, params),
        "status_names": STATUS_NAMES,
        "status_badges": STATUS_BADGES,
        "kind_names": KIND_NAMES,
        "imports_path": IMPORTS_PATH,
        "message": lambda note: imports.message_text(page.translator, note.message_id, note.params),
        "outcome_names": imports.OUTCOME_NAMES,
    }


# ---------------------------------------------------------------- the list and the upload


def _list_page(request: Request, page: WebPage, form: FormState, *, status_code: int = 200) -> Response:
    cursor = request.query_params.get("cursor") or None
    try:
        found = imports.list_imports(page.uow(), page.actor, limit=PAGE_SIZE, cursor=cursor)
    except ValidationFailed:
        found = imports.list_imports(page.uow(), page.actor, limit=PAGE_SIZE, cursor=None)
    actor = page.actor
    kinds = [
        (kind.value, page.gettext(KIND_NAMES[kind.value]))
        for kind in RecordKind
        if actor.can(imports.IMPORT.key, Action.CREATE) and actor.can(kind.value, Action.CREATE)
    ]
    return render(
        request,
        "customers/imports/list.html",
        {
            **_common(page),
            "runs": found.items,
            "next_cursor": found.next_cursor,
            "is_first_page": cursor is None,
            "form": form,
            "kinds": kinds,
            "max_megabytes": imports.MAX_UPLOAD_BYTES // (1024 * 1024),
        },
        status_code=status_code,
    )


@router.get(IMPORTS_PATH)
def list_imports(request: Request, page: Viewer) -> Response:
    form = FormState.initial(
        {"record_kind": request.query_params.get("kind", "contact")}, ["record_kind", "file"]
    )
    return _list_page(request, page, form)


@router.post(IMPORTS_PATH)
async def upload_import(request: Request, page: Viewer, submitted: Form) -> Response:
    form = FormState.submitted(submitted, ["record_kind", "file"])
    upload = submitted.get("file")
    kind = form.value("record_kind")
    if kind not in KIND_NAMES:
        form.add_error("record_kind", page.gettext(N_("Choose what the file holds")))
    if not isinstance(upload, UploadFile) or not upload.filename:
        form.add_error("file", page.gettext(N_("Choose a CSV or Excel file")))
    if form.has_errors or not isinstance(upload, UploadFile):
        return _list_page(request, page, form, status_code=422)
    try:
        run = await _upload(page, RecordKind(kind), upload)
    except DomainError as error:
        form.add_domain_error(error, page.translator)
        return _list_page(
            request, page, form, status_code=422 if isinstance(error, ValidationFailed) else 403
        )
    return redirect(request, _run_path(run.id))


async def _upload(page: WebPage, kind: RecordKind, upload: UploadFile) -> imports.ImportRunOut:
    return await run_in_threadpool(
        imports.upload_import,
        page.uow(),
        page.actor,
        page.settings.data_dir,
        kind,
        upload.filename or "",
        upload.file,
    )


# ---------------------------------------------------------------- one import


def _target_choices(page: WebPage, setup: imports.ImportSetup) -> list[tuple[str, list[tuple[str, str]]]]:
    standard = [(target.key, page.gettext(target.label)) for target in setup.targets if not target.is_custom]
    custom = [
        (target.key, (target.label_en if page.locale == "en" and target.label_en else target.label))
        for target in setup.targets
        if target.is_custom
    ]
    groups = [(page.gettext(N_("Fields")), standard)]
    if custom:
        groups.append((page.gettext(N_("Custom fields")), custom))
    return groups


def _mapping_form(setup: imports.ImportSetup) -> FormState:
    run = setup.run
    values: dict[str, Any] = {f"column_{index}": target for index, target in enumerate(run.mapping)}
    values["upsert_key"] = run.upsert_key.value
    values["remember"] = True
    return FormState.initial(values, _form_fields(run))


def _form_fields(run: imports.ImportRunOut) -> list[str]:
    return [*(f"column_{index}" for index in range(len(run.headers))), "upsert_key", "remember", "mapping"]


def _start_input(run: imports.ImportRunOut, form: FormState) -> imports.ImportStart:
    return imports.ImportStart.model_validate(
        {
            "mapping": [form.value(f"column_{index}", IGNORE) for index in range(len(run.headers))],
            "upsert_key": form.value("upsert_key", UpsertKey.NONE.value),
            "remember": form.checked("remember"),
        }
    )


def _field_errors(form: FormState, error: ValidationError | DomainError, page: WebPage) -> None:
    """Refusals of a mapping, with ``mapping.3`` shown at the fourth column's select and field
    names in the reader's language."""
    if isinstance(error, ValidationFailed):
        for item in error.errors:
            path = (
                item.field.replace("mapping.", "column_") if item.field.startswith("mapping.") else item.field
            )
            form.add_error(path, imports.message_text(page.translator, item.message, item.params))
        return
    form.add_refusal(error, page.translator)


def _run_page(
    request: Request,
    page: WebPage,
    run_id: str,
    *,
    form: FormState | None = None,
    preview: imports.ImportPreview | None = None,
    status_code: int = 200,
) -> Response:
    setup = imports.import_setup(page.uow(), page.actor, page.settings.data_dir, run_id)
    run = setup.run
    return render(
        request,
        "customers/imports/detail.html",
        {
            **_common(page),
            "run": run,
            "setup": setup,
            "form": form or _mapping_form(setup),
            "target_groups": _target_choices(page, setup),
            "upsert_choices": [
                (key.value, page.gettext(UPSERT_KEY_NAMES[key.value])) for key in setup.upsert_keys
            ],
            "columns": [
                {
                    "index": index,
                    "header": header,
                    "samples": [row[index] for row in setup.sample_rows if index < len(row)],
                }
                for index, header in enumerate(run.headers)
            ],
            "preview": preview,
            "may_update": page.actor.can(imports.IMPORT.key, Action.UPDATE),
            "is_fragment": False,
        },
        status_code=status_code,
    )


@router.get(IMPORTS_PATH + "/{run_id}")
def show_import(request: Request, page: Viewer, run_id: str) -> Response:
    return _run_page(request, page, run_id)


@router.get(IMPORTS_PATH + "/{run_id}/progress")
def import_progress(request: Request, page: Viewer, run_id: str) -> Response:
    """The progress fragment htmx polls while the import or its undo runs."""
    run = imports.get_import(page.uow(), page.actor, run_id)
    return render(
        request,
        "customers/imports/_progress.html",
        {
            **_common(page),
            "run": run,
            "may_update": page.actor.can(imports.IMPORT.key, Action.UPDATE),
            "is_fragment": True,
        },
    )


@router.post(IMPORTS_PATH + "/{run_id}/preview")
def preview_import(request: Request, page: Viewer, run_id: str, submitted: Form) -> Response:
    run = imports.get_import(page.uow(), page.actor, run_id)
    form = FormState.submitted(submitted, _form_fields(run))
    preview = None
    try:
        preview = imports.preview_import(
            page.uow(), page.actor, page.settings.data_dir, run_id, _start_input(run, form)
        )
    except (ValidationError, ValidationFailed) as error:
        _field_errors(form, error, page)
    if is_htmx(request):
        return render(
            request,
            "customers/imports/_preview.html",
            {**_common(page), "run": run, "preview": preview, "form": form},
            status_code=200,
        )
    return _run_page(
        request, page, run_id, form=form, preview=preview, status_code=422 if form.has_errors else 200
    )


@router.post(IMPORTS_PATH + "/{run_id}/start")
def start_import(request: Request, page: Viewer, run_id: str, submitted: Form) -> Response:
    run = imports.get_import(page.uow(), page.actor, run_id)
    form = FormState.submitted(submitted, _form_fields(run))
    try:
        imports.start_import(page.uow(), page.actor, run_id, _start_input(run, form))
    except Conflict as error:
        page.flash(error.message, FlashLevel.ERROR, **error.params)
        return redirect(request, _run_path(run_id))
    except (ValidationError, ValidationFailed) as error:
        _field_errors(form, error, page)
        return _run_page(request, page, run_id, form=form, status_code=422)
    page.flash(N_("The import has started; this page follows its progress."))
    return redirect(request, _run_path(run_id))


@router.post(IMPORTS_PATH + "/{run_id}/undo")
def undo_import(request: Request, page: Viewer, run_id: str) -> Response:
    try:
        imports.undo_import(page.uow(), page.actor, run_id)
    except Conflict as error:
        params = dict(error.params)
        if "status" in params:
            params["status"] = page.gettext(STATUS_NAMES.get(str(params["status"]), str(params["status"])))
        page.flash(error.message, FlashLevel.ERROR, **params)
    else:
        page.flash(N_("The import is being undone."))
    return redirect(request, _run_path(run_id))


def _format(request: Request) -> ExportFormat:
    return (
        ExportFormat.XLSX
        if request.query_params.get("format") == ExportFormat.XLSX.value
        else ExportFormat.CSV
    )


@router.get(IMPORTS_PATH + "/{run_id}/report")
def import_report(request: Request, page: Viewer, run_id: str) -> Response:
    return send_download(
        imports.import_report(page.uow(), page.actor, run_id, page.translator, _format(request))
    )


# ---------------------------------------------------------------- list exports


def _export(request: Request, page: WebPage, kind: RecordKind) -> Response:
    params = request.query_params
    try:
        query = ListQuery(
            q=params.get("q") or None,
            filters=[value for value in params.getlist("filter") if value],
            sort=params.get("sort") or None,
            view_id=params.get("view_id") or None,
            include_deleted=params.get("deleted") == "1",
        )
        download = exports.export_records(
            page.uow(),
            page.actor,
            kind,
            query,
            _format(request),
            page.translator,
            columns=params.getlist("column") or None,
        )
    except (ValidationError, ValidationFailed) as error:
        form = FormState()
        form.add_refusal(error, page.translator)
        page.flash(
            N_("The list cannot be exported: {reason}"), FlashLevel.ERROR, reason="; ".join(form.messages)
        )
        return redirect(request, f"/customers/{'accounts' if kind is RecordKind.ACCOUNT else 'contacts'}")
    return send_download(download)


@router.get("/customers/accounts/export")
def export_accounts(request: Request, page: Viewer) -> Response:
    return _export(request, page, RecordKind.ACCOUNT)


@router.get("/customers/contacts/export")
def export_contacts(request: Request, page: Viewer) -> Response:
    return _export(request, page, RecordKind.CONTACT)
