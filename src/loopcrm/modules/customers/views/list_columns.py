"""The column chooser of the account and contact lists: which columns the table shows, in which
order, named in the reader's language.

The choice travels as repeated ``column=`` parameters, like the filters: in every link of the
list (sort, pages, export) and in a saved view. The service decides which columns exist and which
the reader may see (``service.list_columns``); this file only names them and says which header
sorts on what. Moving a column up or down is a submit button, so the chooser works without script.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from loopcrm.modules.customers.views.record_pages import CustomFieldView, RecordKindPages
from loopcrm.platform.i18n import Translator

# Custom field kinds a list cannot sort on (a multi-select is a list of options).
_UNSORTABLE_CUSTOM_KINDS = frozenset({"multi_select"})


@dataclass(frozen=True)
class ListColumn:
    """A column of the list table or of the chooser, as the reader sees it."""

    key: str  # as saved views and exports name it: ``city``, ``custom_fields.budget``
    label: str
    sort: str | None = None  # the field its header sorts on; None: no sort link
    custom_field: CustomFieldView | None = None
    is_name: bool = False  # the record's name: always shown, always first

    @property
    def masked_field(self) -> str:
        """The field of ``masked_fields`` that hides this column (a contact's employer is shown
        from their employments)."""
        return "employments" if self.key == "account_id" else self.key


def _column(
    key: str, kind: RecordKindPages, translator: Translator, custom: dict[str, CustomFieldView]
) -> ListColumn | None:
    """The column ``key`` named for the reader; None for a custom field they cannot read the
    definition of (the page would not know its name)."""
    is_name = key == kind.name_column
    if key in custom:
        field = custom[key]
        return ListColumn(
            key, field.label, None if field.kind in _UNSORTABLE_CUSTOM_KINDS else key, field, is_name
        )
    if key not in kind.field_names:
        return None
    sort = kind.name_sort if is_name else (key if key in kind.sortable_columns else None)
    return ListColumn(key, translator.gettext(kind.field_names[key]), sort, None, is_name)


def list_columns(
    keys: Sequence[str], kind: RecordKindPages, translator: Translator, custom: Sequence[CustomFieldView]
) -> list[ListColumn]:
    """The columns ``keys`` (from the service: known and readable) in their order."""
    by_key = {field.filter_key: field for field in custom}
    found = (_column(key, kind, translator, by_key) for key in keys)
    return [column for column in found if column is not None]


def chooser_columns(
    shown: Sequence[ListColumn], offered: Sequence[ListColumn]
) -> list[tuple[ListColumn, bool]]:
    """What the chooser lists as (column, is shown): the shown columns in their order first, then
    every other column offered, in the catalogue's order. Only offered columns: a default column
    above the reader's clearance (shown "hidden") cannot be chosen, so the chooser drops it."""
    offered_keys = {column.key for column in offered}
    shown_keys = {column.key for column in shown}
    return [(column, True) for column in shown if column.key in offered_keys] + [
        (column, False) for column in offered if column.key not in shown_keys
    ]


def moved(columns: Sequence[str], key: str, step: int) -> list[str]:
    """``columns`` with ``key`` moved ``step`` places (-1 up, 1 down), never before the name,
    which stays first; a key not shown or at an end leaves the order as it is."""
    order = list(columns)
    if key not in order:
        return order
    index = order.index(key)
    target = index + step
    if index == 0 or target < 1 or target >= len(order):
        return order
    order[index], order[target] = order[target], order[index]
    return order
