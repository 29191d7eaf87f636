"""Lists of accounts and contacts: filters on any field (custom fields too), sorting, full-text
search, saved views and bulk actions — all within the reader's record scope and clearance."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import replace
from typing import Any

from sqlalchemy import ColumnElement, Select, exists, or_, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from loopcrm.modules.customers.models import (
    Account,
    Contact,
    ContactPoint,
    ContactPointKind,
    CustomFieldDefinition,
    CustomFieldKind,
    Employment,
    Tagging,
)
from loopcrm.modules.customers.schemas import AccountOut, ContactOut, ListQuery
from loopcrm.modules.customers.service import accounts, contacts, records, search
from loopcrm.modules.customers.service.custom_fields import CUSTOM_FIELD_PREFIX, definitions
from loopcrm.modules.customers.service.object_types import ACCOUNT, CONTACT, OBJECT_TYPE_OF_KIND
from loopcrm.modules.customers.service.saved_views import load_view
from loopcrm.platform.listing import (
    Condition,
    FieldType,
    ListField,
    Operator,
    apply_conditions,
    parse_condition,
    parse_sort,
    sorted_page,
)
from loopcrm.platform.pagination import Page
from loopcrm.platform.permissions import Action, Actor, Scope, SecurityLevel
from loopcrm.platform.unit_of_work import UnitOfWork

_CUSTOM_TYPES = {
    CustomFieldKind.TEXT: FieldType.TEXT,
    CustomFieldKind.LONG_TEXT: FieldType.TEXT,
    CustomFieldKind.URL: FieldType.TEXT,
    CustomFieldKind.NUMBER: FieldType.NUMBER,
    CustomFieldKind.MONEY: FieldType.NUMBER,
    CustomFieldKind.DATE: FieldType.DATE,
    CustomFieldKind.BOOLEAN: FieldType.BOOLEAN,
    CustomFieldKind.SELECT: FieldType.CHOICE,
    CustomFieldKind.USER: FieldType.CHOICE,
    CustomFieldKind.MULTI_SELECT: FieldType.MULTI_CHOICE,
}


def _custom_field(column: InstrumentedAttribute[Any], definition: CustomFieldDefinition) -> ListField:
    kind = CustomFieldKind(definition.kind)
    value = column[definition.key]
    expression: ColumnElement[Any]
    if kind in (CustomFieldKind.NUMBER, CustomFieldKind.MONEY):
        expression = value.as_float()
    elif kind is CustomFieldKind.BOOLEAN:
        expression = value.as_boolean()
    else:
        expression = value.as_string()  # a multi-select's list as JSON text; options are matched quoted
    return ListField(
        key=CUSTOM_FIELD_PREFIX + definition.key,
        expression=expression,
        type=_CUSTOM_TYPES[kind],
        sortable=kind is not CustomFieldKind.MULTI_SELECT,
        level=SecurityLevel.from_label(definition.security_level),
    )


def _tag_field(kind: str, id_column: InstrumentedAttribute[str]) -> ListField:
    def build(operator: Operator, values: list[Any]) -> ColumnElement[bool]:
        tagged = exists().where(Tagging.record_kind == kind, Tagging.record_id == id_column)
        if operator in (Operator.EMPTY, Operator.NOT_EMPTY):
            return ~tagged if operator is Operator.EMPTY else tagged
        with_tags = exists().where(
            Tagging.record_kind == kind, Tagging.record_id == id_column, Tagging.tag_id.in_(values)
        )
        return ~with_tags if operator is Operator.NE else with_tags

    return ListField("tag", id_column, FieldType.CHOICE, sortable=False, build=build)


def _point_field(
    session: Session, name: str, kind: str, id_column: InstrumentedAttribute[str], point: ContactPointKind
) -> ListField:
    """Filter on a phone or email: ``phones:contains:5678`` finds numbers ending in 5678 cheaply
    (the matching phones come from the ``(kind, search_key)`` index, then their records)."""

    def build(operator: Operator, values: list[Any]) -> ColumnElement[bool]:
        base = [
            ContactPoint.record_kind == kind,
            ContactPoint.record_id == id_column,
            ContactPoint.kind == point.value,
        ]
        if operator in (Operator.EMPTY, Operator.NOT_EMPTY):
            found = exists().where(*base)
            return ~found if operator is Operator.EMPTY else found
        conditions = [
            search.contact_point_condition(session, point, str(value), operator) for value in values
        ]
        points = select(ContactPoint.record_id).where(
            ContactPoint.kind == point.value, or_(*conditions), ContactPoint.record_kind == kind
        )
        return id_column.not_in(points) if operator is Operator.NE else id_column.in_(points)

    return ListField(name, id_column, FieldType.TEXT, sortable=False, build=build)


def _common_fields(session: Session, model: type[Account] | type[Contact], kind: str) -> dict[str, ListField]:
    fields = [
        ListField("province", model.province, FieldType.TEXT),
        ListField("city", model.city, FieldType.TEXT),
        ListField("source", model.source, FieldType.CHOICE),
        ListField("owner_id", model.owner_id, FieldType.CHOICE),
        ListField("team_id", model.team_id, FieldType.CHOICE),
        ListField("external_id", model.external_id, FieldType.TEXT),
        ListField("created_at", model.created_at, FieldType.DATETIME),
        ListField("updated_at", model.updated_at, FieldType.DATETIME),
        _tag_field(kind, model.id),
        _point_field(session, "phones", kind, model.id, ContactPointKind.PHONE),
        _point_field(session, "emails", kind, model.id, ContactPointKind.EMAIL),
    ]
    return {field.key: field for field in fields}


def account_fields(session: Session) -> dict[str, ListField]:
    """Every field an account list can filter or sort on, at its level for the reader."""
    fields = _common_fields(session, Account, "account")
    for field in (
        ListField("name", Account.name, FieldType.TEXT),
        ListField("name_en", Account.name_en, FieldType.TEXT),
        ListField("credit_code", Account.credit_code, FieldType.TEXT),
        ListField("industry", Account.industry, FieldType.CHOICE),
        ListField("employee_count", Account.employee_count, FieldType.NUMBER),
        ListField("annual_revenue", Account.annual_revenue, FieldType.NUMBER),
        ListField("website", Account.website, FieldType.TEXT),
        ListField("domain", Account.domain, FieldType.TEXT),
        ListField("legal_representative", Account.legal_representative, FieldType.TEXT),
        ListField("operating_status", Account.operating_status, FieldType.CHOICE),
        ListField("parent_id", Account.parent_id, FieldType.CHOICE),
    ):
        fields[field.key] = field
    for definition in definitions(session, "account"):
        field = _custom_field(Account.custom_fields, definition)
        fields[field.key] = field
    return _with_levels(fields, ACCOUNT.field_levels)


def contact_fields(session: Session) -> dict[str, ListField]:
    """Every field a contact list can filter or sort on, at its level for the reader."""
    fields = _common_fields(session, Contact, "contact")

    def works_at(operator: Operator, values: list[Any]) -> ColumnElement[bool]:
        current = exists().where(
            Employment.contact_id == Contact.id,
            Employment.ended_on.is_(None),
            *([Employment.account_id.in_(values)] if values else []),
        )
        return ~current if operator in (Operator.NE, Operator.EMPTY) else current

    for field in (
        ListField("full_name", Contact.full_name, FieldType.TEXT),
        ListField("family_name", Contact.family_name, FieldType.TEXT),
        ListField("given_name", Contact.given_name, FieldType.TEXT),
        ListField("name_pinyin", Contact.name_pinyin, FieldType.TEXT),
        ListField("gender", Contact.gender, FieldType.CHOICE),
        ListField("title", Contact.title, FieldType.TEXT),
        ListField("department", Contact.department, FieldType.TEXT),
        ListField("wechat_id", Contact.wechat_id, FieldType.TEXT),
        ListField("address", Contact.address, FieldType.TEXT),
        ListField("birthday", Contact.birthday, FieldType.DATE),
        ListField("email_opt_in", Contact.email_opt_in, FieldType.BOOLEAN),
        ListField("sms_opt_in", Contact.sms_opt_in, FieldType.BOOLEAN),
        ListField("wechat_opt_in", Contact.wechat_opt_in, FieldType.BOOLEAN),
        ListField("account_id", Contact.id, FieldType.CHOICE, sortable=False, build=works_at),
    ):
        fields[field.key] = field
    for definition in definitions(session, "contact"):
        field = _custom_field(Contact.custom_fields, definition)
        fields[field.key] = field
    return _with_levels(fields, CONTACT.field_levels)


def _with_levels(fields: dict[str, ListField], levels: Any) -> dict[str, ListField]:
    for name, level in levels.items():
        if name in fields:
            fields[name] = replace(fields[name], level=level)
    return fields


def resolve_query(
    session: Session, actor: Actor, query: ListQuery, record_kind: str
) -> tuple[str | None, list[Condition], str | None]:
    """The search text, conditions and sort of a request, a saved view's when ``view_id`` is given
    (the request's own filters are added to the view's)."""
    q, filters, sort = query.q, list(query.filters), query.sort
    if query.view_id:
        view = load_view(session, actor, query.view_id, record_kind)
        definition = view.definition
        q = q or definition.get("q")
        filters = [*definition.get("filters", []), *filters]
        sort = sort or definition.get("sort")
    return q, [parse_condition(text) for text in filters], sort


def filtered_statement(
    session: Session, actor: Actor, query: ListQuery, record_kind: str
) -> tuple[Select[Any], dict[str, ListField], str | None]:
    """The statement selecting every record of the request in the reader's scope, with the fields
    and sort to page it (used by lists, exports and bulk actions alike)."""
    model = records.MODEL_OF_KIND[record_kind]
    fields = account_fields(session) if record_kind == "account" else contact_fields(session)
    q, conditions, sort = resolve_query(session, actor, query, record_kind)
    statement = records.readable(actor, record_kind, deleted=query.include_deleted)
    statement = apply_conditions(statement, fields, conditions, actor)
    if q:
        statement = statement.where(search.matches(session, actor, record_kind, model, q))
    return statement, fields, sort


def _page(
    uow: UnitOfWork,
    actor: Actor,
    query: ListQuery,
    record_kind: str,
    *,
    limit: int,
    cursor: str | None,
    present: Callable[[UnitOfWork, Actor, list[Any]], list[Any]],
) -> Page[Any]:
    session = uow.session
    statement, fields, sort = filtered_statement(session, actor, query, record_kind)
    object_type = OBJECT_TYPE_OF_KIND[record_kind].key
    page = sorted_page(
        session,
        statement,
        fields,
        parse_sort(sort),
        records.MODEL_OF_KIND[record_kind].id,
        actor,
        limit=limit,
        cursor=cursor,
        convert=lambda r: r,
        # A reader who sees only their own records is served by the owner's indexes; a team or
        # everyone is usually a large share of the table, read faster in the list's order.
        look_ahead=actor.scope(object_type, Action.READ) is not Scope.OWN,
    )
    return Page[Any](items=present(uow, actor, page.items), next_cursor=page.next_cursor)


# Ids per IN (...) list: far below SQLite's and PostgreSQL's bound-parameter limits.
_NAMES_CHUNK = 500


def account_names_in(uow: UnitOfWork, actor: Actor, account_ids: Iterable[str | None]) -> dict[str, str]:
    """The names of the live accounts among ``account_ids`` that ``actor`` may read, in the
    caller's open transaction: what another module shows beside its own records (the account of
    each of a board's 300 deal cards) with one query instead of reading every account in full.
    An account the reader may not read is left out, as if it did not exist."""
    ids = sorted({account_id for account_id in account_ids if account_id})
    if not ids or not actor.can(ACCOUNT.key, Action.READ):
        return {}
    readable = records.readable(actor, "account").with_only_columns(Account.id, Account.name)
    names: dict[str, str] = {}
    for start in range(0, len(ids), _NAMES_CHUNK):
        chunk = ids[start : start + _NAMES_CHUNK]
        names.update(uow.session.execute(readable.where(Account.id.in_(chunk))).all())
    return names


def present_accounts(uow: UnitOfWork, actor: Actor, rows: list[Account]) -> list[AccountOut]:
    session = uow.session
    ids = [row.id for row in rows]
    points = records.contact_points_of(session, "account", ids)
    tags = records.tags_of(session, "account", ids)
    levels = records.custom_levels(session, "account")
    owner_names = records.user_names(session, [row.owner_id for row in rows])
    parents = {
        key: value
        for key, value in session.execute(
            select(Account.id, Account.name).where(
                Account.id.in_({row.parent_id for row in rows if row.parent_id})
            )
        )
    }
    shown = {}
    items = []
    for row in rows:
        values = accounts.row_values(row, points[row.id], tags[row.id])
        masked = records.present(uow, actor, ACCOUNT.key, row.id, values, levels, is_read=False)
        shown[row.id] = masked
        items.append(
            AccountOut(
                **masked.values,
                owner_name=owner_names.get(row.owner_id or ""),
                parent_name=parents.get(row.parent_id or ""),
                masked_fields=list(masked.masked),
            )
        )
    records.audit_page_read(uow, actor, ACCOUNT.key, shown)
    return items


def present_contacts(uow: UnitOfWork, actor: Actor, rows: list[Contact]) -> list[ContactOut]:
    session = uow.session
    ids = [row.id for row in rows]
    points = records.contact_points_of(session, "contact", ids)
    tags = records.tags_of(session, "contact", ids)
    jobs = contacts.employments_of(session, ids)
    levels = records.custom_levels(session, "contact")
    owner_names = records.user_names(session, [row.owner_id for row in rows])
    shown = {}
    items = []
    for row in rows:
        values = contacts.row_values(row, points[row.id], tags[row.id], jobs[row.id])
        masked = records.present(uow, actor, CONTACT.key, row.id, values, levels, is_read=False)
        shown[row.id] = masked
        items.append(
            ContactOut(
                **masked.values,
                owner_name=owner_names.get(row.owner_id or ""),
                masked_fields=list(masked.masked),
            )
        )
    records.audit_page_read(uow, actor, CONTACT.key, shown)
    return items


def list_accounts(
    uow: UnitOfWork, actor: Actor, query: ListQuery, *, limit: int, cursor: str | None
) -> Page[AccountOut]:
    """Accounts in the reader's scope matching the query, newest first unless sorted."""
    with uow:
        page = _page(uow, actor, query, "account", limit=limit, cursor=cursor, present=present_accounts)
        uow.commit()  # the audit entry of confidential values shown
        return Page[AccountOut](items=page.items, next_cursor=page.next_cursor)


def list_contacts(
    uow: UnitOfWork, actor: Actor, query: ListQuery, *, limit: int, cursor: str | None
) -> Page[ContactOut]:
    """Contacts in the reader's scope matching the query, newest first unless sorted."""
    with uow:
        page = _page(uow, actor, query, "contact", limit=limit, cursor=cursor, present=present_contacts)
        uow.commit()
        return Page[ContactOut](items=page.items, next_cursor=page.next_cursor)
