"""Use cases of the sales settings: pipelines with their ordered stages, lost reasons and
currencies. Admins change them; everyone in sales reads them.

A pipeline always has at least one active open, one active won and one active lost stage, so a
deal can always be worked, won (by hand or by an order) and lost. A stage that deals use is never
deleted, only deactivated: the stage history keeps pointing at it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from loopcrm.modules.sales.opportunities.models import (
    Currency,
    ForecastCategory,
    LostReason,
    Opportunity,
    Pipeline,
    Stage,
    StageChange,
    StageKind,
)
from loopcrm.modules.sales.opportunities.schemas import (
    ActiveSettings,
    CurrencyCreate,
    CurrencyOut,
    CurrencyUpdate,
    LostReasonCreate,
    LostReasonOut,
    LostReasonUpdate,
    PipelineCreate,
    PipelineOut,
    PipelineUpdate,
    StageIn,
    StageOut,
)
from loopcrm.modules.sales.opportunities.service.object_types import SALES_SETTINGS
from loopcrm.platform.audit.models import AuditAction
from loopcrm.platform.audit.service import diff, record_change
from loopcrm.platform.auth.models import Team
from loopcrm.platform.db import utc_now
from loopcrm.platform.errors import FieldError, NotFound, StaleVersion, ValidationFailed
from loopcrm.platform.i18n import N_
from loopcrm.platform.permissions import Action, Actor, require
from loopcrm.platform.unit_of_work import UnitOfWork

CENT = Decimal("0.01")


def flush(session: Session) -> None:
    """Write pending changes, turning a concurrent edit into :class:`StaleVersion`."""
    try:
        session.flush()
    except StaleDataError:
        raise StaleVersion() from None


def check_version(record: Any, expected_version: int | None) -> None:
    if expected_version is not None and record.version != expected_version:
        raise StaleVersion()


@contextmanager
def reading(uow: UnitOfWork) -> Iterator[Session]:
    """The session of ``uow``: the open transaction when the caller is in one, else a new one
    (for the helpers without an actor that other areas call from inside their own use cases)."""
    try:
        session = uow.session
    except RuntimeError:
        with uow:
            yield uow.session
        return
    yield session


# ---------------------------------------------------------------- pipelines


def deal_counts(session: Session, stage_ids: list[str]) -> dict[str, int]:
    """Deals in each stage, deleted ones too (they still reference it)."""
    if not stage_ids:
        return {}
    rows = session.execute(
        select(Opportunity.stage_id, func.count())
        .where(Opportunity.stage_id.in_(stage_ids))
        .group_by(Opportunity.stage_id)
    ).all()
    return {stage_id: count for stage_id, count in rows}


def stage_out(stage: Stage, count: int = 0) -> StageOut:
    return StageOut(
        id=stage.id,
        pipeline_id=stage.pipeline_id,
        name=stage.name,
        position=stage.position,
        kind=StageKind(stage.kind),
        probability=stage.probability,
        forecast_category=ForecastCategory(stage.forecast_category),
        is_orderable=stage.is_orderable,
        is_active=stage.is_active,
        deal_count=count,
    )


def pipeline_out(session: Session, pipeline: Pipeline, *, with_counts: bool = False) -> PipelineOut:
    stages = list(
        session.scalars(
            select(Stage).where(Stage.pipeline_id == pipeline.id).order_by(Stage.position, Stage.id)
        )
    )
    counts = deal_counts(session, [stage.id for stage in stages]) if with_counts else {}
    return PipelineOut(
        id=pipeline.id,
        name=pipeline.name,
        team_id=pipeline.team_id,
        is_default=pipeline.is_default,
        is_active=pipeline.is_active,
        position=pipeline.position,
        version=pipeline.version,
        stages=[stage_out(stage, counts.get(stage.id, 0)) for stage in stages],
    )


def _check_stages(stages: list[StageIn]) -> None:
    """At least one active stage of each kind, and unique names."""
    errors: list[FieldError] = []
    active_kinds = {stage.kind for stage in stages if stage.is_active}
    for kind, message in (
        (StageKind.OPEN, N_("A pipeline needs at least one active open stage")),
        (StageKind.WON, N_("A pipeline needs at least one active won stage")),
        (StageKind.LOST, N_("A pipeline needs at least one active lost stage")),
    ):
        if kind not in active_kinds:
            errors.append(FieldError("stages", message, f"no_{kind.value}_stage"))
    seen: set[str] = set()
    for index, stage in enumerate(stages):
        if stage.name.casefold() in seen:
            errors.append(FieldError(f"stages.{index}.name", N_("Two stages have this name"), "duplicate"))
        seen.add(stage.name.casefold())
    if errors:
        raise ValidationFailed(errors)


def _check_team(session: Session, team_id: str | None) -> None:
    if team_id is not None and session.get(Team, team_id) is None:
        raise ValidationFailed.single("team_id", N_("No team has this id"), "unknown_team")


def _stage_values(stage: StageIn) -> dict[str, Any]:
    """A stage's columns from its input: closed stages are never orderable."""
    return {
        "name": stage.name,
        "kind": stage.kind.value,
        "probability": stage.probability,
        "forecast_category": stage.forecast_category.value,
        "is_orderable": stage.is_orderable and stage.kind is StageKind.OPEN,
        "is_active": stage.is_active,
    }


def _make_default(session: Session, pipeline: Pipeline) -> None:
    session.execute(
        update(Pipeline)
        .where(Pipeline.id != pipeline.id, Pipeline.is_default.is_(True))
        .values(is_default=False)
    )
    pipeline.is_default = True


def _ensure_a_default(session: Session) -> None:
    """Keep exactly one default pipeline while any is active: the first active one by position."""
    flush(session)
    has_default = session.scalar(
        select(Pipeline.id).where(Pipeline.is_default.is_(True), Pipeline.is_active.is_(True))
    )
    if has_default is None:
        first = session.scalars(
            select(Pipeline).where(Pipeline.is_active.is_(True)).order_by(Pipeline.position, Pipeline.id)
        ).first()
        if first is not None:
            _make_default(session, first)


def create_pipeline(uow: UnitOfWork, actor: Actor, data: PipelineCreate) -> PipelineOut:
    """Create a pipeline with its stages in the given order."""
    require(actor, SALES_SETTINGS.key, Action.CREATE)
    with uow:
        result = create_pipeline_in_session(uow, actor, data)
        uow.commit()
        return result


def create_pipeline_in_session(uow: UnitOfWork, actor: Actor, data: PipelineCreate) -> PipelineOut:
    session = uow.session
    _check_stages(data.stages)
    _check_team(session, data.team_id)
    position = (session.scalar(select(func.max(Pipeline.position))) or 0) + 1
    pipeline = Pipeline(
        name=data.name,
        team_id=data.team_id,
        is_default=False,
        is_active=data.is_active,
        position=position,
        created_by=actor.user_id,
        updated_by=actor.user_id,
    )
    session.add(pipeline)
    flush(session)
    for index, stage in enumerate(data.stages):
        session.add(
            Stage(
                pipeline_id=pipeline.id,
                position=index,
                created_by=actor.user_id,
                updated_by=actor.user_id,
                **_stage_values(stage),
            )
        )
    if data.is_default and data.is_active:
        _make_default(session, pipeline)
    _ensure_a_default(session)
    flush(session)
    result = pipeline_out(session, pipeline)
    record_change(uow, actor, AuditAction.CREATE, SALES_SETTINGS.key, pipeline.id, _pipeline_audit(result))
    return result


def _pipeline_audit(pipeline: PipelineOut) -> dict[str, Any]:
    return {
        "name": pipeline.name,
        "is_default": pipeline.is_default,
        "is_active": pipeline.is_active,
        "stages": [
            f"{stage.name} ({stage.kind.value}, {stage.probability}%, {stage.forecast_category.value}"
            f"{', orderable' if stage.is_orderable else ''}{'' if stage.is_active else ', inactive'})"
            for stage in pipeline.stages
        ],
    }


def _load_pipeline(session: Session, pipeline_id: str) -> Pipeline:
    pipeline = session.get(Pipeline, pipeline_id)
    if pipeline is None:
        raise NotFound(N_("Pipeline not found"))
    return pipeline


def update_pipeline(
    uow: UnitOfWork,
    actor: Actor,
    pipeline_id: str,
    data: PipelineUpdate,
    *,
    expected_version: int | None = None,
) -> PipelineOut:
    """Change a pipeline; ``stages`` (when given) replaces the ordered list, see :class:`PipelineUpdate`."""
    require(actor, SALES_SETTINGS.key, Action.UPDATE)
    given = data.model_fields_set
    with uow:
        session = uow.session
        pipeline = _load_pipeline(session, pipeline_id)
        check_version(pipeline, expected_version)
        before = _pipeline_audit(pipeline_out(session, pipeline))
        if "name" in given:
            if not data.name:
                raise ValidationFailed.single("name", N_("Enter a name"), "required")
            pipeline.name = data.name
        if "team_id" in given:
            _check_team(session, data.team_id)
            pipeline.team_id = data.team_id
        if "is_active" in given:
            pipeline.is_active = data.is_active
        if "stages" in given:
            _replace_stages(session, actor, pipeline, data.stages)
        if "is_default" in given:
            if data.is_default and pipeline.is_active:
                _make_default(session, pipeline)
            elif not data.is_default:
                pipeline.is_default = False
        if not pipeline.is_active:
            pipeline.is_default = False
        pipeline.updated_by = actor.user_id
        _ensure_a_default(session)
        flush(session)
        result = pipeline_out(session, pipeline, with_counts=True)
        changes = diff(before, _pipeline_audit(result))
        if changes:
            pipeline.updated_at = utc_now()  # its version moves with its stages' changes too
            flush(session)
            result.version = pipeline.version
            record_change(uow, actor, AuditAction.UPDATE, SALES_SETTINGS.key, pipeline.id, changes)
        uow.commit()
        return result


def _replace_stages(session: Session, actor: Actor, pipeline: Pipeline, stages: list[StageIn]) -> None:
    _check_stages(stages)
    existing = {
        stage.id: stage for stage in session.scalars(select(Stage).where(Stage.pipeline_id == pipeline.id))
    }
    kept_ids = {stage.id for stage in stages if stage.id}
    errors: list[FieldError] = []
    for index, stage in enumerate(stages):
        if stage.id and stage.id not in existing:
            errors.append(
                FieldError(f"stages.{index}.id", N_("No stage of this pipeline has this id"), "unknown")
            )
    counts = deal_counts(session, list(existing))
    history = set(
        session.scalars(
            select(StageChange.to_stage_id).where(
                or_(
                    StageChange.to_stage_id.in_(list(existing)), StageChange.from_stage_id.in_(list(existing))
                )
            )
        )
    )
    removed = [row for row_id, row in existing.items() if row_id not in kept_ids]
    for row in removed:
        if counts.get(row.id) or row.id in history:
            errors.append(
                FieldError(
                    "stages",
                    N_("The stage {name} has deals: deactivate it instead of deleting it"),
                    "stage_in_use",
                    {"name": row.name},
                )
            )
    if errors:
        raise ValidationFailed(errors)
    for row in removed:
        session.delete(row)
    for index, item in enumerate(stages):
        if item.id:
            kept = existing[item.id]
            for name, value in _stage_values(item).items():
                setattr(kept, name, value)
            kept.position = index
            kept.updated_by = actor.user_id
        else:
            session.add(
                Stage(
                    pipeline_id=pipeline.id,
                    position=index,
                    created_by=actor.user_id,
                    updated_by=actor.user_id,
                    **_stage_values(item),
                )
            )
    flush(session)


def get_pipeline(uow: UnitOfWork, actor: Actor, pipeline_id: str) -> PipelineOut:
    """A pipeline with its stages and how many deals each stage holds."""
    require(actor, SALES_SETTINGS.key, Action.READ)
    with uow:
        return pipeline_out(uow.session, _load_pipeline(uow.session, pipeline_id), with_counts=True)


def list_pipelines(uow: UnitOfWork, actor: Actor, *, include_inactive: bool = False) -> list[PipelineOut]:
    """Pipelines in their order (the default one first), with their stages."""
    require(actor, SALES_SETTINGS.key, Action.READ)
    with uow:
        return _pipelines(uow.session, include_inactive=include_inactive)


def _pipelines(session: Session, *, include_inactive: bool) -> list[PipelineOut]:
    statement = select(Pipeline).order_by(Pipeline.is_default.desc(), Pipeline.position, Pipeline.id)
    if not include_inactive:
        statement = statement.where(Pipeline.is_active.is_(True))
    return [pipeline_out(session, pipeline) for pipeline in session.scalars(statement)]


def active_settings(uow: UnitOfWork, actor: Actor) -> ActiveSettings:
    """The active pipelines (with their stages), lost reasons and currencies in one read: what
    a page's filters and forms offer, without a transaction for each list."""
    require(actor, SALES_SETTINGS.key, Action.READ)
    with uow:
        session = uow.session
        return ActiveSettings(
            pipelines=_pipelines(session, include_inactive=False),
            lost_reasons=_lost_reasons(session, include_inactive=False),
            currencies=_currencies(session, include_inactive=False),
        )


def default_pipeline_in_session(session: Session) -> Pipeline | None:
    return session.scalars(
        select(Pipeline)
        .where(Pipeline.is_active.is_(True))
        .order_by(Pipeline.is_default.desc(), Pipeline.position, Pipeline.id)
    ).first()


def default_pipeline(uow: UnitOfWork, actor: Actor) -> PipelineOut:
    """The default pipeline (else the first active one); NotFound when there is none yet."""
    require(actor, SALES_SETTINGS.key, Action.READ)
    with uow:
        pipeline = default_pipeline_in_session(uow.session)
        if pipeline is None:
            raise NotFound(N_("No pipeline exists yet; an admin creates one in the sales settings"))
        return pipeline_out(uow.session, pipeline)


# The standard pipeline: (name in English, name in Chinese, kind, probability, category, orderable).
STANDARD_STAGES = (
    (N_("Qualification"), "资格确认", StageKind.OPEN, 10, ForecastCategory.PIPELINE, False),
    (N_("Needs analysis"), "需求分析", StageKind.OPEN, 25, ForecastCategory.PIPELINE, False),
    (N_("Proposal"), "方案报价", StageKind.OPEN, 50, ForecastCategory.BEST_CASE, True),
    (N_("Negotiation"), "谈判", StageKind.OPEN, 75, ForecastCategory.COMMIT, True),
    (N_("Won"), "赢单", StageKind.WON, 100, ForecastCategory.CLOSED, False),
    (N_("Lost"), "输单", StageKind.LOST, 0, ForecastCategory.OMITTED, False),
)
STANDARD_LOST_REASONS = (
    (N_("Price too high"), "价格过高"),
    (N_("Lost to a competitor"), "输给竞争对手"),
    (N_("No budget"), "没有预算"),
    (N_("No decision"), "客户未决策"),
    (N_("Product does not fit"), "产品不满足需求"),
    (N_("Bad timing"), "时机不对"),
)


def create_standard_pipeline(uow: UnitOfWork, actor: Actor, locale: str) -> PipelineOut:
    """Create the standard six-stage pipeline (and the standard lost reasons when there are none),
    named in ``locale`` ("zh…" for Chinese, else English): one click to a working sales process."""
    require(actor, SALES_SETTINGS.key, Action.CREATE)
    chinese = locale.lower().startswith("zh")
    with uow:
        session = uow.session
        name = "标准销售流程" if chinese else "Standard sales process"
        taken = set(session.scalars(select(Pipeline.name)))
        number = 2
        base = name
        while name in taken:
            name = f"{base} {number}"
            number += 1
        data = PipelineCreate(
            name=name,
            is_default=default_pipeline_in_session(session) is None,
            stages=[
                StageIn(
                    name=zh if chinese else en,
                    kind=kind,
                    probability=probability,
                    forecast_category=category,
                    is_orderable=orderable,
                )
                for en, zh, kind, probability, category, orderable in STANDARD_STAGES
            ],
        )
        result = create_pipeline_in_session(uow, actor, data)
        if session.scalar(select(func.count()).select_from(LostReason)) == 0:
            for position, (en, zh) in enumerate(STANDARD_LOST_REASONS):
                reason = LostReason(
                    name=zh if chinese else en,
                    position=position,
                    is_active=True,
                    created_by=actor.user_id,
                    updated_by=actor.user_id,
                )
                session.add(reason)
                flush(session)
                record_change(
                    uow,
                    actor,
                    AuditAction.CREATE,
                    SALES_SETTINGS.key,
                    reason.id,
                    {"name": [None, reason.name]},
                )
        uow.commit()
        return result


# ---------------------------------------------------------------- lost reasons


def lost_reason_out(reason: LostReason) -> LostReasonOut:
    return LostReasonOut(
        id=reason.id,
        name=reason.name,
        position=reason.position,
        is_active=reason.is_active,
        version=reason.version,
    )


def list_lost_reasons(
    uow: UnitOfWork, actor: Actor, *, include_inactive: bool = False
) -> list[LostReasonOut]:
    """Lost reasons in their order; the active ones only unless asked."""
    require(actor, SALES_SETTINGS.key, Action.READ)
    with uow:
        return _lost_reasons(uow.session, include_inactive=include_inactive)


def _lost_reasons(session: Session, *, include_inactive: bool) -> list[LostReasonOut]:
    statement = select(LostReason).order_by(LostReason.position, LostReason.id)
    if not include_inactive:
        statement = statement.where(LostReason.is_active.is_(True))
    return [lost_reason_out(reason) for reason in session.scalars(statement)]


def _reason_name_taken(session: Session, name: str, except_id: str | None = None) -> bool:
    statement = select(LostReason.id).where(func.lower(LostReason.name) == name.lower())
    if except_id:
        statement = statement.where(LostReason.id != except_id)
    return session.scalar(statement) is not None


def create_lost_reason(uow: UnitOfWork, actor: Actor, data: LostReasonCreate) -> LostReasonOut:
    require(actor, SALES_SETTINGS.key, Action.CREATE)
    with uow:
        session = uow.session
        if _reason_name_taken(session, data.name):
            raise ValidationFailed.single("name", N_("This lost reason exists already"), "duplicate")
        position = data.position
        if position is None:
            position = (session.scalar(select(func.max(LostReason.position))) or 0) + 1
        reason = LostReason(
            name=data.name,
            position=position,
            is_active=data.is_active,
            created_by=actor.user_id,
            updated_by=actor.user_id,
        )
        session.add(reason)
        flush(session)
        result = lost_reason_out(reason)
        record_change(
            uow,
            actor,
            AuditAction.CREATE,
            SALES_SETTINGS.key,
            reason.id,
            {"name": [None, reason.name], "is_active": [None, reason.is_active]},
        )
        uow.commit()
        return result


def update_lost_reason(
    uow: UnitOfWork,
    actor: Actor,
    reason_id: str,
    data: LostReasonUpdate,
    *,
    expected_version: int | None = None,
) -> LostReasonOut:
    require(actor, SALES_SETTINGS.key, Action.UPDATE)
    given = data.model_fields_set
    with uow:
        session = uow.session
        reason = session.get(LostReason, reason_id)
        if reason is None:
            raise NotFound(N_("Lost reason not found"))
        check_version(reason, expected_version)
        before = {"name": reason.name, "position": reason.position, "is_active": reason.is_active}
        if "name" in given:
            if not data.name:
                raise ValidationFailed.single("name", N_("Enter a name"), "required")
            if _reason_name_taken(session, data.name, reason.id):
                raise ValidationFailed.single("name", N_("This lost reason exists already"), "duplicate")
            reason.name = data.name
        if "position" in given and data.position is not None:
            reason.position = data.position
        if "is_active" in given:
            reason.is_active = data.is_active
        after = {"name": reason.name, "position": reason.position, "is_active": reason.is_active}
        changes = diff(before, after)
        if changes:
            reason.updated_by = actor.user_id
            flush(session)
            record_change(uow, actor, AuditAction.UPDATE, SALES_SETTINGS.key, reason.id, changes)
        result = lost_reason_out(reason)
        uow.commit()
        return result


def delete_lost_reason(uow: UnitOfWork, actor: Actor, reason_id: str) -> None:
    """Delete a lost reason no deal names; one in use is deactivated instead (ValidationFailed)."""
    require(actor, SALES_SETTINGS.key, Action.DELETE)
    with uow:
        session = uow.session
        reason = session.get(LostReason, reason_id)
        if reason is None:
            raise NotFound(N_("Lost reason not found"))
        used = session.scalar(select(Opportunity.id).where(Opportunity.lost_reason_id == reason.id).limit(1))
        if used is not None:
            raise ValidationFailed.single(
                "id", N_("Deals name this lost reason: deactivate it instead of deleting it"), "in_use"
            )
        session.delete(reason)
        flush(session)
        record_change(
            uow, actor, AuditAction.DELETE, SALES_SETTINGS.key, reason_id, {"name": [reason.name, None]}
        )
        uow.commit()


# ---------------------------------------------------------------- currencies


def currency_out(currency: Currency) -> CurrencyOut:
    return CurrencyOut(
        id=currency.id,
        code=currency.code,
        name=currency.name,
        rate=currency.rate,
        is_company=currency.is_company,
        is_active=currency.is_active,
        version=currency.version,
    )


def list_currencies(uow: UnitOfWork, actor: Actor, *, include_inactive: bool = True) -> list[CurrencyOut]:
    """Currencies, the company currency first."""
    require(actor, SALES_SETTINGS.key, Action.READ)
    with uow:
        return _currencies(uow.session, include_inactive=include_inactive)


def _currencies(session: Session, *, include_inactive: bool) -> list[CurrencyOut]:
    statement = select(Currency).order_by(Currency.is_company.desc(), Currency.code)
    if not include_inactive:
        statement = statement.where(Currency.is_active.is_(True))
    return [currency_out(currency) for currency in session.scalars(statement)]


def _switch_company_currency(session: Session, currency: Currency) -> None:
    """Make ``currency`` the company currency (rate 1); admins then restate the other rates."""
    session.execute(
        update(Currency)
        .where(Currency.id != currency.id, Currency.is_company.is_(True))
        .values(is_company=False)
    )
    currency.is_company = True
    currency.rate = Decimal(1)
    currency.is_active = True


def create_currency(uow: UnitOfWork, actor: Actor, data: CurrencyCreate) -> CurrencyOut:
    require(actor, SALES_SETTINGS.key, Action.CREATE)
    with uow:
        session = uow.session
        if session.scalar(select(Currency.id).where(Currency.code == data.code)) is not None:
            raise ValidationFailed.single("code", N_("This currency exists already"), "duplicate")
        currency = Currency(
            code=data.code,
            name=data.name,
            rate=data.rate,
            is_company=False,
            is_active=data.is_active,
            created_by=actor.user_id,
            updated_by=actor.user_id,
        )
        session.add(currency)
        try:
            flush(session)
        except IntegrityError:
            raise ValidationFailed.single("code", N_("This currency exists already"), "duplicate") from None
        if (
            data.is_company
            or session.scalar(select(Currency.id).where(Currency.is_company.is_(True))) is None
        ):
            _switch_company_currency(session, currency)
            flush(session)
        result = currency_out(currency)
        record_change(
            uow,
            actor,
            AuditAction.CREATE,
            SALES_SETTINGS.key,
            currency.id,
            {
                "code": [None, currency.code],
                "rate": [None, currency.rate],
                "is_company": [None, currency.is_company],
            },
        )
        uow.commit()
        return result


def update_currency(
    uow: UnitOfWork,
    actor: Actor,
    code: str,
    data: CurrencyUpdate,
    *,
    expected_version: int | None = None,
) -> CurrencyOut:
    """Change a currency's name, rate or activity, or make it the company currency. The company
    currency keeps rate 1 and stays active; another one becomes it only by being chosen."""
    require(actor, SALES_SETTINGS.key, Action.UPDATE)
    given = data.model_fields_set
    with uow:
        session = uow.session
        currency = session.scalar(select(Currency).where(Currency.code == code.upper()))
        if currency is None:
            raise NotFound(N_("Currency not found"))
        check_version(currency, expected_version)
        before = {
            "name": currency.name,
            "rate": currency.rate,
            "is_company": currency.is_company,
            "is_active": currency.is_active,
        }
        errors: list[FieldError] = []
        if "name" in given:
            if not data.name:
                errors.append(FieldError("name", N_("Enter a name"), "required"))
            currency.name = data.name
        if currency.is_company and "is_company" in given and not data.is_company:
            errors.append(
                FieldError(
                    "is_company",
                    N_("Choose another currency as the company currency instead"),
                    "company_currency_required",
                )
            )
        if currency.is_company and "is_active" in given and not data.is_active:
            errors.append(
                FieldError("is_active", N_("The company currency cannot be deactivated"), "company_currency")
            )
        if currency.is_company and "rate" in given and data.rate != 1:
            errors.append(FieldError("rate", N_("The company currency's rate is always 1"), "company_rate"))
        if errors:
            raise ValidationFailed(errors)
        if "rate" in given:
            currency.rate = data.rate
        if "is_active" in given:
            currency.is_active = data.is_active
        if "is_company" in given and data.is_company and not currency.is_company:
            _switch_company_currency(session, currency)
        after = {
            "name": currency.name,
            "rate": currency.rate,
            "is_company": currency.is_company,
            "is_active": currency.is_active,
        }
        changes = diff(before, after)
        if changes:
            currency.updated_by = actor.user_id
            flush(session)
            if "rate" in changes:
                changes["open_deals_converted"] = [None, _convert_open_deals(session, currency)]
            record_change(uow, actor, AuditAction.UPDATE, SALES_SETTINGS.key, currency.id, changes)
        result = currency_out(currency)
        uow.commit()
        return result


def _convert_open_deals(session: Session, currency: Currency) -> int:
    """Restate the open deals in ``currency`` at its new rate (closed deals keep the amount they
    were won or lost at); returns how many. One UPDATE, bumping each deal's version."""
    open_stages = select(Stage.id).where(Stage.kind == StageKind.OPEN.value)
    result = session.execute(
        update(Opportunity)
        .where(
            Opportunity.currency == currency.code,
            Opportunity.deleted_at.is_(None),
            Opportunity.stage_id.in_(open_stages),
        )
        .values(
            amount_company=func.round(Opportunity.amount * currency.rate, 2),
            version=Opportunity.version + 1,
            updated_at=utc_now(),
        )
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def company_currency_in_session(session: Session) -> str:
    code = session.scalar(select(Currency.code).where(Currency.is_company.is_(True)))
    return code or "CNY"


def company_currency(uow: UnitOfWork) -> str:
    """The company currency's code (amounts are summed in it). Works inside the caller's open
    unit of work or on a fresh one."""
    with reading(uow) as session:
        return company_currency_in_session(session)


def rate_in_session(session: Session, currency: str, *, field_name: str = "currency") -> Decimal:
    """The rate of an active currency to the company currency; a field error for another code."""
    row = session.execute(
        select(Currency.rate, Currency.is_active).where(Currency.code == currency.upper())
    ).first()
    if row is None or not row.is_active:
        raise ValidationFailed.single(
            field_name,
            N_("{currency_code} is not an active currency"),
            "unknown_currency",
            currency_code=currency,
        )
    return Decimal(row.rate)


def convert(amount: Decimal, rate: Decimal) -> Decimal:
    return (Decimal(amount) * rate).quantize(CENT, rounding=ROUND_HALF_UP)


def to_company_currency(uow: UnitOfWork, amount: Decimal, currency: str) -> Decimal:
    """``amount`` of ``currency`` in the company currency at today's rate, to the cent (half up).
    Works inside the caller's open unit of work or on a fresh one; ValidationFailed ("currency")
    for an unknown or inactive currency."""
    with reading(uow) as session:
        return convert(amount, rate_in_session(session, currency))
