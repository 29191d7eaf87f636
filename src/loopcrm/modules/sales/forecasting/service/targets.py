"""Sales targets: an amount per rep per calendar month, in the company currency.

A target is "owned" by the rep it is for, so the usual record scope applies: a manager sets the
targets of the members of the teams they manage, an admin everyone's, a rep reads their own.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from loopcrm.modules.sales.forecasting.models import SalesTarget
from loopcrm.modules.sales.forecasting.schemas import TargetFilters, TargetOut, TargetSet, TargetUpdate
from loopcrm.modules.sales.forecasting.service.object_types import SALES_TARGET
from loopcrm.modules.sales.opportunities.models import Currency
from loopcrm.platform.audit.models import AuditAction
from loopcrm.platform.audit.service import record_change
from loopcrm.platform.auth.models import User
from loopcrm.platform.errors import NotFound, PermissionDenied, StaleVersion, ValidationFailed
from loopcrm.platform.pagination import Page, paginate
from loopcrm.platform.permissions import Action, Actor, can_reach_record, require, scope_condition
from loopcrm.platform.unit_of_work import UnitOfWork

# The currency of installations whose currencies were never set up (the core seeds CNY).
FALLBACK_CURRENCY = "CNY"


def company_currency_code(session: Session) -> str:
    """The company currency: targets and dashboard sums are in it."""
    code = session.scalar(select(Currency.code).where(Currency.is_company.is_(True)).limit(1))
    return code or FALLBACK_CURRENCY


def _out(target: SalesTarget, currency: str, user_name: str | None) -> TargetOut:
    return TargetOut(
        id=target.id,
        user_id=target.user_id,
        user_name=user_name,
        month=target.month,
        amount=target.amount,
        currency=currency,
        version=target.version,
    )


def _require_reach(actor: Actor, action: Action, user_id: str) -> None:
    require(actor, SALES_TARGET.key, action)
    if not can_reach_record(actor, SALES_TARGET.key, action, owner_id=user_id):
        raise PermissionDenied("You may not set targets for this user")


def set_target(uow: UnitOfWork, actor: Actor, data: TargetSet) -> TargetOut:
    """Set a rep's target for a month; a target already set for that month gets the new amount."""
    _require_reach(actor, Action.CREATE, data.user_id)
    with uow:
        session = uow.session
        user_name = session.scalar(select(User.name).where(User.id == data.user_id))
        if user_name is None:
            raise ValidationFailed.single("user_id", "No such user", "not_found")
        target = session.scalar(
            select(SalesTarget).where(SalesTarget.user_id == data.user_id, SalesTarget.month == data.month)
        )
        if target is None:
            target = SalesTarget(
                user_id=data.user_id,
                month=data.month,
                amount=data.amount,
                created_by=actor.user_id,
                updated_by=actor.user_id,
            )
            session.add(target)
            session.flush()
            record_change(
                uow,
                actor,
                AuditAction.CREATE,
                SALES_TARGET.key,
                target.id,
                {"user_id": [None, data.user_id], "month": [None, data.month], "amount": [None, data.amount]},
            )
        elif target.amount != data.amount:
            before = target.amount
            target.amount = data.amount
            target.updated_by = actor.user_id
            session.flush()
            record_change(
                uow, actor, AuditAction.UPDATE, SALES_TARGET.key, target.id, {"amount": [before, data.amount]}
            )
        result = _out(target, company_currency_code(session), user_name)
        uow.commit()
        return result


def _load(uow: UnitOfWork, actor: Actor, target_id: str, action: Action) -> SalesTarget:
    require(actor, SALES_TARGET.key, action)
    target = uow.session.get(SalesTarget, target_id)
    if target is None or not can_reach_record(actor, SALES_TARGET.key, Action.READ, owner_id=target.user_id):
        raise NotFound("Target not found")
    if not can_reach_record(actor, SALES_TARGET.key, action, owner_id=target.user_id):
        raise PermissionDenied("You may not change this target")
    return target


def _user_name(session: Session, user_id: str) -> str | None:
    return session.scalar(select(User.name).where(User.id == user_id))


def get_target(uow: UnitOfWork, actor: Actor, target_id: str) -> TargetOut:
    with uow:
        target = _load(uow, actor, target_id, Action.READ)
        return _out(target, company_currency_code(uow.session), _user_name(uow.session, target.user_id))


def update_target(
    uow: UnitOfWork, actor: Actor, target_id: str, data: TargetUpdate, *, expected_version: int | None = None
) -> TargetOut:
    with uow:
        target = _load(uow, actor, target_id, Action.UPDATE)
        if expected_version is not None and target.version != expected_version:
            raise StaleVersion()
        if target.amount != data.amount:
            before = target.amount
            target.amount = data.amount
            target.updated_by = actor.user_id
            uow.session.flush()
            record_change(
                uow, actor, AuditAction.UPDATE, SALES_TARGET.key, target.id, {"amount": [before, data.amount]}
            )
        result = _out(target, company_currency_code(uow.session), _user_name(uow.session, target.user_id))
        uow.commit()
        return result


def delete_target(uow: UnitOfWork, actor: Actor, target_id: str) -> None:
    with uow:
        target = _load(uow, actor, target_id, Action.DELETE)
        record_change(
            uow,
            actor,
            AuditAction.DELETE,
            SALES_TARGET.key,
            target.id,
            {
                "user_id": [target.user_id, None],
                "month": [target.month, None],
                "amount": [target.amount, None],
            },
        )
        uow.session.delete(target)
        uow.commit()


def list_targets(
    uow: UnitOfWork, actor: Actor, filters: TargetFilters, *, limit: int = 50, cursor: str | None = None
) -> Page[TargetOut]:
    """Targets the actor may read, newest first, narrowed by month range and rep."""
    condition = scope_condition(actor, SALES_TARGET.key, Action.READ, owner_column=SalesTarget.user_id)
    with uow:
        session = uow.session
        statement = select(SalesTarget).where(condition)
        if filters.month_from is not None:
            statement = statement.where(SalesTarget.month >= filters.month_from.replace(day=1))
        if filters.month_to is not None:
            statement = statement.where(SalesTarget.month <= filters.month_to)
        if filters.user_id:
            statement = statement.where(SalesTarget.user_id == filters.user_id)
        page = paginate(
            session, statement, SalesTarget.id, limit=limit, cursor=cursor, convert=lambda row: row
        )
        names = dict(
            session.execute(
                select(User.id, User.name).where(User.id.in_({target.user_id for target in page.items}))
            ).all()
        )
        currency = company_currency_code(session)
        return Page[TargetOut](
            items=[_out(target, currency, names.get(target.user_id)) for target in page.items],
            next_cursor=page.next_cursor,
        )


def month_targets(uow: UnitOfWork, actor: Actor, month: date) -> list[TargetOut]:
    """Every target of one month the actor may read (for the targets page's grid)."""
    return list_targets(
        uow, actor, TargetFilters(month_from=month.replace(day=1), month_to=month.replace(day=1)), limit=500
    ).items


def settable_users(uow: UnitOfWork, actor: Actor) -> list[tuple[str, str]]:
    """(id, name) of the active users whose targets the actor may set, by name."""
    if not actor.can(SALES_TARGET.key, Action.CREATE):
        return []
    condition = scope_condition(actor, SALES_TARGET.key, Action.CREATE, owner_column=User.id)
    with uow:
        rows = uow.session.execute(
            select(User.id, User.name).where(User.is_active.is_(True), condition).order_by(User.name)
        )
        return [(row.id, row.name) for row in rows]
