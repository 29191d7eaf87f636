"""Admin pages of the customers module: the custom fields of accounts and contacts, and tags.

Custom fields: a list per kind of record, a form to create one (with an options editor for the
select kinds), a form to change one (its key and kind are fixed once created: stored values and
saved filters depend on them), archive and reactivate. Tags: a list with colour swatches and how
many records carry each, create, rename and recolour, delete.

The options editor needs no script: "add another option" and "remove" are submit buttons of the
same form, which comes back with one row more or one less and everything typed kept.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import ValidationError
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

from loopcrm.modules.customers import service as customers
from loopcrm.modules.customers.models import CustomFieldKind, RecordKind
from loopcrm.modules.customers.schemas import (
    CustomFieldCreate,
    CustomFieldOut,
    CustomFieldUpdate,
    TagCreate,
    TagOut,
    TagUpdate,
)
from loopcrm.platform.errors import NotFound, StaleVersion, ValidationFailed
from loopcrm.platform.i18n import CLEARANCE_NAMES, N_
from loopcrm.platform.permissions import Action, require
from loopcrm.platform.web.forms import FormState
from loopcrm.platform.web.navigation import AdminPage, register_admin_page
from loopcrm.platform.web.pages import Form, Viewer, WebPage, redirect, render, web_router

router = web_router()

CUSTOM_FIELDS_PATH = "/customers/admin/custom-fields"
TAGS_PATH = "/customers/admin/tags"

# Everyone reads custom fields and tags (forms and filters need them); the admin pages are for
# those who may change them.
register_admin_page(
    AdminPage(
        N_("Custom fields"), CUSTOM_FIELDS_PATH, customers.CUSTOM_FIELD.key, "puzzle", action=Action.UPDATE
    )
)
register_admin_page(AdminPage(N_("Tags"), TAGS_PATH, customers.TAG.key, "tag", action=Action.UPDATE))

RECORD_KIND_NAMES = {RecordKind.ACCOUNT.value: N_("Accounts"), RecordKind.CONTACT.value: N_("Contacts")}
RECORD_KIND_HEADINGS = {
    RecordKind.ACCOUNT.value: N_("Fields of accounts"),
    RecordKind.CONTACT.value: N_("Fields of contacts"),
}
CUSTOM_FIELD_KIND_NAMES = {
    CustomFieldKind.TEXT.value: N_("Text"),
    CustomFieldKind.LONG_TEXT.value: N_("Long text"),
    CustomFieldKind.NUMBER.value: N_("Number"),
    CustomFieldKind.MONEY.value: N_("Amount of money"),
    CustomFieldKind.DATE.value: N_("Date"),
    CustomFieldKind.SELECT.value: N_("Single choice"),
    CustomFieldKind.MULTI_SELECT.value: N_("Multiple choice"),
    CustomFieldKind.BOOLEAN.value: N_("Yes or no"),
    CustomFieldKind.USER.value: N_("User"),
    CustomFieldKind.URL.value: N_("Web address"),
}
SELECT_KINDS = frozenset({CustomFieldKind.SELECT.value, CustomFieldKind.MULTI_SELECT.value})

FIELD_INPUTS = (
    "record_kind",
    "key",
    "label",
    "label_en",
    "kind",
    "security_level",
    "is_required",
    "position",
    "help_text",
    "options",
)
OPTION_PARTS = ("value", "label", "label_en")
# The schema takes 200 options; a few rows more than that may be on the page while editing.
MAX_OPTION_ROWS = 210
_OPTION_INPUT = re.compile(r"^options\.(\d{1,4})\.(value|label|label_en)$")

TAG_INPUTS = ("name", "colour", "description")
DEFAULT_TAG_COLOUR = "#4b6bfb"


def _version(state: FormState, fallback: int) -> int:
    try:
        return int(state.value("version"))
    except ValueError:
        return fallback


# ---------------------------------------------------------------- the options editor


def option_input(index: int, part: str) -> str:
    """The name of one input of the options editor; the same path pydantic names in its errors."""
    return f"options.{index}.{part}"


def _submitted_options(form: FormData) -> list[dict[str, str]]:
    """The option rows as submitted, in their order on the page."""
    rows: dict[int, dict[str, str]] = {}
    for name, value in form.multi_items():
        found = _OPTION_INPUT.match(name)
        if found and isinstance(value, str) and int(found.group(1)) < MAX_OPTION_ROWS:
            rows.setdefault(int(found.group(1)), {})[found.group(2)] = value
    return [rows[index] for index in sorted(rows)]


def _is_blank(row: dict[str, str]) -> bool:
    return not any(row.get(part, "").strip() for part in OPTION_PARTS)


def _field_state(form: FormData, rows: list[dict[str, str]]) -> FormState:
    """The form as submitted, its option rows numbered 0… in the order given."""
    state = FormState.submitted(form, ())
    values = {name: value for name, value in state.values.items() if not _OPTION_INPUT.match(name)}
    for index, row in enumerate(rows):
        for part in OPTION_PARTS:
            values[option_input(index, part)] = [row.get(part, "")]
    return _with_rows(FormState(values=values), len(rows))


def _with_rows(state: FormState, row_count: int) -> FormState:
    names = [option_input(index, part) for index in range(row_count) for part in OPTION_PARTS]
    state.fields = frozenset((*FIELD_INPUTS, *names))
    return state


def _row_count(state: FormState) -> int:
    indices = [int(found.group(1)) for name in state.values if (found := _OPTION_INPUT.match(name))]
    return max(indices) + 1 if indices else 0


def _edited_rows(form: FormData, rows: list[dict[str, str]]) -> list[dict[str, str]] | None:
    """The rows after an "add another option" or "remove" button, or ``None`` for a save."""
    if form.get("add_option"):
        return [*rows, {}][:MAX_OPTION_ROWS]
    removed = form.get("remove_option")
    if isinstance(removed, str) and removed.isdigit():
        kept = [row for index, row in enumerate(rows) if index != int(removed)]
        return kept or [{}]
    return None


def _options_input(rows: list[dict[str, str]]) -> list[dict[str, str | None]]:
    return [
        {
            "value": row.get("value", "").strip(),
            "label": row.get("label", "").strip(),
            "label_en": row.get("label_en", "").strip() or None,
        }
        for row in rows
    ]


# ---------------------------------------------------------------- custom fields


def _require_field_admin(page: WebPage) -> None:
    require(page.actor, customers.CUSTOM_FIELD.key, Action.UPDATE)


def _field_label(page: WebPage, field: CustomFieldOut) -> str:
    """The field's name in the reader's language (the English label only for English readers)."""
    if page.locale == "en" and field.label_en:
        return field.label_en
    return field.label


@router.get(CUSTOM_FIELDS_PATH)
def list_custom_fields(request: Request, page: Viewer) -> Response:
    _require_field_admin(page)
    every_field = customers.list_custom_fields(page.uow(), page.actor)
    sections = [
        {
            "record_kind": record_kind.value,
            "heading": page.gettext(RECORD_KIND_HEADINGS[record_kind.value]),
            "fields": [field for field in every_field if field.record_kind is record_kind],
        }
        for record_kind in RecordKind
    ]
    return render(
        request,
        "customers/admin/custom_fields/list.html",
        {
            "sections": sections,
            "kind_names": CUSTOM_FIELD_KIND_NAMES,
            "level_names": CLEARANCE_NAMES,
            "may_create": page.actor.can(customers.CUSTOM_FIELD.key, Action.CREATE),
        },
    )


def _field_form(
    request: Request, page: WebPage, form: FormState, field: CustomFieldOut | None, status_code: int = 200
) -> Response:
    kind = field.kind.value if field else form.value("kind")
    return render(
        request,
        "customers/admin/custom_fields/form.html",
        {
            "form": form,
            "field": field,
            "field_label": _field_label(page, field) if field else "",
            "row_count": _row_count(form),
            "option_input": option_input,
            "has_options": field is None or kind in SELECT_KINDS,
            "record_kind_choices": page.translator.choices(RECORD_KIND_NAMES),
            "kind_choices": page.translator.choices(CUSTOM_FIELD_KIND_NAMES),
            "level_choices": page.translator.choices(CLEARANCE_NAMES),
            "record_kind_name": page.gettext(RECORD_KIND_NAMES[field.record_kind.value]) if field else "",
            "kind_name": page.gettext(CUSTOM_FIELD_KIND_NAMES[field.kind.value]) if field else "",
        },
        status_code=status_code,
    )


@router.get(CUSTOM_FIELDS_PATH + "/new")
def new_custom_field(request: Request, page: Viewer) -> Response:
    require(page.actor, customers.CUSTOM_FIELD.key, Action.CREATE)
    record_kind = request.query_params.get("record_kind", RecordKind.CONTACT.value)
    values = {
        "record_kind": record_kind if record_kind in RECORD_KIND_NAMES else RecordKind.CONTACT.value,
        "kind": CustomFieldKind.TEXT.value,
        "security_level": "public",
        "position": 0,
    }
    state = FormState.initial(values, ())
    for part in OPTION_PARTS:
        state.values[option_input(0, part)] = []
    return _field_form(request, page, _with_rows(state, 1), None)


@router.post(CUSTOM_FIELDS_PATH)
def create_custom_field(request: Request, page: Viewer, form: Form) -> Response:
    require(page.actor, customers.CUSTOM_FIELD.key, Action.CREATE)
    rows = _submitted_options(form)
    edited = _edited_rows(form, rows)
    if edited is not None:
        return _field_form(request, page, _field_state(form, edited), None)
    rows = [row for row in rows if not _is_blank(row)]
    state = _field_state(form, rows or [{}])
    try:
        data = CustomFieldCreate.model_validate(
            {
                "record_kind": state.text("record_kind"),
                "key": state.text("key"),
                "label": state.text("label"),
                "label_en": state.optional("label_en"),
                "kind": state.text("kind"),
                "options": _options_input(rows),
                "security_level": state.text("security_level"),
                "is_required": state.checked("is_required"),
                "position": state.text("position") or 0,
                "help_text": state.optional("help_text"),
            }
        )
        created = customers.create_custom_field(page.uow(), page.actor, data)
    except (ValidationError, ValidationFailed) as error:
        state.add_refusal(error, page.translator)
        return _field_form(request, page, state, None, status_code=422)
    page.flash(N_("The field {name} has been created."), name=_field_label(page, created))
    return redirect(request, CUSTOM_FIELDS_PATH)


def _initial_field(field: CustomFieldOut) -> FormState:
    values: dict[str, Any] = {
        "label": field.label,
        "label_en": field.label_en,
        "security_level": field.security_level,
        "is_required": field.is_required,
        "position": field.position,
        "help_text": field.help_text,
        "version": field.version,
    }
    rows = [option.model_dump() for option in field.options]
    if field.kind.value in SELECT_KINDS:
        rows.append({})  # an empty row to type a new option into
    for index, row in enumerate(rows):
        for part in OPTION_PARTS:
            values[option_input(index, part)] = row.get(part)
    return _with_rows(FormState.initial(values, ()), len(rows))


@router.get(CUSTOM_FIELDS_PATH + "/{field_id}")
def edit_custom_field(request: Request, page: Viewer, field_id: str) -> Response:
    _require_field_admin(page)
    field = customers.get_custom_field(page.uow(), page.actor, field_id)
    return _field_form(request, page, _initial_field(field), field)


@router.post(CUSTOM_FIELDS_PATH + "/{field_id}")
def update_custom_field(request: Request, page: Viewer, field_id: str, form: Form) -> Response:
    _require_field_admin(page)
    field = customers.get_custom_field(page.uow(), page.actor, field_id)
    rows = _submitted_options(form)
    edited = _edited_rows(form, rows)
    if edited is not None:
        return _field_form(request, page, _field_state(form, edited), field)
    has_options = field.kind.value in SELECT_KINDS
    rows = [row for row in rows if not _is_blank(row)]
    state = _field_state(form, rows or ([{}] if has_options else []))
    try:
        data = CustomFieldUpdate.model_validate(
            {
                "label": state.text("label"),
                "label_en": state.optional("label_en"),
                "options": _options_input(rows) if has_options else None,
                "security_level": state.text("security_level"),
                "is_required": state.checked("is_required"),
                "position": state.text("position") or 0,
                "help_text": state.optional("help_text"),
            }
        )
        updated = customers.update_custom_field(
            page.uow(), page.actor, field_id, data, expected_version=_version(state, field.version)
        )
    except ValidationError as error:
        state.add_validation_error(error, page.translator)
        return _field_form(request, page, state, field, status_code=422)
    except (ValidationFailed, StaleVersion) as error:
        state.add_domain_error(error, page.translator)
        return _field_form(
            request, page, state, field, status_code=409 if isinstance(error, StaleVersion) else 422
        )
    page.flash(N_("The changes to {name} have been saved."), name=_field_label(page, updated))
    return redirect(request, CUSTOM_FIELDS_PATH)


def _set_active(
    request: Request, page: WebPage, field_id: str, form: FormData, *, is_active: bool
) -> Response:
    _require_field_admin(page)
    field = customers.get_custom_field(page.uow(), page.actor, field_id)
    state = FormState.submitted(form, ())
    try:
        customers.update_custom_field(
            page.uow(),
            page.actor,
            field_id,
            CustomFieldUpdate(is_active=is_active),
            expected_version=_version(state, field.version),
        )
    except StaleVersion:
        page.flash(
            N_("Someone else changed {name} meanwhile; look at it again."), name=_field_label(page, field)
        )
        return redirect(request, f"{CUSTOM_FIELDS_PATH}/{field_id}")
    if is_active:
        page.flash(N_("The field {name} is in use again."), name=_field_label(page, field))
    else:
        page.flash(N_("The field {name} has been archived."), name=_field_label(page, field))
    return redirect(request, CUSTOM_FIELDS_PATH)


@router.post(CUSTOM_FIELDS_PATH + "/{field_id}/archive")
def archive_custom_field(request: Request, page: Viewer, field_id: str, form: Form) -> Response:
    return _set_active(request, page, field_id, form, is_active=False)


@router.post(CUSTOM_FIELDS_PATH + "/{field_id}/reactivate")
def reactivate_custom_field(request: Request, page: Viewer, field_id: str, form: Form) -> Response:
    return _set_active(request, page, field_id, form, is_active=True)


# ---------------------------------------------------------------- tags


def _require_tag_admin(page: WebPage) -> None:
    require(page.actor, customers.TAG.key, Action.UPDATE)


def _tags_page(request: Request, page: WebPage, form: FormState, status_code: int = 200) -> Response:
    tags = customers.list_tags(page.uow(), page.actor)
    usage = customers.tag_usage(page.uow(), page.actor)
    return render(
        request,
        "customers/admin/tags/list.html",
        {
            "form": form,
            "tags": [{"tag": tag, "usage": usage.get(tag.id, {"account": 0, "contact": 0})} for tag in tags],
            "may_create": page.actor.can(customers.TAG.key, Action.CREATE),
        },
        status_code=status_code,
    )


@router.get(TAGS_PATH)
def list_tags(request: Request, page: Viewer) -> Response:
    _require_tag_admin(page)
    return _tags_page(request, page, FormState.initial({"colour": DEFAULT_TAG_COLOUR}, TAG_INPUTS))


@router.post(TAGS_PATH)
def create_tag(request: Request, page: Viewer, form: Form) -> Response:
    _require_tag_admin(page)
    state = FormState.submitted(form, TAG_INPUTS)
    try:
        data = TagCreate(
            name=state.text("name"),
            colour=state.text("colour") or DEFAULT_TAG_COLOUR,
            description=state.optional("description"),
        )
        created = customers.create_tag(page.uow(), page.actor, data)
    except (ValidationError, ValidationFailed) as error:
        state.add_refusal(error, page.translator)
        return _tags_page(request, page, state, status_code=422)
    page.flash(N_("The tag {name} has been created."), name=created.name)
    return redirect(request, TAGS_PATH)


def _tag(page: WebPage, tag_id: str) -> TagOut:
    """One tag; tags are few, so the list is the lookup."""
    for tag in customers.list_tags(page.uow(), page.actor):
        if tag.id == tag_id:
            return tag
    raise NotFound("Tag not found")


def _tag_form(
    request: Request, page: WebPage, form: FormState, tag: TagOut, status_code: int = 200
) -> Response:
    usage = customers.tag_usage(page.uow(), page.actor).get(tag.id, {"account": 0, "contact": 0})
    return render(
        request,
        "customers/admin/tags/form.html",
        {
            "form": form,
            "tag": tag,
            "usage": usage,
            "record_count": usage["account"] + usage["contact"],
            "may_delete": page.actor.can(customers.TAG.key, Action.DELETE),
        },
        status_code=status_code,
    )


@router.get(TAGS_PATH + "/{tag_id}")
def edit_tag(request: Request, page: Viewer, tag_id: str) -> Response:
    _require_tag_admin(page)
    tag = _tag(page, tag_id)
    state = FormState.initial(
        tag.model_dump(include={"name", "colour", "description", "version"}), TAG_INPUTS
    )
    return _tag_form(request, page, state, tag)


@router.post(TAGS_PATH + "/{tag_id}")
def update_tag(request: Request, page: Viewer, tag_id: str, form: Form) -> Response:
    _require_tag_admin(page)
    tag = _tag(page, tag_id)
    state = FormState.submitted(form, TAG_INPUTS)
    try:
        data = TagUpdate(
            name=state.text("name"),
            colour=state.text("colour") or tag.colour,
            description=state.optional("description"),
        )
        updated = customers.update_tag(
            page.uow(), page.actor, tag_id, data, expected_version=_version(state, tag.version)
        )
    except ValidationError as error:
        state.add_validation_error(error, page.translator)
        return _tag_form(request, page, state, tag, status_code=422)
    except (ValidationFailed, StaleVersion) as error:
        state.add_domain_error(error, page.translator)
        return _tag_form(
            request, page, state, tag, status_code=409 if isinstance(error, StaleVersion) else 422
        )
    page.flash(N_("The changes to {name} have been saved."), name=updated.name)
    return redirect(request, TAGS_PATH)


@router.post(TAGS_PATH + "/{tag_id}/delete")
def delete_tag(request: Request, page: Viewer, tag_id: str) -> Response:
    tag = _tag(page, tag_id)
    customers.delete_tag(page.uow(), page.actor, tag_id)
    page.flash(N_("The tag {name} has been deleted."), name=tag.name)
    return redirect(request, TAGS_PATH)
