"""Contracts of leads, their scoring rules, web forms, imports and conversion: what the API, the
pages, the public form and imports accept, and what they return.

Phones, emails and websites are normalised with the customers module's types, so a lead's phone
is the same E.164 string as a contact's and "same phone" duplicates are found by equality.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, BaseModel, Field

from loopcrm.modules.customers.schemas import (
    BuyingRole,
    CustomerSource,
    EmailAddress,
    Industry,
    PhoneNumber,
    Website,
)
from loopcrm.modules.sales.leads.models import (
    DisqualificationReason,
    LeadStatus,
    ScoringRuleKind,
)
from loopcrm.platform.auth.schemas import Input
from loopcrm.platform.timestamps import IsoDateTime

__all__ = [
    "DisqualificationReason",
    "LeadStatus",
    "ScoringRuleKind",
]


def _trimmed_or_none(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    return value or None


ShortText = Annotated[str | None, Field(max_length=100), AfterValidator(_trimmed_or_none)]
RegionText = Annotated[str | None, Field(max_length=50), AfterValidator(_trimmed_or_none)]
CompanyName = Annotated[str | None, Field(max_length=200), AfterValidator(_trimmed_or_none)]
LongText = Annotated[str | None, Field(max_length=10_000), AfterValidator(_trimmed_or_none)]
NamePart = Annotated[str, Field(max_length=100), AfterValidator(str.strip)]
RecordId = Annotated[str, Field(min_length=1, max_length=36)]

# Lead fields a web form may show and an import may map, in the order a form shows them.
CAPTURE_FIELDS = (
    "family_name",
    "given_name",
    "title",
    "email",
    "phone",
    "company_name",
    "industry",
    "province",
    "city",
    "website",
    "description",
)
# Column titles an import file may use instead of the field names.
FIELD_ALIASES = {
    "姓": "family_name",
    "名": "given_name",
    "姓名": "family_name",
    "职位": "title",
    "邮箱": "email",
    "电子邮件": "email",
    "电话": "phone",
    "手机": "phone",
    "公司": "company_name",
    "公司名称": "company_name",
    "行业": "industry",
    "省份": "province",
    "城市": "city",
    "网站": "website",
    "来源": "source",
    "备注": "description",
}
# Fields a scoring rule may look at.
SCORED_FIELDS = (
    "industry",
    "source",
    "province",
    "city",
    "title",
    "email",
    "phone",
    "company_name",
    "website",
    "utm_campaign",
    "utm_medium",
    "utm_source",
)


class LeadFields(Input):
    """Fields of a lead that a person or a form gives (not status, score or conversion)."""

    family_name: NamePart = ""
    given_name: NamePart = ""
    title: ShortText = None
    email: EmailAddress | None = None
    phone: PhoneNumber | None = Field(default=None, description="any common notation; stored as E.164")
    company_name: CompanyName = None
    industry: Industry | None = None
    province: RegionText = None
    city: RegionText = None
    website: Website = None
    source: CustomerSource | None = None
    utm_campaign: ShortText = None
    utm_medium: ShortText = None
    utm_source: ShortText = None
    description: LongText = None


class LeadCreate(LeadFields):
    """A new lead: a name and a way to reach the person (an email or a phone) are required."""

    status: LeadStatus = Field(default=LeadStatus.NEW, description="new, working or nurturing")
    owner_id: RecordId | None = Field(
        default=None, description="empty: the assignment rules choose one, else the creator"
    )
    team_id: RecordId | None = None


class LeadUpdate(LeadFields):
    """Fields to change; absent fields stay. Qualifying happens by conversion, disqualifying
    through its own action (a reason is required)."""

    status: LeadStatus | None = None
    owner_id: RecordId | None = None
    team_id: RecordId | None = None


class LeadDisqualify(Input):
    reason: DisqualificationReason
    note: LongText = None


class DuplicateKind(StrEnum):
    """What kind of record a duplicate warning names."""

    LEAD = "lead"  # another lead
    CONTACT = "contact"  # a contact of the customers module


class LeadDuplicate(BaseModel):
    """A lead or contact with the same email or phone."""

    record_kind: DuplicateKind
    id: str
    label: str
    reasons: list[str] = Field(description="email or phone")


class ScoreLine(BaseModel):
    """One rule's contribution to a lead's score."""

    rule_id: str
    kind: ScoringRuleKind
    field: str
    value: str | None
    points: int
    times: int = Field(description="1 for attribute rules; the number of activities for activity rules")


class LeadOut(BaseModel):
    id: str
    family_name: str
    given_name: str
    full_name: str
    title: str | None
    email: str | None
    phone: str | None
    company_name: str | None
    industry: Industry | None
    province: str | None
    city: str | None
    website: str | None
    source: CustomerSource | None
    utm_campaign: str | None
    utm_medium: str | None
    utm_source: str | None
    description: str | None
    status: LeadStatus
    disqualification_reason: DisqualificationReason | None
    disqualification_note: str | None
    owner_id: str | None
    owner_name: str | None = None
    team_id: str | None
    score: int
    activity_counts: dict[str, int]
    form_id: str | None
    converted_at: IsoDateTime | None
    converted_account_id: str | None
    converted_contact_id: str | None
    converted_opportunity_id: str | None
    created_at: IsoDateTime
    updated_at: IsoDateTime
    created_by: str | None
    updated_by: str | None
    version: int
    masked_fields: list[str] = Field(default_factory=list, description="fields hidden by your clearance")
    possible_duplicates: list[LeadDuplicate] = Field(
        default_factory=list, description="filled on create: leads and contacts with the same email or phone"
    )


class LeadListQuery(Input):
    """Filters of the lead list; ``sort`` is a field, ``-field`` for descending."""

    q: Annotated[str | None, Field(max_length=200), AfterValidator(_trimmed_or_none)] = None
    status: list[LeadStatus] = Field(default_factory=list, max_length=5)
    owner_id: RecordId | None = None
    source: CustomerSource | None = None
    min_score: int | None = Field(default=None, ge=-100_000, le=100_000)
    max_score: int | None = Field(default=None, ge=-100_000, le=100_000)
    sort: Annotated[str | None, Field(max_length=60)] = None


class BulkAssign(Input):
    lead_ids: list[RecordId] = Field(min_length=1, max_length=1000)
    owner_id: RecordId


class BulkAssignResult(BaseModel):
    updated: int


# ---------------------------------------------------------------- scoring rules


class ScoringRuleIn(Input):
    """``attribute``: ``field`` equals ``value``; ``presence``: ``field`` is filled; ``activity``:
    each activity of kind ``value`` (note, call, meeting, email, task) logged on the lead."""

    kind: ScoringRuleKind
    field: Annotated[str, Field(max_length=40)] = "activity"
    value: Annotated[str | None, Field(max_length=100), AfterValidator(_trimmed_or_none)] = None
    points: int = Field(ge=-1000, le=1000)
    position: int = Field(default=0, ge=0, le=10_000)
    is_active: bool = True


class ScoringRuleOut(BaseModel):
    id: str
    kind: ScoringRuleKind
    field: str
    value: str | None
    points: int
    position: int
    is_active: bool
    version: int


class RescoreResult(BaseModel):
    scored: int
    changed: int


# ---------------------------------------------------------------- web forms

Origin = Annotated[str, Field(min_length=8, max_length=200, pattern=r"^https?://[A-Za-z0-9.-]+(:\d{1,5})?$")]


class LeadFormIn(Input):
    """A public web form. ``fields`` are lead fields shown in this order; ``allowed_origins`` are
    the sites (``https://www.example.com``) that may embed it in a frame."""

    name: Annotated[str, Field(min_length=1, max_length=100, pattern=r"\S"), AfterValidator(str.strip)]
    title: Annotated[str | None, Field(max_length=200), AfterValidator(_trimmed_or_none)] = None
    fields: list[str] = Field(
        default_factory=lambda: ["family_name", "given_name", "email", "phone", "company_name"],
        min_length=1,
        max_length=len(CAPTURE_FIELDS),
    )
    required_fields: list[str] = Field(default_factory=list, max_length=len(CAPTURE_FIELDS))
    thank_you_message: Annotated[str, Field(max_length=2000), AfterValidator(str.strip)] = ""
    allowed_origins: list[Origin] = Field(default_factory=list, max_length=20)
    source: CustomerSource = CustomerSource.WEBSITE
    utm_campaign: ShortText = None
    owner_id: RecordId | None = None
    is_active: bool = True


class LeadFormOut(BaseModel):
    id: str
    name: str
    title: str | None
    token: str
    fields: list[str]
    required_fields: list[str]
    thank_you_message: str
    allowed_origins: list[str]
    source: CustomerSource
    utm_campaign: str | None
    owner_id: str | None
    is_active: bool
    version: int
    public_path: str = Field(description="the form's public page, relative to the server")


class PublicForm(BaseModel):
    """A form as its public page shows it: nothing internal."""

    token: str
    title: str | None
    fields: list[str]
    required_fields: list[str]
    thank_you_message: str
    allowed_origins: list[str]


class Submission(BaseModel):
    """What a public post became: ``lead_id`` is empty when the honeypot dropped it."""

    lead_id: str | None
    thank_you_message: str


# ---------------------------------------------------------------- imports


class RejectedRow(BaseModel):
    row: int = Field(description="the row number in the file, the header being row 1")
    values: dict[str, str]
    errors: list[dict[str, str]] = Field(description="field and message of each problem")


class LeadImportOut(BaseModel):
    id: str
    file_name: str
    total_rows: int
    created_count: int
    updated_count: int
    unchanged_count: int
    rejected_count: int
    rejected_rows: list[RejectedRow]
    created_at: IsoDateTime
    created_by: str | None


# ---------------------------------------------------------------- conversion


class ConversionMatch(BaseModel):
    """An existing account or contact that may be the lead's company or person."""

    id: str
    label: str
    reasons: list[str] = Field(description="email, phone, similar_name, domain …")


class ConversionCandidates(BaseModel):
    accounts: list[ConversionMatch]
    contacts: list[ConversionMatch]


class OpportunityDraft(Input):
    name: Annotated[str, Field(min_length=1, max_length=200, pattern=r"\S"), AfterValidator(str.strip)]
    amount: Decimal = Field(default=Decimal(0), ge=0, max_digits=18, decimal_places=2)
    pipeline_id: RecordId | None = None
    expected_close_date: date | None = None


class LeadConversion(Input):
    """How to convert: link an existing account / contact by id, or create them from the lead
    (``account_id`` / ``contact_id`` empty). With no company name and no ``account_id`` no account
    is made. ``opportunity`` optionally opens a deal with the contact as its primary buyer."""

    account_id: RecordId | None = None
    create_account: bool = True
    contact_id: RecordId | None = None
    opportunity: OpportunityDraft | None = None
    buying_role: BuyingRole = BuyingRole.DECISION_MAKER
    expected_version: int | None = Field(default=None, ge=1, description="the lead's version you saw")


class ConversionOut(BaseModel):
    lead: LeadOut
    account_id: str | None
    account_created: bool
    contact_id: str
    contact_created: bool
    opportunity_id: str | None
    linked_activities: int
    converted_at: datetime
