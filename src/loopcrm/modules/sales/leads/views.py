"""Pages of leads, under /sales/leads (gathered by loopcrm.modules.sales.views), and the public web
form at /forms/{token}.

Signed-in pages: the list (filters by status, owner, source and score; sort; bulk assign), the
detail (fields, score with its reasons, timeline, convert, disqualify), the create and edit form,
the conversion page, web-form admin and the import page. The public form needs no sign-in and no
CSRF cookie (it lives in other sites' frames, where cookies may be blocked): the honeypot and the
rate limit guard it instead, and only the form's allowed origins may frame it.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from fastapi import APIRouter
from pydantic import ValidationError
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import Response

from loopcrm.modules.activities import service as activities
from loopcrm.modules.customers.schemas import CustomerSource, Industry
from loopcrm.modules.sales.leads import service as leads
from loopcrm.modules.sales.leads.schemas import (
    CAPTURE_FIELDS,
    BulkAssign,
    DisqualificationReason,
    LeadConversion,
    LeadCreate,
    LeadDisqualify,
    LeadFormIn,
    LeadFormOut,
    LeadListQuery,
    LeadStatus,
    LeadUpdate,
    ScoringRuleIn,
)
from loopcrm.modules.sales.opportunities import service as opportunities
from loopcrm.platform.auth import service as auth
from loopcrm.platform.errors import DomainError, NotFound, RateLimited, ValidationFailed
from loopcrm.platform.i18n import N_
from loopcrm.platform.permissions import Action
from loopcrm.platform.web.flash import FlashLevel
from loopcrm.platform.web.forms import FormState
from loopcrm.platform.web.pages import Form, Viewer, WebPage, current_page, redirect, render

# Signed-in routes take ``page: Viewer`` (sign-in and CSRF); the public form's routes do not.
router = APIRouter(include_in_schema=False)

LEADS_PATH = "/sales/leads"
PAGE_SIZE = 50
STATUS_NAMES = {
    LeadStatus.NEW.value: N_("New"),
    LeadStatus.WORKING.value: N_("Working"),
    LeadStatus.NURTURING.value: N_("Nurturing"),
    LeadStatus.QUALIFIED.value: N_("Qualified"),
    LeadStatus.DISQUALIFIED.value: N_("Disqualified"),
}
REASON_NAMES = {
    DisqualificationReason.NO_BUDGET.value: N_("No budget"),
    DisqualificationReason.NO_NEED.value: N_("No need"),
    DisqualificationReason.NO_AUTHORITY.value: N_("No authority to buy"),
    DisqualificationReason.BAD_TIMING.value: N_("Bad timing"),
    DisqualificationReason.COMPETITOR.value: N_("Went to a competitor"),
    DisqualificationReason.UNREACHABLE.value: N_("Unreachable"),
    DisqualificationReason.DUPLICATE.value: N_("Duplicate"),
    DisqualificationReason.SPAM.value: N_("Spam"),
    DisqualificationReason.OTHER.value: N_("Other"),
}
FIELD_NAMES = {
    "family_name": N_("Family name"),
    "given_name": N_("Given name"),
    "title": N_("Job title"),
    "email": N_("Email"),
    "phone": N_("Phone"),
    "company_name": N_("Company"),
    "industry": N_("Industry"),
    "province": N_("Province"),
    "city": N_("City"),
    "website": N_("Website"),
    "description": N_("Description"),
    "source": N_("Source"),
    "utm_campaign": N_("UTM campaign"),
    "utm_medium": N_("UTM medium"),
    "utm_source": N_("UTM source"),
}
EDIT_FIELDS = (*FIELD_NAMES, "status", "owner_id")
FORM_SETTINGS_FIELDS = ("name", "title", "fields", "required_fields", "thank_you_message", "allowed_origins")


def _names(page: WebPage) -> dict[str, Any]:
    return {
        "status_names": STATUS_NAMES,
        "reason_names": REASON_NAMES,
        "field_names": FIELD_NAMES,
        "sources": [source.value for source in CustomerSource],
        "industries": [industry.value for industry in Industry],
        "leads_path": LEADS_PATH,
    }


# ---------------------------------------------------------------- list


@router.get(LEADS_PATH)
def list_leads(request: Request, page: Viewer) -> Response:
    params = request.query_params
    form = FormState.initial(
        {
            "status": params.getlist("status"),
            "owner_id": params.get("owner_id", ""),
            "source": params.get("source", ""),
            "min_score": params.get("min_score", ""),
            "q": params.get("q", ""),
            "sort": params.get("sort", ""),
        },
        ["status", "owner_id", "source", "min_score", "q", "sort"],
    )
    try:
        query = LeadListQuery.model_validate(
            {
                "status": params.getlist("status"),
                "owner_id": params.get("owner_id") or None,
                "source": params.get("source") or None,
                "min_score": params.get("min_score") or None,
                "q": params.get("q") or None,
                "sort": params.get("sort") or None,
            }
        )
        found = leads.list_leads(
            page.uow(), page.actor, query, limit=PAGE_SIZE, cursor=params.get("cursor") or None
        )
    except (ValidationError, ValidationFailed) as error:
        form.add_refusal(error, page.translator)
        found = leads.list_leads(page.uow(), page.actor, LeadListQuery(), limit=PAGE_SIZE, cursor=None)
    actor = page.actor
    return render(
        request,
        "sales/leads/list.html",
        {
            **_names(page),
            "leads": found.items,
            "next_cursor": found.next_cursor,
            "form": form,
            "users": auth.user_choices(page.uow(), actor),
            "may_create": actor.can(leads.LEAD.key, Action.CREATE),
            "may_assign": actor.can(leads.LEAD.key, Action.UPDATE),
            "may_settings": actor.can(leads.LEAD_SETTINGS.key, Action.READ),
            "query_string": str(request.query_params),
        },
    )


@router.post(f"{LEADS_PATH}/bulk-assign")
async def bulk_assign(request: Request, page: Viewer, submitted: Form) -> Response:
    ids = [str(value) for value in submitted.getlist("lead_id")]
    try:
        data = BulkAssign(lead_ids=ids, owner_id=str(submitted.get("owner_id") or ""))
        result = leads.bulk_assign(page.uow(), page.actor, data)
        page.flash(N_("{count} leads reassigned"), count=result.updated)
    except (ValidationError, DomainError):
        page.flash(N_("Choose leads and an owner"), level=FlashLevel.ERROR)
    return redirect(request, LEADS_PATH)


# ---------------------------------------------------------------- create and edit


def _lead_input(form: FormState, *, for_update: bool) -> dict[str, Any]:
    values: dict[str, Any] = {name: form.optional(name) for name in FIELD_NAMES}
    for name in ("family_name", "given_name"):
        values[name] = form.text(name)
    if form.optional("owner_id") or for_update:
        values["owner_id"] = form.optional("owner_id")
    if form.optional("status"):
        values["status"] = form.optional("status")
    if for_update:
        return values
    return {key: value for key, value in values.items() if value is not None}


def _form_page(
    request: Request, page: WebPage, form: FormState, *, lead: Any = None, status_code: int = 200
) -> Response:
    return render(
        request,
        "sales/leads/form.html",
        {
            **_names(page),
            "form": form,
            "lead": lead,
            "users": auth.user_choices(page.uow(), page.actor),
            "hand_statuses": [LeadStatus.NEW.value, LeadStatus.WORKING.value, LeadStatus.NURTURING.value],
        },
        status_code=status_code,
    )


@router.get(f"{LEADS_PATH}/new")
def new_lead(request: Request, page: Viewer) -> Response:
    return _form_page(request, page, FormState.initial({"status": "new"}, EDIT_FIELDS))


@router.post(f"{LEADS_PATH}/new")
async def create_lead(request: Request, page: Viewer, submitted: Form) -> Response:
    form = FormState.submitted(submitted, EDIT_FIELDS)
    try:
        lead = leads.create_lead(
            page.uow(), page.actor, LeadCreate.model_validate(_lead_input(form, for_update=False))
        )
    except (ValidationError, DomainError) as error:
        form.add_refusal(error, page.translator)
        return _form_page(request, page, form, status_code=422)
    page.flash(N_("Lead created"))
    if lead.possible_duplicates:
        page.flash(
            N_("{count} leads or contacts have the same email or phone"), count=len(lead.possible_duplicates)
        )
    return redirect(request, f"{LEADS_PATH}/{lead.id}")


@router.get(LEADS_PATH + "/{lead_id:uuid}/edit")
def edit_lead(request: Request, page: Viewer, lead_id: UUID) -> Response:
    lead = leads.get_lead(page.uow(), page.actor, str(lead_id))
    values = lead.model_dump(mode="json")
    form = FormState.initial({name: values.get(name) for name in EDIT_FIELDS}, EDIT_FIELDS)
    form.values["version"] = [str(lead.version)]
    return _form_page(request, page, form, lead=lead)


@router.post(LEADS_PATH + "/{lead_id:uuid}/edit")
async def update_lead(request: Request, page: Viewer, submitted: Form, lead_id: UUID) -> Response:
    form = FormState.submitted(submitted, EDIT_FIELDS)
    version = form.text("version")
    try:
        values = _lead_input(form, for_update=True)
        if not values.get("status"):
            values.pop("status", None)
        leads.update_lead(
            page.uow(),
            page.actor,
            str(lead_id),
            LeadUpdate.model_validate(values),
            expected_version=int(version) if version.isdigit() else None,
        )
    except (ValidationError, DomainError) as error:
        form.add_refusal(error, page.translator)
        return _form_page(
            request, page, form, lead=leads.get_lead(page.uow(), page.actor, str(lead_id)), status_code=422
        )
    page.flash(N_("Lead saved"))
    return redirect(request, f"{LEADS_PATH}/{lead_id}")


# ---------------------------------------------------------------- detail, disqualify


def _detail(
    request: Request, page: WebPage, lead_id: str, *, form: FormState | None = None, status_code: int = 200
) -> Response:
    actor = page.actor
    lead = leads.get_lead(page.uow(), actor, lead_id)
    context: dict[str, Any] = {
        **_names(page),
        "lead": lead,
        "score_lines": leads.score_breakdown(page.uow(), actor, lead_id),
        "disqualify_form": form or FormState.initial({}, ["reason", "note"]),
        "may_update": actor.can(leads.LEAD.key, Action.UPDATE),
        "timeline": activities.timeline_section(
            page.uow(), actor, [("lead", lead.id)], base_path=f"{LEADS_PATH}/{lead.id}/timeline"
        ),
    }
    if actor.can("activity", Action.CREATE):
        context["activity_panel"] = activities.log_panel(
            page.uow(), actor, [("lead", lead.id)], next_path=f"{LEADS_PATH}/{lead.id}"
        )
    return render(request, "sales/leads/detail.html", context, status_code=status_code)


@router.get(LEADS_PATH + "/{lead_id:uuid}")
def lead_detail(request: Request, page: Viewer, lead_id: UUID) -> Response:
    return _detail(request, page, str(lead_id))


@router.get(LEADS_PATH + "/{lead_id:uuid}/timeline")
def lead_timeline(request: Request, page: Viewer, lead_id: UUID) -> Response:
    leads.get_lead(page.uow(), page.actor, str(lead_id))  # the reader may read the lead
    params = request.query_params
    section = activities.timeline_section(
        page.uow(),
        page.actor,
        [("lead", str(lead_id))],
        kinds=params.getlist("kind") or None,
        cursor=params.get("cursor") or None,
        base_path=f"{LEADS_PATH}/{lead_id}/timeline",
    )
    refs = activities.subject_refs(page.uow(), page.actor, [("lead", str(lead_id))])
    return render(request, "activities/timeline_page.html", {"timeline": section, "refs": refs})


@router.post(LEADS_PATH + "/{lead_id:uuid}/disqualify")
async def disqualify_lead(request: Request, page: Viewer, submitted: Form, lead_id: UUID) -> Response:
    form = FormState.submitted(submitted, ["reason", "note"])
    try:
        data = LeadDisqualify.model_validate(
            {"reason": form.optional("reason"), "note": form.optional("note")}
        )
        leads.disqualify_lead(page.uow(), page.actor, str(lead_id), data)
    except (ValidationError, DomainError) as error:
        form.add_refusal(error, page.translator)
        return _detail(request, page, str(lead_id), form=form, status_code=422)
    page.flash(N_("Lead disqualified"))
    return redirect(request, f"{LEADS_PATH}/{lead_id}")


# ---------------------------------------------------------------- conversion

CONVERT_FIELDS = (
    "account_choice",
    "contact_choice",
    "create_opportunity",
    "opportunity_name",
    "amount",
    "pipeline_id",
    "expected_close_date",
    "buying_role",
)


def _convert_page(
    request: Request, page: WebPage, lead_id: str, form: FormState, *, status_code: int = 200
) -> Response:
    actor = page.actor
    lead = leads.get_lead(page.uow(), actor, lead_id)
    candidates = leads.conversion_candidates(page.uow(), actor, lead_id)
    try:
        pipelines = opportunities.list_pipelines(page.uow(), actor)
    except DomainError:
        pipelines = []
    return render(
        request,
        "sales/leads/convert.html",
        {**_names(page), "lead": lead, "candidates": candidates, "pipelines": pipelines, "form": form},
        status_code=status_code,
    )


@router.get(LEADS_PATH + "/{lead_id:uuid}/convert")
def convert_page(request: Request, page: Viewer, lead_id: UUID) -> Response:
    lead = leads.get_lead(page.uow(), page.actor, str(lead_id))
    candidates = leads.conversion_candidates(page.uow(), page.actor, str(lead_id))
    form = FormState.initial(
        {
            "account_choice": candidates.accounts[0].id if candidates.accounts else "new",
            "contact_choice": candidates.contacts[0].id if candidates.contacts else "new",
            "opportunity_name": lead.company_name or lead.full_name,
            "amount": "0",
        },
        CONVERT_FIELDS,
    )
    return _convert_page(request, page, str(lead_id), form)


@router.post(LEADS_PATH + "/{lead_id:uuid}/convert")
async def convert_lead(request: Request, page: Viewer, submitted: Form, lead_id: UUID) -> Response:
    form = FormState.submitted(submitted, CONVERT_FIELDS)
    account_choice = form.text("account_choice") or "new"
    contact_choice = form.text("contact_choice") or "new"
    values: dict[str, Any] = {
        "account_id": None if account_choice in ("new", "none") else account_choice,
        "create_account": account_choice == "new",
        "contact_id": None if contact_choice == "new" else contact_choice,
    }
    if form.optional("buying_role"):
        values["buying_role"] = form.text("buying_role")
    if form.checked("create_opportunity"):
        values["opportunity"] = {
            "name": form.text("opportunity_name"),
            "amount": form.optional("amount") or "0",
            "pipeline_id": form.optional("pipeline_id"),
            "expected_close_date": form.optional("expected_close_date"),
        }
    try:
        result = leads.convert_lead(
            page.uow(), page.actor, str(lead_id), LeadConversion.model_validate(values)
        )
    except (ValidationError, DomainError) as error:
        form.add_refusal(error, page.translator)
        return _convert_page(request, page, str(lead_id), form, status_code=422)
    page.flash(N_("Lead converted"))
    if result.opportunity_id:
        return redirect(request, f"/sales/opportunities/{result.opportunity_id}")
    return redirect(request, f"/customers/contacts/{result.contact_id}")


# ---------------------------------------------------------------- web forms and scoring rules (admin)


def _settings_page(
    request: Request, page: WebPage, form: FormState, rule_form: FormState, *, status_code: int = 200
) -> Response:
    actor = page.actor
    return render(
        request,
        "sales/leads/settings.html",
        {
            **_names(page),
            "forms": leads.list_forms(page.uow(), actor),
            "rules": leads.list_rules(page.uow(), actor),
            "form": form,
            "rule_form": rule_form,
            "capture_fields": CAPTURE_FIELDS,
            "may_change": actor.can(leads.LEAD_SETTINGS.key, Action.CREATE),
            "base_url": str(request.base_url).rstrip("/"),
        },
        status_code=status_code,
    )


def _empty_settings_forms() -> tuple[FormState, FormState]:
    return (
        FormState.initial(
            {
                "fields": ["family_name", "given_name", "email", "phone", "company_name"],
                "required_fields": ["email"],
            },
            FORM_SETTINGS_FIELDS,
        ),
        FormState.initial({"kind": "attribute"}, ["kind", "field", "value", "points"]),
    )


@router.get(f"{LEADS_PATH}/settings")
def settings_page(request: Request, page: Viewer) -> Response:
    form, rule_form = _empty_settings_forms()
    return _settings_page(request, page, form, rule_form)


@router.post(f"{LEADS_PATH}/settings/forms")
async def create_form(request: Request, page: Viewer, submitted: Form) -> Response:
    form = FormState.submitted(submitted, FORM_SETTINGS_FIELDS)
    try:
        leads.create_form(page.uow(), page.actor, _form_input(form))
    except (ValidationError, DomainError) as error:
        form.add_refusal(error, page.translator)
        return _settings_page(request, page, form, _empty_settings_forms()[1], status_code=422)
    page.flash(N_("Web form created"))
    return redirect(request, f"{LEADS_PATH}/settings")


def _form_input(form: FormState, kept: LeadFormOut | None = None) -> LeadFormIn:
    """The web form the settings page submitted; an edit keeps what the page does not show
    (source, UTM campaign, owner), since a change replaces the whole form."""
    origins = [line.strip() for line in form.text("allowed_origins").splitlines() if line.strip()]
    values: dict[str, Any] = {
        "name": form.text("name"),
        "title": form.optional("title"),
        "fields": form.values_of("fields"),
        "required_fields": form.values_of("required_fields"),
        "thank_you_message": form.text("thank_you_message"),
        "allowed_origins": origins,
    }
    if kept is not None:
        values.update(
            source=kept.source,
            utm_campaign=kept.utm_campaign,
            owner_id=kept.owner_id,
            is_active=form.value("is_active") == "on",
        )
    return LeadFormIn.model_validate(values)


def _form_editor(
    request: Request, page: WebPage, web_form: LeadFormOut, form: FormState, *, status_code: int = 200
) -> Response:
    return render(
        request,
        "sales/leads/form_edit.html",
        {**_names(page), "web_form": web_form, "form": form, "capture_fields": CAPTURE_FIELDS},
        status_code=status_code,
    )


@router.get(LEADS_PATH + "/settings/forms/{form_id}/edit")
def edit_form(request: Request, page: Viewer, form_id: str) -> Response:
    web_form = leads.get_form(page.uow(), page.actor, form_id)
    form = FormState.initial(
        {
            "name": web_form.name,
            "title": web_form.title,
            "fields": web_form.fields,
            "required_fields": web_form.required_fields,
            "thank_you_message": web_form.thank_you_message,
            "allowed_origins": "\n".join(web_form.allowed_origins),
            "is_active": "on" if web_form.is_active else "",
            "version": str(web_form.version),
        },
        (*FORM_SETTINGS_FIELDS, "is_active", "version"),
    )
    return _form_editor(request, page, web_form, form)


@router.post(LEADS_PATH + "/settings/forms/{form_id}/edit")
async def update_form(request: Request, page: Viewer, form_id: str, submitted: Form) -> Response:
    web_form = leads.get_form(page.uow(), page.actor, form_id)
    form = FormState.submitted(submitted, (*FORM_SETTINGS_FIELDS, "is_active", "version"))
    version = form.text("version")
    try:
        leads.update_form(
            page.uow(),
            page.actor,
            form_id,
            _form_input(form, web_form),
            expected_version=int(version) if version.isdigit() else None,
        )
    except (ValidationError, DomainError) as error:
        form.add_refusal(error, page.translator)
        return _form_editor(request, page, web_form, form, status_code=422)
    page.flash(N_("Web form saved"))
    return redirect(request, f"{LEADS_PATH}/settings")


@router.post(f"{LEADS_PATH}/settings/rules")
async def create_rule(request: Request, page: Viewer, submitted: Form) -> Response:
    rule_form = FormState.submitted(submitted, ["kind", "field", "value", "points"])
    try:
        data = ScoringRuleIn.model_validate(
            {
                "kind": rule_form.text("kind"),
                "field": rule_form.text("field") or "activity",
                "value": rule_form.optional("value"),
                "points": rule_form.text("points"),
            }
        )
        leads.create_rule(page.uow(), page.actor, data)
    except (ValidationError, DomainError) as error:
        rule_form.add_refusal(error, page.translator)
        return _settings_page(request, page, _empty_settings_forms()[0], rule_form, status_code=422)
    page.flash(N_("Scoring rule added"))
    return redirect(request, f"{LEADS_PATH}/settings")


@router.post(LEADS_PATH + "/settings/rules/{rule_id}/delete")
async def delete_rule(request: Request, page: Viewer, rule_id: str) -> Response:
    leads.delete_rule(page.uow(), page.actor, rule_id)
    page.flash(N_("Scoring rule removed"))
    return redirect(request, f"{LEADS_PATH}/settings")


# ---------------------------------------------------------------- imports


@router.get(f"{LEADS_PATH}/imports")
def imports_page(request: Request, page: Viewer) -> Response:
    return render(
        request,
        "sales/leads/imports.html",
        {
            **_names(page),
            "runs": leads.list_imports(page.uow(), page.actor),
            "form": FormState.initial({}, ["file"]),
        },
    )


@router.post(f"{LEADS_PATH}/imports")
async def upload_import(request: Request, page: Viewer, submitted: Form) -> Response:
    form = FormState.submitted(submitted, ["file"])
    upload = submitted.get("file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        form.add_error("file", page.gettext(N_("Choose a file")))
        return render(
            request,
            "sales/leads/imports.html",
            {**_names(page), "runs": leads.list_imports(page.uow(), page.actor), "form": form},
            status_code=422,
        )
    content = await upload.read()
    try:
        run = leads.import_leads(page.uow(), page.actor, upload.filename, content)
    except DomainError as error:
        form.add_refusal(error, page.translator)
        return render(
            request,
            "sales/leads/imports.html",
            {**_names(page), "runs": leads.list_imports(page.uow(), page.actor), "form": form},
            status_code=422,
        )
    page.flash(
        N_("Imported: {created} new, {updated} updated, {rejected} rejected"),
        created=run.created_count,
        updated=run.updated_count,
        rejected=run.rejected_count,
    )
    return redirect(request, f"{LEADS_PATH}/imports/{run.id}")


@router.get(LEADS_PATH + "/imports/{import_id}")
def import_detail(request: Request, page: Viewer, import_id: str) -> Response:
    run = leads.get_import(page.uow(), page.actor, import_id)
    return render(request, "sales/leads/import_detail.html", {**_names(page), "run": run})


@router.get(LEADS_PATH + "/imports/{import_id}/report")
def import_report(request: Request, page: Viewer, import_id: str) -> Response:
    run = leads.get_import(page.uow(), page.actor, import_id)
    return Response(
        leads.rejected_rows_csv(run, page.translator.gettext),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="lead-import-{run.id}-rejected.csv"'},
    )


# ---------------------------------------------------------------- the public web form


def _framing_headers(response: Response, allowed_origins: list[str]) -> Response:
    """Let the form's allowed origins (and nobody else) show it in a frame."""
    ancestors = " ".join(["'self'", *allowed_origins])
    policy = response.headers.get("Content-Security-Policy", "")
    policy = policy.replace("frame-ancestors 'none'", f"frame-ancestors {ancestors}")
    response.headers["Content-Security-Policy"] = policy
    if "X-Frame-Options" in response.headers:
        del response.headers["X-Frame-Options"]
    return response


def _public_page(request: Request, token: str, form: FormState, *, status_code: int = 200) -> Response:
    web_page = current_page(request)
    public = leads.public_form(web_page.uow(), token)
    response = render(
        request,
        "sales/leads/public_form.html",
        {**_names(web_page), "public": public, "form": form, "honeypot": leads.HONEYPOT_FIELD},
        status_code=status_code,
    )
    return _framing_headers(response, public.allowed_origins)


@router.get(leads.FORMS_PATH + "/{token}")
def public_form(request: Request, token: str) -> Response:
    params = request.query_params
    utm = {name: params.get(name, "") for name in ("utm_campaign", "utm_medium", "utm_source")}
    return _public_page(request, token, FormState.initial(utm, [*CAPTURE_FIELDS, *utm]))


@router.post(leads.FORMS_PATH + "/{token}")
async def submit_public_form(request: Request, token: str) -> Response:
    web_page = current_page(request)
    submitted = await request.form()
    fields = [*CAPTURE_FIELDS, "utm_campaign", "utm_medium", "utm_source"]
    form = FormState.submitted(submitted, fields)
    values = {name: str(value) for name, value in submitted.items() if isinstance(value, str)}
    ip = request.client.host if request.client else "unknown"
    try:
        result = leads.submit_form(web_page.uow(), token, values, ip=ip)
    except RateLimited:
        public = leads.public_form(web_page.uow(), token)
        response = render(
            request,
            "sales/leads/public_limited.html",
            {"public": public},
            status_code=429,
            headers={"Retry-After": "600"},
        )
        return _framing_headers(response, public.allowed_origins)
    except NotFound:
        raise
    except DomainError as error:
        form.add_refusal(error, web_page.translator)
        return _public_page(request, token, form, status_code=422)
    public = leads.public_form(web_page.uow(), token)
    response = render(request, "sales/leads/public_thanks.html", {"public": public, "submission": result})
    return _framing_headers(response, public.allowed_origins)
