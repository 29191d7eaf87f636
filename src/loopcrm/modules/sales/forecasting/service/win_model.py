"""The win-probability model kept as counts in the database (ADR 0014).

The opportunities core calls :func:`learn_outcome` inside its transaction whenever a deal's stage
kind changes, and :func:`estimate_open_deal` whenever it recomputes an open deal's automatic
probability; both are registered at import time (see this package's ``__init__``). A rebuild
recomputes every count from the closed deals (the periodic job, and after the settings change).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, delete, func, insert, select, tuple_
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from loopcrm.modules.sales.forecasting import naive_bayes
from loopcrm.modules.sales.forecasting.models import (
    CLASS_TOTALS,
    GLOBAL_SCOPE,
    STAGE_FEATURE,
    Outcome,
    WinCount,
    WinModelSettings,
    WinObservation,
)
from loopcrm.modules.sales.forecasting.schemas import (
    FactorOut,
    ModelScope,
    ModelSummary,
    ProbabilityOut,
    ScopeSummary,
    WinModelSettingsOut,
    WinModelSettingsUpdate,
)
from loopcrm.modules.sales.opportunities import service as opportunities
from loopcrm.modules.sales.opportunities.models import Opportunity, Stage, StageChange, StageKind
from loopcrm.modules.sales.opportunities.schemas import OpportunityOut
from loopcrm.platform.audit.models import AuditAction
from loopcrm.platform.audit.service import diff, record_change
from loopcrm.platform.auth.models import Team
from loopcrm.platform.db import new_id, utc_now
from loopcrm.platform.errors import NotFound, StaleVersion
from loopcrm.platform.permissions import Action, Actor, can_reach_record, require
from loopcrm.platform.unit_of_work import UnitOfWork

OPPORTUNITY_TYPE = "opportunity"  # the core's object type of deals
SETTINGS_TYPE = "sales_settings"  # the core's object type of pipelines, stages … and this model
# Features an installation starts with: what a B2B sales team usually knows of a deal early.
DEFAULT_ATTRIBUTE_NAMES = [naive_bayes.SOURCE, naive_bayes.AMOUNT_BAND, "industry", "province"]
# Closed deals are read in slices of this many when the model is rebuilt.
REBUILD_BATCH = 5_000

CountKey = tuple[str, str, str]  # scope, feature, value


# ---------------------------------------------------------------- settings


def _settings(session: Session) -> WinModelSettings:
    """The one settings row, created with the defaults on first use."""
    settings = session.scalar(select(WinModelSettings).order_by(WinModelSettings.created_at).limit(1))
    if settings is None:
        settings = WinModelSettings(attribute_names=list(DEFAULT_ATTRIBUTE_NAMES))
        session.add(settings)
        session.flush()
    return settings


def _settings_out(settings: WinModelSettings) -> WinModelSettingsOut:
    return WinModelSettingsOut(
        attribute_names=list(settings.attribute_names),
        min_team_closed=settings.min_team_closed,
        min_global_closed=settings.min_global_closed,
        alpha=naive_bayes.ALPHA,
        rebuilt_at=settings.rebuilt_at,
        version=settings.version,
    )


def get_model_settings(uow: UnitOfWork, actor: Actor) -> WinModelSettingsOut:
    require(actor, SETTINGS_TYPE, Action.READ)
    with uow:
        result = _settings_out(_settings(uow.session))
        uow.commit()  # the defaults row, the first time
        return result


def update_model_settings(
    uow: UnitOfWork, actor: Actor, data: WinModelSettingsUpdate, *, expected_version: int | None = None
) -> WinModelSettingsOut:
    """Change which attributes the model learns from; the counts are rebuilt at once, because
    counts of other features than the configured ones would score nothing."""
    require(actor, SETTINGS_TYPE, Action.UPDATE)
    with uow:
        settings = _settings(uow.session)
        if expected_version is not None and settings.version != expected_version:
            raise StaleVersion()
        before = {
            "attribute_names": list(settings.attribute_names),
            "min_team_closed": settings.min_team_closed,
            "min_global_closed": settings.min_global_closed,
        }
        settings.attribute_names = list(data.attribute_names)
        settings.min_team_closed = data.min_team_closed
        settings.min_global_closed = data.min_global_closed
        changes = diff(before, data.model_dump())
        if changes:
            settings.updated_by = actor.user_id
            uow.session.flush()
            record_change(uow, actor, AuditAction.UPDATE, "win_model", settings.id, changes)
            if "attribute_names" in changes:
                _rebuild(uow.session, settings)
        result = _settings_out(settings)
        uow.commit()
        return result


# ---------------------------------------------------------------- features of deals


def _stages_entered(session: Session, opportunity_ids: Sequence[str]) -> dict[str, list[str]]:
    """The open stages each deal entered, in the order it first entered them (stage history)."""
    entered: dict[str, list[str]] = defaultdict(list)
    if not opportunity_ids:
        return entered
    rows = session.execute(
        select(StageChange.opportunity_id, StageChange.to_stage_id)
        .join(Stage, Stage.id == StageChange.to_stage_id)
        .where(StageChange.opportunity_id.in_(opportunity_ids), Stage.kind == StageKind.OPEN.value)
        .order_by(StageChange.opportunity_id, StageChange.changed_at)
    )
    for opportunity_id, stage_id in rows:
        if stage_id not in entered[opportunity_id]:
            entered[opportunity_id].append(stage_id)
    return entered


def _attribute_values(settings: WinModelSettings, deal: OpportunityOut | Opportunity) -> dict[str, str]:
    return naive_bayes.feature_values(
        settings.attribute_names,
        source=deal.source,
        amount_company=deal.amount_company or Decimal(0),
        competitors=deal.competitors or [],
        lead_id=deal.lead_id,
        attributes=deal.attributes or {},
    )


def _count_keys(scopes: Iterable[str], features: Mapping[str, Any]) -> list[CountKey]:
    keys: list[CountKey] = []
    for scope in scopes:
        keys.append((scope, CLASS_TOTALS, ""))
        for stage_id in features.get(STAGE_FEATURE, []):
            keys.append((scope, STAGE_FEATURE, stage_id))
        for name, value in features.items():
            if name != STAGE_FEATURE:
                keys.append((scope, name, value))
    return keys


def _scopes_of(team_id: str | None) -> list[str]:
    return [GLOBAL_SCOPE] if team_id is None else [GLOBAL_SCOPE, team_id]


def _add_counts(session: Session, keys: Sequence[CountKey], outcome: Outcome, sign: int) -> None:
    """Add ``sign`` to the won or lost count of each key, atomically (insert or increment)."""
    column = "won" if outcome is Outcome.WON else "lost"
    dialect = session.get_bind().dialect.name
    insert_function = postgresql_insert if dialect == "postgresql" else sqlite_insert
    for scope, feature, value in dict.fromkeys(keys):
        statement = insert_function(WinCount).values(
            id=new_id(),
            scope=scope,
            feature=feature,
            value=value,
            won=max(sign, 0) if outcome is Outcome.WON else 0,
            lost=max(sign, 0) if outcome is Outcome.LOST else 0,
        )
        statement = statement.on_conflict_do_update(
            index_elements=[WinCount.scope, WinCount.feature, WinCount.value],
            set_={column: getattr(WinCount, column) + sign},
        )
        session.execute(statement)


def learn_outcome(uow: UnitOfWork, opportunity: OpportunityOut, previous_kind: str, new_kind: str) -> None:
    """The outcome listener: a deal that closes adds its observation to the counts, a deal that
    reopens (or changes from won to lost) takes back what it added. Runs in the core's
    transaction, so the counts change exactly when the deal does."""
    session = uow.session
    closed_kinds = {StageKind.WON.value, StageKind.LOST.value}
    if previous_kind in closed_kinds:
        observation = session.get(WinObservation, opportunity.id)
        if observation is not None:
            keys = _count_keys(_scopes_of(observation.team_id), observation.features)
            _add_counts(session, keys, Outcome(observation.outcome), -1)
            session.delete(observation)
            session.flush()
    if new_kind in closed_kinds:
        settings = _settings(session)
        features: dict[str, Any] = dict(_attribute_values(settings, opportunity))
        features[STAGE_FEATURE] = _stages_entered(session, [opportunity.id]).get(opportunity.id, [])
        outcome = Outcome.WON if new_kind == StageKind.WON.value else Outcome.LOST
        session.add(
            WinObservation(
                opportunity_id=opportunity.id,
                team_id=opportunity.team_id,
                outcome=outcome.value,
                features=features,
            )
        )
        _add_counts(session, _count_keys(_scopes_of(opportunity.team_id), features), outcome, 1)
        session.flush()


# ---------------------------------------------------------------- scoring


def _load_counts(
    session: Session, scope: str, stage_id: str, attributes: Mapping[str, str]
) -> naive_bayes.Counts:
    """The counts one deal's score needs: class totals, its stage, its values, and how many
    distinct values each of its features has in the scope."""
    keys = [(CLASS_TOTALS, ""), (STAGE_FEATURE, stage_id), *attributes.items()]
    counts = naive_bayes.Counts()
    rows = session.execute(
        select(WinCount.feature, WinCount.value, WinCount.won, WinCount.lost).where(
            WinCount.scope == scope, tuple_(WinCount.feature, WinCount.value).in_(keys)
        )
    )
    for feature, value, won, lost in rows:
        if feature == CLASS_TOTALS:
            counts.won, counts.lost = won, lost
        else:
            counts.values[(feature, value)] = [won, lost]
    if attributes:
        distinct = session.execute(
            select(WinCount.feature, func.count())
            .where(
                WinCount.scope == scope,
                WinCount.feature.in_(list(attributes)),
                WinCount.won + WinCount.lost > 0,
            )
            .group_by(WinCount.feature)
        )
        counts.distinct = {feature: number for feature, number in distinct}
    return counts


def _class_totals(session: Session, scopes: Sequence[str]) -> dict[str, tuple[int, int]]:
    rows = session.execute(
        select(WinCount.scope, WinCount.won, WinCount.lost).where(
            WinCount.scope.in_(scopes), WinCount.feature == CLASS_TOTALS, WinCount.value == ""
        )
    )
    return {scope: (won, lost) for scope, won, lost in rows}


def _choose_scope(
    session: Session, settings: WinModelSettings, team_id: str | None
) -> tuple[ModelScope, str | None]:
    """The team's model when its team has closed enough deals, else the global one when there
    are enough closed deals in all, else none (the stage's default)."""
    totals = _class_totals(session, _scopes_of(team_id))
    if team_id is not None and sum(totals.get(team_id, (0, 0))) >= settings.min_team_closed:
        return ModelScope.TEAM, team_id
    if sum(totals.get(GLOBAL_SCOPE, (0, 0))) >= settings.min_global_closed:
        return ModelScope.GLOBAL, GLOBAL_SCOPE
    return ModelScope.STAGE_DEFAULT, None


def _estimate(
    session: Session,
    settings: WinModelSettings,
    *,
    team_id: str | None,
    stage_id: str,
    attributes: dict[str, str],
) -> tuple[ModelScope, naive_bayes.Counts | None, naive_bayes.Estimate | None]:
    scope_kind, scope = _choose_scope(session, settings, team_id)
    if scope is None:
        return scope_kind, None, None
    counts = _load_counts(session, scope, stage_id, attributes)
    return scope_kind, counts, naive_bayes.estimate(counts, STAGE_FEATURE, stage_id, attributes)


def estimate_open_deal(uow: UnitOfWork, opportunity: OpportunityOut) -> int | None:
    """The probability estimator: an open deal's win probability in percent, or ``None`` (the
    stage's default) for a closed deal or while no model has enough closed deals."""
    if opportunity.stage_kind is not StageKind.OPEN:
        return None
    session = uow.session
    settings = _settings(session)
    _scope, _counts, estimate = _estimate(
        session,
        settings,
        team_id=opportunity.team_id,
        stage_id=opportunity.stage_id,
        attributes=_attribute_values(settings, opportunity),
    )
    return None if estimate is None else estimate.percent


def win_probability(uow: UnitOfWork, actor: Actor, opportunity_id: str) -> ProbabilityOut:
    """A deal's win probability now, with the factors behind it (per-feature likelihood ratios)."""
    require(actor, OPPORTUNITY_TYPE, Action.READ)
    with uow:
        session = uow.session
        deal = session.get(Opportunity, opportunity_id)
        if (
            deal is None
            or deal.deleted_at is not None
            or not can_reach_record(
                actor, OPPORTUNITY_TYPE, Action.READ, owner_id=deal.owner_id, team_id=deal.team_id
            )
        ):
            raise NotFound("Opportunity not found")
        stage = session.get(Stage, deal.stage_id)
        stage_default = stage.probability if stage is not None else 0
        settings = _settings(session)
        attributes = _attribute_values(settings, deal)
        scope_kind, counts, estimate = (ModelScope.STAGE_DEFAULT, None, None)
        if stage is not None and stage.kind == StageKind.OPEN.value:
            scope_kind, counts, estimate = _estimate(
                session, settings, team_id=deal.team_id, stage_id=deal.stage_id, attributes=attributes
            )
        stage_names = dict(session.execute(select(Stage.id, Stage.name)).all()) if estimate else {}
        result = ProbabilityOut(
            opportunity_id=deal.id,
            probability=estimate.percent if estimate is not None else stage_default,
            probability_auto=deal.probability_auto,
            probability_manual=deal.probability_manual,
            stage_default=stage_default,
            scope=scope_kind,
            team_id=deal.team_id,
            won=counts.won if counts else 0,
            lost=counts.lost if counts else 0,
            prior_won=estimate.prior_won if estimate else None,
            alpha=naive_bayes.ALPHA,
            factors=[
                FactorOut(
                    feature=factor.feature,
                    value=factor.value,
                    value_label=stage_names.get(factor.value, factor.value)
                    if factor.feature == STAGE_FEATURE
                    else factor.value,
                    won=factor.won,
                    lost=factor.lost,
                    likelihood_ratio=factor.likelihood_ratio,
                )
                for factor in (estimate.factors if estimate else ())
            ],
        )
        uow.commit()  # the defaults row, the first time
        return result


# ---------------------------------------------------------------- rebuild and summary


def _closed_deals(session: Session) -> Select[Any]:
    return (
        select(
            Opportunity.id,
            Opportunity.team_id,
            Stage.kind,
            Opportunity.source,
            Opportunity.amount_company,
            Opportunity.competitors,
            Opportunity.lead_id,
            Opportunity.attributes,
        )
        .join(Stage, Stage.id == Opportunity.stage_id)
        .where(Opportunity.deleted_at.is_(None), Stage.kind.in_([StageKind.WON.value, StageKind.LOST.value]))
        .order_by(Opportunity.id)
    )


def _rebuild(session: Session, settings: WinModelSettings) -> None:
    """Recompute every observation and count from the closed deals, in the caller's transaction."""
    session.execute(delete(WinCount))
    session.execute(delete(WinObservation))
    counts: dict[CountKey, list[int]] = defaultdict(lambda: [0, 0])
    now = utc_now()
    last_id = ""
    while True:
        rows = session.execute(
            _closed_deals(session).where(Opportunity.id > last_id).limit(REBUILD_BATCH)
        ).all()
        if not rows:
            break
        last_id = rows[-1].id
        entered = _stages_entered(session, [row.id for row in rows])
        observations = []
        for row in rows:
            features: dict[str, Any] = dict(
                naive_bayes.feature_values(
                    settings.attribute_names,
                    source=row.source,
                    amount_company=row.amount_company or Decimal(0),
                    competitors=row.competitors or [],
                    lead_id=row.lead_id,
                    attributes=row.attributes or {},
                )
            )
            features[STAGE_FEATURE] = entered.get(row.id, [])
            outcome = Outcome.WON if row.kind == StageKind.WON.value else Outcome.LOST
            observations.append(
                {
                    "opportunity_id": row.id,
                    "team_id": row.team_id,
                    "outcome": outcome.value,
                    "features": features,
                    "observed_at": now,
                }
            )
            column = 0 if outcome is Outcome.WON else 1
            for key in dict.fromkeys(_count_keys(_scopes_of(row.team_id), features)):
                counts[key][column] += 1
        session.execute(insert(WinObservation), observations)
    if counts:
        session.execute(
            insert(WinCount),
            [
                {"id": new_id(), "scope": scope, "feature": feature, "value": value, "won": won, "lost": lost}
                for (scope, feature, value), (won, lost) in counts.items()
            ],
        )
    settings.rebuilt_at = now
    session.flush()


def _summary(session: Session, settings: WinModelSettings) -> ModelSummary:
    rows = session.execute(
        select(WinCount.scope, WinCount.won, WinCount.lost)
        .where(WinCount.feature == CLASS_TOTALS, WinCount.value == "")
        .order_by(WinCount.scope)
    ).all()
    team_names = dict(
        session.execute(
            select(Team.id, Team.name).where(Team.id.in_([row.scope for row in rows if row.scope]))
        ).all()
    )
    scopes = [
        ScopeSummary(
            scope=row.scope,
            team_name=team_names.get(row.scope),
            won=row.won,
            lost=row.lost,
            is_used=(row.won + row.lost)
            >= (settings.min_global_closed if row.scope == GLOBAL_SCOPE else settings.min_team_closed),
        )
        for row in rows
    ]
    observations = session.scalar(select(func.count()).select_from(WinObservation)) or 0
    return ModelSummary(settings=_settings_out(settings), scopes=scopes, observations=observations)


def rebuild_model_in(uow: UnitOfWork) -> ModelSummary:
    """The periodic job's rebuild, inside the worker's open unit of work; open deals then get
    the rebuilt model's estimate."""
    settings = _settings(uow.session)
    _rebuild(uow.session, settings)
    opportunities.refresh_automatic_probabilities_in(uow)
    return _summary(uow.session, settings)


def rebuild_model(uow: UnitOfWork, actor: Actor) -> ModelSummary:
    """Recompute the model from every closed deal now (an admin's button; the job does it daily)."""
    require(actor, SETTINGS_TYPE, Action.UPDATE)
    with uow:
        summary = rebuild_model_in(uow)
        record_change(
            uow,
            actor,
            AuditAction.UPDATE,
            "win_model",
            None,
            {"rebuilt": True, "observations": summary.observations},
        )
        uow.commit()
        return summary


def model_summary(uow: UnitOfWork, actor: Actor) -> ModelSummary:
    """The model's settings and how many won and lost deals each scope learned from."""
    require(actor, SETTINGS_TYPE, Action.READ)
    with uow:
        result = _summary(uow.session, _settings(uow.session))
        uow.commit()
        return result
