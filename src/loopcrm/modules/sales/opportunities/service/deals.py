"""Use cases of opportunities (商机): create, read, change, move between stages, win by an order.

The rules a deal obeys wherever it is changed from (form, kanban, API, conversion, an order):

* its stage belongs to its pipeline and is active;
* it is lost only with an active lost reason; it is won by hand only from an orderable stage (an
  order wins it from any open stage); moving a closed deal to an open stage reopens it;
* every move appends a :class:`StageChange` with the seconds spent in the previous stage;
* ``probability_auto`` is the registered estimator's answer or the stage's default, recomputed on
  creation, stage moves and attribute changes; a typed ``probability_manual`` sticks until cleared
  (or the deal closes: a won deal is 100 %, a lost one 0 %);
* the forecast category follows the stage unless typed; closing a deal returns it to the stage's;
* ``amount_company`` is the amount at the currency's rate when written;
* its contacts have buying roles, and exactly one of them is primary.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any, cast
from zoneinfo import ZoneInfo

from sqlalchemy import Table, bindparam, delete, func, select, update
from sqlalchemy.orm import Session

from loopcrm.modules.customers import service as customers
from loopcrm.modules.sales.assignment import service as assignment
from loopcrm.modules.sales.opportunities.models import (
    ForecastCategory,
    LostReason,
    Opportunity,
    OpportunityContact,
    Pipeline,
    Stage,
    StageChange,
    StageKind,
)
from loopcrm.modules.sales.opportunities.schemas import (
    BuyingRole,
    OpportunityContactIn,
    OpportunityContactOut,
    OpportunityCreate,
    OpportunityOut,
    OpportunityUpdate,
    StageChangeOut,
)
from loopcrm.modules.sales.opportunities.service import registries
from loopcrm.modules.sales.opportunities.service.object_types import OPPORTUNITY
from loopcrm.modules.sales.opportunities.service.settings import (
    check_version,
    company_currency_in_session,
    convert,
    default_pipeline_in_session,
    flush,
    rate_in_session,
)
from loopcrm.platform.audit.models import AuditAction
from loopcrm.platform.audit.service import diff, record_change
from loopcrm.platform.auth.models import Team, User
from loopcrm.platform.db import new_id, utc_now
from loopcrm.platform.errors import DomainError, FieldError, NotFound, ValidationFailed
from loopcrm.platform.i18n import N_
from loopcrm.platform.permissions import Action, Actor, can_reach_record, require, require_record_access
from loopcrm.platform.unit_of_work import JoinedUnitOfWork, UnitOfWork

# Plain columns an update copies from the input as they are.
_COLUMNS = (
    "name",
    "expected_close_date",
    "source",
    "lead_id",
    "competitors",
    "next_step",
    "description",
)
# What the audit log keeps of a deal.
_AUDITED = (
    *_COLUMNS,
    "account_id",
    "pipeline_id",
    "stage_id",
    "amount",
    "currency",
    "amount_company",
    "probability_manual",
    "forecast_category",
    "owner_id",
    "team_id",
    "lost_reason_id",
    "lost_note",
    "attributes",
)


def today_of(actor: Actor) -> date:
    """Today where the actor is (a deal is overdue from the day after its close date there)."""
    try:
        return datetime.now(ZoneInfo(actor.timezone)).date()
    except (KeyError, ValueError):
        return datetime.now(ZoneInfo("Asia/Shanghai")).date()


def is_overdue(kind: str, expected_close_date: date | None, today: date) -> bool:
    return kind == StageKind.OPEN.value and expected_close_date is not None and expected_close_date < today


# ---------------------------------------------------------------- reading


def load(uow: UnitOfWork, actor: Actor, opportunity_id: str, action: Action) -> Opportunity:
    """The deal if the actor may reach it for ``action``; a deal the actor may not even read is
    "not found", so its existence does not leak."""
    record = uow.session.get(Opportunity, opportunity_id)
    if (
        record is None
        or record.deleted_at is not None
        or not can_reach_record(
            actor, OPPORTUNITY.key, Action.READ, owner_id=record.owner_id, team_id=record.team_id
        )
    ):
        raise NotFound(N_("Opportunity not found"))
    require_record_access(actor, OPPORTUNITY.key, action, owner_id=record.owner_id, team_id=record.team_id)
    return record


def user_names(session: Session, user_ids: list[str | None]) -> dict[str, str]:
    ids = sorted({user_id for user_id in user_ids if user_id})
    if not ids:
        return {}
    return dict(session.execute(select(User.id, User.name).where(User.id.in_(ids))).all())


def account_name(uow: UnitOfWork, actor: Actor, account_id: str | None) -> str | None:
    """The account's name when the reader may read the account (through the customers service)."""
    if account_id is None:
        return None
    try:
        return customers.get_account(JoinedUnitOfWork(uow), actor, account_id).name
    except DomainError:
        return None


def contact_name(uow: UnitOfWork, actor: Actor, contact_id: str) -> str | None:
    try:
        return customers.get_contact(JoinedUnitOfWork(uow), actor, contact_id).full_name
    except DomainError:
        return None


def contacts_of(session: Session, opportunity_id: str) -> list[OpportunityContact]:
    return list(
        session.scalars(
            select(OpportunityContact)
            .where(OpportunityContact.opportunity_id == opportunity_id)
            .order_by(OpportunityContact.is_primary.desc(), OpportunityContact.id)
        )
    )


def bare_out(
    opportunity: Opportunity,
    stage: Stage,
    today: date,
    *,
    contacts: list[OpportunityContactOut] | None = None,
) -> OpportunityOut:
    """The deal's own values, without the names of what it points to (for the estimator, lists)."""
    return OpportunityOut(
        id=opportunity.id,
        name=opportunity.name,
        account_id=opportunity.account_id,
        pipeline_id=opportunity.pipeline_id,
        stage_id=opportunity.stage_id,
        stage_name=stage.name,
        stage_kind=StageKind(stage.kind),
        amount=opportunity.amount,
        currency=opportunity.currency,
        amount_company=opportunity.amount_company,
        expected_close_date=opportunity.expected_close_date,
        probability=opportunity.probability,
        probability_auto=opportunity.probability_auto,
        probability_manual=opportunity.probability_manual,
        forecast_category=ForecastCategory(opportunity.forecast_category),
        forecast_category_is_manual=opportunity.forecast_category_is_manual,
        owner_id=opportunity.owner_id,
        team_id=opportunity.team_id,
        source=opportunity.source,
        lead_id=opportunity.lead_id,
        competitors=list(opportunity.competitors or []),
        next_step=opportunity.next_step,
        description=opportunity.description,
        lost_reason_id=opportunity.lost_reason_id,
        lost_note=opportunity.lost_note,
        stage_entered_at=opportunity.stage_entered_at,
        closed_at=opportunity.closed_at,
        is_overdue=is_overdue(stage.kind, opportunity.expected_close_date, today),
        attributes=dict(opportunity.attributes or {}),
        contacts=contacts or [],
        created_at=opportunity.created_at,
        updated_at=opportunity.updated_at,
        created_by=opportunity.created_by,
        updated_by=opportunity.updated_by,
        version=opportunity.version,
    )


def opportunity_out(uow: UnitOfWork, actor: Actor, opportunity: Opportunity) -> OpportunityOut:
    """The deal as its detail page and the API show it, with the names of what it points to."""
    session = uow.session
    stage = session.get_one(Stage, opportunity.stage_id)
    pipeline = session.get_one(Pipeline, opportunity.pipeline_id)
    contacts = [
        OpportunityContactOut(
            contact_id=row.contact_id,
            contact_name=contact_name(uow, actor, row.contact_id) or "",
            buying_role=BuyingRole(row.buying_role),
            is_primary=row.is_primary,
        )
        for row in contacts_of(session, opportunity.id)
    ]
    result = bare_out(opportunity, stage, today_of(actor), contacts=contacts)
    result.pipeline_name = pipeline.name
    result.account_name = account_name(uow, actor, opportunity.account_id)
    result.owner_name = user_names(session, [opportunity.owner_id]).get(opportunity.owner_id or "")
    if opportunity.lost_reason_id:
        reason = session.get(LostReason, opportunity.lost_reason_id)
        result.lost_reason_name = reason.name if reason else None
    return result


def get_opportunity(uow: UnitOfWork, actor: Actor, opportunity_id: str) -> OpportunityOut:
    """One deal the actor may read; NotFound otherwise."""
    require(actor, OPPORTUNITY.key, Action.READ)
    with uow:
        result = opportunity_out(uow, actor, load(uow, actor, opportunity_id, Action.READ))
        uow.commit()  # the customers service may audit a sensitive read
        return result


def stage_history(uow: UnitOfWork, actor: Actor, opportunity_id: str) -> list[StageChangeOut]:
    """The deal's stage moves, oldest first, with the time spent in the stage each move left."""
    require(actor, OPPORTUNITY.key, Action.READ)
    with uow:
        session = uow.session
        opportunity = load(uow, actor, opportunity_id, Action.READ)
        rows = list(
            session.scalars(
                select(StageChange)
                .where(StageChange.opportunity_id == opportunity.id)
                .order_by(StageChange.changed_at, StageChange.id)
            )
        )
        stage_ids = {row.to_stage_id for row in rows} | {
            row.from_stage_id for row in rows if row.from_stage_id
        }
        names = dict(session.execute(select(Stage.id, Stage.name).where(Stage.id.in_(stage_ids))).all())
        people = user_names(session, [row.changed_by for row in rows])
        return [
            StageChangeOut(
                id=row.id,
                from_stage_id=row.from_stage_id,
                from_stage_name=names.get(row.from_stage_id or ""),
                to_stage_id=row.to_stage_id,
                to_stage_name=names.get(row.to_stage_id, ""),
                changed_at=row.changed_at,
                changed_by=row.changed_by,
                changed_by_name=people.get(row.changed_by or ""),
                amount_company=row.amount_company,
                seconds_in_previous_stage=row.seconds_in_previous_stage,
            )
            for row in rows
        ]


# ---------------------------------------------------------------- checks


def _check_owner_and_team(session: Session, actor: Actor, action: Action, opportunity: Opportunity) -> None:
    """The owner must be an active user and the team must exist, and the actor must be allowed to
    give a deal this owner and team (a rep with *own* scope cannot hand a deal to a colleague)."""
    errors: list[FieldError] = []
    with session.no_autoflush:
        if opportunity.owner_id is not None and (
            session.scalar(select(User.id).where(User.id == opportunity.owner_id, User.is_active.is_(True)))
            is None
        ):
            errors.append(FieldError("owner_id", N_("No active user has this id"), "unknown_user"))
        if opportunity.team_id is not None and session.get(Team, opportunity.team_id) is None:
            errors.append(FieldError("team_id", N_("No team has this id"), "unknown_team"))
    if errors:
        raise ValidationFailed(errors)
    if not can_reach_record(
        actor, OPPORTUNITY.key, action, owner_id=opportunity.owner_id, team_id=opportunity.team_id
    ):
        raise ValidationFailed.single(
            "owner_id", N_("You may not give a deal to this owner or team"), "owner_out_of_scope"
        )


def _check_account(uow: UnitOfWork, actor: Actor, account_id: str | None) -> dict[str, str]:
    """The account must exist and be readable by the actor; returns what the win-probability model
    learns from it (industry, region)."""
    if account_id is None:
        return {}
    try:
        account = customers.get_account(JoinedUnitOfWork(uow), actor, account_id)
    except DomainError:
        raise ValidationFailed.single(
            "account_id", N_("No account you may read has this id"), "unknown_account"
        ) from None
    learned = {
        "industry": account.industry.value if account.industry else None,
        "province": account.province,
        "city": account.city,
        "account_source": account.source.value if account.source else None,
    }
    return {key: value for key, value in learned.items() if value}


def _check_contacts(
    uow: UnitOfWork, actor: Actor, contacts: list[OpportunityContactIn]
) -> list[OpportunityContactIn]:
    """Every contact exists and is readable, none twice, and exactly one is primary (a single
    contact given without the flag becomes the primary one)."""
    errors: list[FieldError] = []
    seen: set[str] = set()
    for index, item in enumerate(contacts):
        if item.contact_id in seen:
            errors.append(
                FieldError(f"contacts.{index}.contact_id", N_("This contact is listed twice"), "duplicate")
            )
            continue
        seen.add(item.contact_id)
        if contact_name(uow, actor, item.contact_id) is None:
            errors.append(
                FieldError(
                    f"contacts.{index}.contact_id",
                    N_("No contact you may read has this id"),
                    "unknown_contact",
                )
            )
    primaries = sum(1 for item in contacts if item.is_primary)
    if len(contacts) == 1 and primaries == 0:
        contacts = [contacts[0].model_copy(update={"is_primary": True})]
    elif contacts and primaries != 1:
        errors.append(
            FieldError("contacts", N_("Mark exactly one contact as the primary one"), "one_primary")
        )
    if errors:
        raise ValidationFailed(errors)
    return contacts


def _set_contacts(session: Session, opportunity_id: str, contacts: list[OpportunityContactIn]) -> None:
    session.execute(delete(OpportunityContact).where(OpportunityContact.opportunity_id == opportunity_id))
    session.flush()
    for item in contacts:
        session.add(
            OpportunityContact(
                opportunity_id=opportunity_id,
                contact_id=item.contact_id,
                buying_role=item.buying_role.value,
                is_primary=item.is_primary,
            )
        )


def _stage_of(
    session: Session, pipeline_id: str, stage_id: str | None, field_name: str = "stage_id"
) -> Stage:
    """The given active stage of the pipeline, or its first active open stage."""
    if stage_id is None:
        stage = session.scalars(
            select(Stage)
            .where(
                Stage.pipeline_id == pipeline_id,
                Stage.kind == StageKind.OPEN.value,
                Stage.is_active.is_(True),
            )
            .order_by(Stage.position, Stage.id)
        ).first()
        if stage is None:
            raise ValidationFailed.single(
                "pipeline_id", N_("This pipeline has no active open stage"), "no_stage"
            )
        return stage
    stage = session.get(Stage, stage_id)
    if stage is None or stage.pipeline_id != pipeline_id:
        raise ValidationFailed.single(
            field_name, N_("This pipeline has no stage with this id"), "unknown_stage"
        )
    if not stage.is_active:
        raise ValidationFailed.single(field_name, N_("This stage is no longer in use"), "inactive_stage")
    return stage


def _pipeline_of(session: Session, pipeline_id: str | None) -> Pipeline:
    if pipeline_id is None:
        pipeline = default_pipeline_in_session(session)
        if pipeline is None:
            raise ValidationFailed.single(
                "pipeline_id",
                N_("No pipeline exists yet; an admin creates one in the sales settings"),
                "no_pipeline",
            )
        return pipeline
    pipeline = session.get(Pipeline, pipeline_id)
    if pipeline is None or not pipeline.is_active:
        raise ValidationFailed.single("pipeline_id", N_("No active pipeline has this id"), "unknown_pipeline")
    return pipeline


def _lost_reason(session: Session, lost_reason_id: str | None) -> LostReason:
    if lost_reason_id is None:
        raise ValidationFailed.single(
            "lost_reason_id", N_("Choose why the deal was lost"), "lost_reason_required"
        )
    reason = session.get(LostReason, lost_reason_id)
    if reason is None or not reason.is_active:
        raise ValidationFailed.single(
            "lost_reason_id", N_("Choose an active lost reason"), "inactive_lost_reason"
        )
    return reason


# ---------------------------------------------------------------- derived values


def _refresh_probability(uow: UnitOfWork, opportunity: Opportunity, stage: Stage, today: date) -> None:
    """Set ``probability_auto``: the estimator's answer for an open deal, else the stage's default."""
    opportunity.probability_auto = stage.probability
    if stage.kind != StageKind.OPEN.value:
        return
    estimated = registries.estimate_probability(uow, bare_out(opportunity, stage, today))
    if estimated is not None:
        opportunity.probability_auto = estimated


def refresh_automatic_probabilities_in(uow: UnitOfWork) -> int:
    """Estimate every open deal's ``probability_auto`` again, inside the caller's open unit of
    work; how many changed. The win-probability model calls it after a rebuild, so open deals
    follow what the model learned without waiting for their next move. The value is derived, so
    it is written without a new version (an open edit form is not refused for it)."""
    session = uow.session
    stages = {stage.id: stage for stage in session.scalars(select(Stage))}
    deals = session.scalars(
        select(Opportunity)
        .join(Stage, Stage.id == Opportunity.stage_id)
        .where(Stage.kind == StageKind.OPEN.value, Opportunity.deleted_at.is_(None))
        .order_by(Opportunity.id)
    ).all()
    today = utc_now().date()
    changes = []
    for deal in deals:
        stage = stages[deal.stage_id]
        estimated = registries.estimate_probability(uow, bare_out(deal, stage, today))
        probability = stage.probability if estimated is None else estimated
        if probability != deal.probability_auto:
            changes.append({"deal_id": deal.id, "probability": probability})
    if changes:
        table = cast(Table, Opportunity.__table__)
        session.execute(
            update(table)
            .where(table.c.id == bindparam("deal_id"))
            .values(probability_auto=bindparam("probability")),
            changes,
        )
        session.expire_all()  # the loaded deals show the new values when read again
    return len(changes)


def _refresh_forecast_category(opportunity: Opportunity, stage: Stage) -> None:
    if stage.kind != StageKind.OPEN.value or not opportunity.forecast_category_is_manual:
        opportunity.forecast_category = stage.forecast_category
        opportunity.forecast_category_is_manual = False


def _tell_listeners(
    uow: UnitOfWork, opportunity: Opportunity, stage: Stage, today: date, previous_kind: str
) -> None:
    if previous_kind == stage.kind:
        return
    listeners = registries.outcome_listeners()
    if listeners:
        result = bare_out(opportunity, stage, today)
        for listener in listeners:
            listener(uow, result, previous_kind, stage.kind)


def _snapshot(session: Session, opportunity: Opportunity) -> dict[str, Any]:
    values = {name: getattr(opportunity, name) for name in _AUDITED}
    values["contacts"] = [
        f"{row.contact_id}:{row.buying_role}{':primary' if row.is_primary else ''}"
        for row in contacts_of(session, opportunity.id)
    ]
    return values


def _append_stage_change(
    session: Session, actor: Actor, opportunity: Opportunity, from_stage_id: str | None, now: datetime
) -> None:
    seconds = None
    if from_stage_id is not None and opportunity.stage_entered_at is not None:
        seconds = max(0, int((now - opportunity.stage_entered_at).total_seconds()))
    session.add(
        StageChange(
            opportunity_id=opportunity.id,
            pipeline_id=opportunity.pipeline_id,
            from_stage_id=from_stage_id,
            to_stage_id=opportunity.stage_id,
            changed_at=now,
            changed_by=actor.user_id,
            amount_company=opportunity.amount_company,
            seconds_in_previous_stage=seconds,
        )
    )


def _enter_stage(
    session: Session,
    actor: Actor,
    opportunity: Opportunity,
    current: Stage | None,
    target: Stage,
    *,
    lost_reason_id: str | None,
    lost_note: str | None,
    by_order: bool = False,
    field_name: str = "stage_id",
) -> None:
    """Move the deal to ``target`` after checking the move is allowed (see the module's rules)."""
    if target.kind == StageKind.LOST.value:
        reason = _lost_reason(session, lost_reason_id)
        opportunity.lost_reason_id = reason.id
        opportunity.lost_note = lost_note
    elif target.kind == StageKind.WON.value and not by_order:
        if current is None or current.kind == StageKind.WON.value:
            pass
        elif not current.is_orderable or current.kind != StageKind.OPEN.value:
            raise ValidationFailed.single(
                field_name,
                N_("A deal is marked won by hand only from a stage where an order may be taken"),
                "not_orderable",
            )
    if target.kind != StageKind.LOST.value:
        opportunity.lost_reason_id = None
        opportunity.lost_note = None
    now = utc_now()
    from_stage_id = current.id if current is not None else None
    opportunity.stage_id = target.id
    opportunity.pipeline_id = target.pipeline_id
    if target.kind == StageKind.OPEN.value:
        opportunity.closed_at = None
    elif current is None or current.kind != target.kind:
        opportunity.closed_at = now
    if target.kind != StageKind.OPEN.value:
        opportunity.probability_manual = None  # a closed deal is certain: won 100 %, lost 0 %
    _refresh_forecast_category(opportunity, target)
    _append_stage_change(session, actor, opportunity, from_stage_id, now)
    opportunity.stage_entered_at = now


def _set_amount(session: Session, opportunity: Opportunity) -> None:
    opportunity.amount_company = convert(opportunity.amount, rate_in_session(session, opportunity.currency))


# ---------------------------------------------------------------- assignment


def _assign_by_rules(
    uow: UnitOfWork, actor: Actor, opportunity: Opportunity, attributes: dict[str, Any]
) -> str | None:
    """The owner the assignment rules pick for a new deal given without an owner (None: none)."""
    return assignment.assign_owner_in(
        uow, actor, record_type="opportunity", record_id=opportunity.id, attributes=attributes
    )


def _record_reassignment(
    uow: UnitOfWork, actor: Actor, opportunity: Opportunity, previous_owner_id: str | None
) -> None:
    """A hand-made change of owner: the assignment history, its audit and a notice to the new
    owner. A deal left without an owner has nobody to tell; its audit entry shows the change."""
    if opportunity.owner_id is None:
        return
    assignment.record_manual_assignment_in(
        uow,
        actor,
        record_type="opportunity",
        record_id=opportunity.id,
        previous_owner_id=previous_owner_id,
        owner_id=opportunity.owner_id,
    )


def count_open_deals(uow: UnitOfWork, user_ids: Sequence[str]) -> dict[str, int]:
    """Open deals per owner, for load-balanced assignment and reps' capacity; runs inside the
    caller's open unit of work."""
    counts = {user_id: 0 for user_id in user_ids}
    if not user_ids:
        return counts
    rows = uow.session.execute(
        select(Opportunity.owner_id, func.count())
        .join(Stage, Stage.id == Opportunity.stage_id)
        .where(
            Opportunity.owner_id.in_(list(user_ids)),
            Stage.kind == StageKind.OPEN.value,
            Opportunity.deleted_at.is_(None),
        )
        .group_by(Opportunity.owner_id)
    )
    for owner_id, count in rows:
        counts[str(owner_id)] = int(count)
    return counts


assignment.register_open_load("opportunity", count_open_deals)


# ---------------------------------------------------------------- writing


def create_opportunity(uow: UnitOfWork, actor: Actor, data: OpportunityCreate) -> OpportunityOut:
    """Create a deal; the creator owns it unless another owner is given or the assignment rules
    pick one. It starts in the given stage, else its pipeline's first open stage."""
    require(actor, OPPORTUNITY.key, Action.CREATE)
    with uow:
        result = _create(uow, actor, data)
        uow.commit()
        return result


def create_opportunity_in(uow: UnitOfWork, actor: Actor, data: OpportunityCreate) -> OpportunityOut:
    """:func:`create_opportunity` inside the caller's open unit of work (a lead's conversion)."""
    return create_opportunity(JoinedUnitOfWork(uow), actor, data)


def _create(uow: UnitOfWork, actor: Actor, data: OpportunityCreate) -> OpportunityOut:
    session = uow.session
    given = data.model_fields_set
    today = today_of(actor)
    pipeline = _pipeline_of(session, data.pipeline_id)
    stage = _stage_of(session, pipeline.id, data.stage_id)
    learned = _check_account(uow, actor, data.account_id)
    contacts = _check_contacts(uow, actor, data.contacts)
    currency = data.currency or company_currency_in_session(session)
    attributes = {**learned, **dict(data.attributes)}
    if data.source and "source" not in attributes:
        attributes["source"] = data.source
    now = utc_now()
    opportunity = Opportunity(
        **{name: getattr(data, name) for name in _COLUMNS},
        id=new_id(),
        account_id=data.account_id,
        pipeline_id=pipeline.id,
        stage_id=stage.id,
        amount=data.amount,
        currency=currency,
        probability_manual=data.probability_manual,
        forecast_category=(data.forecast_category or ForecastCategory(stage.forecast_category)).value,
        forecast_category_is_manual=data.forecast_category is not None,
        owner_id=data.owner_id if "owner_id" in given else actor.user_id,
        team_id=data.team_id,
        attributes=attributes,
        stage_entered_at=now,
        created_at=now,
        updated_at=now,
        created_by=actor.user_id,
        updated_by=actor.user_id,
        version=1,
    )
    _set_amount(session, opportunity)
    _check_owner_and_team(session, actor, Action.CREATE, opportunity)
    if stage.kind == StageKind.LOST.value:
        opportunity.lost_reason_id = _lost_reason(session, data.lost_reason_id).id
        opportunity.lost_note = data.lost_note
    if stage.kind != StageKind.OPEN.value:
        opportunity.closed_at = now
        opportunity.probability_manual = None
    _refresh_forecast_category(opportunity, stage)
    if "owner_id" not in given:
        assigned = _assign_by_rules(
            uow,
            actor,
            opportunity,
            {**attributes, "amount": opportunity.amount_company, "source": data.source},
        )
        if assigned is not None:
            opportunity.owner_id = assigned
    _refresh_probability(uow, opportunity, stage, today)
    session.add(opportunity)
    flush(session)
    _set_contacts(session, opportunity.id, contacts)
    _append_stage_change(session, actor, opportunity, None, now)
    flush(session)
    record_change(
        uow,
        actor,
        AuditAction.CREATE,
        OPPORTUNITY.key,
        opportunity.id,
        {
            name: [None, value]
            for name, value in _snapshot(session, opportunity).items()
            if value not in (None, [], {}, "")
        },
    )
    if opportunity.owner_id and opportunity.owner_id != actor.user_id and "owner_id" in given:
        _record_reassignment(uow, actor, opportunity, None)
    _tell_listeners(uow, opportunity, stage, today, "")
    return opportunity_out(uow, actor, opportunity)


def update_opportunity(
    uow: UnitOfWork,
    actor: Actor,
    opportunity_id: str,
    data: OpportunityUpdate,
    *,
    expected_version: int | None = None,
) -> OpportunityOut:
    """Change the fields the update gives (see :class:`OpportunityUpdate`); StaleVersion when
    ``expected_version`` is not the deal's version."""
    require(actor, OPPORTUNITY.key, Action.UPDATE)
    given = data.model_fields_set
    with uow:
        session = uow.session
        today = today_of(actor)
        opportunity = load(uow, actor, opportunity_id, Action.UPDATE)
        check_version(opportunity, expected_version)
        # Checks that read through other services (savepoints flush) and the contacts' rows come
        # first; the deal's own row is then changed without autoflush and written by one UPDATE,
        # so its version moves by exactly one.
        if "account_id" in given and data.account_id != opportunity.account_id:
            _check_account(uow, actor, data.account_id)
        contacts = _check_contacts(uow, actor, data.contacts) if "contacts" in given else None
        before = _snapshot(session, opportunity)
        if contacts is not None:
            _set_contacts(session, opportunity.id, contacts)
        previous_owner = opportunity.owner_id
        current = session.get_one(Stage, opportunity.stage_id)
        previous_kind = current.kind
        with session.no_autoflush:
            stage = _apply_update(uow, actor, opportunity, current, data, today)
            after = _snapshot(session, opportunity)
        changes = diff(before, after)
        if changes:
            opportunity.updated_by = actor.user_id
            opportunity.updated_at = utc_now()  # contacts live in another table
            flush(session)
            record_change(uow, actor, AuditAction.UPDATE, OPPORTUNITY.key, opportunity.id, changes)
        if opportunity.owner_id != previous_owner:
            _record_reassignment(uow, actor, opportunity, previous_owner)
        _tell_listeners(uow, opportunity, stage, today, previous_kind)
        result = opportunity_out(uow, actor, opportunity)
        uow.commit()
        return result


def _apply_update(
    uow: UnitOfWork,
    actor: Actor,
    opportunity: Opportunity,
    current: Stage,
    data: OpportunityUpdate,
    today: date,
) -> Stage:
    """Set the given fields on the deal (not yet written); returns the stage it ends in."""
    session = uow.session
    given = data.model_fields_set
    for name in _COLUMNS:
        if name in given:
            setattr(opportunity, name, getattr(data, name))
    if "account_id" in given:
        opportunity.account_id = data.account_id
    if "amount" in given or "currency" in given:
        opportunity.amount = data.amount if "amount" in given else opportunity.amount
        if "currency" in given:
            opportunity.currency = data.currency or company_currency_in_session(session)
        _set_amount(session, opportunity)
    if "owner_id" in given:
        opportunity.owner_id = data.owner_id
    if "team_id" in given:
        opportunity.team_id = data.team_id
    if "owner_id" in given or "team_id" in given:
        _check_owner_and_team(session, actor, Action.UPDATE, opportunity)
    if "attributes" in given:
        opportunity.attributes = dict(data.attributes)
    stage = current
    if "pipeline_id" in given or "stage_id" in given:
        pipeline_id = (data.pipeline_id or opportunity.pipeline_id) if "pipeline_id" in given else None
        pipeline = _pipeline_of(session, pipeline_id or opportunity.pipeline_id)
        stage_id = data.stage_id if "stage_id" in given else None
        if stage_id is None and pipeline.id == opportunity.pipeline_id:
            stage_id = opportunity.stage_id
        target = _stage_of(session, pipeline.id, stage_id)
        if target.id != current.id:
            _enter_stage(
                session,
                actor,
                opportunity,
                current,
                target,
                lost_reason_id=data.lost_reason_id,
                lost_note=data.lost_note,
            )
            stage = target
    if stage.kind == StageKind.LOST.value and stage is current and "lost_reason_id" in given:
        opportunity.lost_reason_id = _lost_reason(session, data.lost_reason_id).id
    if stage.kind == StageKind.LOST.value and stage is current and "lost_note" in given:
        opportunity.lost_note = data.lost_note
    if "probability_manual" in given:
        if data.probability_manual is not None and stage.kind != StageKind.OPEN.value:
            raise ValidationFailed.single(
                "probability_manual", N_("A closed deal's probability is its stage's"), "closed"
            )
        opportunity.probability_manual = data.probability_manual
    if "forecast_category" in given:
        opportunity.forecast_category_is_manual = data.forecast_category is not None
        if data.forecast_category is not None:
            opportunity.forecast_category = data.forecast_category.value
    _refresh_forecast_category(opportunity, stage)
    if stage is not current or "attributes" in given:
        _refresh_probability(uow, opportunity, stage, today)
    return stage


def change_stage(
    uow: UnitOfWork,
    actor: Actor,
    opportunity_id: str,
    stage_id: str,
    *,
    lost_reason_id: str | None = None,
    lost_note: str | None = None,
    expected_version: int | None = None,
) -> OpportunityOut:
    """Move a deal to another stage of its pipeline (the kanban's drag and drop)."""
    require(actor, OPPORTUNITY.key, Action.UPDATE)
    with uow:
        result = _move(
            uow,
            actor,
            opportunity_id,
            stage_id,
            lost_reason_id=lost_reason_id,
            lost_note=lost_note,
            expected_version=expected_version,
            by_order=False,
        )
        uow.commit()
        return result


def _move(
    uow: UnitOfWork,
    actor: Actor,
    opportunity_id: str,
    stage_id: str | None,
    *,
    lost_reason_id: str | None,
    lost_note: str | None,
    expected_version: int | None,
    by_order: bool,
) -> OpportunityOut:
    session = uow.session
    today = today_of(actor)
    opportunity = load(uow, actor, opportunity_id, Action.UPDATE)
    check_version(opportunity, expected_version)
    current = session.get_one(Stage, opportunity.stage_id)
    if stage_id is None:  # an order: the pipeline's first won stage
        target = session.scalars(
            select(Stage)
            .where(Stage.pipeline_id == opportunity.pipeline_id, Stage.kind == StageKind.WON.value)
            .order_by(Stage.is_active.desc(), Stage.position, Stage.id)
        ).first()
        if target is None:
            raise ValidationFailed.single("stage_id", N_("This pipeline has no won stage"), "no_won_stage")
    else:
        target = _stage_of(session, opportunity.pipeline_id, stage_id)
    if target.id == current.id and target.kind != StageKind.LOST.value:
        return opportunity_out(uow, actor, opportunity)
    before = _snapshot(session, opportunity)
    with session.no_autoflush:  # one UPDATE of the deal, so its version moves by one
        _move_to(uow, actor, opportunity, current, target, lost_reason_id, lost_note, by_order, today)
    opportunity.updated_by = actor.user_id
    flush(session)
    changes = diff(before, _snapshot(session, opportunity))
    if changes:
        record_change(uow, actor, AuditAction.UPDATE, OPPORTUNITY.key, opportunity.id, changes)
    _tell_listeners(uow, opportunity, target, today, current.kind)
    return opportunity_out(uow, actor, opportunity)


def _move_to(
    uow: UnitOfWork,
    actor: Actor,
    opportunity: Opportunity,
    current: Stage,
    target: Stage,
    lost_reason_id: str | None,
    lost_note: str | None,
    by_order: bool,
    today: date,
) -> None:
    session = uow.session
    if target.id == current.id:  # lost again: a new reason or note, no move
        opportunity.lost_reason_id = _lost_reason(session, lost_reason_id).id
        opportunity.lost_note = lost_note
    else:
        _enter_stage(
            session,
            actor,
            opportunity,
            current,
            target,
            lost_reason_id=lost_reason_id,
            lost_note=lost_note,
            by_order=by_order,
        )
        _refresh_probability(uow, opportunity, target, today)


def change_stage_in(
    uow: UnitOfWork,
    actor: Actor,
    opportunity_id: str,
    stage_id: str,
    *,
    lost_reason_id: str | None = None,
    lost_note: str | None = None,
) -> OpportunityOut:
    """:func:`change_stage` inside the caller's open unit of work."""
    return change_stage(
        JoinedUnitOfWork(uow),
        actor,
        opportunity_id,
        stage_id,
        lost_reason_id=lost_reason_id,
        lost_note=lost_note,
    )


def win_by_order_in(uow: UnitOfWork, actor: Actor, opportunity_id: str) -> OpportunityOut:
    """An order wins the deal, inside the caller's open unit of work: from any open (or lost)
    stage to its pipeline's first won stage. A deal already won is left as it is."""
    require(actor, OPPORTUNITY.key, Action.UPDATE)
    joined = JoinedUnitOfWork(uow)
    with joined:
        session = joined.session
        opportunity = load(joined, actor, opportunity_id, Action.UPDATE)
        current = session.get(Stage, opportunity.stage_id)
        if current is not None and current.kind == StageKind.WON.value:
            result = opportunity_out(joined, actor, opportunity)
        else:
            result = _move(
                joined,
                actor,
                opportunity_id,
                None,
                lost_reason_id=None,
                lost_note=None,
                expected_version=None,
                by_order=True,
            )
        joined.commit()
        return result


def delete_opportunity(
    uow: UnitOfWork, actor: Actor, opportunity_id: str, *, expected_version: int | None = None
) -> None:
    """Hide a deal (soft delete, audited); its history stays for the reports."""
    require(actor, OPPORTUNITY.key, Action.DELETE)
    with uow:
        opportunity = load(uow, actor, opportunity_id, Action.DELETE)
        check_version(opportunity, expected_version)
        opportunity.deleted_at = utc_now()
        opportunity.updated_by = actor.user_id
        flush(uow.session)
        record_change(
            uow,
            actor,
            AuditAction.DELETE,
            OPPORTUNITY.key,
            opportunity.id,
            {"deleted_at": [None, opportunity.deleted_at]},
        )
        uow.commit()
