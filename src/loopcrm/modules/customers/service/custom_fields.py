"""Admin-defined fields of accounts and contacts: their definitions, and the checks every value
goes through before it is stored in a record's ``custom_fields``.

Values are stored as JSON scalars that sort and compare correctly in SQL: numbers and money as
JSON numbers, dates as ISO text (which sorts like the date), selects as the option's value,
multi-selects as a list of option values, users as user ids.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from loopcrm.modules.customers.identifiers import normalize_website
from loopcrm.modules.customers.models import CustomFieldDefinition, CustomFieldKind
from loopcrm.modules.customers.schemas import CustomFieldCreate, CustomFieldOut, CustomFieldUpdate, OptionOut
from loopcrm.modules.customers.service.object_types import CUSTOM_FIELD
from loopcrm.platform.audit.models import AuditAction
from loopcrm.platform.audit.service import diff, record_change
from loopcrm.platform.auth.models import User
from loopcrm.platform.errors import FieldError, NotFound, StaleVersion, ValidationFailed
from loopcrm.platform.i18n import N_
from loopcrm.platform.permissions import Action, Actor, SecurityLevel, require
from loopcrm.platform.unit_of_work import UnitOfWork

CUSTOM_FIELD_PREFIX = "custom_fields."
MAX_TEXT = 500
MAX_LONG_TEXT = 10_000
MAX_NUMBER = Decimal("1e15")


def _out(definition: CustomFieldDefinition) -> CustomFieldOut:
    return CustomFieldOut(
        id=definition.id,
        record_kind=definition.record_kind,  # type: ignore[arg-type]
        key=definition.key,
        label=definition.label,
        label_en=definition.label_en,
        kind=definition.kind,  # type: ignore[arg-type]
        options=[OptionOut(**option) for option in definition.options],
        security_level=definition.security_level,  # type: ignore[arg-type]
        is_required=definition.is_required,
        is_active=definition.is_active,
        position=definition.position,
        help_text=definition.help_text,
        version=definition.version,
    )


def _snapshot(definition: CustomFieldDefinition) -> dict[str, Any]:
    return _out(definition).model_dump(mode="json", exclude={"id", "version"})


def definitions(
    session: Session, record_kind: str, *, active_only: bool = False
) -> list[CustomFieldDefinition]:
    """The fields of one kind of record in display order (for the service layer's own use)."""
    statement = select(CustomFieldDefinition).where(CustomFieldDefinition.record_kind == record_kind)
    if active_only:
        statement = statement.where(CustomFieldDefinition.is_active.is_(True))
    return list(
        session.scalars(statement.order_by(CustomFieldDefinition.position, CustomFieldDefinition.key))
    )


def field_levels(fields: list[CustomFieldDefinition]) -> dict[str, SecurityLevel]:
    """The security level of each custom field, keyed as it appears in masked output."""
    return {
        CUSTOM_FIELD_PREFIX + field.key: SecurityLevel.from_label(field.security_level) for field in fields
    }


def _check_options(kind: CustomFieldKind, options: list[Any]) -> None:
    selectable = kind in (CustomFieldKind.SELECT, CustomFieldKind.MULTI_SELECT)
    if selectable and not options:
        raise ValidationFailed.single("options", "A select field needs at least one option", "required")
    if not selectable and options:
        raise ValidationFailed.single("options", "Only select fields have options", "not_allowed")
    values = [option.value for option in options]
    if len(values) != len(set(values)):
        raise ValidationFailed.single("options", "Option values must be unique", "duplicate")


def create_custom_field(uow: UnitOfWork, actor: Actor, data: CustomFieldCreate) -> CustomFieldOut:
    require(actor, CUSTOM_FIELD.key, Action.CREATE)
    _check_options(data.kind, data.options)
    with uow:
        session = uow.session
        taken = session.scalar(
            select(CustomFieldDefinition.id).where(
                CustomFieldDefinition.record_kind == data.record_kind.value,
                CustomFieldDefinition.key == data.key,
            )
        )
        if taken:
            raise ValidationFailed.single("key", "A field with this key already exists", "duplicate")
        definition = CustomFieldDefinition(
            record_kind=data.record_kind.value,
            key=data.key,
            label=data.label,
            label_en=data.label_en,
            kind=data.kind.value,
            options=[option.model_dump() for option in data.options],
            security_level=data.security_level,
            is_required=data.is_required,
            position=data.position,
            help_text=data.help_text,
            created_by=actor.user_id,
            updated_by=actor.user_id,
        )
        session.add(definition)
        session.flush()
        record_change(
            uow,
            actor,
            AuditAction.CREATE,
            CUSTOM_FIELD.key,
            definition.id,
            {name: [None, value] for name, value in _snapshot(definition).items()},
        )
        result = _out(definition)
        uow.commit()
        return result


def list_custom_fields(uow: UnitOfWork, actor: Actor, record_kind: str | None = None) -> list[CustomFieldOut]:
    require(actor, CUSTOM_FIELD.key, Action.READ)
    with uow:
        kinds = [record_kind] if record_kind else ["account", "contact"]
        return [_out(definition) for kind in kinds for definition in definitions(uow.session, kind)]


def _load(uow: UnitOfWork, field_id: str) -> CustomFieldDefinition:
    definition = uow.session.get(CustomFieldDefinition, field_id)
    if definition is None:
        raise NotFound("Custom field not found")
    return definition


def get_custom_field(uow: UnitOfWork, actor: Actor, field_id: str) -> CustomFieldOut:
    require(actor, CUSTOM_FIELD.key, Action.READ)
    with uow:
        return _out(_load(uow, field_id))


def update_custom_field(
    uow: UnitOfWork,
    actor: Actor,
    field_id: str,
    data: CustomFieldUpdate,
    *,
    expected_version: int | None = None,
) -> CustomFieldOut:
    """Change a field's label, options, level or status; an option in use may be removed, its
    stored values stay and show as they are until edited."""
    require(actor, CUSTOM_FIELD.key, Action.UPDATE)
    with uow:
        definition = _load(uow, field_id)
        if expected_version is not None and definition.version != expected_version:
            raise StaleVersion()
        before = _snapshot(definition)
        changes = data.model_dump(exclude_unset=True)
        if data.options is not None:
            _check_options(CustomFieldKind(definition.kind), data.options)
            definition.options = [option.model_dump() for option in data.options]
        for name in ("label", "security_level", "is_required", "is_active", "position"):
            if changes.get(name) is not None:
                setattr(definition, name, changes[name])
        for name in ("label_en", "help_text"):
            if name in changes:
                setattr(definition, name, changes[name])
        change_log = diff(before, _snapshot(definition))
        if change_log:
            definition.updated_by = actor.user_id
            session = uow.session
            session.flush()
            record_change(uow, actor, AuditAction.UPDATE, CUSTOM_FIELD.key, definition.id, change_log)
        result = _out(definition)
        uow.commit()
        return result


# ---------------------------------------------------------------- values


def _number(text: Any) -> Decimal:
    if isinstance(text, bool):
        raise ValueError
    number = Decimal(str(text).strip().replace(",", ""))
    if not number.is_finite() or abs(number) >= MAX_NUMBER:
        raise ValueError
    return number


def _json_number(number: Decimal) -> int | float:
    return int(number) if number == number.to_integral_value() else float(number)


def _boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "1", "yes", "y", "是", "on"):
        return True
    if text in ("false", "0", "no", "n", "否", "off"):
        return False
    raise ValueError


def _convert(session: Session, definition: CustomFieldDefinition, value: Any) -> Any:
    """One value in its stored form; raises :class:`FieldError` naming what is wrong."""
    path = CUSTOM_FIELD_PREFIX + definition.key
    kind = CustomFieldKind(definition.kind)
    options = {option["value"] for option in definition.options}
    try:
        match kind:
            case CustomFieldKind.TEXT | CustomFieldKind.LONG_TEXT:
                text = str(value).strip()
                limit = MAX_TEXT if kind is CustomFieldKind.TEXT else MAX_LONG_TEXT
                if len(text) > limit or "\x00" in text:
                    raise FieldErrorSignal(
                        FieldError(path, "At most {limit} characters", "too_long", {"limit": limit})
                    )
                return text
            case CustomFieldKind.NUMBER:
                return _json_number(_number(value))
            case CustomFieldKind.MONEY:
                return _json_number(_number(value).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))
            case CustomFieldKind.DATE:
                return (
                    value if isinstance(value, date) else date.fromisoformat(str(value).strip())
                ).isoformat()
            case CustomFieldKind.BOOLEAN:
                return _boolean(value)
            case CustomFieldKind.URL:
                return normalize_website(str(value))
            case CustomFieldKind.SELECT:
                if str(value) not in options:
                    raise FieldErrorSignal(
                        FieldError(
                            path, "{value} is not an option of this field", "unknown_option", {"value": value}
                        )
                    )
                return str(value)
            case CustomFieldKind.MULTI_SELECT:
                chosen = (
                    value if isinstance(value, list) else [part.strip() for part in str(value).split(",")]
                )
                chosen = list(dict.fromkeys(str(item) for item in chosen if str(item)))
                unknown = [item for item in chosen if item not in options]
                if unknown:
                    raise FieldErrorSignal(
                        FieldError(
                            path,
                            "{value} is not an option of this field",
                            "unknown_option",
                            {"value": unknown[0]},
                        )
                    )
                return chosen
            case CustomFieldKind.USER:
                user_id = str(value)
                if (
                    session.scalar(select(User.id).where(User.id == user_id, User.is_active.is_(True)))
                    is None
                ):
                    raise FieldErrorSignal(FieldError(path, "No active user has this id", "unknown_user"))
                return user_id
    except (ValueError, InvalidOperation, TypeError):
        pass
    return _invalid(path, kind)


def _invalid(path: str, kind: CustomFieldKind) -> Any:
    messages = {
        CustomFieldKind.NUMBER: N_("Enter a number"),
        CustomFieldKind.MONEY: N_("Enter an amount"),
        CustomFieldKind.DATE: N_("Enter a date as YYYY-MM-DD"),
        CustomFieldKind.BOOLEAN: N_("Enter yes or no"),
        CustomFieldKind.URL: N_("Enter a web address"),
    }
    raise FieldErrorSignal(FieldError(path, messages.get(kind, N_("The value is not valid")), "invalid"))


class FieldErrorSignal(Exception):
    """Carries one :class:`FieldError` out of :func:`_convert` so all fields are checked at once."""

    def __init__(self, error: FieldError) -> None:
        self.error = error
        super().__init__(error.message)


def _is_empty(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip()) or value == []


def clean_values(
    session: Session,
    record_kind: str,
    submitted: dict[str, Any],
    stored: dict[str, Any] | None = None,
    *,
    known: Sequence[CustomFieldDefinition] | None = None,
) -> dict[str, Any]:
    """The record's new ``custom_fields``: ``stored`` with ``submitted`` applied and checked.

    An empty submitted value removes the field. Unknown keys, values of archived fields, values
    that do not fit the field's kind, and required fields left empty (on create, or cleared on
    update) are all reported together; nothing is stored unless every value passes. ``known``
    are the kind's definitions when the caller has read them already (an import, per chunk).
    """
    found = known if known is not None else definitions(session, record_kind)
    fields = {definition.key: definition for definition in found}
    result = dict(stored or {})
    errors: list[FieldError] = []
    for key, value in submitted.items():
        definition = fields.get(key)
        path = CUSTOM_FIELD_PREFIX + key
        if definition is None:
            errors.append(FieldError(path, "Unknown custom field {key}", "unknown_field", {"key": key}))
            continue
        if _is_empty(value):
            result.pop(key, None)
            continue
        if not definition.is_active:
            errors.append(FieldError(path, "This field is archived", "archived"))
            continue
        try:
            result[key] = _convert(session, definition, value)
        except FieldErrorSignal as signal:
            errors.append(signal.error)
    for key, definition in fields.items():
        missing = definition.is_active and definition.is_required and _is_empty(result.get(key))
        if missing and (stored is None or key in submitted):
            errors.append(FieldError(CUSTOM_FIELD_PREFIX + key, "This field is required", "required"))
    if errors:
        raise ValidationFailed(errors)
    return result
