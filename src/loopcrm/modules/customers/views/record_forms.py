"""The create and edit forms of accounts and contacts: from a record to form values, from a
submitted form to the service's input, and refusals back under the inputs they concern; and the
routes that show and take them (new, create, edit, save, delete, restore), one implementation
for both kinds over :class:`RecordEditing`.

Repeated groups (phones, emails, where a contact works) are rows named ``<group>.<n>.<column>``,
the same dotted paths the schemas report errors at (``phones.0.number``). Blank rows are
dropped and the rest renumbered as soon as a form is submitted, so row *n* on the page is item
*n* of the input and an error lands on the row that caused it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar
from uuid import UUID

from fastapi import APIRouter
from pydantic import BaseModel, ValidationError
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

from loopcrm.modules.customers.schemas import AccountOut, ContactOut
from loopcrm.modules.customers.views.duplicate_notice import duplicates_query
from loopcrm.modules.customers.views.record_pages import (
    CustomFieldView,
    RecordKindPages,
    choices,
    custom_field_views,
    readable_phone,
)
from loopcrm.platform.errors import DomainError, StaleVersion, ValidationFailed
from loopcrm.platform.i18n import N_, Translator
from loopcrm.platform.permissions import Action, Actor, require
from loopcrm.platform.unit_of_work import UnitOfWork
from loopcrm.platform.web.flash import FlashLevel
from loopcrm.platform.web.forms import FormState, pydantic_message
from loopcrm.platform.web.pages import Form, Viewer, WebPage, redirect, render

RecordT = TypeVar("RecordT", AccountOut, ContactOut)

# Rows of a repeated group a form accepts; the schemas allow 10 phones, 10 emails, 20 jobs.
MAX_ROWS = 20

# The inputs every record has, whatever its kind: where it is, where it came from, who owns it.
SHARED_INPUTS = (
    "province",
    "city",
    "address",
    "source",
    "owner_id",
    "team_id",
    "external_id",
    "description",
)
ACCOUNT_INPUTS = (
    "name",
    "name_en",
    "credit_code",
    "industry",
    "operating_status",
    "employee_count",
    "annual_revenue",
    "legal_representative",
    "website",
    "parent_id",
    *SHARED_INPUTS,
    "tag_ids",
)
CONTACT_INPUTS = (
    "family_name",
    "given_name",
    "gender",
    "title",
    "department",
    "wechat_id",
    "birthday",
    *SHARED_INPUTS,
    "email_opt_in",
    "sms_opt_in",
    "wechat_opt_in",
    "tag_ids",
)
# Group → (its columns, the column that makes a row count, the radio naming the primary row).
GROUPS: dict[str, tuple[tuple[str, ...], str, str]] = {
    "phones": (("number", "label"), "number", "phones_primary"),
    "emails": (("address", "label"), "address", "emails_primary"),
    "employments": (("account_id", "title", "started_on", "ended_on"), "account_id", "employments_primary"),
}
_ROW_NAME = re.compile(r"^(phones|emails|employments)\.(\d{1,3})\.([a-z_]+)$")


@dataclass
class Rows:
    """How many rows of each group a form shows: the filled ones and one blank row to add another."""

    phones: int = 1
    emails: int = 1
    employments: int = 1

    @classmethod
    def around(cls, filled: Mapping[str, int], add: str = "") -> Rows:
        """Room for every filled row, one blank, and a second blank in the group the reader asked."""
        counts = {group: filled.get(group, 0) + 1 + (1 if add == group else 0) for group in GROUPS}
        return cls(**{group: min(count, MAX_ROWS) for group, count in counts.items()})

    def inputs(self, groups: Iterable[str]) -> list[str]:
        names = []
        for group in groups:
            columns = GROUPS[group][0]
            names += [
                f"{group}.{index}.{column}" for index in range(getattr(self, group)) for column in columns
            ]
        return names


def form_fields(
    base: Sequence[str], rows: Rows, groups: Iterable[str], custom: Sequence[CustomFieldView]
) -> frozenset[str]:
    """Every input name of a form, so each error finds its input."""
    return frozenset([*base, *rows.inputs(groups), *(field.name for field in custom), "version"])


def _compact(values: dict[str, list[str]], group: str) -> int:
    """Drop the blank rows of ``group`` and number the others 0, 1, 2… again; returns their count."""
    columns, required, primary_name = GROUPS[group]
    indices = sorted(
        {
            int(found.group(2))
            for name in values
            if (found := _ROW_NAME.match(name)) and found.group(1) == group
        }
    )
    old = {name: values.pop(name) for name in list(values) if name.startswith(group + ".")}
    primary = (values.pop(primary_name, None) or [""])[0]
    count = 0
    for index in indices[:MAX_ROWS]:
        if not "".join(old.get(f"{group}.{index}.{required}", [])).strip():
            continue
        for column in columns:
            values[f"{group}.{count}.{column}"] = old.get(f"{group}.{index}.{column}", [])
        if primary == str(index):
            values[primary_name] = [str(count)]
        count += 1
    return count


def submitted(
    form: FormData, base: Sequence[str], groups: Sequence[str], custom: Sequence[CustomFieldView]
) -> tuple[FormState, Rows]:
    """The submitted form with its groups compacted, and the rows to show it again."""
    state = FormState.submitted(form, [])
    filled = {group: _compact(state.values, group) for group in groups}
    rows = Rows.around(filled, str(form.get("add_row") or ""))
    state.fields = form_fields(base, rows, groups, custom)
    return state, rows


def preset_labels(state: FormState, rows: Rows, *, phone: str, email: str = "work") -> None:
    """Rows without a label offer the usual one: work numbers for companies, mobiles for people."""
    for group, count, label in (("phones", rows.phones, phone), ("emails", rows.emails, email)):
        for index in range(count):
            if not state.value(f"{group}.{index}.label"):
                state.values[f"{group}.{index}.label"] = [label]


def is_adding_a_row(form: FormData) -> bool:
    """The reader pressed "add a phone/email/job": show the form again with another blank row."""
    return str(form.get("add_row") or "") in GROUPS


# ---------------------------------------------------------------- form → input


def _points(state: FormState, group: str, count: int, default_label: str) -> list[dict[str, Any]]:
    value_column = GROUPS[group][1]
    primary = state.value(GROUPS[group][2])
    return [
        {
            value_column: state.text(f"{group}.{index}.{value_column}"),
            "label": state.text(f"{group}.{index}.label") or default_label,
            "is_primary": primary == str(index),
        }
        for index in range(count)
        if state.text(f"{group}.{index}.{value_column}")
    ]


def _employments(state: FormState, count: int) -> list[dict[str, Any]]:
    primary = state.value("employments_primary")
    return [
        {
            "account_id": state.text(f"employments.{index}.account_id"),
            "title": state.optional(f"employments.{index}.title"),
            "started_on": state.optional(f"employments.{index}.started_on"),
            "ended_on": state.optional(f"employments.{index}.ended_on"),
            "is_primary": primary == str(index),
        }
        for index in range(count)
        if state.text(f"employments.{index}.account_id")
    ]


def custom_values(
    state: FormState, custom: Sequence[CustomFieldView], masked: Iterable[str]
) -> dict[str, Any]:
    """Values of the active custom fields the reader may see; an empty value clears a field."""
    hidden = set(masked)
    values: dict[str, Any] = {}
    for field in custom:
        if not field.is_active or field.name in hidden:
            continue
        if field.kind == "multi_select":
            values[field.key] = state.values_of(field.name)
        elif field.kind == "boolean":
            values[field.key] = {"yes": True, "no": False}.get(state.text(field.name))
        else:
            values[field.key] = state.text(field.name) or None
    return values


def _common_input(
    state: FormState, rows: Rows, custom: Sequence[CustomFieldView], masked: Iterable[str]
) -> dict[str, Any]:
    hidden = set(masked)
    data: dict[str, Any] = {name: state.optional(name) for name in SHARED_INPUTS}
    data["phones"] = _points(state, "phones", rows.phones, "mobile")
    data["emails"] = _points(state, "emails", rows.emails, "work")
    data["tag_ids"] = state.values_of("tag_ids")
    data["custom_fields"] = custom_values(state, custom, hidden)
    return {name: value for name, value in data.items() if name not in hidden}


def account_input(
    state: FormState, rows: Rows, custom: Sequence[CustomFieldView], masked: Iterable[str] = ()
) -> dict[str, Any]:
    """What ``AccountCreate`` / ``AccountUpdate`` take from the form; fields hidden from the reader
    are left out, so an update keeps their stored values."""
    hidden = set(masked)
    data = _common_input(state, rows, custom, hidden)
    data.update(
        {
            name: state.optional(name)
            for name in (
                "name_en",
                "credit_code",
                "industry",
                "employee_count",
                "annual_revenue",
                "legal_representative",
                "website",
                "parent_id",
            )
        }
    )
    data["name"] = state.text("name")
    data["operating_status"] = state.text("operating_status") or "active"
    return {name: value for name, value in data.items() if name not in hidden}


def contact_input(
    state: FormState, rows: Rows, custom: Sequence[CustomFieldView], masked: Iterable[str] = ()
) -> dict[str, Any]:
    """What ``ContactCreate`` / ``ContactUpdate`` take from the form (hidden fields left out)."""
    hidden = set(masked)
    data = _common_input(state, rows, custom, hidden)
    data.update({name: state.optional(name) for name in ("title", "department", "wechat_id", "birthday")})
    data["family_name"] = state.text("family_name")
    data["given_name"] = state.text("given_name")
    data["gender"] = state.text("gender") or "unknown"
    data["employments"] = _employments(state, rows.employments)
    for consent in ("email_opt_in", "sms_opt_in", "wechat_opt_in"):
        data[consent] = state.checked(consent)
    return {name: value for name, value in data.items() if name not in hidden}


# ---------------------------------------------------------------- record → form


def _custom_initial(
    values: dict[str, Any], record_custom: Mapping[str, Any], custom: Sequence[CustomFieldView]
) -> None:
    kinds = {field.key: field.kind for field in custom}
    for key, value in record_custom.items():
        name = "custom_fields." + key
        if kinds.get(key) == "boolean":
            values[name] = "yes" if value else "no"
        elif isinstance(value, list):
            values[name] = [str(item) for item in value]
        elif value is not None:
            values[name] = str(value)


def _points_initial(values: dict[str, Any], record: AccountOut | ContactOut) -> dict[str, int]:
    filled = {}
    for group, points in (("phones", record.phones), ("emails", record.emails)):
        value_column = GROUPS[group][1]
        for index, point in enumerate(points or []):
            shown = readable_phone(point.value) if group == "phones" else point.value
            values[f"{group}.{index}.{value_column}"] = shown
            values[f"{group}.{index}.label"] = point.label.value
            if point.is_primary:
                values[GROUPS[group][2]] = str(index)
        filled[group] = len(points or [])
    return filled


def _employments_initial(values: dict[str, Any], contact: ContactOut) -> int:
    """The rows of where a contact works and worked; returns their count."""
    for index, job in enumerate(contact.employments):
        values[f"employments.{index}.account_id"] = job.account_id
        values[f"employments.{index}.title"] = job.title
        values[f"employments.{index}.started_on"] = job.started_on.isoformat() if job.started_on else None
        values[f"employments.{index}.ended_on"] = job.ended_on.isoformat() if job.ended_on else None
        if job.is_primary:
            values["employments_primary"] = str(index)
    return len(contact.employments)


def initial(
    record: AccountOut | ContactOut,
    base: Sequence[str],
    groups: Sequence[str],
    custom: Sequence[CustomFieldView],
) -> tuple[FormState, Rows]:
    """The edit form of a stored account or contact: its ``base`` inputs, its rows of ``groups``
    (a contact's employments as well as phones and emails) and its custom field values."""
    values: dict[str, Any] = record.model_dump(
        mode="json", include={name for name in base if name != "tag_ids"}
    )
    values["tag_ids"] = [tag.id for tag in record.tags]
    values["version"] = record.version
    filled = _points_initial(values, record)
    if isinstance(record, ContactOut):
        filled["employments"] = _employments_initial(values, record)
    _custom_initial(values, record.custom_fields, custom)
    rows = Rows.around(filled)
    return FormState.initial(values, form_fields(base, rows, groups, custom)), rows


def blank_form(
    base: Sequence[str], groups: Sequence[str], custom: Sequence[CustomFieldView], values: Mapping[str, Any]
) -> tuple[FormState, Rows]:
    """A new record's form with ``values`` preset (owner, status, an employer)."""
    filled = {group: 1 if f"{group}.0.{GROUPS[group][1]}" in values else 0 for group in groups}
    rows = Rows.around(filled)
    return FormState.initial(dict(values), form_fields(base, rows, groups, custom)), rows


# ---------------------------------------------------------------- refusals


def _value_error_message(location: tuple[str, ...], text: str) -> str | None:
    """Say what is wrong with an identifier in words a reader acts on; ``None``: the generic message."""
    last = location[-1] if location else ""
    if last == "credit_code":
        if "check character" in text or "check digit" in text:
            return N_("This credit code does not add up: check it for a typing error")
        return N_("Enter the 18-character unified social credit code")
    if location[:1] == ("phones",) and last == "number":
        return N_("Enter a valid phone number")
    if location[:1] == ("emails",) and last == "address":
        return N_("Enter a valid email address")
    if last == "website":
        return N_("Enter a web address")
    if len(location) == 2 and location[0] == "employments":
        return N_("The end date is before the start date")
    return None


def _where(location: tuple[str, ...], name_field: str) -> str:
    """The input an error is shown at: a record-level rule at the name, a job's dates at its end."""
    if location == ():
        return name_field
    if len(location) == 2 and location[0] == "employments":
        return f"employments.{location[1]}.ended_on"
    return ".".join(location)


def add_refusal(
    state: FormState, error: ValidationError | DomainError, translator: Translator, *, name_field: str
) -> None:
    """A refusal under the inputs it concerns, with the messages of this module's identifiers."""
    if not isinstance(error, ValidationError):
        state.add_refusal(error, translator)
        return
    for issue in error.errors(include_url=False):
        location = tuple(str(part) for part in issue.get("loc", ()))
        message = None
        if issue.get("type") == "value_error" and location == ():
            message = (
                N_("A contact needs a family name or a given name")
                if name_field == "family_name"
                else N_("This field is required")
            )
        elif issue.get("type") == "value_error":
            message = _value_error_message(location, str(issue.get("msg", "")))
        text = translator.gettext(message) if message else pydantic_message(issue, translator)
        state.add_error(_where(location, name_field), text)


# ---------------------------------------------------------------- the routes of the forms


@dataclass(frozen=True)
class RecordEditing(Generic[RecordT]):
    """What the form routes of accounts and contacts differ in: their form, their schemas and
    service calls, and what the reader is told. The routes themselves are the same for both
    kinds, so a fix to how a form is taken (a refusal, a stale version) reaches both at once."""

    pages: RecordKindPages
    template: str
    inputs: tuple[str, ...]
    groups: tuple[str, ...]  # the repeated groups of rows the form has
    name_field: str  # where a refusal of the record as a whole is shown
    phone_label: str  # the label a new phone row offers: work numbers for companies, mobiles for people
    form_input: Callable[[FormState, Rows, Sequence[CustomFieldView], Iterable[str]], dict[str, Any]]
    # the accounts the form's account pickers offer for a record (None on the create form)
    account_picks: Callable[[WebPage, RecordT | None], list[tuple[str, str]]]
    create_schema: type[BaseModel]
    update_schema: type[BaseModel]
    read: Callable[[UnitOfWork, Actor, str], RecordT]
    create: Callable[[UnitOfWork, Actor, Any], RecordT]
    update: Callable[..., RecordT]  # (uow, actor, record_id, data, *, expected_version)
    delete: Callable[..., None]  # (uow, actor, record_id, *, expected_version)
    restore: Callable[[UnitOfWork, Actor, str], RecordT]
    display_name: Callable[[RecordT], str]
    # Flash messages (msgids): created and restored take the record's {name}.
    created: str
    changed_meanwhile: str  # a delete refused because the record changed since the page was read
    deleted: str
    restored: str

    def form_page(
        self,
        request: Request,
        page: WebPage,
        form: FormState,
        rows: Rows,
        record: RecordT | None,
        *,
        status_code: int = 200,
    ) -> Response:
        """The create (``record`` None) or edit form; a record's current owner and team stay
        offered even when the reader's choices lack them, so saving the form keeps them."""
        preset_labels(form, rows, phone=self.phone_label)
        offered = choices(page)
        users: list[tuple[str, str]] = offered.users
        teams: list[tuple[str, str]] = offered.teams
        if record is not None:
            if record.owner_id and record.owner_id not in offered.user_names:
                users = [*users, (record.owner_id, record.owner_name or record.owner_id)]
            if record.team_id and record.team_id not in offered.team_names:
                teams = [*teams, (record.team_id, page.gettext(N_("Current team")))]
        custom = custom_field_views(page, self.pages.kind)
        return render(
            request,
            self.template,
            {
                "kind": self.pages,
                "form": form,
                "rows": rows,
                self.pages.kind: record,
                "masked": set(record.masked_fields) if record else set(),
                "choices": offered,
                "users": users,
                "teams": teams,
                "accounts": self.account_picks(page, record),
                "custom_fields": [field for field in custom if field.is_active],
            },
            status_code=status_code,
        )

    def new_form(self, request: Request, page: WebPage, preset: Mapping[str, Any]) -> Response:
        """The create form with ``preset`` values (owner, status, an employer)."""
        require(page.actor, self.pages.kind, Action.CREATE)
        custom = custom_field_views(page, self.pages.kind)
        form, rows = blank_form(self.inputs, self.groups, custom, preset)
        return self.form_page(request, page, form, rows, None)

    def create_record(self, request: Request, page: Viewer, form: Form) -> Response:
        custom = custom_field_views(page, self.pages.kind)
        state, rows = submitted(form, self.inputs, self.groups, custom)
        if is_adding_a_row(form):
            return self.form_page(request, page, state, rows, None)
        try:
            data = self.create_schema.model_validate(self.form_input(state, rows, custom, ()))
            created = self.create(page.uow(), page.actor, data)
        except (ValidationError, ValidationFailed) as error:
            add_refusal(state, error, page.translator, name_field=self.name_field)
            return self.form_page(request, page, state, rows, None, status_code=422)
        page.flash(self.created, name=self.display_name(created))
        return redirect(request, self.pages.record_path(created.id) + duplicates_query(request, created))

    def edit_record(self, request: Request, page: Viewer, record_id: UUID) -> Response:
        record = self.read(page.uow(), page.actor, str(record_id))
        require(page.actor, self.pages.kind, Action.UPDATE)
        form, rows = initial(record, self.inputs, self.groups, custom_field_views(page, self.pages.kind))
        return self.form_page(request, page, form, rows, record)

    def update_record(self, request: Request, page: Viewer, record_id: UUID, form: Form) -> Response:
        """Save the edit form; a version changed meanwhile answers 409 with the reader's input."""
        record = self.read(page.uow(), page.actor, str(record_id))
        custom = custom_field_views(page, self.pages.kind)
        state, rows = submitted(form, self.inputs, self.groups, custom)
        if is_adding_a_row(form):
            return self.form_page(request, page, state, rows, record)
        try:
            version = int(state.value("version"))
        except ValueError:
            version = record.version
        try:
            data = self.update_schema.model_validate(
                self.form_input(state, rows, custom, record.masked_fields)
            )
            updated = self.update(page.uow(), page.actor, str(record_id), data, expected_version=version)
        except (ValidationError, ValidationFailed, StaleVersion) as error:
            add_refusal(state, error, page.translator, name_field=self.name_field)
            status_code = 409 if isinstance(error, StaleVersion) else 422
            return self.form_page(request, page, state, rows, record, status_code=status_code)
        page.flash(N_("The changes to {name} have been saved."), name=self.display_name(updated))
        return redirect(request, self.pages.record_path(str(record_id)))

    def delete_record(self, request: Request, page: Viewer, record_id: UUID, form: Form) -> Response:
        """Delete (restorable) unless the record changed since the reader's page was drawn."""
        try:
            version: int | None = int(str(form.get("version") or ""))
        except ValueError:
            version = None
        try:
            self.delete(page.uow(), page.actor, str(record_id), expected_version=version)
        except StaleVersion:
            page.flash(self.changed_meanwhile, FlashLevel.ERROR)
            return redirect(request, self.pages.record_path(str(record_id)))
        page.flash(self.deleted)
        return redirect(request, self.pages.path)

    def restore_record(self, request: Request, page: Viewer, record_id: UUID) -> Response:
        try:
            restored = self.restore(page.uow(), page.actor, str(record_id))
        except ValidationFailed as error:
            for item in error.errors:
                page.flash(item.message, FlashLevel.ERROR, **item.params)
            return redirect(request, self.pages.path + "?deleted=1")
        page.flash(self.restored, name=self.display_name(restored))
        return redirect(request, self.pages.record_path(str(record_id)))

    def add_routes(self, router: APIRouter) -> None:
        """Register the form routes of this kind on ``router``, each named as a route per kind
        would be (``create_account``, ``update_contact``…)."""
        kind, path = self.pages.kind, self.pages.path
        record_path = f"{path}/{{record_id:uuid}}"
        router.add_api_route(path, self.create_record, methods=["POST"], name=f"create_{kind}")
        router.add_api_route(f"{record_path}/edit", self.edit_record, methods=["GET"], name=f"edit_{kind}")
        router.add_api_route(record_path, self.update_record, methods=["POST"], name=f"update_{kind}")
        router.add_api_route(
            f"{record_path}/delete", self.delete_record, methods=["POST"], name=f"delete_{kind}"
        )
        router.add_api_route(
            f"{record_path}/restore", self.restore_record, methods=["POST"], name=f"restore_{kind}"
        )
