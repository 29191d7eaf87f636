"""One row of an imported file read as input: each mapped cell converted to what the field takes,
and every refusal turned into a reason the report can show in the reader's language.

The conversions only deal with notation (GBK dates, "是/否", "125万", option labels); whether a
value is valid is decided by the same schemas and service checks as the API's.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import phonenumbers
from pydantic import ValidationError

from loopcrm.modules.customers.identifiers import normalize_credit_code, normalize_email, parse_phone
from loopcrm.modules.customers.models import CustomFieldDefinition, CustomFieldKind, UpsertKey
from loopcrm.modules.customers.schemas import EmailIn, PhoneIn
from loopcrm.modules.customers.service.custom_fields import CUSTOM_FIELD_PREFIX
from loopcrm.modules.customers.service.imports import vocabulary
from loopcrm.modules.customers.service.imports.fields import IGNORE
from loopcrm.platform.errors import FieldError
from loopcrm.platform.i18n import N_

# Plain text targets: the cell is the value.
_TEXT_TARGETS = frozenset(
    {
        "name",
        "name_en",
        "credit_code",
        "province",
        "city",
        "address",
        "website",
        "legal_representative",
        "external_id",
        "description",
        "title",
        "department",
        "wechat_id",
        "family_name",
        "given_name",
    }
)
_LOOKUP_TARGETS = {
    "industry": vocabulary.INDUSTRIES,
    "operating_status": vocabulary.OPERATING_STATUSES,
    "source": vocabulary.SOURCES,
    "gender": vocabulary.GENDERS,
}
_BOOLEAN_TARGETS = frozenset({"email_opt_in", "sms_opt_in", "wechat_opt_in"})
# The input fields a target fills, where they are not named like the target.
_FIELDS_OF_TARGET = {
    "full_name": ("family_name", "given_name"),
    "phone": ("phones",),
    "email": ("emails",),
    "tags": ("tag_ids",),
    "owner": ("owner_id",),
    "company": ("employments",),
}


@dataclass(frozen=True)
class Note:
    """A reason a row was refused, or a warning about it. ``message`` is an English msgid with
    ``{placeholders}`` filled from ``params`` once translated; ``column`` is the file's column."""

    field: str
    message: str
    code: str = "invalid"
    params: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    column: int | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "field": self.field,
            "message": self.message,
            "code": self.code,
            "params": {key: str(value) for key, value in self.params.items()},
            "column": self.column,
        }


@dataclass
class ParsedRow:
    """A row's mapped cells as schema input (``values``), plus what needs the database to
    resolve: custom field values, tag names, the owner and the company named in the row."""

    number: int
    cells: list[str]
    values: dict[str, Any] = dataclasses.field(default_factory=dict)
    custom: dict[str, Any] = dataclasses.field(default_factory=dict)
    custom_users: dict[str, str] = dataclasses.field(
        default_factory=dict
    )  # user-kind custom fields, as typed
    tag_names: list[str] = dataclasses.field(default_factory=list)
    owner: str | None = None
    company: str | None = None
    columns: dict[str, int] = dataclasses.field(default_factory=dict)  # input field path → column
    mapped: dict[str, int] = dataclasses.field(
        default_factory=dict
    )  # field → its first column, filled in or not
    # Each email and phone in stored form (``None`` if the schema would refuse it), computed once:
    # the upsert lookup, the duplicate screen and the schema each need them, and checking an
    # address or a number takes tens of microseconds.
    stored_points_cache: dict[str, list[str | None]] = dataclasses.field(default_factory=dict, repr=False)
    # Whether each of those phones (E.164) is a mobile number, from the same parse.
    phone_is_mobile: dict[str, bool] = dataclasses.field(default_factory=dict, repr=False)

    @property
    def is_blank(self) -> bool:
        return not any(cell.strip() for cell in self.cells)

    def column_of(self, path: str) -> int | None:
        """The column a field path (``phones.1.number``, ``custom_fields.level``) came from."""
        parts = path.split(".")
        for end in range(len(parts), 0, -1):
            found = self.columns.get(".".join(parts[:end]))
            if found is not None:
                return found
        return self.mapped.get(parts[0])

    def note(self, error: FieldError) -> Note:
        return Note(error.field, error.message, error.code, dict(error.params), self.column_of(error.field))


def _option_values(definition: CustomFieldDefinition) -> dict[str, str]:
    """An option's value by its value, label and English label, case-folded."""
    found: dict[str, str] = {}
    for option in definition.options:
        for name in (option.get("value"), option.get("label"), option.get("label_en")):
            if name:
                found.setdefault(name.strip().casefold(), option["value"])
    return found


def _custom_value(definition: CustomFieldDefinition, text: str) -> Any:
    """A custom field's cell in the form ``clean_values`` checks; unknown words stay as typed."""
    kind = CustomFieldKind(definition.kind)
    if kind is CustomFieldKind.SELECT:
        return _option_values(definition).get(text.casefold(), text)
    if kind is CustomFieldKind.MULTI_SELECT:
        options = _option_values(definition)
        parts = [part.strip() for part in vocabulary.LIST_SEPARATORS.split(text) if part.strip()]
        return [options.get(part.casefold(), part) for part in parts]
    if kind is CustomFieldKind.BOOLEAN:
        return vocabulary.boolean(text)
    if kind is CustomFieldKind.DATE:
        return vocabulary.calendar_date(text)
    if kind in (CustomFieldKind.NUMBER, CustomFieldKind.MONEY):
        return vocabulary.amount(text)
    return text


def parse_row(
    number: int,
    cells: Sequence[str],
    mapping: Sequence[str],
    custom_fields: Mapping[str, CustomFieldDefinition],
) -> ParsedRow:
    """Read one row by the mapping; empty cells are left out, so an update changes only what the
    row fills in."""
    row = ParsedRow(number, list(cells))
    values = row.values
    for column, target in enumerate(mapping):
        if target == IGNORE:
            continue
        for name in _FIELDS_OF_TARGET.get(target, (target,)):
            row.mapped.setdefault(name, column)
        if column >= len(cells):
            continue
        text = cells[column].strip()
        if not text:
            continue
        if target in _TEXT_TARGETS:
            values[target] = text
        elif target in _LOOKUP_TARGETS:
            values[target] = vocabulary.lookup(_LOOKUP_TARGETS[target], text)
        elif target in _BOOLEAN_TARGETS:
            values[target] = vocabulary.boolean(text)
        elif target == "full_name":
            values["family_name"], values["given_name"] = vocabulary.split_full_name(text)
            row.columns["family_name"] = row.columns["given_name"] = column
        elif target == "employee_count":
            values[target] = vocabulary.whole_number(text)
        elif target == "annual_revenue":
            values[target] = vocabulary.amount(text)
        elif target == "birthday":
            values[target] = vocabulary.calendar_date(text)
        elif target == "phone":
            phones = values.setdefault("phones", [])
            for part in vocabulary.LIST_SEPARATORS.split(text):
                if part.strip():
                    row.columns[f"phones.{len(phones)}"] = column
                    phones.append({"number": part.strip()})
        elif target == "email":
            emails = values.setdefault("emails", [])
            for part in vocabulary.EMAIL_SEPARATORS.split(text):
                if part.strip():
                    row.columns[f"emails.{len(emails)}"] = column
                    emails.append({"address": part.strip()})
        elif target == "tags":
            row.tag_names.extend(
                part.strip() for part in vocabulary.LIST_SEPARATORS.split(text) if part.strip()
            )
            row.columns["tag_ids"] = column
        elif target == "owner":
            row.owner = text
            row.columns["owner_id"] = column
        elif target == "company":
            row.company = text
            row.columns["employments"] = column
        elif target.startswith(CUSTOM_FIELD_PREFIX):
            key = target.removeprefix(CUSTOM_FIELD_PREFIX)
            definition = custom_fields.get(key)
            if definition is not None and definition.kind == CustomFieldKind.USER:
                row.custom_users[key] = text
            else:
                row.custom[key] = _custom_value(definition, text) if definition is not None else text
        if target not in ("full_name", "phone", "email", "tags", "owner", "company"):
            row.columns[target] = column
    return row


def has_key_cell(row: ParsedRow, upsert_key: UpsertKey) -> bool:
    """Whether the row fills in the column(s) of the upsert key at all (valid or not)."""
    field_name = {
        UpsertKey.EMAIL: "emails",
        UpsertKey.PHONE: "phones",
        UpsertKey.CREDIT_CODE: "credit_code",
        UpsertKey.EXTERNAL_ID: "external_id",
    }.get(upsert_key)
    return bool(field_name and row.values.get(field_name))


# What the schemas accept of a phone's or an email's text before normalising it.
_POINT_LENGTHS = {"phones": (1, 40), "emails": (3, 320)}
_POINT_TEXT = {"phones": "number", "emails": "address"}


def _normalised_points(row: ParsedRow, kind: str) -> list[str | None]:
    """Each of the row's emails (``kind`` "emails") or phones ("phones") as the schema stores it
    (lower case, E.164), ``None`` where the schema would refuse it; computed once per row."""
    found = row.stored_points_cache.get(kind)
    if found is None:
        shortest, longest = _POINT_LENGTHS[kind]
        found = []
        for point in row.values.get(kind, []):
            text = point[_POINT_TEXT[kind]]
            if not shortest <= len(text) <= longest or "\x00" in text:
                found.append(None)
                continue
            try:
                if kind == "emails":
                    found.append(normalize_email(text))
                    continue
                number = parse_phone(text)
            except ValueError:
                found.append(None)
                continue
            e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
            row.phone_is_mobile[e164] = (
                phonenumbers.number_type(number) == phonenumbers.PhoneNumberType.MOBILE
            )
            found.append(e164)
        row.stored_points_cache[kind] = found
    return found


def stored_points(row: ParsedRow, kind: str) -> list[str]:
    """The row's emails (``kind`` "emails") or phones ("phones") as the schemas store them: lower
    case, E.164. Values the schema would refuse are left out."""
    return [value for value in _normalised_points(row, kind) if value is not None]


def schema_points(row: ParsedRow, kind: str) -> list[Any]:
    """The row's phones or emails as schema input: a value already checked and normalised is
    passed as a built ``PhoneIn``/``EmailIn`` (pydantic does not validate a model instance
    again), one the schema refuses as the text, so that it reports its own reason."""
    built: list[Any] = []
    for point, value in zip(row.values.get(kind, []), _normalised_points(row, kind), strict=True):
        if value is None:
            built.append(point)
        elif kind == "emails":
            built.append(EmailIn.model_construct(address=value))
        else:
            built.append(PhoneIn.model_construct(number=value))
    return built


def key_values(row: ParsedRow, upsert_key: UpsertKey) -> list[str]:
    """The row's values of the upsert key in stored form; values the schema would refuse are left
    out (the row is refused for them later, with the schema's reason)."""
    values = row.values
    found: list[str] = []
    try:
        if upsert_key is UpsertKey.EMAIL:
            found.extend(stored_points(row, "emails"))
        elif upsert_key is UpsertKey.PHONE:
            found.extend(stored_points(row, "phones"))
        elif upsert_key is UpsertKey.CREDIT_CODE and values.get("credit_code"):
            found.append(normalize_credit_code(values["credit_code"]))
        elif upsert_key is UpsertKey.EXTERNAL_ID and values.get("external_id"):
            found.append(values["external_id"][:100])
    except ValueError:
        return []
    return list(dict.fromkeys(found))


# ---------------------------------------------------------------- reasons

# The identifiers module refuses values with short English reasons; these are their msgids.
_IDENTIFIER_REASONS = {
    "must be 18 characters": N_("A unified social credit code has 18 characters"),
    "contains a character not used in credit codes": N_(
        "The credit code contains a character credit codes do not use"
    ),
    "registration authority code is not defined": N_(
        "The credit code's first character names no registration authority"
    ),
    "organisation type code is not defined for this registration authority": N_(
        "The credit code's second character names no organisation type"
    ),
    "region code must be 6 digits": N_("The credit code's region code must be 6 digits"),
    "check character does not match": N_("The credit code's check character does not match"),
    "organisation code check digit does not match": N_(
        "The organisation code inside the credit code does not check out"
    ),
    "not a valid phone number": N_("{value} is not a valid phone number"),
    "phone extensions are not supported": N_("Phone extensions are not supported; give the number alone"),
    "not a valid email address": N_("{value} is not a valid email address"),
    "not a valid website address": N_("{value} is not a valid website address"),
    "a contact needs a family name or a given name": N_("A contact needs a name"),
    "name must not be empty": N_("The name is missing"),
    "must not contain NUL characters": N_("The value contains a NUL character"),
}


def _schema_reason(issue: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """A msgid and its parameters for one pydantic complaint about a row."""
    kind = str(issue.get("type", ""))
    context = issue.get("ctx") or {}
    value = issue.get("input")
    shown = value if isinstance(value, str | int | float) else ""
    if kind == "value_error":
        text = str(context.get("error", issue.get("msg", "")))
        for reason, message in _IDENTIFIER_REASONS.items():
            if reason in text:
                return message, {"value": shown}
        return N_("{value} is not valid here"), {"value": shown}
    if kind == "missing" or (kind == "string_too_short" and context.get("min_length") == 1):
        return N_("This field is required"), {}
    if kind == "string_too_long":
        return N_("Use at most {count} characters"), {"count": context.get("max_length")}
    if kind == "string_pattern_mismatch":
        return N_("The value has the wrong format"), {}
    if kind in ("enum", "literal_error"):
        return N_("{value} is not one of the offered values"), {"value": shown}
    if kind.startswith(("date", "datetime")):
        return N_("{value} is not a date; write it as 2024-01-31"), {"value": shown}
    if kind.startswith("bool"):
        return N_("{value} is neither yes nor no"), {"value": shown}
    if kind in ("greater_than_equal", "greater_than"):
        return N_("The number is too small"), {}
    if kind in ("less_than_equal", "less_than"):
        return N_("The number is too large"), {}
    if kind.startswith(("int", "float", "decimal")):
        return N_("{value} is not a number"), {"value": shown}
    if kind == "too_long":
        return N_("Too many values; at most {count}"), {"count": context.get("max_length")}
    return N_("{value} is not valid here"), {"value": shown}


def schema_notes(row: ParsedRow, error: ValidationError) -> list[Note]:
    """Each complaint of an input schema about the row, located at its column."""
    notes = []
    for issue in error.errors(include_url=False):
        path = ".".join(str(part) for part in issue.get("loc", ()))
        message, params = _schema_reason(issue)
        if not path and "name" in message.lower():
            path = "family_name"
        notes.append(Note(path, message, str(issue.get("type", "invalid")), params, row.column_of(path)))
    return notes
