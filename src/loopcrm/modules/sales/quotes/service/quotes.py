"""Use cases of quotes: write one from a deal, submit it (a large discount goes to a manager),
approve or send it back, revise it (a new version), send it, share its public link, and record the
customer's answer.

The states and the moves between them are :class:`~loopcrm.modules.sales.quotes.models.QuoteStatus`
and ``TRANSITIONS``; every move is checked against that table and audited. A quote is valid
through its ``valid_until`` date (UTC): after that it cannot be accepted, and it turns *expired*
when someone tries to (lazily) or when the periodic job passes (``expire_quotes``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from loopcrm.modules.activities import service as activities
from loopcrm.modules.activities.schemas import ActivityCreate, ActivityKind, EmailDetails, SubjectLink
from loopcrm.modules.customers import service as customers
from loopcrm.modules.sales.opportunities import service as opportunities
from loopcrm.modules.sales.quotes.models import (
    ANSWERABLE,
    REVISABLE,
    Product,
    Quote,
    QuoteLine,
    QuoteLink,
    QuoteNumber,
    QuoteSettings,
    QuoteStatus,
    may_move,
)
from loopcrm.modules.sales.quotes.schemas import (
    ApprovalDecision,
    CustomerAnswer,
    PublicLinkOut,
    QuoteCreate,
    QuoteFilters,
    QuoteLineIn,
    QuoteLineOut,
    QuoteOut,
    QuoteSettingsIn,
    QuoteSettingsOut,
    QuoteUpdate,
)
from loopcrm.modules.sales.quotes.service import arithmetic
from loopcrm.modules.sales.quotes.service.catalogue import (
    account_tag_ids,
    applicable_price_lists,
    price_from,
    products_by_id,
)
from loopcrm.modules.sales.quotes.service.object_types import QUOTE, QUOTE_APPROVAL
from loopcrm.platform.audit.models import AuditAction
from loopcrm.platform.audit.service import record_change
from loopcrm.platform.db import new_token, utc_now
from loopcrm.platform.errors import (
    Conflict,
    FieldError,
    NotFound,
    PermissionDenied,
    StaleVersion,
    ValidationFailed,
)
from loopcrm.platform.i18n import N_
from loopcrm.platform.jobs.service import enqueue
from loopcrm.platform.pagination import Page, paginate
from loopcrm.platform.permissions import (
    Action,
    Actor,
    can_reach_record,
    require,
    require_record_access,
    scope_condition,
    system_actor,
)
from loopcrm.platform.unit_of_work import JoinedUnitOfWork, UnitOfWork

# The job that emails a quote with its PDF (registered in ``quotes.jobs``).
SEND_QUOTE = "sales.quotes.send"
SEND_QUOTE_MAX_ATTEMPTS = 5
SETTINGS_ROW = 1
DEFAULT_THRESHOLD = Decimal(20)
DEFAULT_VALIDITY_DAYS = 30
PUBLIC_PATH = "/q/"
# The audit log names the customer answering through a public link so.
CUSTOMER_ACTOR_LABEL = "customer (public link)"

AcceptanceListener = Callable[[UnitOfWork, QuoteOut], None]
"""``listener(uow, quote)``: called inside the open transaction when a quote is accepted (by the
customer's public link or recorded by a user). An exception refuses the acceptance."""

_acceptance_listeners: list[AcceptanceListener] = []


def register_acceptance_listener(listener: AcceptanceListener) -> None:
    """Hear accepted quotes (orders create the order); registering the same listener twice is harmless."""
    if listener not in _acceptance_listeners:
        _acceptance_listeners.append(listener)


def today() -> date:
    """The date quotes' validity is checked against (UTC)."""
    return datetime.now(UTC).date()


def is_answerable(quote: QuoteOut) -> bool:
    """Whether the customer may still accept or reject this quote version."""
    return quote.is_latest and quote.status in ANSWERABLE and quote.valid_until >= today()


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


# ---------------------------------------------------------------- reading


def line_out(line: QuoteLine) -> QuoteLineOut:
    return QuoteLineOut(
        id=line.id,
        position=line.position,
        product_id=line.product_id,
        sku=line.sku,
        description=line.description,
        unit=line.unit,
        quantity=line.quantity,
        unit_price=line.unit_price,
        discount_percent=line.discount_percent,
        tax_rate=line.tax_rate,
        line_subtotal=line.line_subtotal,
        discount_amount=line.discount_amount,
        net_amount=line.net_amount,
        tax_amount=line.tax_amount,
        line_total=line.line_total,
    )


def lines_of(session: Session, quote_ids: Sequence[str]) -> dict[str, list[QuoteLine]]:
    found: dict[str, list[QuoteLine]] = {quote_id: [] for quote_id in quote_ids}
    if not quote_ids:
        return found
    rows = session.scalars(
        select(QuoteLine)
        .where(QuoteLine.quote_id.in_(list(quote_ids)))
        .order_by(QuoteLine.quote_id, QuoteLine.position)
    )
    for line in rows:
        found[line.quote_id].append(line)
    return found


_QUOTE_FIELDS = (
    "id",
    "number",
    "version_number",
    "previous_version_id",
    "is_latest",
    "opportunity_id",
    "account_id",
    "account_name",
    "contact_id",
    "contact_name",
    "contact_email",
    "owner_id",
    "team_id",
    "price_list_id",
    "currency",
    "valid_until",
    "status",
    "title",
    "terms",
    "subtotal",
    "discount_total",
    "tax_total",
    "total",
    "max_discount_percent",
    "submitted_by",
    "submitted_at",
    "approval_decided_by",
    "approval_decided_at",
    "approval_note",
    "sent_at",
    "answered_at",
    "rejection_reason",
    "created_at",
    "updated_at",
    "created_by",
    "version",
)


def quote_out(quote: Quote, lines: Sequence[QuoteLine]) -> QuoteOut:
    values: dict[str, Any] = {name: getattr(quote, name) for name in _QUOTE_FIELDS}
    return QuoteOut(**values, lines=[line_out(line) for line in lines])


def output(session: Session, quote: Quote) -> QuoteOut:
    return quote_out(quote, lines_of(session, [quote.id])[quote.id])


def load(uow: UnitOfWork, actor: Actor, quote_id: str, action: Action) -> Quote:
    """The quote if the actor may reach it for ``action``; one it may not even read is "not found"."""
    quote = uow.session.get(Quote, quote_id)
    if quote is None or not can_reach_record(
        actor, QUOTE.key, Action.READ, owner_id=quote.owner_id, team_id=quote.team_id
    ):
        raise NotFound(N_("Quote not found"))
    require_record_access(actor, QUOTE.key, action, owner_id=quote.owner_id, team_id=quote.team_id)
    return quote


def get_quote(uow: UnitOfWork, actor: Actor, quote_id: str) -> QuoteOut:
    """One quote version with its lines and totals, if the actor may read it."""
    require(actor, QUOTE.key, Action.READ)
    with uow:
        return output(uow.session, load(uow, actor, quote_id, Action.READ))


def list_quotes(
    uow: UnitOfWork, actor: Actor, filters: QuoteFilters, *, limit: int = 50, cursor: str | None = None
) -> Page[QuoteOut]:
    """Quotes in the actor's scope, newest first."""
    with uow:
        session = uow.session
        statement = select(Quote).where(
            scope_condition(
                actor, QUOTE.key, Action.READ, owner_column=Quote.owner_id, team_column=Quote.team_id
            )
        )
        if filters.opportunity_id:
            statement = statement.where(Quote.opportunity_id == filters.opportunity_id)
        if filters.status is not None:
            statement = statement.where(Quote.status == filters.status.value)
        if filters.latest_only:
            statement = statement.where(Quote.is_latest.is_(True))
        page = paginate(session, statement, Quote.id, limit=limit, cursor=cursor, convert=lambda quote: quote)
        lines = lines_of(session, [quote.id for quote in page.items])
        return Page[QuoteOut](
            items=[quote_out(quote, lines[quote.id]) for quote in page.items], next_cursor=page.next_cursor
        )


def may_approve(actor: Actor, quote: QuoteOut) -> bool:
    """Whether the actor may decide on this quote's discount: a manager over its owner's team, or an
    admin — and never the person whose discount it is."""
    if actor.user_id is not None and actor.user_id in (quote.owner_id, quote.submitted_by):
        return False
    return can_reach_record(
        actor, QUOTE_APPROVAL.key, Action.UPDATE, owner_id=quote.owner_id, team_id=quote.team_id
    )


def pending_approvals(uow: UnitOfWork, actor: Actor) -> list[QuoteOut]:
    """The quotes waiting for the actor's decision, oldest submission first (the approval queue)."""
    require(actor, QUOTE_APPROVAL.key, Action.UPDATE)
    with uow:
        session = uow.session
        quotes = list(
            session.scalars(
                select(Quote)
                .where(
                    Quote.status == QuoteStatus.PENDING_APPROVAL.value,
                    scope_condition(
                        actor,
                        QUOTE_APPROVAL.key,
                        Action.UPDATE,
                        owner_column=Quote.owner_id,
                        team_column=Quote.team_id,
                    ),
                )
                .order_by(Quote.submitted_at, Quote.id)
                .limit(500)
            )
        )
        lines = lines_of(session, [quote.id for quote in quotes])
        found = [quote_out(quote, lines[quote.id]) for quote in quotes]
        return [quote for quote in found if may_approve(actor, quote)]


# ---------------------------------------------------------------- settings


def _settings_row(session: Session) -> QuoteSettings:
    row = session.get(QuoteSettings, SETTINGS_ROW)
    if row is None:
        row = QuoteSettings(
            id=SETTINGS_ROW,
            approval_threshold_percent=DEFAULT_THRESHOLD,
            default_validity_days=DEFAULT_VALIDITY_DAYS,
        )
        session.add(row)
        session.flush()
    return row


def get_quote_settings(uow: UnitOfWork, actor: Actor) -> QuoteSettingsOut:
    """The approval threshold and the default validity; everyone in sales reads them."""
    require(actor, "sales_settings", Action.READ)
    with uow:
        row = uow.session.get(QuoteSettings, SETTINGS_ROW)
        if row is None:
            return QuoteSettingsOut(
                approval_threshold_percent=DEFAULT_THRESHOLD,
                default_validity_days=DEFAULT_VALIDITY_DAYS,
                updated_at=None,
            )
        return QuoteSettingsOut(
            approval_threshold_percent=row.approval_threshold_percent,
            default_validity_days=row.default_validity_days,
            updated_at=row.updated_at,
        )


def update_quote_settings(uow: UnitOfWork, actor: Actor, data: QuoteSettingsIn) -> QuoteSettingsOut:
    """Change the threshold (admins: the ``sales_settings`` update right). Quotes already submitted
    keep the decision they got."""
    require(actor, "sales_settings", Action.UPDATE)
    with uow:
        row = _settings_row(uow.session)
        before = {
            "approval_threshold_percent": row.approval_threshold_percent,
            "default_validity_days": row.default_validity_days,
        }
        row.approval_threshold_percent = data.approval_threshold_percent
        row.default_validity_days = data.default_validity_days
        row.updated_by = actor.user_id
        row.updated_at = utc_now()
        uow.session.flush()
        record_change(
            uow,
            actor,
            AuditAction.UPDATE,
            "sales_settings",
            "quotes",
            {name: [value, getattr(row, name)] for name, value in before.items()},
        )
        result = QuoteSettingsOut(
            approval_threshold_percent=row.approval_threshold_percent,
            default_validity_days=row.default_validity_days,
            updated_at=row.updated_at,
        )
        uow.commit()
        return result


# ---------------------------------------------------------------- writing lines


def _next_number(session: Session, year: int) -> str:
    """The next quote number of ``year``, counted under the year row's lock."""
    row = session.get(QuoteNumber, year, with_for_update=True)
    if row is None:
        try:
            with session.begin_nested():  # the year's first quote; another may be creating it now
                session.add(QuoteNumber(year=year, last_number=0))
        except IntegrityError:
            pass
        row = session.get(QuoteNumber, year, with_for_update=True, populate_existing=True)
        if row is None:  # pragma: no cover - the row exists now, written here or by the other writer
            raise RuntimeError(f"no quote number counter for {year}")
    row.last_number += 1
    session.flush()
    return f"Q-{year}-{row.last_number:06d}"


def _write_lines(uow: UnitOfWork, actor: Actor, quote: Quote, lines: Sequence[QuoteLineIn]) -> None:
    """Replace the quote's lines: fill what each line leaves out from its product and the
    applicable price list, compute the figures, and set the quote's totals."""
    session = uow.session
    products = products_by_id(session, [line.product_id for line in lines if line.product_id])
    price_lists = applicable_price_lists(
        session, quote.currency, account_tag_ids(uow, actor, quote.account_id)
    )
    errors: list[FieldError] = []
    rows: list[QuoteLine] = []
    for index, line in enumerate(lines):
        product: Product | None = None
        if line.product_id is not None:
            product = products.get(line.product_id)
            if product is None:
                errors.append(FieldError(f"lines.{index}.product_id", N_("Product not found"), "unknown"))
                continue
        unit_price = line.unit_price
        if unit_price is None and product is not None:
            found = price_from(session, price_lists, product.id)
            unit_price = found[0] if found else None
        if unit_price is None:
            errors.append(
                FieldError(
                    f"lines.{index}.unit_price",
                    N_("No price list prices this product for the quote's currency: enter a unit price"),
                    "required",
                )
            )
            continue
        description = line.description or (product.name if product else None)
        if not description:
            errors.append(
                FieldError(
                    f"lines.{index}.description", N_("Describe the line or choose a product"), "required"
                )
            )
            continue
        tax_rate = (
            line.tax_rate
            if line.tax_rate is not None
            else (product.default_tax_rate if product else Decimal(0))
        )
        amounts = arithmetic.line_amounts(line.quantity, unit_price, line.discount_percent, tax_rate)
        rows.append(
            QuoteLine(
                quote_id=quote.id,
                position=index,
                product_id=product.id if product else None,
                sku=product.sku if product else None,
                description=description,
                unit=product.unit if product else "",
                quantity=line.quantity,
                unit_price=unit_price,
                discount_percent=line.discount_percent,
                tax_rate=tax_rate,
                line_subtotal=amounts.line_subtotal,
                discount_amount=amounts.discount_amount,
                net_amount=amounts.net_amount,
                tax_amount=amounts.tax_amount,
                line_total=amounts.line_total,
            )
        )
    if errors:
        raise ValidationFailed(errors)
    session.execute(delete(QuoteLine).where(QuoteLine.quote_id == quote.id))
    session.add_all(rows)
    _set_totals(quote, rows)


def _set_totals(quote: Quote, rows: Sequence[QuoteLine]) -> None:
    totals = arithmetic.quote_amounts(
        arithmetic.LineAmounts(
            row.line_subtotal, row.discount_amount, row.net_amount, row.tax_amount, row.line_total
        )
        for row in rows
    )
    quote.subtotal = totals.subtotal
    quote.discount_total = totals.discount_total
    quote.tax_total = totals.tax_total
    quote.total = totals.total
    quote.max_discount_percent = max((row.discount_percent for row in rows), default=Decimal(0))


def _flush(session: Session) -> None:
    try:
        session.flush()
    except StaleDataError:
        raise StaleVersion() from None


def _check_version(quote: Quote, expected_version: int | None) -> None:
    if expected_version is not None and quote.version != expected_version:
        raise StaleVersion()


def _set_contact(uow: UnitOfWork, actor: Actor, quote: Quote, contact_id: str | None) -> None:
    """Set the contact the quote is addressed to, with the name and email it is sent to."""
    quote.contact_id = contact_id
    quote.contact_name = None
    quote.contact_email = None
    if contact_id is None:
        return
    try:
        contact = customers.get_contact(JoinedUnitOfWork(uow), actor, contact_id)
    except (NotFound, PermissionDenied):
        raise ValidationFailed.single("contact_id", "No contact has this id", "unknown") from None
    quote.contact_name = contact.full_name
    emails = [point.value for point in contact.emails or [] if point.value]
    quote.contact_email = emails[0] if emails else None


def _audit(uow: UnitOfWork, actor: Actor, action: AuditAction, quote: Quote, changes: dict[str, Any]) -> None:
    record_change(uow, actor, action, QUOTE.key, quote.id, changes)


def _move(uow: UnitOfWork, actor: Actor, quote: Quote, target: QuoteStatus, **changes: Any) -> None:
    """Move the quote to ``target`` if the transition table allows it, and audit the move."""
    current = quote.state
    if not may_move(current, target):
        raise Conflict(
            N_("A quote that is {status} cannot become {target}"), status=current.value, target=target.value
        )
    quote.status = target.value
    quote.updated_by = actor.user_id
    for name, value in changes.items():
        setattr(quote, name, value)
    _audit(
        uow,
        actor,
        AuditAction.UPDATE,
        quote,
        {
            "status": [current.value, target.value],
            **{name: [None, value] for name, value in changes.items() if name not in ("updated_at",)},
        },
    )


# ---------------------------------------------------------------- use cases


def create_quote(uow: UnitOfWork, actor: Actor, data: QuoteCreate) -> QuoteOut:
    """Write a draft quote for a deal the actor may read: it is addressed to the deal's account and
    (unless another is given) its primary contact, in the deal's currency, owned like the deal."""
    require(actor, QUOTE.key, Action.CREATE)
    with uow:
        session = uow.session
        try:
            deal = opportunities.get_opportunity(JoinedUnitOfWork(uow), actor, data.opportunity_id)
        except NotFound:
            raise ValidationFailed.single("opportunity_id", "No opportunity has this id", "unknown") from None
        settings = _settings_row(session)
        currency = data.currency or deal.currency
        primary = next((contact.contact_id for contact in deal.contacts if contact.is_primary), None)
        contact_id = data.contact_id if "contact_id" in data.model_fields_set else primary
        quote = Quote(
            number=_next_number(session, today().year),
            version_number=1,
            is_latest=True,
            opportunity_id=deal.id,
            account_id=deal.account_id,
            account_name=deal.account_name,
            owner_id=deal.owner_id,
            team_id=deal.team_id,
            currency=currency,
            valid_until=data.valid_until or today() + timedelta(days=settings.default_validity_days),
            status=QuoteStatus.DRAFT.value,
            title=data.title or deal.name,
            terms=data.terms,
            created_by=actor.user_id,
            updated_by=actor.user_id,
        )
        if quote.account_id is not None and quote.account_name is None:
            quote.account_name = _account_name(uow, actor, quote.account_id)
        _set_contact(uow, actor, quote, contact_id)
        lists = applicable_price_lists(session, currency, account_tag_ids(uow, actor, quote.account_id))
        quote.price_list_id = lists[0].id if lists else None
        session.add(quote)
        _flush(session)
        _write_lines(uow, actor, quote, data.lines)
        _flush(session)
        result = output(session, quote)
        _audit(
            uow,
            actor,
            AuditAction.CREATE,
            quote,
            {
                "number": [None, quote.number],
                "opportunity_id": [None, quote.opportunity_id],
                "total": [None, quote.total],
            },
        )
        uow.commit()
        return result


def _account_name(uow: UnitOfWork, actor: Actor, account_id: str) -> str | None:
    try:
        return customers.get_account(JoinedUnitOfWork(uow), actor, account_id).name
    except (NotFound, PermissionDenied):
        return None


def update_quote(
    uow: UnitOfWork, actor: Actor, quote_id: str, data: QuoteUpdate, *, expected_version: int | None = None
) -> QuoteOut:
    """Change a draft: its contact, validity, title, terms or lines (given lines replace all)."""
    require(actor, QUOTE.key, Action.UPDATE)
    with uow:
        session = uow.session
        quote = load(uow, actor, quote_id, Action.UPDATE)
        _check_version(quote, expected_version)
        if quote.state is not QuoteStatus.DRAFT:
            raise Conflict(N_("Only a draft quote can be changed; revise it to make a new version"))
        given = data.model_fields_set
        before_total = quote.total
        if "contact_id" in given:
            _set_contact(uow, actor, quote, data.contact_id)
        if data.valid_until is not None:
            quote.valid_until = data.valid_until
        if data.title is not None:
            quote.title = data.title
        if "terms" in given:
            quote.terms = data.terms
        if data.lines is not None:
            _write_lines(uow, actor, quote, data.lines)
        quote.updated_by = actor.user_id
        quote.updated_at = utc_now()
        _flush(session)
        _audit(
            uow,
            actor,
            AuditAction.UPDATE,
            quote,
            {"fields": sorted(given), "total": [before_total, quote.total]},
        )
        result = output(session, quote)
        uow.commit()
        return result


def submit_quote(
    uow: UnitOfWork, actor: Actor, quote_id: str, *, expected_version: int | None = None
) -> QuoteOut:
    """Finish a draft: approved at once, or pending a manager's approval when a line's discount is
    above the threshold (the admin setting)."""
    require(actor, QUOTE.key, Action.UPDATE)
    with uow:
        session = uow.session
        quote = load(uow, actor, quote_id, Action.UPDATE)
        _check_version(quote, expected_version)
        if not lines_of(session, [quote.id])[quote.id]:
            raise ValidationFailed.single("lines", "A quote needs at least one line", "required")
        threshold = _settings_row(session).approval_threshold_percent
        needs_approval = quote.max_discount_percent > threshold
        target = QuoteStatus.PENDING_APPROVAL if needs_approval else QuoteStatus.APPROVED
        now = utc_now()
        _move(uow, actor, quote, target, submitted_by=actor.user_id, submitted_at=now)
        if not needs_approval:
            quote.approval_decided_by = None
            quote.approval_decided_at = None
        _flush(session)
        result = output(session, quote)
        uow.commit()
        return result


def _decide(
    uow: UnitOfWork, actor: Actor, quote_id: str, decision: ApprovalDecision, *, approve: bool
) -> QuoteOut:
    with uow:
        session = uow.session
        quote = session.get(Quote, quote_id)
        if quote is None or not (
            can_reach_record(actor, QUOTE.key, Action.READ, owner_id=quote.owner_id, team_id=quote.team_id)
            or can_reach_record(
                actor, QUOTE_APPROVAL.key, Action.READ, owner_id=quote.owner_id, team_id=quote.team_id
            )
        ):
            raise NotFound(N_("Quote not found"))
        if quote.state is not QuoteStatus.PENDING_APPROVAL:
            raise Conflict(N_("This quote is not waiting for approval"))
        if actor.user_id is not None and actor.user_id in (quote.owner_id, quote.submitted_by):
            raise PermissionDenied(N_("You may not approve your own discount"))
        if not can_reach_record(
            actor, QUOTE_APPROVAL.key, Action.UPDATE, owner_id=quote.owner_id, team_id=quote.team_id
        ):
            raise PermissionDenied(
                N_("Only a manager of the quote owner's team or an admin may decide on this discount")
            )
        target = QuoteStatus.APPROVED if approve else QuoteStatus.DRAFT
        _move(
            uow,
            actor,
            quote,
            target,
            approval_decided_by=actor.user_id,
            approval_decided_at=utc_now(),
            approval_note=decision.note,
        )
        _flush(session)
        result = output(session, quote)
        uow.commit()
        return result


def approve_quote(uow: UnitOfWork, actor: Actor, quote_id: str, decision: ApprovalDecision) -> QuoteOut:
    """A manager approves the discount: the quote may go to the customer."""
    return _decide(uow, actor, quote_id, decision, approve=True)


def reject_approval(uow: UnitOfWork, actor: Actor, quote_id: str, decision: ApprovalDecision) -> QuoteOut:
    """A manager refuses the discount: the quote goes back to draft with the manager's note."""
    return _decide(uow, actor, quote_id, decision, approve=False)


def revise_quote(uow: UnitOfWork, actor: Actor, quote_id: str) -> QuoteOut:
    """A new draft version of an approved, sent, rejected or expired quote (same number, lines
    copied); the old version becomes superseded and can no longer be sent or accepted."""
    require(actor, QUOTE.key, Action.UPDATE)
    with uow:
        session = uow.session
        old = load(uow, actor, quote_id, Action.UPDATE)
        if not old.is_latest or old.state not in REVISABLE:
            raise Conflict(
                N_("Only the newest version of an approved, sent, rejected or expired quote can be revised")
            )
        _move(uow, actor, old, QuoteStatus.SUPERSEDED, is_latest=False)
        _flush(session)
        settings = _settings_row(session)
        valid_until = max(old.valid_until, today() + timedelta(days=settings.default_validity_days))
        new = Quote(
            **{
                name: getattr(old, name)
                for name in (
                    "number",
                    "opportunity_id",
                    "account_id",
                    "account_name",
                    "contact_id",
                    "contact_name",
                    "contact_email",
                    "owner_id",
                    "team_id",
                    "price_list_id",
                    "currency",
                    "title",
                    "terms",
                )
            },
            version_number=old.version_number + 1,
            previous_version_id=old.id,
            is_latest=True,
            valid_until=valid_until,
            status=QuoteStatus.DRAFT.value,
            created_by=actor.user_id,
            updated_by=actor.user_id,
        )
        session.add(new)
        _flush(session)
        copies = [
            QuoteLine(
                quote_id=new.id,
                **{
                    name: getattr(line, name)
                    for name in (
                        "position",
                        "product_id",
                        "sku",
                        "description",
                        "unit",
                        "quantity",
                        "unit_price",
                        "discount_percent",
                        "tax_rate",
                        "line_subtotal",
                        "discount_amount",
                        "net_amount",
                        "tax_amount",
                        "line_total",
                    )
                },
            )
            for line in lines_of(session, [old.id])[old.id]
        ]
        session.add_all(copies)
        _set_totals(new, copies)
        _flush(session)
        _audit(
            uow,
            actor,
            AuditAction.CREATE,
            new,
            {
                "number": [None, new.number],
                "version_number": [None, new.version_number],
                "previous_version_id": [None, old.id],
            },
        )
        result = output(session, new)
        uow.commit()
        return result


def _require_current(quote: Quote) -> None:
    if not quote.is_latest:
        raise Conflict(N_("A newer version of this quote exists; only the newest can be sent or accepted"))


def send_quote(uow: UnitOfWork, actor: Actor, quote_id: str, *, locale: str | None = None) -> QuoteOut:
    """Email the quote with its PDF to its contact and log the email on the deal; the quote is
    *sent*. The email leaves after commit, through a job (retried; see ``deliver_quote_email``)."""
    require(actor, QUOTE.key, Action.UPDATE)
    with uow:
        session = uow.session
        quote = load(uow, actor, quote_id, Action.UPDATE)
        _require_current(quote)
        if quote.state not in ANSWERABLE:
            raise Conflict(N_("Only an approved quote can be sent"))
        if quote.contact_id is not None:
            _set_contact(uow, actor, quote, quote.contact_id)  # the contact's current address
        if not quote.contact_email:
            raise ValidationFailed.single(
                "contact_id", "The quote's contact has no email address", "no_email"
            )
        now = utc_now()
        _move(uow, actor, quote, QuoteStatus.SENT, sent_at=now)
        _flush(session)
        language = locale or actor.locale
        subject = f"{quote.title} · {quote.number} v{quote.version_number}"
        sender = actor.label if "@" in actor.label else None
        if sender is not None:
            activities.log_activity(
                JoinedUnitOfWork(uow),
                actor,
                ActivityCreate(
                    kind=ActivityKind.EMAIL,
                    subject=subject,
                    body=f"{quote.number} v{quote.version_number}: {quote.total} {quote.currency}",
                    links=[SubjectLink(subject_type="opportunity", subject_id=quote.opportunity_id)],
                    email=EmailDetails(from_address=sender, to=[quote.contact_email]),
                ),
            )
        enqueue(
            uow,
            SEND_QUOTE,
            {
                "quote_id": quote.id,
                "to": quote.contact_email,
                "subject": subject,
                "reply_to": sender or "",
                "locale": language,
                "sent_at": now.isoformat(),
            },
            idempotency_key=f"{SEND_QUOTE}:{quote.id}:{now.isoformat()}",
            max_attempts=SEND_QUOTE_MAX_ATTEMPTS,
        )
        result = output(session, quote)
        uow.commit()
        return result


def _new_link(session: Session, quote: Quote, purpose: str, created_by: str | None) -> str:
    """A new public token for the quote (only its hash is kept); a link of the same purpose (a
    retried send) is replaced."""
    if purpose != "copied":
        session.execute(delete(QuoteLink).where(QuoteLink.quote_id == quote.id, QuoteLink.purpose == purpose))
    token = new_token(32)
    session.add(
        QuoteLink(quote_id=quote.id, token_hash=token_hash(token), purpose=purpose, created_by=created_by)
    )
    session.flush()
    return token


def create_public_link(uow: UnitOfWork, actor: Actor, quote_id: str) -> PublicLinkOut:
    """A new link the customer opens without signing in, to read the quote and accept or reject it.
    The token is shown this once."""
    require(actor, QUOTE.key, Action.UPDATE)
    with uow:
        quote = load(uow, actor, quote_id, Action.UPDATE)
        if quote.state in (QuoteStatus.DRAFT, QuoteStatus.PENDING_APPROVAL):
            raise Conflict(N_("Only an approved quote can be shared with the customer"))
        token = _new_link(uow.session, quote, "copied", actor.user_id)
        _audit(uow, actor, AuditAction.UPDATE, quote, {"public_link": [None, "created"]})
        uow.commit()
        return PublicLinkOut(quote_id=quote.id, token=token, path=PUBLIC_PATH + token)


def _quote_of_token(session: Session, token: str) -> Quote:
    if not token or len(token) > 200:
        raise NotFound(N_("This link is not valid"))
    quote_id = session.scalar(select(QuoteLink.quote_id).where(QuoteLink.token_hash == token_hash(token)))
    quote = session.get(Quote, quote_id) if quote_id else None
    if quote is None:
        raise NotFound(N_("This link is not valid"))
    return quote


def get_public_quote(uow: UnitOfWork, token: str) -> QuoteOut:
    """The quote a public link names, as the customer sees it (no sign-in)."""
    with uow:
        return output(uow.session, _quote_of_token(uow.session, token))


def _expire_if_due(uow: UnitOfWork, actor: Actor, quote: Quote) -> bool:
    """Turn an answerable quote past its validity into *expired*; whether it did."""
    if quote.state in ANSWERABLE and quote.valid_until < today():
        _move(uow, actor, quote, QuoteStatus.EXPIRED)
        _flush(uow.session)
        return True
    return False


def _answer(uow: UnitOfWork, actor: Actor, quote: Quote, *, accept: bool, reason: str | None) -> QuoteOut:
    """Record the customer's answer in the open unit of work (and commit it); an expired quote is
    marked so, committed, and refused."""
    session = uow.session
    if quote.state is QuoteStatus.SUPERSEDED or not quote.is_latest:
        raise Conflict(N_("This quote was replaced by a newer version; ask for the current one"))
    if quote.state in (QuoteStatus.ACCEPTED, QuoteStatus.REJECTED):
        raise Conflict(N_("This quote has already been answered"))
    if _expire_if_due(uow, actor, quote):
        uow.commit()
        raise Conflict(
            N_("This quote expired on {date}; ask for a new one"), date=quote.valid_until.isoformat()
        )
    if quote.state is QuoteStatus.EXPIRED:
        raise Conflict(
            N_("This quote expired on {date}; ask for a new one"), date=quote.valid_until.isoformat()
        )
    if quote.state not in ANSWERABLE:
        raise Conflict(N_("This quote cannot be answered yet"))
    if not accept and not reason:
        raise ValidationFailed.single("reason", "Tell us why you decline the quote", "required")
    target = QuoteStatus.ACCEPTED if accept else QuoteStatus.REJECTED
    _move(uow, actor, quote, target, answered_at=utc_now(), rejection_reason=None if accept else reason)
    _flush(session)
    result = output(session, quote)
    if accept:
        for listener in list(_acceptance_listeners):
            listener(uow, result)
    uow.commit()
    return result


def accept_quote(uow: UnitOfWork, actor: Actor, quote_id: str) -> QuoteOut:
    """Record that the customer accepted (by phone, on paper …); orders create the order."""
    require(actor, QUOTE.key, Action.UPDATE)
    with uow:
        return _answer(uow, actor, load(uow, actor, quote_id, Action.UPDATE), accept=True, reason=None)


def reject_quote(uow: UnitOfWork, actor: Actor, quote_id: str, answer: CustomerAnswer) -> QuoteOut:
    """Record that the customer declined, with their reason."""
    require(actor, QUOTE.key, Action.UPDATE)
    with uow:
        return _answer(
            uow, actor, load(uow, actor, quote_id, Action.UPDATE), accept=False, reason=answer.reason
        )


def _customer() -> Actor:
    """The actor of an answer given through a public link: the customer, named so in the audit log."""
    return system_actor(CUSTOMER_ACTOR_LABEL)


def accept_public_quote(uow: UnitOfWork, token: str) -> QuoteOut:
    """The customer accepts through the public link."""
    with uow:
        quote = _quote_of_token(uow.session, token)
        return _answer(uow, _customer(), quote, accept=True, reason=None)


def reject_public_quote(uow: UnitOfWork, token: str, answer: CustomerAnswer) -> QuoteOut:
    """The customer declines through the public link, giving a reason."""
    with uow:
        quote = _quote_of_token(uow.session, token)
        return _answer(uow, _customer(), quote, accept=False, reason=answer.reason)


def expire_quotes(uow: UnitOfWork, actor: Actor, *, on: date | None = None) -> int:
    """Mark every approved or sent quote whose validity ended before ``on`` (today) expired; how
    many. Run by the periodic job; also safe to run by hand."""
    require(actor, QUOTE.key, Action.UPDATE)
    cutoff = on or today()
    with uow:
        session = uow.session
        due = list(
            session.scalars(
                select(Quote).where(
                    Quote.status.in_([status.value for status in ANSWERABLE]), Quote.valid_until < cutoff
                )
            )
        )
        for quote in due:
            _move(uow, actor, quote, QuoteStatus.EXPIRED)
        _flush(session)
        uow.commit()
        return len(due)


# ---------------------------------------------------------------- the send job's part


def quote_for_delivery(uow: UnitOfWork, quote_id: str, purpose: str) -> tuple[QuoteOut, str] | None:
    """Inside the send job's open unit of work: the quote and a fresh public token for its email
    (replacing the link of an earlier attempt of the same job); ``None`` when the quote is gone
    or no longer the current one."""
    session = uow.session
    quote = session.get(Quote, quote_id)
    if quote is None or not quote.is_latest:
        return None
    token = _new_link(session, quote, purpose, None)
    return output(session, quote), token
