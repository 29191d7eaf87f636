"""Contracts of accounts, contacts, tags, custom fields and saved views: what the API, the forms
and imports accept, and what they return.

Phones, emails, credit codes and websites are normalised here, when the input is read, so every
entry point (API, form, import) stores the same canonical value and reports the same error.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, Field, model_validator

from loopcrm.modules.customers.identifiers import (
    normalize_credit_code,
    normalize_email,
    normalize_phone,
    normalize_website,
)
from loopcrm.modules.customers.models import (
    BuyingRole,
    ContactPointLabel,
    CustomerSource,
    CustomFieldKind,
    Gender,
    Industry,
    OperatingStatus,
    RecordKind,
    RelationshipKind,
)
from loopcrm.platform.auth.schemas import Input, Name
from loopcrm.platform.timestamps import IsoDateTime

MAX_CONTACT_POINTS = 10
MAX_TAGS_PER_RECORD = 50
MAX_BULK_RECORDS = 1000


def _trimmed_or_none(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    return value or None


ShortText = Annotated[str | None, Field(max_length=100), AfterValidator(_trimmed_or_none)]
RegionText = Annotated[str | None, Field(max_length=50), AfterValidator(_trimmed_or_none)]
AddressText = Annotated[str | None, Field(max_length=300), AfterValidator(_trimmed_or_none)]
LongText = Annotated[str | None, Field(max_length=10_000), AfterValidator(_trimmed_or_none)]
OptionalName = Annotated[str | None, Field(max_length=200), AfterValidator(_trimmed_or_none)]
PersonNamePart = Annotated[str, Field(max_length=100), AfterValidator(str.strip)]
RecordId = Annotated[str, Field(min_length=1, max_length=36)]


def _credit_code(value: str | None) -> str | None:
    value = _trimmed_or_none(value)
    return normalize_credit_code(value) if value else None


def _website(value: str | None) -> str | None:
    value = _trimmed_or_none(value)
    return normalize_website(value) if value else None


CreditCode = Annotated[
    str | None,
    Field(max_length=40, description="统一社会信用代码: 18 characters with a valid check character"),
    AfterValidator(_credit_code),
]
Website = Annotated[str | None, Field(max_length=300), AfterValidator(_website)]
PhoneNumber = Annotated[
    str,
    Field(min_length=1, max_length=40, description="any common notation; stored as E.164, +86 by default"),
    AfterValidator(normalize_phone),
]
EmailAddress = Annotated[str, Field(min_length=3, max_length=320), AfterValidator(normalize_email)]
Colour = Annotated[str, Field(pattern=r"^#[0-9a-fA-F]{6}$"), AfterValidator(str.lower)]
SecurityLevelName = Literal["public", "internal", "confidential", "secret"]


class PhoneIn(Input):
    number: PhoneNumber
    label: ContactPointLabel = ContactPointLabel.MOBILE
    is_primary: bool = False


class EmailIn(Input):
    address: EmailAddress
    label: ContactPointLabel = ContactPointLabel.WORK
    is_primary: bool = False


class ContactPointOut(BaseModel):
    value: str
    label: ContactPointLabel
    is_primary: bool


class TagRef(BaseModel):
    id: str
    name: str
    colour: str


class _CustomerFields(Input):
    """What accounts and contacts share."""

    province: RegionText = None
    city: RegionText = None
    address: AddressText = None
    source: CustomerSource | None = None
    owner_id: RecordId | None = Field(default=None, description="defaults to the creator")
    team_id: RecordId | None = None
    external_id: ShortText = Field(default=None, description="the record's id in another system; unique")
    description: LongText = None
    phones: list[PhoneIn] = Field(default_factory=list, max_length=MAX_CONTACT_POINTS)
    emails: list[EmailIn] = Field(default_factory=list, max_length=MAX_CONTACT_POINTS)
    tag_ids: list[RecordId] = Field(default_factory=list, max_length=MAX_TAGS_PER_RECORD)
    custom_fields: dict[str, Any] = Field(default_factory=dict, description="values by custom field key")


class AccountCreate(_CustomerFields):
    name: Name
    name_en: OptionalName = None
    credit_code: CreditCode = None
    industry: Industry | None = None
    employee_count: int | None = Field(default=None, ge=0, le=10_000_000)
    annual_revenue: Decimal | None = Field(default=None, ge=0, max_digits=18, decimal_places=2)
    website: Website = None
    legal_representative: ShortText = None
    operating_status: OperatingStatus = OperatingStatus.ACTIVE
    parent_id: RecordId | None = None


class AccountUpdate(AccountCreate):
    """Fields to change; absent fields stay as they are (``model_fields_set``)."""

    name: Name = ""  # required on create only

    @model_validator(mode="after")
    def _name_not_cleared(self) -> AccountUpdate:
        if "name" in self.model_fields_set and not self.name:
            raise ValueError("name must not be empty")
        return self


class EmploymentIn(Input):
    account_id: RecordId
    title: ShortText = None
    started_on: date | None = None
    ended_on: date | None = None
    is_primary: bool = False

    @model_validator(mode="after")
    def _ends_after_start(self) -> EmploymentIn:
        if self.started_on and self.ended_on and self.ended_on < self.started_on:
            raise ValueError("the end date is before the start date")
        return self


class EmploymentOut(BaseModel):
    account_id: str
    account_name: str
    title: str | None
    started_on: date | None
    ended_on: date | None
    is_primary: bool


class ContactCreate(_CustomerFields):
    family_name: PersonNamePart = ""
    given_name: PersonNamePart = ""
    gender: Gender = Gender.UNKNOWN
    title: ShortText = None
    department: ShortText = None
    wechat_id: ShortText = None
    birthday: date | None = None
    employments: list[EmploymentIn] = Field(default_factory=list, max_length=20)
    email_opt_in: bool = False
    sms_opt_in: bool = False
    wechat_opt_in: bool = False

    @model_validator(mode="after")
    def _has_a_name(self) -> ContactCreate:
        if not (self.family_name or self.given_name):
            raise ValueError("a contact needs a family name or a given name")
        return self


class ContactUpdate(ContactCreate):
    """Fields to change; absent fields stay as they are (``model_fields_set``)."""

    @model_validator(mode="after")
    def _has_a_name(self) -> ContactUpdate:
        return self  # the name is checked against the stored one by the service


class DuplicateMatch(BaseModel):
    """A record that looks like the same customer, and why."""

    record_kind: RecordKind
    id: str
    label: str
    reasons: list[str] = Field(description="email, phone, credit_code, external_id or similar_name")


class _CustomerOut(BaseModel):
    id: str
    province: str | None
    city: str | None
    address: str | None
    source: CustomerSource | None
    owner_id: str | None
    owner_name: str | None = None
    team_id: str | None
    external_id: str | None
    description: str | None
    phones: list[ContactPointOut] | None
    emails: list[ContactPointOut] | None
    tags: list[TagRef]
    custom_fields: dict[str, Any]
    created_at: IsoDateTime
    updated_at: IsoDateTime
    created_by: str | None
    updated_by: str | None
    deleted_at: IsoDateTime | None = None
    version: int
    masked_fields: list[str] = Field(default_factory=list, description="fields hidden by your clearance")
    possible_duplicates: list[DuplicateMatch] = Field(
        default_factory=list, description="filled on create: records that look like the same customer"
    )


class AccountOut(_CustomerOut):
    name: str
    name_en: str | None
    credit_code: str | None
    industry: Industry | None
    employee_count: int | None
    annual_revenue: Decimal | None
    website: str | None
    domain: str | None
    legal_representative: str | None
    operating_status: OperatingStatus
    parent_id: str | None
    parent_name: str | None = None


class ContactOut(_CustomerOut):
    family_name: str
    given_name: str
    full_name: str
    name_pinyin: str
    name_initials: str
    gender: Gender
    title: str | None
    department: str | None
    wechat_id: str | None
    birthday: date | None
    employments: list[EmploymentOut]
    email_opt_in: bool
    sms_opt_in: bool
    wechat_opt_in: bool
    consent_updated_at: IsoDateTime | None


class RelationshipIn(Input):
    to_account_id: RecordId
    kind: RelationshipKind
    note: Annotated[str | None, Field(max_length=300), AfterValidator(_trimmed_or_none)] = None


class RelationshipOut(BaseModel):
    id: int
    from_account_id: str
    from_account_name: str
    to_account_id: str
    to_account_name: str
    kind: RelationshipKind
    note: str | None


class ListQuery(Input):
    """A list request: full-text ``q``, ``field:operator:value`` filters, a sort, or a saved view."""

    q: Annotated[str | None, Field(max_length=200), AfterValidator(_trimmed_or_none)] = None
    filters: list[Annotated[str, Field(max_length=500)]] = Field(default_factory=list, max_length=20)
    sort: Annotated[str | None, Field(max_length=60)] = None
    view_id: RecordId | None = None
    include_deleted: bool = False


# ---------------------------------------------------------------- tags


class TagCreate(Input):
    name: Annotated[str, Field(min_length=1, max_length=50, pattern=r"\S"), AfterValidator(str.strip)]
    colour: Colour = "#4b6bfb"
    description: Annotated[str | None, Field(max_length=200), AfterValidator(_trimmed_or_none)] = None


class TagUpdate(Input):
    name: (
        Annotated[str, Field(min_length=1, max_length=50, pattern=r"\S"), AfterValidator(str.strip)] | None
    ) = None
    colour: Colour | None = None
    description: Annotated[str | None, Field(max_length=200), AfterValidator(_trimmed_or_none)] = None


class TagOut(BaseModel):
    id: str
    name: str
    colour: str
    description: str | None
    version: int


class BulkAction(Input):
    """One action over many records of a list; every record is checked like a single edit."""

    record_ids: list[RecordId] = Field(min_length=1, max_length=MAX_BULK_RECORDS)
    action: Literal["assign_owner", "add_tags", "remove_tags", "delete"]
    owner_id: RecordId | None = None
    tag_ids: list[RecordId] = Field(default_factory=list, max_length=MAX_TAGS_PER_RECORD)

    @model_validator(mode="after")
    def _has_what_the_action_needs(self) -> BulkAction:
        if self.action == "assign_owner" and not self.owner_id:
            raise ValueError("assign_owner needs owner_id")
        if self.action in ("add_tags", "remove_tags") and not self.tag_ids:
            raise ValueError(f"{self.action} needs tag_ids")
        return self


class BulkResult(BaseModel):
    changed: int
    record_ids: list[str]


# ---------------------------------------------------------------- custom fields


FieldKey = Annotated[
    str, Field(pattern=r"^[a-z][a-z0-9_]{0,39}$", description="lowercase letters, digits, _")
]
OptionValue = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,39}$")]
Label = Annotated[str, Field(min_length=1, max_length=100, pattern=r"\S"), AfterValidator(str.strip)]


class OptionIn(Input):
    value: OptionValue
    label: Label
    label_en: Annotated[str | None, Field(max_length=100), AfterValidator(_trimmed_or_none)] = None


class CustomFieldCreate(Input):
    record_kind: RecordKind
    key: FieldKey
    label: Label
    label_en: Annotated[str | None, Field(max_length=100), AfterValidator(_trimmed_or_none)] = None
    kind: CustomFieldKind
    options: list[OptionIn] = Field(default_factory=list, max_length=200)
    security_level: SecurityLevelName = "public"
    is_required: bool = False
    position: int = Field(default=0, ge=0, le=10_000)
    help_text: Annotated[str | None, Field(max_length=300), AfterValidator(_trimmed_or_none)] = None


class CustomFieldUpdate(Input):
    """The key and kind never change: stored values and saved filters depend on them."""

    label: Label | None = None
    label_en: Annotated[str | None, Field(max_length=100), AfterValidator(_trimmed_or_none)] = None
    options: list[OptionIn] | None = Field(default=None, max_length=200)
    security_level: SecurityLevelName | None = None
    is_required: bool | None = None
    is_active: bool | None = None
    position: int | None = Field(default=None, ge=0, le=10_000)
    help_text: Annotated[str | None, Field(max_length=300), AfterValidator(_trimmed_or_none)] = None


class OptionOut(BaseModel):
    value: str
    label: str
    label_en: str | None = None


class CustomFieldOut(BaseModel):
    id: str
    record_kind: RecordKind
    key: str
    label: str
    label_en: str | None
    kind: CustomFieldKind
    options: list[OptionOut]
    security_level: SecurityLevelName
    is_required: bool
    is_active: bool
    position: int
    help_text: str | None
    version: int


# ---------------------------------------------------------------- saved views


class SavedViewCreate(Input):
    record_kind: RecordKind
    name: Annotated[str, Field(min_length=1, max_length=100, pattern=r"\S"), AfterValidator(str.strip)]
    is_shared: bool = False
    filters: list[Annotated[str, Field(max_length=500)]] = Field(default_factory=list, max_length=20)
    sort: Annotated[str | None, Field(max_length=60)] = None
    columns: list[Annotated[str, Field(max_length=60)]] = Field(
        default_factory=list,
        max_length=40,
        description="the columns the list shows, in order (GET /saved-views/columns names them); "
        "the record's name is always first; empty means the default columns",
    )
    q: Annotated[str | None, Field(max_length=200), AfterValidator(_trimmed_or_none)] = None


class ListColumnsOut(BaseModel):
    """The columns a reader may choose for a list of one kind, and those shown when none are chosen."""

    record_kind: RecordKind
    columns: list[str] = Field(description="every column you may choose, standard ones then custom fields")
    default: list[str] = Field(description="the columns a list or view without ``columns`` shows")


class SavedViewOut(BaseModel):
    id: str
    record_kind: RecordKind
    name: str
    owner_id: str
    is_shared: bool
    filters: list[str]
    sort: str | None
    columns: list[str]
    q: str | None
    version: int


class FieldChange(BaseModel):
    """One change of one field, from the audit log."""

    at: datetime
    actor: str
    action: str
    field: str
    old: Any
    new: Any
    old_label: str | None = Field(
        default=None, description="the name of the user, team or account when the old value is its id"
    )
    new_label: str | None = Field(
        default=None, description="the name of the user, team or account when the new value is its id"
    )


__all__ = ["BuyingRole"]  # re-exported: deals (sales) attach buying roles to contacts


# ---------------------------------------------------------------- duplicates and merges

MergeSide = Literal["survivor", "merged"]
MergeFieldName = Annotated[str, Field(min_length=1, max_length=60, pattern=r"^[a-z][a-z0-9_.]*$")]


class MergeIn(Input):
    """Merge ``merged_id`` into ``survivor_id`` (two records of the same kind).

    ``chosen`` says, per field (``custom_fields.<key>`` for custom fields), whose value the
    survivor keeps. A field not named keeps the survivor's value, or takes the merged record's
    when the survivor's is empty. Phones, emails and tags are unioned; jobs, relationships,
    subsidiaries and activities move to the survivor. The versions, when given, are the ones
    the user looked at: a record changed since then refuses the merge (412).
    """

    survivor_id: RecordId
    merged_id: RecordId
    chosen: dict[MergeFieldName, MergeSide] = Field(default_factory=dict, max_length=200)
    survivor_version: int | None = Field(default=None, ge=1)
    merged_version: int | None = Field(default=None, ge=1)


class MergeOut(BaseModel):
    """A merge as the API shows it; the snapshots it keeps for undo stay on the server."""

    id: str
    record_kind: RecordKind
    survivor_id: str
    survivor_label: str
    merged_id: str
    merged_label: str
    chosen: dict[str, MergeSide] = Field(description="whose value the survivor kept, per field that differed")
    moved: dict[str, int] = Field(description="how many phones, emails, tags, jobs, … moved to the survivor")
    created_at: IsoDateTime
    created_by: str | None
    undone_at: IsoDateTime | None
    undone_by: str | None
    is_undoable: bool = Field(description="not undone yet, and neither record changed since the merge")
    version: int


class MergeField(BaseModel):
    """One field whose values differ between the two records, for the merge screen."""

    field: str
    survivor_value: Any
    merged_value: Any
    default: MergeSide
    is_hidden: bool = Field(description="above the reader's clearance: only the survivor's value may be kept")


class MergePreview(BaseModel):
    """What a merge would do: fields to choose, and how much moves to the survivor."""

    record_kind: RecordKind
    survivor: AccountOut | ContactOut
    merged: AccountOut | ContactOut
    fields: list[MergeField]
    moves: dict[str, int]


class DuplicatePair(BaseModel):
    """Two live records that look like the same customer, for the list of possible duplicates."""

    record_kind: RecordKind
    first_id: str
    first_label: str
    second_id: str
    second_label: str
    reasons: list[str]


# ---------------------------------------------------------------- global search


class SearchMatch(StrEnum):
    """Why a record was found by the global search, best first (hits are ranked in this order)."""

    PHONE = "phone"  # the query is one of the record's phone numbers, whole
    EMAIL = "email"  # the query is one of the record's email addresses, whole
    CREDIT_CODE = "credit_code"  # the query is the account's credit code
    NAME = "name"  # the name, its pinyin or its initials begin with the query
    PARTIAL = "partial"  # every word is found elsewhere: inside a name, an identifier, a phone's end


class SearchHit(BaseModel):
    """One account or contact found by the global search, with what tells it apart from namesakes.

    Only fields every reader may see are shown; phones and emails are never part of a hit.
    """

    record_kind: RecordKind
    id: str
    name: str = Field(description="the account's name or the contact's full name")
    name_en: str | None = Field(default=None, description="an account's English name")
    title: str | None = Field(default=None, description="a contact's job title")
    account_name: str | None = Field(default=None, description="where a contact works now")
    city: str | None
    owner_name: str | None = None
    match: SearchMatch
