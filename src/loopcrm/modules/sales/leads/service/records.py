"""Use cases of leads: create (API, pages, web forms, imports), read, change, disqualify, delete,
list with filters, and reassign in bulk.

New leads without an owner go through the assignment rules (``assignment.assign_owner_in``);
a lead reassigned by hand is recorded there too (history, audit, notice to the new owner).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from loopcrm.modules.customers import service as customers
from loopcrm.modules.sales.assignment import service as assignment
from loopcrm.modules.sales.leads.models import OPEN_LEAD_STATUSES, Lead, LeadStatus
from loopcrm.modules.sales.leads.schemas import (
    BulkAssign,
    BulkAssignResult,
    DuplicateKind,
    LeadCreate,
    LeadDisqualify,
    LeadDuplicate,
    LeadFields,
    LeadListQuery,
    LeadOut,
    LeadUpdate,
    ScoreLine,
)
from loopcrm.modules.sales.leads.service import scoring
from loopcrm.modules.sales.leads.service.access import LEAD
from loopcrm.platform.audit.models import AuditAction
from loopcrm.platform.audit.service import diff, record_change, record_sensitive_read
from loopcrm.platform.auth.models import Team, User
from loopcrm.platform.db import utc_now
from loopcrm.platform.errors import FieldError, NotFound, PermissionDenied, StaleVersion, ValidationFailed
from loopcrm.platform.listing import FieldType, ListField, parse_sort, sorted_page
from loopcrm.platform.pagination import Page
from loopcrm.platform.permissions import (
    Action,
    Actor,
    can_reach_record,
    mask_fields,
    require,
    require_record_access,
    scope_condition,
)
from loopcrm.platform.unit_of_work import JoinedUnitOfWork, UnitOfWork

# Fields a person gives (LeadFields), copied to the row as they are.
FIELD_COLUMNS = tuple(LeadFields.model_fields)
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
# Statuses a user sets by hand; qualified comes from conversion, disqualified needs a reason.
HAND_SET_STATUSES = {LeadStatus.NEW, LeadStatus.WORKING, LeadStatus.NURTURING}
MAX_DUPLICATES = 20
_NOT_AUDITED = {
    "id",
    "created_at",
    "updated_at",
    "created_by",
    "updated_by",
    "version",
    "score",
    "activity_counts",
    "owner_name",
}


def full_name_of(family_name: str, given_name: str) -> str:
    """ "王" + "芳" → "王芳"; "Smith" + "Anna" → "Anna Smith" (given name first in Latin script)."""
    if _CJK.search(family_name + given_name):
        return f"{family_name}{given_name}"
    return " ".join(part for part in (given_name, family_name) if part)


def plain_value(value: Any) -> Any:
    """An enum member as its stored value; anything else as it is."""
    return value.value if hasattr(value, "value") else value


_plain = plain_value


def flush(session: Session) -> None:
    try:
        session.flush()
    except StaleDataError:
        raise StaleVersion() from None


def values_of(lead: Lead) -> dict[str, Any]:
    """Every field of the lead as the API shows it, before masking."""
    return {
        "id": lead.id,
        **{name: getattr(lead, name) for name in FIELD_COLUMNS},
        "full_name": lead.full_name,
        "status": lead.status,
        "disqualification_reason": lead.disqualification_reason,
        "disqualification_note": lead.disqualification_note,
        "owner_id": lead.owner_id,
        "team_id": lead.team_id,
        "score": lead.score,
        "activity_counts": dict(lead.activity_counts or {}),
        "form_id": lead.form_id,
        "converted_at": lead.converted_at,
        "converted_account_id": lead.converted_account_id,
        "converted_contact_id": lead.converted_contact_id,
        "converted_opportunity_id": lead.converted_opportunity_id,
        "created_at": lead.created_at,
        "updated_at": lead.updated_at,
        "created_by": lead.created_by,
        "updated_by": lead.updated_by,
        "version": lead.version,
    }


def user_names(session: Session, user_ids: Iterable[str | None]) -> dict[str, str]:
    ids = sorted({user_id for user_id in user_ids if user_id})
    if not ids:
        return {}
    return {key: value for key, value in session.execute(select(User.id, User.name).where(User.id.in_(ids)))}


def lead_out(
    uow: UnitOfWork, actor: Actor, lead: Lead, *, is_read: bool = True, names: dict[str, str] | None = None
) -> LeadOut:
    """The lead as the actor may see it (email and phone are internal); a read of sensitive
    fields is audited by :func:`mask_fields`' caller."""
    shown = mask_fields(actor, LEAD.key, values_of(lead))
    if is_read:
        record_sensitive_read(uow, actor, LEAD.key, lead.id, shown.revealed_sensitive)
    if names is None:
        names = user_names(uow.session, [lead.owner_id])
    return LeadOut(
        **shown.values, owner_name=names.get(lead.owner_id or ""), masked_fields=list(shown.masked)
    )


def load(uow: UnitOfWork, actor: Actor, lead_id: str, action: Action, *, deleted: bool = False) -> Lead:
    """The lead if the actor may reach it for ``action``; one it may not even read is "not
    found", so its existence does not leak."""
    lead = uow.session.get(Lead, lead_id)
    if (
        lead is None
        or (lead.deleted_at is not None) != deleted
        or not can_reach_record(actor, LEAD.key, Action.READ, owner_id=lead.owner_id, team_id=lead.team_id)
    ):
        raise NotFound("Lead not found")
    require_record_access(actor, LEAD.key, action, owner_id=lead.owner_id, team_id=lead.team_id)
    return lead


def check_owner_and_team(
    session: Session, actor: Actor, owner_id: str | None, team_id: str | None, *, action: Action
) -> None:
    """The owner must be an active user, the team must exist, and the actor must be allowed to
    give a lead this owner and team (a rep with *own* scope cannot hand a lead to a colleague)."""
    with session.no_autoflush:
        if (
            owner_id is not None
            and session.scalar(select(User.id).where(User.id == owner_id, User.is_active.is_(True))) is None
        ):
            raise ValidationFailed.single("owner_id", "No active user has this id", "unknown_user")
        if team_id is not None and session.get(Team, team_id) is None:
            raise ValidationFailed.single("team_id", "No team has this id", "unknown_team")
    if not can_reach_record(actor, LEAD.key, action, owner_id=owner_id, team_id=team_id):
        raise ValidationFailed.single(
            "owner_id", "You may not give a record to this owner or team", "owner_not_allowed"
        )


def _check_reachable(lead: Lead) -> list[FieldError]:
    """A lead needs a name and a way to reach the person."""
    errors = []
    if not (lead.family_name or lead.given_name):
        errors.append(FieldError("family_name", "Give the person's name", "required"))
    if not (lead.email or lead.phone):
        errors.append(FieldError("email", "Give an email address or a phone number", "required"))
    return errors


def assignment_attributes(lead: Lead) -> dict[str, Any]:
    """What assignment rules look at for a lead."""
    return {
        "source": lead.source,
        "province": lead.province,
        "city": lead.city,
        "industry": lead.industry,
        "utm_campaign": lead.utm_campaign,
        "utm_medium": lead.utm_medium,
        "utm_source": lead.utm_source,
        "company_name": lead.company_name,
    }


# ---------------------------------------------------------------- duplicates


def find_duplicates(
    uow: UnitOfWork, actor: Actor, email: str | None, phone: str | None, *, exclude_id: str | None = None
) -> list[LeadDuplicate]:
    """Leads and contacts the actor may read with this email or phone (a warning, never a refusal;
    runs inside the caller's open unit of work)."""
    if not (email or phone):
        return []
    found: list[LeadDuplicate] = []
    if actor.can(LEAD.key, Action.READ):
        conditions = []
        if email:
            conditions.append(Lead.email == email.lower())
        if phone:
            conditions.append(Lead.phone == phone)
        rows = uow.session.scalars(
            select(Lead)
            .where(
                or_(*conditions),
                Lead.deleted_at.is_(None),
                Lead.id != (exclude_id or ""),
                scope_condition(
                    actor, LEAD.key, Action.READ, owner_column=Lead.owner_id, team_column=Lead.team_id
                ),
            )
            .order_by(Lead.id.desc())
            .limit(MAX_DUPLICATES)
        )
        for other in rows:
            reasons = []
            if email and other.email == email.lower():
                reasons.append("email")
            if phone and other.phone == phone:
                reasons.append("phone")
            label = " · ".join(part for part in (other.full_name, other.company_name) if part)
            found.append(
                LeadDuplicate(record_kind=DuplicateKind.LEAD, id=other.id, label=label, reasons=reasons)
            )
    candidate = customers.DuplicateCandidate(
        name="", emails=(email.lower(),) if email else (), phones=(phone,) if phone else ()
    )
    for match in customers.find_duplicates(uow, actor, "contact", candidate, limit=MAX_DUPLICATES):
        reasons = [reason for reason in match.reasons if reason in ("email", "phone")]
        if reasons:
            found.append(
                LeadDuplicate(
                    record_kind=DuplicateKind.CONTACT, id=match.id, label=match.label, reasons=reasons
                )
            )
    return found


# ---------------------------------------------------------------- create


def create_lead(uow: UnitOfWork, actor: Actor, data: LeadCreate) -> LeadOut:
    """Create a lead. Without ``owner_id`` the assignment rules pick an owner, else the creator
    owns it. The answer lists leads and contacts with the same email or phone."""
    require(actor, LEAD.key, Action.CREATE)
    with uow:
        lead = add_lead(uow, actor, data)
        result = lead_out(uow, actor, lead, is_read=False)
        result.possible_duplicates = find_duplicates(uow, actor, lead.email, lead.phone, exclude_id=lead.id)
        uow.commit()
        return result


def create_lead_in(uow: UnitOfWork, actor: Actor, data: LeadCreate, *, form_id: str | None = None) -> Lead:
    """``create_lead`` inside the caller's open unit of work (web forms, imports); the new row."""
    require(actor, LEAD.key, Action.CREATE)
    joined = JoinedUnitOfWork(uow)
    with joined:
        lead = add_lead(joined, actor, data, form_id=form_id)
        joined.commit()
        return lead


def add_lead(uow: UnitOfWork, actor: Actor, data: LeadCreate, *, form_id: str | None = None) -> Lead:
    """Insert the lead, assign it, score it and audit it, inside an open unit of work."""
    session = uow.session
    if data.status not in HAND_SET_STATUSES:
        raise ValidationFailed.single("status", "A new lead is new, working or nurturing", "invalid_status")
    owner_given = data.owner_id is not None
    if owner_given or data.team_id is not None:
        check_owner_and_team(session, actor, data.owner_id, data.team_id, action=Action.CREATE)
    lead = Lead(
        **{name: _plain(getattr(data, name)) for name in FIELD_COLUMNS},
        full_name=full_name_of(data.family_name, data.given_name),
        status=data.status.value,
        owner_id=data.owner_id,
        team_id=data.team_id,
        form_id=form_id,
        activity_counts={},
        created_by=actor.user_id,
        updated_by=actor.user_id,
    )
    errors = _check_reachable(lead)
    if errors:
        raise ValidationFailed(errors)
    session.add(lead)
    flush(session)
    if not owner_given:
        chosen = assignment.assign_owner_in(
            uow, actor, record_type="lead", record_id=lead.id, attributes=assignment_attributes(lead)
        )
        lead.owner_id = chosen or actor.user_id
        flush(session)
    scoring.rescore(uow, lead)
    values = values_of(lead)
    record_change(
        uow,
        actor,
        AuditAction.CREATE,
        LEAD.key,
        lead.id,
        {
            name: [None, value]
            for name, value in audit_snapshot(values).items()
            if value not in (None, "", {})
        },
    )
    return lead


def audit_snapshot(values: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in values.items() if key not in _NOT_AUDITED}


# ---------------------------------------------------------------- read, change, delete


def get_lead(uow: UnitOfWork, actor: Actor, lead_id: str) -> LeadOut:
    """One lead, rescored with its activities counted afresh (see ``scoring``)."""
    require(actor, LEAD.key, Action.READ)
    with uow:
        lead = load(uow, actor, lead_id, Action.READ)
        scoring.rescore(uow, lead, count=True)
        result = lead_out(uow, actor, lead)
        uow.commit()  # the new score, and the audit entry of a sensitive read
        return result


def score_breakdown(uow: UnitOfWork, actor: Actor, lead_id: str) -> list[ScoreLine]:
    """Why a lead the actor may read has its score, rule by rule."""
    with uow:
        return scoring.score_lines(uow, load(uow, actor, lead_id, Action.READ))


def update_lead(
    uow: UnitOfWork, actor: Actor, lead_id: str, data: LeadUpdate, *, expected_version: int | None = None
) -> LeadOut:
    """Change the fields given; others stay. A new owner is recorded as a manual assignment."""
    with uow:
        session = uow.session
        lead = load(uow, actor, lead_id, Action.UPDATE)
        if expected_version is not None and lead.version != expected_version:
            raise StaleVersion()
        given = data.model_fields_set
        before = values_of(lead)
        previous_owner = lead.owner_id
        if "status" in given:
            if data.status is None or data.status not in HAND_SET_STATUSES:
                raise ValidationFailed.single(
                    "status",
                    "Set a lead to new, working or nurturing; convert it to qualify it, or disqualify it "
                    "with a reason",
                    "invalid_status",
                )
            if lead.converted_at is not None:
                raise ValidationFailed.single("status", "A converted lead stays qualified", "converted")
        for name in FIELD_COLUMNS:
            if name in given:
                setattr(lead, name, _plain(getattr(data, name)))
        if "status" in given and data.status is not None:
            lead.status = data.status.value
            lead.disqualification_reason = None
            lead.disqualification_note = None
        if "owner_id" in given or "team_id" in given:
            if "owner_id" in given:
                lead.owner_id = data.owner_id
            if "team_id" in given:
                lead.team_id = data.team_id
            check_owner_and_team(session, actor, lead.owner_id, lead.team_id, action=Action.UPDATE)
        lead.full_name = full_name_of(lead.family_name, lead.given_name)
        errors = _check_reachable(lead)
        if errors:
            raise ValidationFailed(errors)
        changes = diff(audit_snapshot(before), audit_snapshot(values_of(lead)))
        if changes:
            lead.updated_by = actor.user_id
            lead.updated_at = utc_now()
            flush(session)
            record_change(uow, actor, AuditAction.UPDATE, LEAD.key, lead.id, changes)
            if lead.owner_id != previous_owner and lead.owner_id is not None:
                assignment.record_manual_assignment_in(
                    uow,
                    actor,
                    record_type="lead",
                    record_id=lead.id,
                    previous_owner_id=previous_owner,
                    owner_id=lead.owner_id,
                )
            scoring.rescore(uow, lead)
        result = lead_out(uow, actor, lead, is_read=False)
        uow.commit()
        return result


def disqualify_lead(
    uow: UnitOfWork, actor: Actor, lead_id: str, data: LeadDisqualify, *, expected_version: int | None = None
) -> LeadOut:
    """Mark the lead as no prospect, with a reason (required) and a note."""
    with uow:
        lead = load(uow, actor, lead_id, Action.UPDATE)
        if expected_version is not None and lead.version != expected_version:
            raise StaleVersion()
        if lead.converted_at is not None:
            raise ValidationFailed.single("reason", "A converted lead cannot be disqualified", "converted")
        before = {"status": lead.status, "disqualification_reason": lead.disqualification_reason}
        lead.status = LeadStatus.DISQUALIFIED.value
        lead.disqualification_reason = data.reason.value
        lead.disqualification_note = data.note
        lead.updated_by = actor.user_id
        lead.updated_at = utc_now()
        flush(uow.session)
        record_change(
            uow,
            actor,
            AuditAction.UPDATE,
            LEAD.key,
            lead.id,
            {
                "status": [before["status"], lead.status],
                "disqualification_reason": [before["disqualification_reason"], data.reason.value],
            },
        )
        result = lead_out(uow, actor, lead, is_read=False)
        uow.commit()
        return result


def delete_lead(uow: UnitOfWork, actor: Actor, lead_id: str, *, expected_version: int | None = None) -> None:
    """Hide the lead (soft delete, audited)."""
    with uow:
        lead = load(uow, actor, lead_id, Action.DELETE)
        if expected_version is not None and lead.version != expected_version:
            raise StaleVersion()
        lead.deleted_at = utc_now()
        lead.updated_by = actor.user_id
        flush(uow.session)
        record_change(
            uow, actor, AuditAction.DELETE, LEAD.key, lead.id, {"deleted_at": [None, lead.deleted_at]}
        )
        uow.commit()


# ---------------------------------------------------------------- lists


LIST_FIELDS = {
    field.key: field
    for field in (
        ListField("score", Lead.score, FieldType.NUMBER),
        ListField("created_at", Lead.created_at, FieldType.DATETIME),
        ListField("updated_at", Lead.updated_at, FieldType.DATETIME),
        ListField("full_name", Lead.full_name, FieldType.TEXT),
        ListField("company_name", Lead.company_name, FieldType.TEXT),
        ListField("status", Lead.status, FieldType.CHOICE),
        ListField("city", Lead.city, FieldType.TEXT),
    )
}


def _search_condition(text: str) -> ColumnElement[bool]:
    pattern = f"%{text.lower()}%"
    digits = re.sub(r"\D", "", text)
    conditions = [
        func.lower(Lead.full_name).like(pattern),
        func.lower(Lead.company_name).like(pattern),
        Lead.email.like(pattern),
    ]
    if len(digits) >= 4:
        conditions.append(Lead.phone.like(f"%{digits}%"))
    return or_(*conditions)


def list_leads(
    uow: UnitOfWork, actor: Actor, query: LeadListQuery, *, limit: int, cursor: str | None
) -> Page[LeadOut]:
    """Leads in the reader's scope matching the filters, newest first unless sorted."""
    with uow:
        statement = select(Lead).where(
            Lead.deleted_at.is_(None),
            scope_condition(
                actor, LEAD.key, Action.READ, owner_column=Lead.owner_id, team_column=Lead.team_id
            ),
        )
        if query.status:
            statement = statement.where(Lead.status.in_([status.value for status in query.status]))
        if query.owner_id:
            statement = statement.where(Lead.owner_id == query.owner_id)
        if query.source:
            statement = statement.where(Lead.source == query.source.value)
        if query.min_score is not None:
            statement = statement.where(Lead.score >= query.min_score)
        if query.max_score is not None:
            statement = statement.where(Lead.score <= query.max_score)
        if query.q:
            statement = statement.where(_search_condition(query.q))
        page = sorted_page(
            uow.session,
            statement,
            LIST_FIELDS,
            parse_sort(query.sort),
            Lead.id,
            actor,
            limit=limit,
            cursor=cursor,
            convert=lambda lead: lead,
        )
        names = user_names(uow.session, [lead.owner_id for lead in page.items])
        items = [lead_out(uow, actor, lead, is_read=False, names=names) for lead in page.items]
        return Page[LeadOut](items=items, next_cursor=page.next_cursor)


def bulk_assign(uow: UnitOfWork, actor: Actor, data: BulkAssign) -> BulkAssignResult:
    """Give many leads one owner: all of them or none (each recorded as a manual assignment)."""
    with uow:
        session = uow.session
        updated = 0
        for lead_id in dict.fromkeys(data.lead_ids):
            try:
                lead = load(uow, actor, lead_id, Action.UPDATE)
            except NotFound:
                raise ValidationFailed.single("lead_ids", "No lead has this id", "unknown_lead") from None
            previous = lead.owner_id
            if previous == data.owner_id:
                continue
            lead.owner_id = data.owner_id
            check_owner_and_team(session, actor, lead.owner_id, lead.team_id, action=Action.UPDATE)
            lead.updated_by = actor.user_id
            lead.updated_at = utc_now()
            flush(session)
            record_change(
                uow, actor, AuditAction.UPDATE, LEAD.key, lead.id, {"owner_id": [previous, lead.owner_id]}
            )
            assignment.record_manual_assignment_in(
                uow,
                actor,
                record_type="lead",
                record_id=lead.id,
                previous_owner_id=previous,
                owner_id=data.owner_id,
            )
            updated += 1
        uow.commit()
        return BulkAssignResult(updated=updated)


def count_open_leads(uow: UnitOfWork, user_ids: Sequence[str]) -> dict[str, int]:
    """Open (new, working, nurturing) leads per owner, for load-balanced assignment; runs inside
    the caller's open unit of work."""
    counts = {user_id: 0 for user_id in user_ids}
    if not user_ids:
        return counts
    rows = uow.session.execute(
        select(Lead.owner_id, func.count())
        .where(
            Lead.owner_id.in_(list(user_ids)),
            Lead.status.in_(OPEN_LEAD_STATUSES),
            Lead.deleted_at.is_(None),
        )
        .group_by(Lead.owner_id)
    )
    for owner_id, count in rows:
        if owner_id is not None:
            counts[owner_id] = int(count)
    return counts


def leads_with(uow: UnitOfWork, *, email: str | None, phone: str | None) -> list[Lead]:
    """Live leads with this email or phone, oldest first (import upserts), any owner."""
    conditions = []
    if email:
        conditions.append(Lead.email == email)
    if phone:
        conditions.append(Lead.phone == phone)
    if not conditions:
        return []
    return list(
        uow.session.scalars(select(Lead).where(or_(*conditions), Lead.deleted_at.is_(None)).order_by(Lead.id))
    )


def update_lead_in(uow: UnitOfWork, actor: Actor, lead_id: str, values: dict[str, Any]) -> None:
    """Set plain field values (already validated, as stored) on a lead the actor may change,
    inside the caller's open unit of work; audited and rescored (import upserts)."""
    try:
        lead = load(uow, actor, lead_id, Action.UPDATE)
    except (NotFound, PermissionDenied):
        raise ValidationFailed.single(
            "email", "A lead with this email or phone exists and you may not change it", "not_allowed"
        ) from None
    before = values_of(lead)
    for name, value in values.items():
        if name in FIELD_COLUMNS:
            setattr(lead, name, value)
    lead.full_name = full_name_of(lead.family_name, lead.given_name)
    changes = diff(audit_snapshot(before), audit_snapshot(values_of(lead)))
    if changes:
        lead.updated_by = actor.user_id
        lead.updated_at = utc_now()
        flush(uow.session)
        record_change(uow, actor, AuditAction.UPDATE, LEAD.key, lead.id, changes)
        scoring.rescore(uow, lead)
