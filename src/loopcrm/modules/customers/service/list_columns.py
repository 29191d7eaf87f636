"""The columns an account or contact list shows: which a reader may choose, in which order, and
the default set when none is chosen (saved views keep the choice as ``columns``).

The columns are the export's (``columns.ACCOUNT_COLUMNS`` / ``CONTACT_COLUMNS``, then the
active custom fields as ``custom_fields.<key>``), so "export this view" gives exactly the columns
the list shows. A column whose field is above the reader's clearance is neither offered nor
accepted: every row of it would only say "hidden". The record's name always comes first: it is the
link to the record.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.orm import Session

from loopcrm.modules.customers.models import RecordKind
from loopcrm.modules.customers.schemas import ListColumnsOut
from loopcrm.modules.customers.service.columns import ACCOUNT_COLUMNS, ALIASES, CONTACT_COLUMNS
from loopcrm.modules.customers.service.custom_fields import definitions, field_levels
from loopcrm.modules.customers.service.object_types import OBJECT_TYPE_OF_KIND
from loopcrm.platform.errors import FieldError, ValidationFailed
from loopcrm.platform.permissions import Action, Actor, SecurityLevel, require
from loopcrm.platform.unit_of_work import UnitOfWork

# Column key → the field whose level decides whether a reader may see it (the key itself but for
# a contact's current employer, shown from its employments).
STANDARD_COLUMNS: dict[str, dict[str, str]] = {
    kind: {column.key: column.masked_field for column in standard}
    for kind, standard in (("account", ACCOUNT_COLUMNS), ("contact", CONTACT_COLUMNS))
}
# The column each list starts with and never drops: the record's name, its link.
NAME_COLUMN = {"account": "name", "contact": "full_name"}
# What a list shows when no columns are chosen: the columns the lists always had.
DEFAULT_COLUMNS: dict[str, tuple[str, ...]] = {
    "account": ("name", "city", "industry", "owner_id", "tags", "phones", "emails", "updated_at"),
    "contact": (
        "full_name",
        "account_id",
        "title",
        "city",
        "owner_id",
        "tags",
        "phones",
        "emails",
        "updated_at",
    ),
}


def _levels(session: Session, record_kind: str) -> dict[str, SecurityLevel]:
    """The level of every column key (standard columns at the level of the field they show)."""
    field_levels_of_type = OBJECT_TYPE_OF_KIND[record_kind].field_levels
    levels = {
        key: field_levels_of_type.get(field, SecurityLevel.PUBLIC)
        for key, field in STANDARD_COLUMNS[record_kind].items()
    }
    return {**levels, **field_levels(definitions(session, record_kind, active_only=True))}


def readable_columns(session: Session, actor: Actor, record_kind: str) -> list[str]:
    """The keys of the columns ``actor`` may choose, standard ones then custom fields."""
    return [key for key, level in _levels(session, record_kind).items() if level <= actor.clearance]


def default_columns(record_kind: str) -> list[str]:
    """The columns of a list or view that chose none. They are the same for every reader: a
    column above the reader's clearance shows "hidden" in each row, as the lists always did, so
    a list never looks complete when it is not; only a chosen column must be one they may see."""
    return list(DEFAULT_COLUMNS[record_kind])


def ordered(record_kind: str, columns: Sequence[str]) -> list[str]:
    """The name first, then each column once in the order given."""
    name = NAME_COLUMN[record_kind]
    return [name, *dict.fromkeys(column for column in columns if column != name)]


def check_columns(
    session: Session, actor: Actor, record_kind: str, columns: Sequence[str], *, parameter: str = "columns"
) -> list[str]:
    """``columns`` as the list will show them (name first, each once, aliases as their column's
    key); none means the default set.

    Every unknown column and every column above the reader's clearance is refused, each under
    ``<parameter>.<index>``, so a client learns all its mistakes at once.
    """
    if not columns:
        return []
    levels = _levels(session, record_kind)
    errors = []
    for index, column in enumerate(columns):
        level = levels.get(ALIASES.get(column, column))
        if level is None:
            errors.append(
                FieldError(
                    f"{parameter}.{index}", "Unknown column {column}", "unknown_column", {"column": column}
                )
            )
        elif level > actor.clearance:
            errors.append(
                FieldError(
                    f"{parameter}.{index}",
                    "You may not see the column {column}",
                    "column_not_allowed",
                    {"column": column},
                )
            )
    if errors:
        raise ValidationFailed(errors)
    return ordered(record_kind, [ALIASES.get(column, column) for column in columns])


def list_column_choices(uow: UnitOfWork, actor: Actor, record_kind: RecordKind) -> ListColumnsOut:
    """The columns ``actor`` may choose for lists of ``record_kind``, and the default set."""
    require(actor, OBJECT_TYPE_OF_KIND[record_kind.value].key, Action.READ)
    with uow:
        return ListColumnsOut(
            record_kind=record_kind,
            columns=readable_columns(uow.session, actor, record_kind.value),
            default=default_columns(record_kind.value),
        )


def choose_columns(
    uow: UnitOfWork,
    actor: Actor,
    record_kind: RecordKind,
    columns: Sequence[str],
    *,
    parameter: str = "column",
) -> list[str]:
    """The columns a list page was asked for, checked as :func:`check_columns` does (the page's
    ``column=`` parameters name the errors); none asked means the reader's default columns."""
    require(actor, OBJECT_TYPE_OF_KIND[record_kind.value].key, Action.READ)
    with uow:
        chosen = check_columns(uow.session, actor, record_kind.value, columns, parameter=parameter)
        return chosen or default_columns(record_kind.value)
