"""The create and edit forms of accounts and contacts: from a record to form values, from a
submitted form to the service's input, and refusals back under the inputs they concern.

Repeated groups (phones, emails, where a contact works) are rows named ``<group>.<n>.<column>``,
the same dotted paths the schemas report errors at (``phones.0.number``). Blank rows are
dropped and the rest renumbered as soon as a form is submitted, so row *n* on the page is item
*n* of the input and an error lands on the row that caused it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from starlette.datastructures import FormData

from loopcrm.modules.customers.schemas import AccountOut, ContactOut
from loopcrm.modules.customers.views.record_pages import CustomFieldView, readable_phone
from loopcrm.platform.errors import DomainError
from loopcrm.platform.i18n import N_, Translator
from loopcrm.platform.web.forms import FormState, pydantic_message

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
