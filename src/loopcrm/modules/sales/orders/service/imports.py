"""Importing e-commerce orders from a CSV or XLSX file (a shop's order export).

One row per order line; the rows of one order share its external id (and channel), and the
order's own fields (customer, time, currency) are read from its first row. The customer is a
contact matched by email or phone through the customers module, or created when none matches.

Every rejected row is reported with its reason; an order with a rejected row is left out whole
(its other rows are reported too), and every other order lands. An order imported before (same
channel and external id) is left as it is, so running the same file again changes nothing.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from openpyxl import load_workbook
from pydantic import ValidationError
from sqlalchemy import select

from loopcrm.modules.customers import service as customers
from loopcrm.modules.customers.schemas import ContactCreate, CustomerSource, EmailIn, PhoneIn
from loopcrm.modules.sales.orders.models import OrderImport, OrderOrigin
from loopcrm.modules.sales.orders.schemas import (
    MAX_LINES,
    ImportProblem,
    OrderCreate,
    OrderImportOut,
    OrderLineIn,
)
from loopcrm.modules.sales.orders.service.object_types import ORDER
from loopcrm.modules.sales.orders.service.orders import (
    computed_lines,
    find_by_external_id,
    order_currency,
    store_order,
)
from loopcrm.platform.errors import DomainError, FieldError, NotFound, ValidationFailed
from loopcrm.platform.i18n import N_, Translator
from loopcrm.platform.pagination import DEFAULT_PAGE_SIZE, Page, paginate
from loopcrm.platform.permissions import Action, Actor, require
from loopcrm.platform.unit_of_work import JoinedUnitOfWork, UnitOfWork

# A shop's daily export stays far below these; larger files are better split than held in one request.
MAX_FILE_BYTES = 10 * 1024 * 1024
MAX_ROWS = 20_000
MAX_CELL_CHARACTERS = 2_000
DELIMITERS = ",;\t|"

# The columns a file may have, by the names shops and people give them (lower-cased, English and
# Chinese); the first names are the ones the import page documents.
COLUMN_NAMES: dict[str, tuple[str, ...]] = {
    "external_id": ("external_id", "order_id", "order id", "order number", "订单号", "订单编号"),
    "channel": ("channel", "shop", "渠道", "店铺", "平台"),
    "ordered_at": ("ordered_at", "order time", "order date", "下单时间", "订单时间", "日期"),
    "currency": ("currency", "币种"),
    "customer_name": ("customer_name", "customer", "name", "客户", "客户姓名", "收货人", "买家"),
    "email": ("email", "e-mail", "邮箱", "电子邮件"),
    "phone": ("phone", "mobile", "手机", "手机号", "电话"),
    "sku": ("sku", "商品编码", "货号"),
    "description": ("description", "product", "item", "商品", "商品名称"),
    "quantity": ("quantity", "qty", "数量"),
    "unit_price": ("unit_price", "price", "单价"),
    "discount_percent": ("discount_percent", "discount", "折扣", "折扣率"),
    "tax_rate": ("tax_rate", "tax", "税率"),
}
REQUIRED_COLUMNS = ("external_id", "description", "quantity", "unit_price")
_HEADER_TO_COLUMN = {name: column for column, names in COLUMN_NAMES.items() for name in names}
_TIME_FORMATS = (
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d %H:%M",
    "%Y-%m-%d",
    "%Y/%m/%d",
)
_CJK = re.compile(r"^[\u3400-\u9fff]+$")


class UnreadableFile(ValidationFailed):
    """The upload is not a CSV or XLSX file this import can read; nothing was imported."""

    code = "unreadable_file"
    title = "The file cannot be read"

    def __init__(self, message: str, **params: Any) -> None:
        super().__init__([FieldError("file", message, self.code, dict(params))], message)
        self.params = params


# ---------------------------------------------------------------- reading the file


def _cells_of_workbook(content: bytes) -> Iterator[list[str]]:
    try:
        workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError):
        raise UnreadableFile(N_("The file is neither a CSV file nor an Excel workbook (.xlsx)")) from None
    sheet = workbook.worksheets[0]
    for row in sheet.iter_rows(values_only=True):
        yield ["" if value is None else _cell_text(value) for value in row]
    workbook.close()


def _cell_text(value: object) -> str:
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _cells_of_csv(content: bytes) -> Iterator[list[str]]:
    for encoding in ("utf-8-sig", "gb18030"):  # Excel in China saves CSV as GBK
        try:
            text = content.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise UnreadableFile(N_("The file is neither a CSV file nor an Excel workbook (.xlsx)"))
    first_line = text.split("\n", 1)[0]
    delimiter = max(DELIMITERS, key=first_line.count)
    yield from csv.reader(io.StringIO(text), delimiter=delimiter if first_line.count(delimiter) else ",")


def read_rows(content: bytes) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    """The file's known columns and its rows (numbered as a spreadsheet shows them, the header
    being row 1) as ``{column: text}``; blank rows are skipped."""
    if len(content) > MAX_FILE_BYTES:
        raise UnreadableFile(
            N_("The file is larger than {maximum} MB"), maximum=MAX_FILE_BYTES // (1024 * 1024)
        )
    rows = _cells_of_workbook(content) if content[:2] == b"PK" else _cells_of_csv(content)
    header = next(rows, None)
    if header is None:
        raise UnreadableFile(N_("The file is empty"))
    columns = [_HEADER_TO_COLUMN.get(name.strip().lower(), "") for name in header]
    missing = [column for column in REQUIRED_COLUMNS if column not in columns]
    if missing:
        raise UnreadableFile(N_("The file has no column {columns}"), columns=", ".join(missing))
    found: list[tuple[int, dict[str, str]]] = []
    for number, cells in enumerate(rows, start=2):
        if not any(cell.strip() for cell in cells):
            continue
        if len(found) >= MAX_ROWS:
            raise UnreadableFile(N_("The file has more than {maximum} rows"), maximum=MAX_ROWS)
        values = {
            column: cell.strip()[:MAX_CELL_CHARACTERS]
            for column, cell in zip(columns, cells, strict=False)
            if column and cell.strip()
        }
        found.append((number, values))
    return [column for column in columns if column], found


# ---------------------------------------------------------------- checking rows


@dataclass
class RowProblem:
    row: int
    external_id: str | None
    field: str | None
    message: str
    params: dict[str, Any] = dataclasses.field(default_factory=dict)


@dataclass
class ParsedRow:
    number: int
    values: dict[str, str]
    line: OrderLineIn | None = None
    ordered_at: datetime | None = None
    problems: list[RowProblem] = dataclasses.field(default_factory=list)


def _decimal(text: str) -> Decimal:
    cleaned = text.replace(",", "").replace("¥", "").replace("￥", "").replace("%", "").strip()
    return Decimal(cleaned)


def _ordered_at(text: str, timezone: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        for pattern in _TIME_FORMATS:
            try:
                moment = datetime.strptime(text, pattern)
                break
            except ValueError:
                continue
        else:
            raise ValueError(text) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo(timezone))
    return moment.astimezone(UTC)


def _parse_row(number: int, values: dict[str, str], timezone: str) -> ParsedRow:
    parsed = ParsedRow(number, values)
    external_id = values.get("external_id")

    def problem(field_name: str | None, message: str, **params: Any) -> None:
        parsed.problems.append(RowProblem(number, external_id, field_name, message, params))

    if not external_id:
        problem("external_id", N_("The order's external id is missing"))
    if not (values.get("email") or values.get("phone")):
        problem("email", N_("Give the customer's email or phone"))
    numbers: dict[str, Decimal] = {}
    for column in ("quantity", "unit_price", "discount_percent", "tax_rate"):
        if column not in values:
            continue
        try:
            numbers[column] = _decimal(values[column])
        except InvalidOperation:
            problem(column, N_("{value} is not a number"), value=values[column])
    if "ordered_at" in values:
        try:
            parsed.ordered_at = _ordered_at(values["ordered_at"], timezone)
        except ValueError:
            problem(
                "ordered_at",
                N_("{value} is not a date and time such as 2026-03-01 14:30"),
                value=values["ordered_at"],
            )
    if parsed.problems:
        return parsed
    try:
        parsed.line = OrderLineIn(
            sku=values.get("sku", ""),
            description=values.get("description") or values.get("sku", ""),
            quantity=numbers.get("quantity", Decimal(0)),
            unit_price=numbers.get("unit_price", Decimal(0)),
            discount_percent=numbers.get("discount_percent", Decimal(0)),
            tax_rate=numbers.get("tax_rate", Decimal(0)),
        )
    except ValidationError as error:
        for item in error.errors():
            location = str(item["loc"][0]) if item["loc"] else None
            problem(location, _line_message(location), value=values.get(location or "", ""))
    return parsed


def _line_message(column: str | None) -> str:
    return {
        "quantity": N_("The quantity must be a number above 0"),
        "unit_price": N_("The unit price must be a number of at least 0"),
        "discount_percent": N_("The discount must be a percentage from 0 to 100"),
        "tax_rate": N_("The tax rate must be a percentage from 0 to 100"),
        "description": N_("The product's description is missing"),
    }.get(column or "", N_("This value is not valid"))


# ---------------------------------------------------------------- landing orders


def _name_parts(name: str) -> tuple[str, str]:
    """A contact's family and given names from a shop's single name field: a Chinese name's
    first character is its family name; other names are kept whole as the given name."""
    if _CJK.match(name) and len(name) >= 2:
        return name[0], name[1:]
    return "", name


def _customer_contact(uow: UnitOfWork, actor: Actor, first: dict[str, str]) -> str:
    """The contact an order is for: one holding its email or phone, else a new contact."""
    email, phone = first.get("email"), first.get("phone")
    matches = customers.contacts_having(uow, emails=[email] if email else [], phones=[phone] if phone else [])
    if matches:
        return sorted(matches)[0]
    name = first.get("customer_name") or (email.split("@")[0] if email else phone) or "?"
    family, given = _name_parts(name[:50])
    contact = ContactCreate(
        family_name=family,
        given_name=given,
        source=CustomerSource.E_COMMERCE,
        emails=[EmailIn(address=email, is_primary=True)] if email else [],
        phones=[PhoneIn(number=phone, is_primary=True)] if phone else [],
    )
    return customers.create_contact_in(uow, actor, contact)


def _problems_of_refusal(error: Exception, rows: list[ParsedRow]) -> list[RowProblem]:
    first = rows[0]
    external_id = first.values.get("external_id")
    if isinstance(error, ValidationFailed):
        return [
            RowProblem(first.number, external_id, item.field.split(".")[0], item.message, dict(item.params))
            for item in error.errors
        ]
    if isinstance(error, ValidationError):
        return [
            RowProblem(
                first.number,
                external_id,
                str(item["loc"][0]) if item["loc"] else None,
                N_("This value is not valid"),
            )
            for item in error.errors()
        ]
    message, params = (
        (error.message, dict(error.params)) if isinstance(error, DomainError) else (str(error), {})
    )
    return [RowProblem(first.number, external_id, None, message, params)]


def import_orders(
    uow: UnitOfWork, actor: Actor, *, file_name: str, content: bytes, channel: str
) -> OrderImportOut:
    """Import a shop's order export (CSV in UTF-8 or GBK, or XLSX) for ``channel`` (a row's own
    channel column wins); the run is kept with its report of rejected rows."""
    require(actor, ORDER.key, Action.CREATE)
    channel = channel.strip().lower()
    if not channel or len(channel) > 40 or " " in channel:
        raise ValidationFailed.single(
            "channel", "Name the shop the orders come from, such as tmall", "required"
        )
    _columns, rows = read_rows(content)
    parsed = [_parse_row(number, values, actor.timezone) for number, values in rows]
    groups: dict[tuple[str, str], list[ParsedRow]] = {}
    problems: list[RowProblem] = []
    for row in parsed:
        external_id = row.values.get("external_id")
        if external_id is None:
            problems.extend(row.problems)
            continue
        groups.setdefault((row.values.get("channel", channel).lower(), external_id), []).append(row)
    created = unchanged = rejected_orders = 0
    with uow:
        session = uow.session
        for (order_channel, external_id), order_rows in groups.items():
            bad = [problem for row in order_rows for problem in row.problems]
            if not bad and len(order_rows) > MAX_LINES:
                bad = [
                    RowProblem(
                        order_rows[0].number,
                        external_id,
                        None,
                        N_("An order has at most {maximum} lines"),
                        {"maximum": MAX_LINES},
                    )
                ]
            if bad:
                problems.extend(bad)
                problems.extend(_others_rejected(order_rows, bad))
                rejected_orders += 1
                continue
            if find_by_external_id(session, order_channel, external_id) is not None:
                unchanged += 1
                continue
            try:
                _land_order(JoinedUnitOfWork(uow), actor, order_channel, external_id, order_rows)
                created += 1
            except (DomainError, ValidationError) as error:
                refusal = _problems_of_refusal(error, order_rows)
                problems.extend(refusal)
                problems.extend(_others_rejected(order_rows, refusal))
                rejected_orders += 1
        problems.sort(key=lambda item: item.row)
        run = OrderImport(
            file_name=file_name[:255] or "orders",
            channel=channel,
            created_by=actor.user_id,
            row_count=len(rows),
            orders_created=created,
            orders_unchanged=unchanged,
            orders_rejected=rejected_orders,
            rows_rejected=len({problem.row for problem in problems}),
            report=[
                {
                    "row": problem.row,
                    "external_id": problem.external_id,
                    "field": problem.field,
                    "message": problem.message,
                    "params": {name: str(value) for name, value in problem.params.items()},
                }
                for problem in problems
            ],
        )
        session.add(run)
        session.flush()
        result = _import_out(run)
        uow.commit()
        return result


def _others_rejected(order_rows: list[ParsedRow], problems: list[RowProblem]) -> list[RowProblem]:
    reported = {problem.row for problem in problems}
    return [
        RowProblem(
            row.number, row.values.get("external_id"), None, N_("Another row of this order was rejected")
        )
        for row in order_rows
        if row.number not in reported
    ]


def _land_order(
    uow: JoinedUnitOfWork, actor: Actor, channel: str, external_id: str, order_rows: list[ParsedRow]
) -> None:
    """One order, in a savepoint: a refusal (a contact that cannot be created) changes nothing."""
    first = order_rows[0]
    with uow:
        contact_id = _customer_contact(uow, actor, first.values)
        data = OrderCreate(
            contact_id=contact_id,
            currency=first.values.get("currency"),
            ordered_at=first.ordered_at,
            channel=channel,
            external_id=external_id,
            lines=[row.line for row in order_rows if row.line is not None],
        )
        store_order(
            uow,
            actor,
            origin=OrderOrigin.IMPORT,
            account_id=None,
            contact_id=contact_id,
            customer=(
                first.values.get("customer_name")
                or first.values.get("email")
                or first.values.get("phone")
                or ""
            )[:200],
            currency=order_currency(uow, data.currency),
            lines=computed_lines(data),
            ordered_at=data.ordered_at or datetime.now(UTC),
            owner_id=actor.user_id,
            team_id=None,
            channel=channel,
            external_id=external_id,
        )
        uow.commit()


def _import_out(run: OrderImport) -> OrderImportOut:
    return OrderImportOut(
        id=run.id,
        file_name=run.file_name,
        channel=run.channel,
        created_by=run.created_by,
        created_at=run.created_at,
        row_count=run.row_count,
        orders_created=run.orders_created,
        orders_unchanged=run.orders_unchanged,
        orders_rejected=run.orders_rejected,
        rows_rejected=run.rows_rejected,
        problems=[ImportProblem(**item) for item in run.report],
    )


def get_import(uow: UnitOfWork, actor: Actor, import_id: str) -> OrderImportOut:
    """An import run; users see their own, admins everyone's."""
    require(actor, ORDER.key, Action.CREATE)
    with uow:
        run = uow.session.get(OrderImport, import_id) if len(import_id) <= 36 else None
        if run is None or not (
            actor.is_system or actor.role_key == "admin" or run.created_by == actor.user_id
        ):
            raise NotFound("Import not found")
        return _import_out(run)


def list_imports(
    uow: UnitOfWork, actor: Actor, *, limit: int = DEFAULT_PAGE_SIZE, cursor: str | None = None
) -> Page[OrderImportOut]:
    """Import runs, newest first: one's own, or everyone's for admins."""
    require(actor, ORDER.key, Action.CREATE)
    statement = select(OrderImport)
    if not (actor.is_system or actor.role_key == "admin"):
        statement = statement.where(OrderImport.created_by == actor.user_id)
    with uow:
        return paginate(
            uow.session, statement, OrderImport.id, limit=limit, cursor=cursor, convert=_import_out
        )


def import_report_csv(run: OrderImportOut, language: Translator) -> str:
    """The rejected rows of an import as CSV (UTF-8 with a byte-order mark, so Excel shows the
    Chinese right): row, external id, column, reason in the reader's language."""
    output = io.StringIO()
    writer = csv.writer(output)
    writer.writerow(
        [
            language.gettext("Row"),
            language.gettext("External id"),
            language.gettext("Column"),
            language.gettext("Reason"),
        ]
    )
    for problem in run.problems:
        writer.writerow(
            [
                problem.row,
                problem.external_id or "",
                problem.field or "",
                language.message(problem.message, problem.params),
            ]
        )
    return "\ufeff" + output.getvalue()
