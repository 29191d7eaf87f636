"""The filter bar of the account and contact lists: rows of field, operator and value that become
``field:operator:value`` conditions — the same text the API's ``filter`` parameter and saved
views take (ADR 0007).

Readers type values as they read them: "制造业" for an industry, a colleague's name for an
owner, a tag's name, "是" for yes. Each is turned into the stored value (``manufacturing``, a
user id, a tag id, ``true``) before it reaches the service, and shown as a name again when a
list is opened from a link or a saved view.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlencode

from starlette.datastructures import QueryParams

from loopcrm.modules.customers.schemas import SavedViewOut
from loopcrm.modules.customers.views.labels import (
    GENDER_NAMES,
    INDUSTRY_NAMES,
    OPERATING_STATUS_NAMES,
    OPERATOR_NAMES,
    SOURCE_NAMES,
)
from loopcrm.modules.customers.views.record_pages import Choices, CustomFieldView, RecordKindPages
from loopcrm.platform.i18n import N_, Translator

# Rows of the filter bar beyond the conditions already set; more than the service's 20
# conditions is refused there.
MAX_ROWS = 20
# Columns read from a link, as many as a saved view keeps.
MAX_COLUMNS = 40
_NO_VALUE_OPERATORS = frozenset({"empty", "not_empty"})
_BOOLEAN_NAMES = {"true": N_("Yes"), "false": N_("No")}


@dataclass(frozen=True)
class FilterRow:
    """One row of the filter bar, as the reader sees it (the value as typed or as a name)."""

    field: str = ""
    operator: str = "eq"
    value: str = ""

    @property
    def is_blank(self) -> bool:
        return not self.field


@dataclass(frozen=True)
class FilterField:
    """A field the filter bar offers, with the names its values may be typed as."""

    key: str
    label: str
    values: Mapping[str, str] = field(default_factory=dict)  # stored value → name

    @property
    def datalist_id(self) -> str:
        return "values-" + self.key.replace(".", "-")


def filter_fields(
    kind: RecordKindPages, translator: Translator, choices: Choices, custom: Sequence[CustomFieldView]
) -> dict[str, FilterField]:
    """The fields of the filter bar in order: built-in ones, then active custom fields."""
    named_values: dict[str, Mapping[str, str]] = {
        "industry": {value: translator.gettext(name) for value, name in INDUSTRY_NAMES.items()},
        "operating_status": {
            value: translator.gettext(name) for value, name in OPERATING_STATUS_NAMES.items()
        },
        "source": {value: translator.gettext(name) for value, name in SOURCE_NAMES.items()},
        "gender": {value: translator.gettext(name) for value, name in GENDER_NAMES.items()},
        "owner_id": choices.user_names,
        "team_id": choices.team_names,
        "tag": {tag_id: name for tag_id, name, _ in choices.tags},
    }
    booleans = {value: translator.gettext(name) for value, name in _BOOLEAN_NAMES.items()}
    for name in ("email_opt_in", "sms_opt_in", "wechat_opt_in"):
        named_values[name] = booleans
    fields = {
        key: FilterField(key, translator.gettext(kind.field_names[key]), named_values.get(key, {}))
        for key in kind.filter_fields
    }
    for custom_field in custom:
        if not custom_field.is_active:
            continue
        values: Mapping[str, str] = {}
        if custom_field.kind in ("select", "multi_select"):
            values = dict(custom_field.options)
        elif custom_field.kind == "boolean":
            values = booleans
        elif custom_field.kind == "user":
            values = choices.user_names
        fields[custom_field.filter_key] = FilterField(custom_field.filter_key, custom_field.label, values)
    return fields


def operator_choices(translator: Translator) -> list[tuple[str, str]]:
    return [(operator, translator.gettext(name)) for operator, name in OPERATOR_NAMES.items()]


def _stored(text: str, values: Mapping[str, str]) -> str:
    """A typed value as stored: a name becomes its value (case-insensitive), anything else stays."""
    wanted = text.strip()
    if not values or not wanted:
        return wanted
    if wanted in values:
        return wanted
    folded = wanted.casefold()
    for value, name in values.items():
        if name.casefold() == folded:
            return value
    return wanted


def _shown(text: str, values: Mapping[str, str]) -> str:
    return values.get(text, text)


def condition_of(row: FilterRow, fields: Mapping[str, FilterField]) -> str:
    """``field:operator:value`` for a row; names typed for a value become stored values."""
    known = fields.get(row.field)
    values = known.values if known else {}
    if row.operator in _NO_VALUE_OPERATORS:
        value = ""
    elif row.operator == "in":
        value = ",".join(_stored(part, values) for part in row.value.split(",") if part.strip())
    else:
        value = _stored(row.value, values)
    return f"{row.field}:{row.operator}:{value}"


def row_of(condition: str, fields: Mapping[str, FilterField]) -> FilterRow:
    """A condition from a link or a saved view as a row, its values shown by name."""
    name, _, rest = condition.partition(":")
    operator, _, value = rest.partition(":")
    known = fields.get(name)
    values = known.values if known else {}
    if operator == "in":
        shown = ", ".join(_shown(part, values) for part in value.split(",") if part)
    else:
        shown = _shown(value, values)
    return FilterRow(name, operator or "eq", shown)


@dataclass
class ListRequest:
    """What a list page was asked for: search text, conditions, sort, columns, a saved view,
    deleted records."""

    q: str = ""
    rows: list[FilterRow] = field(default_factory=list)
    conditions: list[str] = field(default_factory=list)
    sort: str = ""
    columns: list[str] = field(default_factory=list)  # as asked, not yet checked; none: the default
    view_id: str = ""
    include_deleted: bool = False
    cursor: str = ""
    extra_blank_rows: int = 1
    is_choosing_columns: bool = False  # the column chooser stays open (after moving a column)

    @classmethod
    def read(
        cls, params: QueryParams, fields: Mapping[str, FilterField], views: Sequence[SavedViewOut]
    ) -> ListRequest:
        """Conditions come from ``filter=`` (links, the API's form) and from the rows of the filter
        bar (``f_field``/``f_op``/``f_value``); a saved view alone fills the bar and the columns
        with its own."""
        view_id = params.get("view_id", "")
        explicit = any(name in params for name in ("q", "filter", "f_field", "sort", "column"))
        view = next((view for view in views if view.id == view_id), None)
        request = cls(
            view_id=view.id if view else "",
            include_deleted=params.get("deleted") == "1",
            cursor=params.get("cursor", ""),
            is_choosing_columns=params.get("choose") == "columns",
        )
        if view is not None and not explicit:
            request.q = view.q or ""
            request.sort = view.sort or ""
            request.columns = list(view.columns)
            request.rows = [row_of(condition, fields) for condition in view.filters]
        else:
            request.q = params.get("q", "").strip()
            request.sort = params.get("sort", "").strip()
            request.columns = [name.strip() for name in params.getlist("column") if name.strip()][
                :MAX_COLUMNS
            ]
            request.rows = [row_of(condition, fields) for condition in params.getlist("filter") if condition]
            request.rows += _submitted_rows(params)
        request.rows = request.rows[:MAX_ROWS]
        request.conditions = [condition_of(row, fields) for row in request.rows]
        if params.get("add_row"):
            request.extra_blank_rows = 2
        return request

    @property
    def shown_rows(self) -> list[FilterRow]:
        """The rows the bar shows: every condition and one blank row (two after "add")."""
        return [*self.rows, *([FilterRow()] * self.extra_blank_rows)]

    def query(
        self,
        *,
        cursor: str | None = None,
        sort: str | None = None,
        view: bool = True,
        columns: bool = True,
        choosing: bool = False,
    ) -> list[tuple[str, str]]:
        """The query of this list as ``filter=`` and ``column=`` pairs, for links: sorting, pages,
        export; ``columns=False`` leaves the columns out (back to the default ones)."""
        pairs: list[tuple[str, str]] = []
        if self.q:
            pairs.append(("q", self.q))
        pairs += [("filter", condition) for condition in self.conditions]
        chosen_sort = self.sort if sort is None else sort
        if chosen_sort:
            pairs.append(("sort", chosen_sort))
        if columns:
            pairs += [("column", column) for column in self.columns]
        if self.include_deleted:
            pairs.append(("deleted", "1"))
        if view and self.view_id:
            pairs.append(("view_id", self.view_id))
        if cursor:
            pairs.append(("cursor", cursor))
        if choosing:
            pairs.append(("choose", "columns"))
        return pairs

    def url(self, path: str, **options: str | bool | None) -> str:
        query = urlencode(self.query(**options))  # type: ignore[arg-type]
        return f"{path}?{query}" if query else path

    def sort_link(self, path: str, key: str) -> tuple[str, str]:
        """(url, aria-sort) of a column header: ascending first, then descending."""
        if self.sort == key:
            return self.url(path, sort="-" + key), "ascending"
        if self.sort == "-" + key:
            return self.url(path, sort=key), "descending"
        return self.url(path, sort=key), "none"


def _submitted_rows(params: QueryParams) -> list[FilterRow]:
    """The rows of the filter bar as submitted; blank rows and the one asked removed are dropped."""
    names, operators, values = params.getlist("f_field"), params.getlist("f_op"), params.getlist("f_value")
    removed = params.get("remove_row", "")
    rows = []
    for index, name in enumerate(names[:MAX_ROWS]):
        if not name.strip() or str(index) == removed:
            continue
        operator = operators[index] if index < len(operators) else "eq"
        value = values[index] if index < len(values) else ""
        rows.append(FilterRow(name.strip(), operator.strip() or "eq", value.strip()))
    return rows
