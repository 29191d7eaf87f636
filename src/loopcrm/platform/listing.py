"""Filtered, sorted and paginated lists: the query language behind every list view and ``GET`` list.

A module declares the fields a list may filter and sort on (:class:`ListField`: a SQL
expression and a type) and hands the reader's conditions and sort to :func:`apply_conditions`
and :func:`sorted_page`. Conditions are written ``field:operator:value``
(``city:eq:上海``, ``employee_count:gte:100``, ``cf.level:in:gold,silver``) in the API's
``filter`` parameter and in saved views, so a saved view is the same text the API takes.

Pages are keyset-paginated on ``(sort value, id)``: stable under inserts and one index range
scan per page however deep the reader goes. Empty values sort last in both directions.
Filtering or sorting on a field above the reader's clearance is refused, because the order of
the rows would reveal the hidden values.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any, TypeVar

from sqlalchemy import (
    BindParameter,
    Column,
    ColumnClause,
    ColumnElement,
    Select,
    Table,
    and_,
    func,
    literal,
    literal_column,
    not_,
    or_,
    select,
    tuple_,
)
from sqlalchemy.orm import InstrumentedAttribute, Session
from sqlalchemy.sql import operators
from sqlalchemy.sql.elements import BinaryExpression, BooleanClauseList
from sqlalchemy.sql.visitors import replacement_traverse

from loopcrm.platform.errors import ValidationFailed
from loopcrm.platform.pagination import Page, check_limit, decode_cursor, encode_cursor
from loopcrm.platform.permissions import Actor, SecurityLevel

Item = TypeVar("Item")


class FieldType(StrEnum):
    """How a list field's values are compared, parsed from text and sorted."""

    TEXT = "text"  # case-sensitive text; contains / starts_with match substrings
    NUMBER = "number"  # integers and decimals
    DATE = "date"  # calendar dates, ISO 8601 (2026-11-23)
    DATETIME = "datetime"  # instants, ISO 8601 with offset
    BOOLEAN = "boolean"  # true / false
    CHOICE = "choice"  # one value of a declared set (enum values, ids)
    MULTI_CHOICE = "multi_choice"  # a JSON list of values; eq / in match any of them


class Operator(StrEnum):
    """The comparisons a condition may use."""

    EQ = "eq"  # equal to (any of the list values for multi-choice)
    NE = "ne"  # not equal to, or empty
    CONTAINS = "contains"  # text contains the value
    STARTS_WITH = "starts_with"  # text starts with the value
    GT = "gt"
    GTE = "gte"
    LT = "lt"
    LTE = "lte"
    IN = "in"  # one of a comma-separated list
    EMPTY = "empty"  # no value
    NOT_EMPTY = "not_empty"  # any value


_OPERATORS_BY_TYPE: dict[FieldType, frozenset[Operator]] = {
    FieldType.TEXT: frozenset(Operator),
    FieldType.NUMBER: frozenset(Operator) - {Operator.CONTAINS, Operator.STARTS_WITH},
    FieldType.DATE: frozenset(Operator) - {Operator.CONTAINS, Operator.STARTS_WITH},
    FieldType.DATETIME: frozenset(Operator) - {Operator.CONTAINS, Operator.STARTS_WITH, Operator.IN},
    FieldType.BOOLEAN: frozenset({Operator.EQ, Operator.NE, Operator.EMPTY, Operator.NOT_EMPTY}),
    FieldType.CHOICE: frozenset({Operator.EQ, Operator.NE, Operator.IN, Operator.EMPTY, Operator.NOT_EMPTY}),
    FieldType.MULTI_CHOICE: frozenset(
        {Operator.EQ, Operator.NE, Operator.IN, Operator.EMPTY, Operator.NOT_EMPTY}
    ),
}

# A custom condition: given the operator and the parsed values, the SQL condition.
ConditionBuilder = Callable[[Operator, list[Any]], ColumnElement[bool]]


@dataclass(frozen=True)
class ListField:
    """A field a list can filter and sort on.

    ``expression`` is what SQL compares (a column, or a value inside a JSON column);
    ``build`` replaces the generic comparison for fields that are not a plain value of the row
    (tags, a related table). ``level`` is the field's security level for the reader.
    """

    key: str
    expression: ColumnElement[Any] | InstrumentedAttribute[Any]
    type: FieldType
    sortable: bool = True
    level: SecurityLevel = SecurityLevel.PUBLIC
    build: ConditionBuilder | None = None


@dataclass(frozen=True)
class Condition:
    """One ``field:operator:value`` filter."""

    field: str
    operator: Operator
    value: str = ""

    def __str__(self) -> str:
        return f"{self.field}:{self.operator.value}:{self.value}"


@dataclass(frozen=True)
class Sort:
    """The order of a list: one field, ascending or descending; ties go by id."""

    field: str
    descending: bool = False

    def __str__(self) -> str:
        return f"-{self.field}" if self.descending else self.field


def parse_condition(text: str, *, parameter: str = "filter") -> Condition:
    """``field:operator:value`` (the value may contain further colons) → :class:`Condition`."""
    field, separator, rest = text.partition(":")
    operator_text, _, value = rest.partition(":")
    if not separator or not field:
        raise ValidationFailed.single(
            parameter, "Write a filter as field:operator:value", "invalid_filter", filter=text
        )
    try:
        operator = Operator(operator_text)
    except ValueError:
        raise ValidationFailed.single(
            parameter, "Unknown filter operator {operator}", "invalid_operator", operator=operator_text
        ) from None
    return Condition(field, operator, value)


def parse_sort(text: str | None, *, parameter: str = "sort") -> Sort | None:
    """``field`` or ``-field`` (descending) → :class:`Sort`; empty means the default order."""
    if not text:
        return None
    descending = text.startswith("-")
    field = text[1:] if descending else text
    if not field:
        raise ValidationFailed.single(parameter, "Unknown field {field}", "unknown_field", field=text)
    return Sort(field, descending)


def _parse_value(field: ListField, text: str, parameter: str) -> Any:
    def refuse() -> ValidationFailed:
        return ValidationFailed.single(
            parameter,
            "{value} is not a valid value for {field}",
            "invalid_value",
            value=text,
            field=field.key,
        )

    try:
        if field.type is FieldType.NUMBER:
            number = Decimal(text)
            if not number.is_finite():
                raise refuse()
            return number
        if field.type is FieldType.DATE:
            return date.fromisoformat(text)
        if field.type is FieldType.DATETIME:
            moment = datetime.fromisoformat(text)
            if moment.tzinfo is None:
                raise refuse()
            return moment
        if field.type is FieldType.BOOLEAN:
            if text.lower() in ("true", "1", "yes"):
                return True
            if text.lower() in ("false", "0", "no"):
                return False
            raise refuse()
    except (InvalidOperation, ValueError):
        raise refuse() from None
    return text


def _field(fields: Mapping[str, ListField], name: str, actor: Actor, parameter: str) -> ListField:
    field = fields.get(name)
    if field is None:
        raise ValidationFailed.single(parameter, "Unknown field {field}", "unknown_field", field=name)
    if field.level > actor.clearance:
        raise ValidationFailed.single(
            parameter, "You may not filter or sort on {field}", "field_not_allowed", field=name
        )
    return field


def _empty(field: ListField) -> ColumnElement[bool]:
    expression = field.expression
    if field.type in (FieldType.TEXT, FieldType.CHOICE):
        return or_(expression.is_(None), expression == "")
    if field.type is FieldType.MULTI_CHOICE:
        return or_(expression.is_(None), expression == "", expression == "[]")
    return expression.is_(None)


def _multi_choice_has(field: ListField, value: str) -> ColumnElement[bool]:
    # The list is stored as JSON text; option values are plain words, so the quoted value is exact.
    return field.expression.like(f"%{json.dumps(value)}%")


def _condition(field: ListField, condition: Condition, parameter: str) -> ColumnElement[bool]:
    operator = condition.operator
    if operator not in _OPERATORS_BY_TYPE[field.type]:
        raise ValidationFailed.single(
            parameter,
            "The operator {operator} does not apply to {field}",
            "invalid_operator",
            operator=operator.value,
            field=field.key,
        )
    if operator in (Operator.EMPTY, Operator.NOT_EMPTY):
        values: list[Any] = []
    elif operator is Operator.IN:
        values = [
            _parse_value(field, part.strip(), parameter)
            for part in condition.value.split(",")
            if part.strip()
        ]
        if not values:
            raise ValidationFailed.single(parameter, "Give at least one value", "invalid_value")
    else:
        values = [_parse_value(field, condition.value, parameter)]
    if field.build is not None:
        return field.build(operator, values)
    expression = field.expression
    if operator is Operator.EMPTY:
        return _empty(field)
    if operator is Operator.NOT_EMPTY:
        return not_(_empty(field))
    if field.type is FieldType.MULTI_CHOICE:
        matches = or_(*(_multi_choice_has(field, value) for value in values))
        return or_(_empty(field), not_(matches)) if operator is Operator.NE else matches
    value = values[0]
    match operator:
        case Operator.EQ:
            return expression == value
        case Operator.NE:
            return or_(expression != value, _empty(field))
        case Operator.CONTAINS:
            return func.lower(expression).contains(str(value).lower(), autoescape=True)
        case Operator.STARTS_WITH:
            return func.lower(expression).startswith(str(value).lower(), autoescape=True)
        case Operator.GT:
            return expression > value
        case Operator.GTE:
            return expression >= value
        case Operator.LT:
            return expression < value
        case Operator.LTE:
            return expression <= value
        case _:  # Operator.IN; EMPTY and NOT_EMPTY were answered above
            return expression.in_(values)


def apply_conditions(
    statement: Select[Any],
    fields: Mapping[str, ListField],
    conditions: Iterable[Condition],
    actor: Actor,
    *,
    parameter: str = "filter",
) -> Select[Any]:
    """``statement`` narrowed by every condition (they all must hold)."""
    built = [_condition(_field(fields, c.field, actor, parameter), c, parameter) for c in conditions]
    return statement.where(and_(*built)) if built else statement


def _encode(values: list[Any]) -> str:
    return encode_cursor(json.dumps(values, default=str))


def _decode(cursor: str) -> list[Any]:
    try:
        values = json.loads(decode_cursor(cursor))
    except ValueError:
        values = None
    if not isinstance(values, list) or len(values) != 3 or not isinstance(values[2], str):
        raise ValidationFailed.single("cursor", "The cursor is not valid", "invalid_cursor")
    return values


def _sort_value(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def _never_null(expression: Any) -> bool:
    """Whether ``expression`` is a NOT NULL column (an ORM attribute or a table column)."""
    column = getattr(expression, "expression", expression)
    return isinstance(column, Column) and not column.nullable


def _leads_an_index(expression: Any) -> bool:
    """Whether ``expression`` is a column that is the primary key or the first column of an index."""
    column = getattr(expression, "expression", expression)
    if not isinstance(column, Column) or not isinstance(column.table, Table):
        return False
    if column.primary_key:
        return True
    return any(index.columns and index.columns[0].name == column.name for index in column.table.indexes)


def _ordered_by_an_equality(whereclause: ColumnElement[bool] | None, expression: Any) -> bool:
    """Whether ``whereclause`` requires a column to equal one value and an index starts with that
    column and then ``expression``: the index holds those rows in the sort order, and SQLite walks
    it (``city = ?`` sorted by name, ``contacts (city, full_name, id)``)."""
    column = getattr(expression, "expression", expression)
    if whereclause is None or not isinstance(column, Column) or not isinstance(column.table, Table):
        return False
    terms: list[Any] = []
    pending: list[Any] = [whereclause]
    while pending:  # the terms of nested ANDs (the scope, then each filter)
        term = pending.pop()
        if isinstance(term, BooleanClauseList) and term.operator is operators.and_:
            pending.extend(term.clauses)
        else:
            terms.append(term)
    equal = {
        term.left.name
        for term in terms
        if isinstance(term, BinaryExpression)
        and term.operator is operators.eq
        and isinstance(term.left, Column)
        and term.left.table is column.table
        and isinstance(term.right, BindParameter)
    }
    return any(
        len(index.columns) > 1
        and index.columns[0].name in equal
        and list(index.columns)[1].name == column.name
        for index in column.table.indexes
    )


# How many rows of the sort order SQLite reads ahead for a page before it leaves the page to its
# own plan. Rows are stored in the order they were created and ids are time-ordered, so reading
# ahead in id or creation order reads neighbouring pages and may go far; any other order reads
# scattered rows (about 5 µs each at a million contacts) and stops sooner. Each size is tried in
# turn, so a page whose rows are near costs little.
LOOK_AHEAD_ROWS = (2_000,)
LOOK_AHEAD_ROWS_IN_CREATION_ORDER = (2_000, 10_000, 50_000)


def _without_indexes(clause: ColumnElement[bool], table: Table) -> ColumnElement[bool]:
    """``clause`` with each column of ``table`` written ``+column``: the same condition, which
    SQLite will not answer from an index on the column."""

    rowid = f"{table.name}.rowid"

    def replace(element: Any, **_: Any) -> Any:
        if isinstance(element, Column) and element.table is table:
            return literal_column(f"+{table.name}.{element.name}", type_=element.type)
        if isinstance(element, ColumnClause) and element.is_literal and element.name == rowid:
            return literal_column(f"+{rowid}", type_=element.type)  # a full-text match
        return None

    return replacement_traverse(clause, {}, replace)


def _first_rows(
    session: Session,
    statement: Select[Any],
    count: int,
    id_column: InstrumentedAttribute[str],
    order: Sequence[Any],
    after: ColumnElement[bool] | None,
    *,
    indexed: bool,
    in_creation_order: bool,
    columns: Sequence[Any],
) -> Sequence[Any]:
    """The first ``count`` rows of ``statement`` (ordered by ``order``, the cursor's ``after``
    condition applied); ``columns`` are what ``statement`` selects.

    Without statistics SQLite's planner prefers an index on an equality (the owner of a rep's
    records) or an OR of them (a manager's team) to the index of the sort order, then reads and
    sorts every record in scope: a second and more for a team's 300,000 contacts. When the sort
    order has an index, the next rows of the table in that order are read first and the
    statement's conditions applied to them (``_without_indexes``, so the planner cannot start
    elsewhere): a prefix of the order, so if it holds a page, that page is exact. Only when it
    does not (conditions that keep few rows) is the query left to the planner. PostgreSQL plans
    with statistics and is always left to it. Either way the page's ids are found first and
    its rows loaded by id.
    """
    if indexed and statement.whereclause is not None and session.get_bind().dialect.name == "sqlite":
        table = getattr(id_column, "expression", id_column).table
        rowid: ColumnElement[int] = literal_column(f"{table.name}.rowid")
        conditions = _without_indexes(statement.whereclause, table)
        for size in LOOK_AHEAD_ROWS_IN_CREATION_ORDER if in_creation_order else LOOK_AHEAD_ROWS:
            window = select(rowid).select_from(table).order_by(*order).limit(size).correlate(None)
            if after is not None:
                window = window.where(after)
            probe = select(id_column).where(conditions, rowid.in_(window)).order_by(*order).limit(count)
            ids = list(session.scalars(probe))
            if len(ids) == count:
                break
        else:
            ids = list(session.scalars(statement.with_only_columns(id_column).limit(count)))
    else:
        # The ids first, then their rows: sorting ids and sort keys is much cheaper than sorting
        # whole rows (search texts included) when many rows match.
        ids = list(session.scalars(statement.with_only_columns(id_column).limit(count)))
    if not ids:
        return []
    return session.execute(select(*columns).where(id_column.in_(ids)).order_by(*order)).all()


def sorted_page(
    session: Session,
    statement: Select[Any],
    fields: Mapping[str, ListField],
    sort: Sort | None,
    id_column: InstrumentedAttribute[str],
    actor: Actor,
    *,
    limit: int,
    cursor: str | None,
    convert: Callable[[Any], Item],
    look_ahead: bool = True,
) -> Page[Item]:
    """One page of ``statement`` (which selects one entity) in ``sort`` order, newest first by default.

    The cursor holds the last row's sort value and id, so the next page starts right after it.
    ``look_ahead=False`` leaves SQLite's plan alone (see ``_first_rows``): for a statement whose
    conditions an index answers better than the sort order, such as the records of one owner.
    """
    check_limit(limit)
    if sort is None:
        after = None
        if cursor:
            last = _decode(cursor)
            after = id_column < last[2]
            statement = statement.where(after)
        order: list[Any] = [id_column.desc()]
        statement = statement.order_by(*order)
        entity = statement.column_descriptions[0]["entity"]
        found = _first_rows(
            session,
            statement,
            limit + 1,
            id_column,
            order,
            after,
            indexed=look_ahead,
            in_creation_order=True,
            columns=[entity],
        )
        rows: Sequence[Any] = [row[0] for row in found]
        has_more = len(rows) > limit
        rows = rows[:limit]
        next_cursor = _encode([False, None, rows[-1].id]) if has_more and rows else None
        return Page[Any](items=[convert(row) for row in rows], next_cursor=next_cursor)

    field = _field(fields, sort.field, actor, "sort")
    if not field.sortable:
        raise ValidationFailed.single(
            "sort", "The list cannot be sorted by {field}", "not_sortable", field=sort.field
        )
    expression = field.expression
    ordering = expression.desc() if sort.descending else expression.asc()
    tie = id_column.desc() if sort.descending else id_column.asc()
    after = None
    never_null = _never_null(expression)
    if never_null:
        # A NOT NULL column: plain ``ORDER BY column, id`` and a row-value comparison, which an
        # index on the column answers (the empty-values-last term below cannot be indexed, so
        # every sorted page read and sorted the whole table: 400 ms at a million contacts).
        if cursor:
            was_null, raw_value, last_id = _decode(cursor)
            if was_null or raw_value is None:
                raise ValidationFailed.single("cursor", "The cursor is not valid", "invalid_cursor")
            position = tuple_(expression, id_column)
            value = _parse_value(field, str(raw_value), "cursor")
            bound = tuple_(literal(value, expression.type), literal(last_id, id_column.type))
            after = position < bound if sort.descending else position > bound
            statement = statement.where(after)
        order = [ordering, tie]
        ordered = statement.add_columns(expression.label("_sort_value")).order_by(*order)
    else:
        is_null = expression.is_(None)
        if cursor:
            was_null, raw_value, last_id = _decode(cursor)
            after_id = id_column < last_id if sort.descending else id_column > last_id
            if was_null:
                statement = statement.where(is_null, after_id)
            else:
                value = _parse_value(field, str(raw_value), "cursor") if raw_value is not None else None
                beyond = expression < value if sort.descending else expression > value
                statement = statement.where(or_(is_null, beyond, and_(expression == value, after_id)))
        order = [is_null.asc(), ordering, tie]
        ordered = statement.add_columns(expression.label("_sort_value")).order_by(*order)
    entity = statement.column_descriptions[0]["entity"]
    result = list(
        _first_rows(
            session,
            ordered,
            limit + 1,
            id_column,
            order,
            after,
            # An equality whose index continues in the sort order (a city's contacts by name)
            # is walked by SQLite's own plan; reading ahead in the whole table's order would
            # only delay it (a surname's matches are not at the start of the name order).
            indexed=look_ahead
            and never_null
            and _leads_an_index(expression)
            and not _ordered_by_an_equality(statement.whereclause, expression),
            in_creation_order=getattr(expression, "key", None) == "created_at",
            columns=[entity, expression.label("_sort_value")],
        )
    )
    has_more = len(result) > limit
    result = result[:limit]
    next_cursor = None
    if has_more and result:
        last_row, last_value = result[-1][0], result[-1][1]
        next_cursor = _encode([last_value is None, _sort_value(last_value), last_row.id])
    return Page[Any](items=[convert(row[0]) for row in result], next_cursor=next_cursor)
