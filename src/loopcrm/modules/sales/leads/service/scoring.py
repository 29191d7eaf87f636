"""Rule-based lead scores: admin-configured points per attribute value, per filled field and per
activity of a kind logged on the lead.

When a score is computed: the lead's own fields change only through this area's use cases, which
rescore inside their transaction. Activities are logged through the activities module, which
offers no listener, and adding one would make that module call into sales. So a lead's activity
counts are read again (one indexed query through ``activities.list_activities``) when the lead is
read on its own (the detail page, ``GET /api/v1/leads/{id}``) and by the periodic job
``sales.leads.rescore`` for every open lead; a list shows the score stored at the last of these.
Changing the rules rescores every open lead in the same transaction from the stored counts.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import cast

from sqlalchemy import Table, bindparam, select
from sqlalchemy.orm import Session

from loopcrm.modules.activities import service as activities
from loopcrm.modules.activities.schemas import ActivityFilter
from loopcrm.modules.sales.leads.models import (
    OPEN_LEAD_STATUSES,
    Lead,
    LeadScoringRule,
    ScoringRuleKind,
)
from loopcrm.modules.sales.leads.schemas import (
    SCORED_FIELDS,
    RescoreResult,
    ScoreLine,
    ScoringRuleIn,
    ScoringRuleOut,
)
from loopcrm.modules.sales.leads.service.access import LEAD_SETTINGS
from loopcrm.platform.audit.models import AuditAction
from loopcrm.platform.audit.service import record_change
from loopcrm.platform.errors import FieldError, NotFound, StaleVersion, ValidationFailed
from loopcrm.platform.pagination import MAX_PAGE_SIZE
from loopcrm.platform.permissions import Action, Actor, require, system_actor
from loopcrm.platform.unit_of_work import JoinedUnitOfWork, UnitOfWork

RESCORE_TASK = "sales.leads.rescore"
ACTIVITY_KINDS = ("note", "call", "meeting", "email", "task")
# Counting stops here: a lead with more activities than this scores as if it had this many,
# which keeps a read of one lead to a few pages however busy it was.
MAX_COUNTED_ACTIVITIES = 2000


# Scores are written with Core statements: they are derived values and must not bump the version.
LEADS = cast(Table, Lead.__table__)


@dataclass(frozen=True)
class Score:
    total: int
    lines: tuple[ScoreLine, ...]


def active_rules(session: Session) -> list[LeadScoringRule]:
    return list(
        session.scalars(
            select(LeadScoringRule)
            .where(LeadScoringRule.is_active.is_(True))
            .order_by(LeadScoringRule.position, LeadScoringRule.id)
        )
    )


def compute(lead: Lead, rules: Sequence[LeadScoringRule], activity_counts: dict[str, int]) -> Score:
    """The lead's score under ``rules``; ``activity_counts`` counts its activities per kind."""
    lines: list[ScoreLine] = []
    for rule in rules:
        kind = ScoringRuleKind(rule.kind)
        times = 0
        if kind is ScoringRuleKind.ACTIVITY:
            times = int(activity_counts.get(rule.value or "", 0))
        else:
            value = getattr(lead, rule.field, None)
            if kind is ScoringRuleKind.PRESENCE:
                times = 1 if value not in (None, "") else 0
            elif value is not None and str(value).lower() == (rule.value or "").lower():
                times = 1
        if times:
            lines.append(
                ScoreLine(
                    rule_id=rule.id,
                    kind=kind,
                    field=rule.field,
                    value=rule.value,
                    points=rule.points * times,
                    times=times,
                )
            )
    return Score(sum(line.points for line in lines), tuple(lines))


def count_activities(uow: UnitOfWork, lead_id: str) -> dict[str, int]:
    """How many live activities of each kind are linked to the lead, inside the caller's open
    unit of work (read as the system: the count is not the reader's view of them)."""
    counts: Counter[str] = Counter()
    cursor: str | None = None
    seen = 0
    while True:
        page = activities.list_activities(
            JoinedUnitOfWork(uow),
            system_actor(),
            ActivityFilter(subject=f"lead:{lead_id}"),
            limit=MAX_PAGE_SIZE,
            cursor=cursor,
        )
        for activity in page.items:
            counts[activity.kind.value] += 1
        seen += len(page.items)
        cursor = page.next_cursor
        if cursor is None or seen >= MAX_COUNTED_ACTIVITIES:
            return dict(counts)


def rescore(uow: UnitOfWork, lead: Lead, *, count: bool = False) -> bool:
    """Set the lead's score from its fields and (with ``count``, fresh) activity counts inside the
    caller's open unit of work; whether it changed. The version is not bumped for a score alone:
    it is derived, and an edit form open meanwhile must not be refused because of it."""
    counts = count_activities(uow, lead.id) if count else dict(lead.activity_counts or {})
    score = compute(lead, active_rules(uow.session), counts)
    changed = score.total != lead.score or counts != dict(lead.activity_counts or {})
    if changed:
        table = LEADS
        uow.session.execute(
            table.update().where(table.c.id == lead.id).values(score=score.total, activity_counts=counts)
        )
        uow.session.expire(lead, ["score", "activity_counts"])
    return changed


def score_lines(uow: UnitOfWork, lead: Lead) -> list[ScoreLine]:
    """Why the lead has its score, rule by rule (with the stored activity counts)."""
    return list(compute(lead, active_rules(uow.session), dict(lead.activity_counts or {})).lines)


# ---------------------------------------------------------------- the rules


def _rule_out(rule: LeadScoringRule) -> ScoringRuleOut:
    return ScoringRuleOut(
        id=rule.id,
        kind=ScoringRuleKind(rule.kind),
        field=rule.field,
        value=rule.value,
        points=rule.points,
        position=rule.position,
        is_active=rule.is_active,
        version=rule.version,
    )


def _check_rule(data: ScoringRuleIn) -> tuple[str, str | None]:
    """The rule's field and value as stored, or the reason it makes no sense."""
    if data.kind is ScoringRuleKind.ACTIVITY:
        if data.value not in ACTIVITY_KINDS:
            raise ValidationFailed.single("value", "Choose an activity kind", "unknown_activity_kind")
        return "activity", data.value
    errors = []
    if data.field not in SCORED_FIELDS:
        errors.append(FieldError("field", "Choose a field a rule can score", "unknown_field"))
    if data.kind is ScoringRuleKind.ATTRIBUTE and not data.value:
        errors.append(FieldError("value", "This field is required", "required"))
    if errors:
        raise ValidationFailed(errors)
    return data.field, data.value if data.kind is ScoringRuleKind.ATTRIBUTE else None


def _rescore_with_stored_counts(uow: UnitOfWork) -> None:
    """Rescore every open lead under the changed rules, in the rule change's transaction, from
    the activity counts stored at the last scoring (no query into activities per lead): the
    lists show the new scores as soon as the change commits."""
    session = uow.session
    session.flush()
    rules = active_rules(session)
    table = LEADS
    rows = session.execute(
        select(Lead).where(Lead.status.in_(OPEN_LEAD_STATUSES), Lead.deleted_at.is_(None))
    ).scalars()
    changes = []
    for lead in rows:
        total = compute(lead, rules, dict(lead.activity_counts or {})).total
        if total != lead.score:
            changes.append({"lead_id": lead.id, "new_score": total})
    if changes:
        session.execute(
            table.update().where(table.c.id == bindparam("lead_id")).values(score=bindparam("new_score")),
            changes,
        )
        session.expire_all()


def list_rules(uow: UnitOfWork, actor: Actor) -> list[ScoringRuleOut]:
    require(actor, LEAD_SETTINGS.key, Action.READ)
    with uow:
        rules = uow.session.scalars(
            select(LeadScoringRule).order_by(LeadScoringRule.position, LeadScoringRule.id)
        )
        return [_rule_out(rule) for rule in rules]


def create_rule(uow: UnitOfWork, actor: Actor, data: ScoringRuleIn) -> ScoringRuleOut:
    """Add a rule; every open lead is rescored with it."""
    require(actor, LEAD_SETTINGS.key, Action.CREATE)
    field, value = _check_rule(data)
    with uow:
        rule = LeadScoringRule(
            kind=data.kind.value,
            field=field,
            value=value,
            points=data.points,
            position=data.position,
            is_active=data.is_active,
            created_by=actor.user_id,
            updated_by=actor.user_id,
        )
        uow.session.add(rule)
        uow.session.flush()
        record_change(
            uow,
            actor,
            AuditAction.CREATE,
            "lead_scoring_rule",
            rule.id,
            {"rule": [None, f"{rule.kind} {rule.field}={rule.value} {rule.points:+d}"]},
        )
        _rescore_with_stored_counts(uow)
        result = _rule_out(rule)
        uow.commit()
        return result


def update_rule(
    uow: UnitOfWork, actor: Actor, rule_id: str, data: ScoringRuleIn, *, expected_version: int | None = None
) -> ScoringRuleOut:
    require(actor, LEAD_SETTINGS.key, Action.UPDATE)
    field, value = _check_rule(data)
    with uow:
        rule = uow.session.get(LeadScoringRule, rule_id)
        if rule is None:
            raise NotFound("Scoring rule not found")
        if expected_version is not None and rule.version != expected_version:
            raise StaleVersion()
        before = f"{rule.kind} {rule.field}={rule.value} {rule.points:+d} active={rule.is_active}"
        rule.kind, rule.field, rule.value = data.kind.value, field, value
        rule.points, rule.position, rule.is_active = data.points, data.position, data.is_active
        rule.updated_by = actor.user_id
        uow.session.flush()
        after = f"{rule.kind} {rule.field}={rule.value} {rule.points:+d} active={rule.is_active}"
        record_change(uow, actor, AuditAction.UPDATE, "lead_scoring_rule", rule.id, {"rule": [before, after]})
        _rescore_with_stored_counts(uow)
        result = _rule_out(rule)
        uow.commit()
        return result


def delete_rule(uow: UnitOfWork, actor: Actor, rule_id: str) -> None:
    require(actor, LEAD_SETTINGS.key, Action.DELETE)
    with uow:
        rule = uow.session.get(LeadScoringRule, rule_id)
        if rule is None:
            raise NotFound("Scoring rule not found")
        description = f"{rule.kind} {rule.field}={rule.value} {rule.points:+d}"
        uow.session.delete(rule)
        record_change(
            uow, actor, AuditAction.DELETE, "lead_scoring_rule", rule_id, {"rule": [description, None]}
        )
        _rescore_with_stored_counts(uow)
        uow.commit()


def rescore_open_leads(uow: UnitOfWork, actor: Actor, *, batch: int = 200) -> RescoreResult:
    """Rescore every open lead with fresh activity counts, a batch per transaction (the job)."""
    require(actor, LEAD_SETTINGS.key, Action.UPDATE)
    scored = changed = 0
    after_id = ""
    while True:
        with uow:
            leads = list(
                uow.session.scalars(
                    select(Lead)
                    .where(
                        Lead.status.in_(OPEN_LEAD_STATUSES),
                        Lead.deleted_at.is_(None),
                        Lead.id > after_id,
                    )
                    .order_by(Lead.id)
                    .limit(batch)
                )
            )
            for lead in leads:
                changed += rescore(uow, lead, count=True)
            uow.commit()
        scored += len(leads)
        if len(leads) < batch:
            return RescoreResult(scored=scored, changed=changed)
        after_id = leads[-1].id
