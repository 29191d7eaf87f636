"""Public web forms that capture leads: admins create them (fields, thank-you message, the sites
allowed to embed them) and get a token; anyone may post to ``/forms/{token}`` without signing in.

Bots are kept out two ways. A hidden input (the honeypot) that people never see and bots fill in:
such a post is recorded and answered like a success, so the bot learns nothing, but no lead is
made. And a rate limit per address and per form, counted from the stored submissions so it holds
across several web processes: past it the post is refused with 429.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from pydantic import ValidationError
from sqlalchemy import func, select

from loopcrm.modules.sales.leads.models import LeadForm, LeadFormSubmission, SubmissionOutcome
from loopcrm.modules.sales.leads.schemas import (
    CAPTURE_FIELDS,
    LeadCreate,
    LeadFormIn,
    LeadFormOut,
    PublicForm,
    Submission,
)
from loopcrm.modules.sales.leads.service import records
from loopcrm.modules.sales.leads.service.access import LEAD_SETTINGS
from loopcrm.platform.audit.models import AuditAction
from loopcrm.platform.audit.service import record_change
from loopcrm.platform.db import new_token, utc_now
from loopcrm.platform.errors import FieldError, NotFound, RateLimited, StaleVersion, ValidationFailed
from loopcrm.platform.permissions import Action, Actor, require, system_actor
from loopcrm.platform.unit_of_work import UnitOfWork

FORMS_PATH = "/forms"
HONEYPOT_FIELD = "website_url"  # a name bots like to fill; people never see the input
# Posts allowed per window: a person sends a form once or twice; a script sends hundreds.
RATE_WINDOW = timedelta(minutes=10)
MAX_POSTS_PER_ADDRESS = 5
MAX_POSTS_PER_FORM = 300
_SETTINGS_FIELDS = tuple(LeadFormIn.model_fields)


def public_path(token: str) -> str:
    return f"{FORMS_PATH}/{token}"


def _form_out(form: LeadForm) -> LeadFormOut:
    return LeadFormOut(
        id=form.id,
        name=form.name,
        title=form.title,
        token=form.token,
        fields=list(form.fields),
        required_fields=list(form.required_fields),
        thank_you_message=form.thank_you_message,
        allowed_origins=list(form.allowed_origins),
        source=form.source,  # type: ignore[arg-type]
        utm_campaign=form.utm_campaign,
        owner_id=form.owner_id,
        is_active=form.is_active,
        version=form.version,
        public_path=public_path(form.token),
    )


def _check_form(data: LeadFormIn) -> None:
    errors = [
        FieldError(f"fields.{index}", "Choose a field a form can show", "unknown_field")
        for index, name in enumerate(data.fields)
        if name not in CAPTURE_FIELDS
    ]
    errors += [
        FieldError(f"required_fields.{index}", "A required field must be shown", "not_shown")
        for index, name in enumerate(data.required_fields)
        if name not in data.fields
    ]
    if not ({"family_name", "given_name"} & set(data.fields)):
        errors.append(FieldError("fields", "Show at least one name field", "no_name"))
    if not ({"email", "phone"} & set(data.fields)):
        errors.append(FieldError("fields", "Show an email or a phone field", "no_contact"))
    if errors:
        raise ValidationFailed(errors)


def _apply(form: LeadForm, data: LeadFormIn) -> None:
    form.name = data.name
    form.title = data.title
    form.fields = list(dict.fromkeys(data.fields))
    form.required_fields = list(dict.fromkeys(data.required_fields))
    form.thank_you_message = data.thank_you_message
    form.allowed_origins = [origin.rstrip("/").lower() for origin in data.allowed_origins]
    form.source = data.source.value
    form.utm_campaign = data.utm_campaign
    form.owner_id = data.owner_id
    form.is_active = data.is_active


def _snapshot(form: LeadForm) -> dict[str, Any]:
    return {name: getattr(form, name) for name in _SETTINGS_FIELDS}


def create_form(uow: UnitOfWork, actor: Actor, data: LeadFormIn) -> LeadFormOut:
    """Create a web form with a new public token."""
    require(actor, LEAD_SETTINGS.key, Action.CREATE)
    _check_form(data)
    with uow:
        if data.owner_id is not None:
            records.check_owner_and_team(
                uow.session, system_actor(), data.owner_id, None, action=Action.CREATE
            )
        form = LeadForm(token=new_token(24), created_by=actor.user_id, updated_by=actor.user_id)
        _apply(form, data)
        uow.session.add(form)
        uow.session.flush()
        record_change(
            uow,
            actor,
            AuditAction.CREATE,
            "lead_form",
            form.id,
            {key: [None, value] for key, value in _snapshot(form).items()},
        )
        result = _form_out(form)
        uow.commit()
        return result


def update_form(
    uow: UnitOfWork, actor: Actor, form_id: str, data: LeadFormIn, *, expected_version: int | None = None
) -> LeadFormOut:
    require(actor, LEAD_SETTINGS.key, Action.UPDATE)
    _check_form(data)
    with uow:
        form = uow.session.get(LeadForm, form_id)
        if form is None:
            raise NotFound("Web form not found")
        if expected_version is not None and form.version != expected_version:
            raise StaleVersion()
        if data.owner_id is not None:
            records.check_owner_and_team(
                uow.session, system_actor(), data.owner_id, None, action=Action.CREATE
            )
        before = _snapshot(form)
        _apply(form, data)
        form.updated_by = actor.user_id
        uow.session.flush()
        after = _snapshot(form)
        changes = {key: [before[key], after[key]] for key in after if before[key] != after[key]}
        if changes:
            record_change(uow, actor, AuditAction.UPDATE, "lead_form", form.id, changes)
        result = _form_out(form)
        uow.commit()
        return result


def get_form(uow: UnitOfWork, actor: Actor, form_id: str) -> LeadFormOut:
    require(actor, LEAD_SETTINGS.key, Action.READ)
    with uow:
        form = uow.session.get(LeadForm, form_id)
        if form is None:
            raise NotFound("Web form not found")
        return _form_out(form)


def list_forms(uow: UnitOfWork, actor: Actor) -> list[LeadFormOut]:
    require(actor, LEAD_SETTINGS.key, Action.READ)
    with uow:
        return [_form_out(form) for form in uow.session.scalars(select(LeadForm).order_by(LeadForm.name))]


# ---------------------------------------------------------------- the public side


def _active_form(uow: UnitOfWork, token: str) -> LeadForm:
    form = uow.session.scalar(select(LeadForm).where(LeadForm.token == token))
    if form is None or not form.is_active:
        raise NotFound("Web form not found")
    return form


def _public(form: LeadForm) -> PublicForm:
    return PublicForm(
        token=form.token,
        title=form.title,
        fields=list(form.fields),
        required_fields=list(form.required_fields),
        thank_you_message=form.thank_you_message,
        allowed_origins=list(form.allowed_origins),
    )


def public_form(uow: UnitOfWork, token: str) -> PublicForm:
    """The form behind a public token (no sign-in); NotFound for an unknown or inactive one."""
    with uow:
        return _public(_active_form(uow, token))


def _check_rate(uow: UnitOfWork, form: LeadForm, ip: str) -> None:
    since = utc_now() - RATE_WINDOW
    session = uow.session
    by_address = session.scalar(
        select(func.count())
        .select_from(LeadFormSubmission)
        .where(LeadFormSubmission.ip == ip, LeadFormSubmission.submitted_at >= since)
    )
    by_form = session.scalar(
        select(func.count())
        .select_from(LeadFormSubmission)
        .where(LeadFormSubmission.form_id == form.id, LeadFormSubmission.submitted_at >= since)
    )
    if (by_address or 0) >= MAX_POSTS_PER_ADDRESS or (by_form or 0) >= MAX_POSTS_PER_FORM:
        raise RateLimited(int(RATE_WINDOW.total_seconds()), "Too many submissions; try again later")


def submit_form(uow: UnitOfWork, token: str, values: dict[str, str], *, ip: str) -> Submission:
    """Take one post of a public form: a lead owned by the assignment rules' choice (else the
    form's owner); a filled honeypot is dropped silently; past the rate limit, 429.

    A post with errors writes nothing and does not count towards the limit, so a person
    correcting a typo is not locked out.
    """
    with uow:
        form = _active_form(uow, token)
        _check_rate(uow, form, ip)
        session = uow.session
        if values.get(HONEYPOT_FIELD, "").strip():
            session.add(LeadFormSubmission(form_id=form.id, ip=ip, outcome=SubmissionOutcome.HONEYPOT.value))
            uow.commit()
            return Submission(lead_id=None, thank_you_message=form.thank_you_message)
        errors = [
            FieldError(name, "This field is required", "required")
            for name in form.required_fields
            if not values.get(name, "").strip()
        ]
        if errors:
            raise ValidationFailed(errors)
        given: dict[str, Any] = {
            name: values[name].strip() for name in form.fields if values.get(name, "").strip()
        }
        given["source"] = form.source
        for name in ("utm_campaign", "utm_medium", "utm_source"):
            if values.get(name, "").strip():
                given[name] = values[name].strip()[:100]
        if form.utm_campaign and "utm_campaign" not in given:
            given["utm_campaign"] = form.utm_campaign
        try:
            data = LeadCreate.model_validate(given)
        except ValidationError as error:
            raise ValidationFailed(
                [
                    FieldError(
                        ".".join(str(part) for part in issue["loc"]) or "form", _message(issue["type"])
                    )
                    for issue in error.errors(include_url=False)
                ]
            ) from None
        actor = system_actor(f"web form {form.name}")
        lead = records.create_lead_in(uow, actor, data, form_id=form.id)
        if lead.owner_id is None and form.owner_id is not None:
            lead.owner_id = form.owner_id
            session.flush()
        session.add(
            LeadFormSubmission(
                form_id=form.id, ip=ip, outcome=SubmissionOutcome.ACCEPTED.value, lead_id=lead.id
            )
        )
        uow.commit()
        return Submission(lead_id=lead.id, thank_you_message=form.thank_you_message)


def _message(kind: str) -> str:
    if kind in ("missing", "string_too_short"):
        return "This field is required"
    if kind == "value_error":
        return "This value is not valid"
    if kind in ("enum", "literal_error"):
        return "Choose one of the offered values"
    return "This value is not valid"
