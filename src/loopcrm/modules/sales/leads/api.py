"""REST routes of leads, their scoring rules, web forms and imports, under /api/v1 (gathered by
loopcrm.modules.sales.api). Routes only translate HTTP to one service call and back (ADR 0005)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Query, Response, UploadFile, status

from loopcrm.modules.customers.schemas import CustomerSource
from loopcrm.modules.sales.leads import service as leads
from loopcrm.modules.sales.leads.schemas import (
    BulkAssign,
    BulkAssignResult,
    ConversionCandidates,
    ConversionOut,
    LeadConversion,
    LeadCreate,
    LeadDisqualify,
    LeadFormIn,
    LeadFormOut,
    LeadImportOut,
    LeadListQuery,
    LeadOut,
    LeadStatus,
    LeadUpdate,
    RescoreResult,
    ScoringRuleIn,
    ScoringRuleOut,
)
from loopcrm.platform.http.concurrency import expected_version, with_etag
from loopcrm.platform.http.dependencies import DEFAULT_PAGE_SIZE, CurrentActor, Cursor, IfMatch, Limit, Uow
from loopcrm.platform.i18n import translator
from loopcrm.platform.pagination import Page

router = APIRouter()

LEADS = "/api/v1/leads"


@router.get("/leads", response_model=Page[LeadOut], tags=["leads"])
def list_leads(
    actor: CurrentActor,
    uow: Uow,
    lead_status: Annotated[list[LeadStatus] | None, Query(alias="status", max_length=5)] = None,
    owner_id: Annotated[str | None, Query(min_length=1, max_length=36)] = None,
    source: CustomerSource | None = None,
    min_score: Annotated[int | None, Query(ge=-100_000, le=100_000)] = None,
    max_score: Annotated[int | None, Query(ge=-100_000, le=100_000)] = None,
    q: Annotated[str | None, Query(max_length=200, description="name, company, email or phone")] = None,
    sort: Annotated[
        str | None, Query(max_length=60, description="score, created_at, full_name, company_name…; -field")
    ] = None,
    limit: Limit = DEFAULT_PAGE_SIZE,
    cursor: Cursor = None,
) -> Page[LeadOut]:
    """Leads in your scope, newest first unless sorted."""
    query = LeadListQuery(
        q=q,
        status=lead_status or [],
        owner_id=owner_id,
        source=source,
        min_score=min_score,
        max_score=max_score,
        sort=sort,
    )
    return leads.list_leads(uow, actor, query, limit=limit, cursor=cursor)


@router.post("/leads", response_model=LeadOut, status_code=status.HTTP_201_CREATED, tags=["leads"])
def create_lead(data: LeadCreate, actor: CurrentActor, uow: Uow, response: Response) -> LeadOut:
    """Create a lead; without ``owner_id`` the assignment rules choose its owner. The answer's
    ``possible_duplicates`` lists leads and contacts with the same email or phone."""
    return with_etag(response, leads.create_lead(uow, actor, data), created_in=LEADS)


@router.post("/leads/bulk-assign", response_model=BulkAssignResult, tags=["leads"])
def bulk_assign(data: BulkAssign, actor: CurrentActor, uow: Uow) -> BulkAssignResult:
    """Give many leads one owner: all of them or none."""
    return leads.bulk_assign(uow, actor, data)


@router.get("/leads/{lead_id}", response_model=LeadOut, tags=["leads"])
def read_lead(lead_id: str, actor: CurrentActor, uow: Uow, response: Response) -> LeadOut:
    """One lead, its score recomputed with its activities."""
    return with_etag(response, leads.get_lead(uow, actor, lead_id))


@router.patch("/leads/{lead_id}", response_model=LeadOut, tags=["leads"])
def update_lead(
    lead_id: str,
    data: LeadUpdate,
    actor: CurrentActor,
    uow: Uow,
    response: Response,
    if_match: IfMatch = None,
) -> LeadOut:
    """Change the fields sent; absent fields stay as they are."""
    lead = leads.update_lead(uow, actor, lead_id, data, expected_version=expected_version(if_match))
    return with_etag(response, lead)


@router.delete("/leads/{lead_id}", status_code=status.HTTP_204_NO_CONTENT, tags=["leads"])
def delete_lead(lead_id: str, actor: CurrentActor, uow: Uow, if_match: IfMatch = None) -> Response:
    leads.delete_lead(uow, actor, lead_id, expected_version=expected_version(if_match))
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/leads/{lead_id}/disqualify", response_model=LeadOut, tags=["leads"])
def disqualify_lead(
    lead_id: str,
    data: LeadDisqualify,
    actor: CurrentActor,
    uow: Uow,
    response: Response,
    if_match: IfMatch = None,
) -> LeadOut:
    """Mark the lead as no prospect; a reason is required."""
    lead = leads.disqualify_lead(uow, actor, lead_id, data, expected_version=expected_version(if_match))
    return with_etag(response, lead)


@router.get("/leads/{lead_id}/conversion-candidates", response_model=ConversionCandidates, tags=["leads"])
def conversion_candidates(lead_id: str, actor: CurrentActor, uow: Uow) -> ConversionCandidates:
    """Accounts (by company name, website domain) and contacts (by email, phone, name) to link."""
    return leads.conversion_candidates(uow, actor, lead_id)


@router.post("/leads/{lead_id}/convert", response_model=ConversionOut, tags=["leads"])
def convert_lead(lead_id: str, data: LeadConversion, actor: CurrentActor, uow: Uow) -> ConversionOut:
    """Link or create the account and contact, optionally open an opportunity, in one
    transaction; a lead is converted once (409 afterwards)."""
    return leads.convert_lead(uow, actor, lead_id, data)


# ---------------------------------------------------------------- scoring rules


@router.get("/lead-scoring-rules", response_model=list[ScoringRuleOut], tags=["leads"])
def list_scoring_rules(actor: CurrentActor, uow: Uow) -> list[ScoringRuleOut]:
    return leads.list_rules(uow, actor)


@router.post(
    "/lead-scoring-rules", response_model=ScoringRuleOut, status_code=status.HTTP_201_CREATED, tags=["leads"]
)
def create_scoring_rule(data: ScoringRuleIn, actor: CurrentActor, uow: Uow) -> ScoringRuleOut:
    """Add a rule; open leads are rescored at once."""
    return leads.create_rule(uow, actor, data)


@router.put("/lead-scoring-rules/{rule_id}", response_model=ScoringRuleOut, tags=["leads"])
def update_scoring_rule(
    rule_id: str, data: ScoringRuleIn, actor: CurrentActor, uow: Uow, if_match: IfMatch = None
) -> ScoringRuleOut:
    return leads.update_rule(uow, actor, rule_id, data, expected_version=expected_version(if_match))


@router.delete("/lead-scoring-rules/{rule_id}", status_code=status.HTTP_204_NO_CONTENT, tags=["leads"])
def delete_scoring_rule(rule_id: str, actor: CurrentActor, uow: Uow) -> Response:
    leads.delete_rule(uow, actor, rule_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/lead-scoring-rules/rescore", response_model=RescoreResult, tags=["leads"])
def rescore(actor: CurrentActor, uow: Uow) -> RescoreResult:
    """Rescore every open lead now, counting their activities afresh (the hourly job's work)."""
    return leads.rescore_open_leads(uow, actor)


# ---------------------------------------------------------------- web forms


@router.get("/lead-forms", response_model=list[LeadFormOut], tags=["leads"])
def list_forms(actor: CurrentActor, uow: Uow) -> list[LeadFormOut]:
    return leads.list_forms(uow, actor)


@router.post("/lead-forms", response_model=LeadFormOut, status_code=status.HTTP_201_CREATED, tags=["leads"])
def create_form(data: LeadFormIn, actor: CurrentActor, uow: Uow, response: Response) -> LeadFormOut:
    """Create a public web form; ``public_path`` is where it is served (and embedded from)."""
    return with_etag(response, leads.create_form(uow, actor, data), created_in="/api/v1/lead-forms")


@router.get("/lead-forms/{form_id}", response_model=LeadFormOut, tags=["leads"])
def read_form(form_id: str, actor: CurrentActor, uow: Uow, response: Response) -> LeadFormOut:
    return with_etag(response, leads.get_form(uow, actor, form_id))


@router.put("/lead-forms/{form_id}", response_model=LeadFormOut, tags=["leads"])
def update_form(
    form_id: str,
    data: LeadFormIn,
    actor: CurrentActor,
    uow: Uow,
    response: Response,
    if_match: IfMatch = None,
) -> LeadFormOut:
    form = leads.update_form(uow, actor, form_id, data, expected_version=expected_version(if_match))
    return with_etag(response, form)


# ---------------------------------------------------------------- imports


@router.post(
    "/lead-imports", response_model=LeadImportOut, status_code=status.HTTP_201_CREATED, tags=["leads"]
)
def import_leads(
    actor: CurrentActor,
    uow: Uow,
    file: Annotated[
        UploadFile, File(description="CSV (UTF-8 or GB18030) or XLSX; the first row names the fields")
    ],
) -> LeadImportOut:
    """Land the valid rows as leads (upserted by email, else phone); rejected rows are reported."""
    return leads.import_leads(uow, actor, file.filename or "", file.file.read())


@router.get("/lead-imports", response_model=list[LeadImportOut], tags=["leads"])
def list_imports(actor: CurrentActor, uow: Uow) -> list[LeadImportOut]:
    return leads.list_imports(uow, actor)


@router.get("/lead-imports/{import_id}", response_model=LeadImportOut, tags=["leads"])
def read_import(import_id: str, actor: CurrentActor, uow: Uow) -> LeadImportOut:
    return leads.get_import(uow, actor, import_id)


@router.get(
    "/lead-imports/{import_id}/report",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}}},
    tags=["leads"],
)
def import_report(import_id: str, actor: CurrentActor, uow: Uow) -> Response:
    """Every rejected row with its reasons (in your language), as CSV."""
    run = leads.get_import(uow, actor, import_id)
    content = leads.rejected_rows_csv(run, translator(actor.locale).gettext)
    return Response(
        content,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="lead-import-{run.id}-rejected.csv"'},
    )
