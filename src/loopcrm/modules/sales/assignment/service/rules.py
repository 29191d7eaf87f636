"""Managing assignment rules: create, change, order, delete; validated so that evaluation never
meets a condition it cannot read."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm.exc import StaleDataError

from loopcrm.modules.sales.assignment.models import AssignedRecordType, AssignmentRule, ConditionOperator
from loopcrm.modules.sales.assignment.schemas import (
    ConditionIn,
    ConditionOut,
    RuleCreate,
    RuleOut,
    RuleUpdate,
)
from loopcrm.modules.sales.assignment.service.object_types import ASSIGNMENT_RULE
from loopcrm.platform.audit.models import AuditAction
from loopcrm.platform.audit.service import diff, record_change
from loopcrm.platform.auth.models import Team, User
from loopcrm.platform.errors import FieldError, NotFound, StaleVersion, ValidationFailed
from loopcrm.platform.permissions import Action, Actor, require
from loopcrm.platform.unit_of_work import UnitOfWork

_LIST_OPERATORS = (ConditionOperator.IN, ConditionOperator.NOT_IN)
_NUMBER_OPERATORS = (ConditionOperator.AT_LEAST, ConditionOperator.AT_MOST)


def rule_out(rule: AssignmentRule) -> RuleOut:
    return RuleOut(
        id=rule.id,
        record_type=AssignedRecordType(rule.record_type),
        name=rule.name,
        position=rule.position,
        is_active=rule.is_active,
        conditions=[ConditionOut.model_validate(condition) for condition in rule.conditions],
        method=rule.method,  # type: ignore[arg-type]  # validated into the enum
        user_ids=list(rule.user_ids),
        team_ids=list(rule.team_ids),
        fallback_user_id=rule.fallback_user_id,
        off_hours=rule.off_hours,  # type: ignore[arg-type]
        last_user_id=rule.last_user_id,
        version=rule.version,
        created_at=rule.created_at,
        updated_at=rule.updated_at,
    )


def _stored_condition(index: int, condition: ConditionIn, errors: list[FieldError]) -> dict[str, Any]:
    """The condition as stored: lists for in / not in, exact decimal text for numbers."""
    where = f"conditions.{index}.value"
    value = condition.value
    stored: Any
    if condition.operator in _LIST_OPERATORS:
        items = value if isinstance(value, list) else str(value).split(",")
        stored = [str(item).strip() for item in items if str(item).strip()]
        if not stored:
            errors.append(FieldError(where, "Give at least one value", "required"))
    elif condition.operator in _NUMBER_OPERATORS:
        try:
            number = Decimal(str(value).strip())
        except InvalidOperation:
            number = Decimal("NaN")
        if isinstance(value, list) or not number.is_finite():
            errors.append(FieldError(where, "Enter a number", "not_a_number"))
            stored = None
        else:
            stored = str(number)
    else:
        if isinstance(value, list):
            value = ",".join(value)
        stored = str(value).strip()
        if not stored:
            errors.append(FieldError(where, "This field is required", "required"))
    return {"field": condition.field, "operator": condition.operator.value, "value": stored}


def _check_people(
    uow: UnitOfWork,
    user_ids: Sequence[str],
    team_ids: Sequence[str],
    fallback_user_id: str | None,
    errors: list[FieldError],
) -> None:
    wanted = set(user_ids) | ({fallback_user_id} if fallback_user_id else set())
    known = set(uow.session.scalars(select(User.id).where(User.id.in_(wanted))).all()) if wanted else set()
    for index, user_id in enumerate(user_ids):
        if user_id not in known:
            errors.append(FieldError(f"user_ids.{index}", "No such user", "not_found"))
    if fallback_user_id and fallback_user_id not in known:
        errors.append(FieldError("fallback_user_id", "No such user", "not_found"))
    teams = (
        set(uow.session.scalars(select(Team.id).where(Team.id.in_(list(team_ids)))).all())
        if team_ids
        else set()
    )
    for index, team_id in enumerate(team_ids):
        if team_id not in teams:
            errors.append(FieldError(f"team_ids.{index}", "No such team", "not_found"))


def _values(rule: AssignmentRule) -> dict[str, Any]:
    return {
        "name": rule.name,
        "is_active": rule.is_active,
        "conditions": rule.conditions,
        "method": rule.method,
        "user_ids": rule.user_ids,
        "team_ids": rule.team_ids,
        "fallback_user_id": rule.fallback_user_id,
        "off_hours": rule.off_hours,
        "position": rule.position,
    }


def _flush(uow: UnitOfWork) -> None:
    try:
        uow.session.flush()
    except StaleDataError:
        raise StaleVersion() from None


def _load(uow: UnitOfWork, rule_id: str) -> AssignmentRule:
    rule = uow.session.get(AssignmentRule, rule_id)
    if rule is None:
        raise NotFound("Assignment rule not found")
    return rule


def list_rules(uow: UnitOfWork, actor: Actor, *, record_type: str | None = None) -> list[RuleOut]:
    """Every rule, by record type and then in evaluation order (rules are few: no pages)."""
    require(actor, ASSIGNMENT_RULE.key, Action.READ)
    with uow:
        statement = select(AssignmentRule).order_by(
            AssignmentRule.record_type, AssignmentRule.position, AssignmentRule.id
        )
        if record_type is not None:
            statement = statement.where(AssignmentRule.record_type == AssignedRecordType(record_type).value)
        return [rule_out(rule) for rule in uow.session.scalars(statement)]


def get_rule(uow: UnitOfWork, actor: Actor, rule_id: str) -> RuleOut:
    require(actor, ASSIGNMENT_RULE.key, Action.READ)
    with uow:
        return rule_out(_load(uow, rule_id))


def create_rule(uow: UnitOfWork, actor: Actor, data: RuleCreate) -> RuleOut:
    """Add a rule at the end of its record type's order."""
    require(actor, ASSIGNMENT_RULE.key, Action.CREATE)
    with uow:
        errors: list[FieldError] = []
        conditions = [_stored_condition(index, c, errors) for index, c in enumerate(data.conditions)]
        user_ids = list(dict.fromkeys(data.user_ids))
        team_ids = list(dict.fromkeys(data.team_ids))
        _check_people(uow, user_ids, team_ids, data.fallback_user_id, errors)
        if not user_ids and not team_ids and not data.fallback_user_id:
            errors.append(FieldError("user_ids", "Choose at least one user or team", "required"))
        if errors:
            raise ValidationFailed(errors)
        last = uow.session.scalar(
            select(func.max(AssignmentRule.position)).where(
                AssignmentRule.record_type == data.record_type.value
            )
        )
        rule = AssignmentRule(
            record_type=data.record_type.value,
            name=data.name.strip(),
            position=(last + 1) if last is not None else 0,
            is_active=data.is_active,
            conditions=conditions,
            method=data.method.value,
            user_ids=user_ids,
            team_ids=team_ids,
            fallback_user_id=data.fallback_user_id,
            off_hours=data.off_hours.value,
            created_by=actor.user_id,
            updated_by=actor.user_id,
        )
        uow.session.add(rule)
        _flush(uow)
        record_change(uow, actor, AuditAction.CREATE, ASSIGNMENT_RULE.key, rule.id, _values(rule))
        result = rule_out(rule)
        uow.commit()
        return result


def update_rule(
    uow: UnitOfWork, actor: Actor, rule_id: str, data: RuleUpdate, *, expected_version: int | None = None
) -> RuleOut:
    """Change the fields given; a stale ``expected_version`` is refused (412)."""
    require(actor, ASSIGNMENT_RULE.key, Action.UPDATE)
    given = data.model_fields_set
    with uow:
        rule = _load(uow, rule_id)
        if expected_version is not None and rule.version != expected_version:
            raise StaleVersion()
        before = _values(rule)
        errors: list[FieldError] = []
        if "conditions" in given and data.conditions is not None:
            rule.conditions = [_stored_condition(index, c, errors) for index, c in enumerate(data.conditions)]
        user_ids = list(dict.fromkeys(data.user_ids)) if data.user_ids is not None else list(rule.user_ids)
        team_ids = list(dict.fromkeys(data.team_ids)) if data.team_ids is not None else list(rule.team_ids)
        fallback = data.fallback_user_id if "fallback_user_id" in given else rule.fallback_user_id
        _check_people(
            uow,
            user_ids if data.user_ids is not None else [],
            team_ids if data.team_ids is not None else [],
            fallback if "fallback_user_id" in given else None,
            errors,
        )
        if not user_ids and not team_ids and not fallback:
            errors.append(FieldError("user_ids", "Choose at least one user or team", "required"))
        if "name" in given and data.name is None:
            errors.append(FieldError("name", "This field is required", "required"))
        if errors:
            raise ValidationFailed(errors)
        if data.name is not None:
            rule.name = data.name.strip()
        if data.is_active is not None:
            rule.is_active = data.is_active
        if data.method is not None:
            rule.method = data.method.value
        if data.off_hours is not None:
            rule.off_hours = data.off_hours.value
        rule.user_ids, rule.team_ids, rule.fallback_user_id = user_ids, team_ids, fallback
        changes = diff(before, _values(rule))
        if changes:
            rule.updated_by = actor.user_id
            _flush(uow)
            record_change(uow, actor, AuditAction.UPDATE, ASSIGNMENT_RULE.key, rule.id, changes)
        result = rule_out(rule)
        uow.commit()
        return result


def delete_rule(uow: UnitOfWork, actor: Actor, rule_id: str, *, expected_version: int | None = None) -> None:
    """Remove a rule; the history keeps its name."""
    require(actor, ASSIGNMENT_RULE.key, Action.DELETE)
    with uow:
        rule = _load(uow, rule_id)
        if expected_version is not None and rule.version != expected_version:
            raise StaleVersion()
        record_change(uow, actor, AuditAction.DELETE, ASSIGNMENT_RULE.key, rule.id, _values(rule))
        uow.session.delete(rule)
        _flush(uow)
        uow.commit()


def reorder_rules(uow: UnitOfWork, actor: Actor, record_type: str, rule_ids: Sequence[str]) -> list[RuleOut]:
    """Set the evaluation order of a record type's rules; ``rule_ids`` must name each exactly once."""
    require(actor, ASSIGNMENT_RULE.key, Action.UPDATE)
    kind = AssignedRecordType(record_type)
    with uow:
        rules = {
            rule.id: rule
            for rule in uow.session.scalars(
                select(AssignmentRule).where(AssignmentRule.record_type == kind.value)
            )
        }
        if len(rule_ids) != len(set(rule_ids)) or set(rule_ids) != set(rules):
            raise ValidationFailed.single(
                "rule_ids", "List every rule of this record type once", "invalid_order"
            )
        for position, rule_id in enumerate(rule_ids):
            rule = rules[rule_id]
            if rule.position != position:
                record_change(
                    uow,
                    actor,
                    AuditAction.UPDATE,
                    ASSIGNMENT_RULE.key,
                    rule.id,
                    {"position": [rule.position, position]},
                )
                rule.position = position
                rule.updated_by = actor.user_id
        _flush(uow)
        result = [rule_out(rules[rule_id]) for rule_id in rule_ids]
        uow.commit()
        return result


def move_rule(uow: UnitOfWork, actor: Actor, rule_id: str, offset: int) -> list[RuleOut]:
    """Move a rule up (``offset`` -1) or down (+1) among its record type's rules."""
    require(actor, ASSIGNMENT_RULE.key, Action.UPDATE)
    with uow:
        rule = _load(uow, rule_id)
        record_type = rule.record_type
        ordered = list(
            uow.session.scalars(
                select(AssignmentRule.id)
                .where(AssignmentRule.record_type == record_type)
                .order_by(AssignmentRule.position, AssignmentRule.id)
            )
        )
    index = ordered.index(rule_id)
    target = min(max(index + offset, 0), len(ordered) - 1)
    ordered.insert(target, ordered.pop(index))
    return reorder_rules(uow, actor, record_type, ordered)
