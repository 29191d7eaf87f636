"""Customer master data: accounts (companies), contacts (people), their phones and emails, where
people work, how companies relate, tags, custom field definitions and saved list views.

Every vocabulary below is declared once here and used by the API, the forms, imports and
exports, so a value means the same thing everywhere.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from loopcrm.platform.db import Base, Record, SoftDeletable, new_id, utc_now


class Industry(StrEnum):
    """The 20 sections of China's national industry classification (GB/T 4754-2017)."""

    AGRICULTURE = "agriculture"  # A 农、林、牧、渔业
    MINING = "mining"  # B 采矿业
    MANUFACTURING = "manufacturing"  # C 制造业
    UTILITIES = "utilities"  # D 电力、热力、燃气及水生产和供应业
    CONSTRUCTION = "construction"  # E 建筑业
    WHOLESALE_RETAIL = "wholesale_retail"  # F 批发和零售业
    TRANSPORT_LOGISTICS = "transport_logistics"  # G 交通运输、仓储和邮政业
    HOSPITALITY = "hospitality"  # H 住宿和餐饮业
    INFORMATION_TECHNOLOGY = "information_technology"  # I 信息传输、软件和信息技术服务业
    FINANCE = "finance"  # J 金融业
    REAL_ESTATE = "real_estate"  # K 房地产业
    BUSINESS_SERVICES = "business_services"  # L 租赁和商务服务业
    RESEARCH_TECHNOLOGY = "research_technology"  # M 科学研究和技术服务业
    ENVIRONMENT_FACILITIES = "environment_facilities"  # N 水利、环境和公共设施管理业
    RESIDENT_SERVICES = "resident_services"  # O 居民服务、修理和其他服务业
    EDUCATION = "education"  # P 教育
    HEALTH_SOCIAL_WORK = "health_social_work"  # Q 卫生和社会工作
    CULTURE_SPORTS_MEDIA = "culture_sports_media"  # R 文化、体育和娱乐业
    PUBLIC_ADMINISTRATION = "public_administration"  # S 公共管理、社会保障和社会组织
    INTERNATIONAL_ORGANISATIONS = "international_organisations"  # T 国际组织


class OperatingStatus(StrEnum):
    """Whether a company legally operates (是否合法经营)."""

    ACTIVE = "active"  # registered and trading
    DORMANT = "dormant"  # registered but not trading (停业, 吊销未注销)
    DEREGISTERED = "deregistered"  # struck off the register (注销); keep for history only


class CustomerSource(StrEnum):
    """Where an account or contact first came from."""

    WEBSITE = "website"  # a form or sign-up on our site
    REFERRAL = "referral"  # recommended by a customer or partner
    EVENT = "event"  # trade show, seminar, meetup
    COLD_OUTREACH = "cold_outreach"  # our own calls and emails
    ADVERTISING = "advertising"  # paid search, social ads, print
    PARTNER = "partner"  # brought in by a channel partner
    SOCIAL_MEDIA = "social_media"  # WeChat, Weibo, LinkedIn, …
    E_COMMERCE = "e_commerce"  # a store or marketplace order
    IMPORT = "import"  # a file import without a better answer
    CDP = "cdp"  # made by the CDP for a person its events identified (cdp_create_contacts)
    OTHER = "other"  # anything else


class Gender(StrEnum):
    """A contact's gender as they gave it; unknown unless told."""

    FEMALE = "female"
    MALE = "male"
    OTHER = "other"
    UNKNOWN = "unknown"


class BuyingRole(StrEnum):
    """The part a contact plays in a buying decision (采购角色); deals attach it per opportunity."""

    DECISION_MAKER = "decision_maker"  # makes the final call
    ECONOMIC_BUYER = "economic_buyer"  # controls the budget
    TECHNICAL_EVALUATOR = "technical_evaluator"  # judges the fit of the product
    INFLUENCER = "influencer"  # shapes the opinion of those who decide
    USER = "user"  # will use the product every day
    GATEKEEPER = "gatekeeper"  # controls access to the people who decide
    CHAMPION = "champion"  # sells for us inside the customer


class RelationshipKind(StrEnum):
    """How one account relates to another (客户的客户): read "<from> is <kind> <to>"."""

    CUSTOMER_OF = "customer_of"  # buys from the other account
    PARTNER_OF = "partner_of"  # works with the other account
    SUPPLIER_OF = "supplier_of"  # sells to the other account
    COMPETITOR_OF = "competitor_of"  # competes with the other account


class ContactPointKind(StrEnum):
    """The kind of a phone number or email address of an account or contact."""

    EMAIL = "email"
    PHONE = "phone"


class ContactPointLabel(StrEnum):
    """What a phone number or an email address is for."""

    MOBILE = "mobile"
    WORK = "work"
    HOME = "home"
    FAX = "fax"
    OTHER = "other"


class CustomFieldKind(StrEnum):
    """The type of an admin-defined field; decides its input, validation, filters and sorting."""

    TEXT = "text"  # one line, up to 500 characters
    LONG_TEXT = "long_text"  # several lines, up to 10,000 characters
    NUMBER = "number"  # a decimal number
    MONEY = "money"  # an amount in yuan with two decimals
    DATE = "date"  # a calendar date
    SELECT = "select"  # one of the field's options
    MULTI_SELECT = "multi_select"  # any of the field's options
    BOOLEAN = "boolean"  # yes or no
    USER = "user"  # a LoopCRM user
    URL = "url"  # a web address


class RecordKind(StrEnum):
    """The customer records that phones, emails, tags and custom fields attach to."""

    ACCOUNT = "account"
    CONTACT = "contact"


class Account(Record, SoftDeletable, Base):
    """A customer organisation (公司/客户)."""

    __tablename__ = "accounts"

    name: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str | None] = mapped_column(String(200))
    credit_code: Mapped[str | None] = mapped_column(String(18))
    industry: Mapped[str | None] = mapped_column(String(40))
    employee_count: Mapped[int | None] = mapped_column(Integer)
    annual_revenue: Mapped[Decimal | None] = mapped_column(Numeric(18, 2))
    province: Mapped[str | None] = mapped_column(String(50))
    city: Mapped[str | None] = mapped_column(String(50))
    address: Mapped[str | None] = mapped_column(String(300))
    website: Mapped[str | None] = mapped_column(String(300))
    domain: Mapped[str | None] = mapped_column(String(253), index=True)
    legal_representative: Mapped[str | None] = mapped_column(String(100))
    operating_status: Mapped[str] = mapped_column(String(20), default=OperatingStatus.ACTIVE.value)
    parent_id: Mapped[str | None] = mapped_column(ForeignKey("accounts.id"), index=True)
    source: Mapped[str | None] = mapped_column(String(30))
    owner_id: Mapped[str | None] = mapped_column(ForeignKey("users.id"))
    team_id: Mapped[str | None] = mapped_column(ForeignKey("teams.id"))
    external_id: Mapped[str | None] = mapped_column(String(100))
    description: Mapped[str | None] = mapped_column(Text)
    custom_fields: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Derived keys, kept in step by the service: duplicate matching and the search index read them.
    name_key: Mapped[str] = mapped_column(String(200), default="")
    search_text: Mapped[str] = mapped_column(Text, default="")

    __table_args__ = (
        Index(
            "ix_accounts_credit_code_live",
            "credit_code",
            unique=True,
            sqlite_where=text("deleted_at IS NULL AND credit_code IS NOT NULL"),
            postgresql_where=text("deleted_at IS NULL AND credit_code IS NOT NULL"),
        ),
        Index(
            "ix_accounts_external_id_live",
            "external_id",
            unique=True,
            sqlite_where=text("deleted_at IS NULL AND external_id IS NOT NULL"),
            postgresql_where=text("deleted_at IS NULL AND external_id IS NOT NULL"),
        ),
        Index("ix_accounts_name_key_city", "name_key", "city"),
        # Scope lists newest first and scope lookups by id; date-sorted lists (migration
        # 20261125_customers_list_indexes).
        Index("ix_accounts_owner_id", "owner_id", "id"),
        # A rep's records among full-text matches, one seek each (ends in the rowid on SQLite).
        Index("ix_accounts_owner", "owner_id"),
        Index("ix_accounts_team_id", "team_id", "id"),
        Index("ix_accounts_created_at", "created_at"),
        Index("ix_accounts_updated_at", "updated_at"),
        Index("ix_accounts_name", "name", "id"),  # 20261219_customers_name_order
    )


class Contact(Record, SoftDeletable, Base):
    """A person (联系人); B2C customers are contacts without an account."""

    __tablename__ = "contacts"

    family_name: Mapped[str] = mapped_column(String(100), default="")
    given_name: Mapped[str] = mapped_column(String(100), default="")
    full_name: Mapped[str] = mapped_column(String(201))
    name_pinyin: Mapped[str] = mapped_column(String(400), default="")
    name_initials: Mapped[str] = mapped_column(String(100), default="")
    gender: Mapped[str] = mapped_column(String(10), default=Gender.UNKNOWN.value)
    title: Mapped[str | None] = mapped_column(String(100))
    department: Mapped[str | None] = mapped_column(String(100))
    wechat_id: Mapped[str | None] = mapped_column(String(100))
    province: Mapped[str | None] = mapped_column(String(50))
    city: Mapped[str | None] = mapped_column(String(50))
    address: Mapped[str | None] = mapped_column(String(300))
    birthday: Mapped[date | None] = mapped_column(Date)
    source: Mapped[str | None] = mapped_column(String(30))
    owner_id: Mapped[str | None] = mapped_column(ForeignKey("users.id"))
    team_id: Mapped[str | None] = mapped_column(ForeignKey("teams.id"))
    external_id: Mapped[str | None] = mapped_column(String(100))
    description: Mapped[str | None] = mapped_column(Text)
    email_opt_in: Mapped[bool] = mapped_column(Boolean, default=False)
    sms_opt_in: Mapped[bool] = mapped_column(Boolean, default=False)
    wechat_opt_in: Mapped[bool] = mapped_column(Boolean, default=False)
    consent_updated_at: Mapped[datetime | None] = mapped_column(default=None)
    custom_fields: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    name_key: Mapped[str] = mapped_column(String(200), default="")
    search_text: Mapped[str] = mapped_column(Text, default="")

    __table_args__ = (
        Index(
            "ix_contacts_external_id_live",
            "external_id",
            unique=True,
            sqlite_where=text("deleted_at IS NULL AND external_id IS NOT NULL"),
            postgresql_where=text("deleted_at IS NULL AND external_id IS NOT NULL"),
        ),
        Index("ix_contacts_name_key_city", "name_key", "city"),
        # Scope lists newest first and scope lookups by id; date-sorted lists (migration
        # 20261125_customers_list_indexes).
        Index("ix_contacts_owner_id", "owner_id", "id"),
        # A rep's records among full-text matches, one seek each (ends in the rowid on SQLite).
        Index("ix_contacts_owner", "owner_id"),
        Index("ix_contacts_team_id", "team_id", "id"),
        Index("ix_contacts_created_at", "created_at"),
        Index("ix_contacts_updated_at", "updated_at"),
        Index("ix_contacts_owner_full_name", "owner_id", "full_name"),
        Index("ix_contacts_owner_created_at", "owner_id", "created_at"),
        # A rep's contacts by last change, a city's contacts by name (20261202_customers_search_speed).
        Index("ix_contacts_owner_updated_at", "owner_id", "updated_at", "id"),
        Index("ix_contacts_city_full_name", "city", "full_name", "id"),
        # Names in the search's candidate order (name, then id), and a city's contacts newest
        # first, each from one index range (20261219_customers_name_order).
        Index("ix_contacts_full_name", "full_name", "id"),
        Index("ix_contacts_name_pinyin", "name_pinyin", "id"),
        Index("ix_contacts_name_initials", "name_initials", "id"),
        Index("ix_contacts_city_created_at", "city", "created_at", "id"),
    )


class ContactPoint(Base):
    """A phone number or email address of an account or a contact.

    One table for both kinds and both owners, so "who has this email / a phone ending in 5678"
    is one indexed lookup for search, duplicates and imports. ``search_key`` is the lowercased
    email, or the phone's digits reversed (a suffix search becomes a prefix search).
    """

    __tablename__ = "contact_points"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    record_kind: Mapped[str] = mapped_column(String(10))
    record_id: Mapped[str] = mapped_column(String(36))
    kind: Mapped[str] = mapped_column(String(10))
    value: Mapped[str] = mapped_column(String(320))
    search_key: Mapped[str] = mapped_column(String(320))
    label: Mapped[str] = mapped_column(String(10), default=ContactPointLabel.WORK.value)
    is_primary: Mapped[bool] = mapped_column(Boolean, default=False)
    position: Mapped[int] = mapped_column(Integer, default=0)

    __table_args__ = (
        Index("ix_contact_points_record", "record_kind", "record_id"),
        Index("ix_contact_points_search_key", "kind", "search_key", "record_kind", "record_id"),
    )


class Employment(Base):
    """A contact working for an account, with dates: people change jobs, history stays."""

    __tablename__ = "employments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    contact_id: Mapped[str] = mapped_column(ForeignKey("contacts.id"), index=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"), index=True)
    title: Mapped[str | None] = mapped_column(String(100))
    started_on: Mapped[date | None] = mapped_column(Date)
    ended_on: Mapped[date | None] = mapped_column(Date)
    is_primary: Mapped[bool] = mapped_column(Boolean, default=False)


class AccountRelationship(Base):
    """A directed relationship between two accounts: "<from> is <kind> <to>"."""

    __tablename__ = "account_relationships"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    from_account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"), index=True)
    to_account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    note: Mapped[str | None] = mapped_column(String(300))

    __table_args__ = (UniqueConstraint("from_account_id", "to_account_id", "kind"),)


class Tag(Record, Base):
    """A coloured label put on accounts and contacts (and later leads and deals)."""

    __tablename__ = "tags"

    name: Mapped[str] = mapped_column(String(50), unique=True)
    colour: Mapped[str] = mapped_column(String(7), default="#4b6bfb")
    description: Mapped[str | None] = mapped_column(String(200))


class Tagging(Base):
    """One tag on one record."""

    __tablename__ = "taggings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    tag_id: Mapped[str] = mapped_column(ForeignKey("tags.id", ondelete="CASCADE"))
    record_kind: Mapped[str] = mapped_column(String(10))
    record_id: Mapped[str] = mapped_column(String(36))

    __table_args__ = (
        UniqueConstraint("tag_id", "record_kind", "record_id"),
        Index("ix_taggings_record", "record_kind", "record_id"),
    )


class CustomFieldDefinition(Record, Base):
    """An admin-defined field of accounts or contacts; values live in the record's ``custom_fields``.

    ``options`` (select kinds) is a list of ``{"value", "label", "label_en"}``; a value, once
    used, keeps its meaning — options are archived, not renamed.
    """

    __tablename__ = "custom_field_definitions"

    record_kind: Mapped[str] = mapped_column(String(10))
    key: Mapped[str] = mapped_column(String(40))
    label: Mapped[str] = mapped_column(String(100))
    label_en: Mapped[str | None] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(20))
    options: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)
    security_level: Mapped[str] = mapped_column(String(20), default="public")
    is_required: Mapped[bool] = mapped_column(Boolean, default=False)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    help_text: Mapped[str | None] = mapped_column(String(300))

    __table_args__ = (UniqueConstraint("record_kind", "key"),)


class SavedView(Record, Base):
    """A named list view (filters, sort, columns) of accounts or contacts, private or shared."""

    __tablename__ = "saved_views"

    record_kind: Mapped[str] = mapped_column(String(10))
    name: Mapped[str] = mapped_column(String(100))
    owner_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    is_shared: Mapped[bool] = mapped_column(Boolean, default=False)
    definition: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class CustomerMerge(Record, Base):
    """One merge of two accounts or two contacts into one, kept so it can be undone exactly.

    ``survivor_before`` and ``merged_before`` are the raw rows of both records just before the
    merge (every column, unmasked) with their phones, emails, taggings, employments,
    relationships and child accounts; ``moved`` names the rows the merge moved from the merged
    record to the survivor (and how they looked before), and the activity links the activities
    module reassigned. ``survivor_version`` and ``merged_version`` are the records' versions right
    after the merge: undo refuses once either record changed, because restoring the snapshot would
    silently drop that later change. The snapshots hold values above some readers' clearance, so
    they are never shown through the API.
    """

    __tablename__ = "customer_merges"

    record_kind: Mapped[str] = mapped_column(String(10))
    survivor_id: Mapped[str] = mapped_column(String(36))
    merged_id: Mapped[str] = mapped_column(String(36))
    chosen: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    survivor_before: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    merged_before: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    moved: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    survivor_version: Mapped[int] = mapped_column(Integer)
    merged_version: Mapped[int] = mapped_column(Integer)
    undone_at: Mapped[datetime | None] = mapped_column(default=None)
    undone_by: Mapped[str | None] = mapped_column(String(36), default=None)

    __table_args__ = (
        Index("ix_customer_merges_survivor", "record_kind", "survivor_id"),
        Index("ix_customer_merges_merged", "record_kind", "merged_id"),
    )

    @property
    def is_undone(self) -> bool:
        return self.undone_at is not None


# ---------------------------------------------------------------- imports


class ImportStatus(StrEnum):
    """Where an import run is in its life."""

    UPLOADED = "uploaded"  # the file is stored and its columns read; waiting for a mapping and a start
    QUEUED = "queued"  # started; its first chunk waits for a worker
    RUNNING = "running"  # a worker lands the rows chunk by chunk; the counts move as chunks commit
    COMPLETED = "completed"  # every row was processed; rejected rows and their reasons are in the report
    FAILED = "failed"  # the file could not be read to its end; rows landed before that stay (undoable)
    UNDOING = "undoing"  # an undo was asked for; a worker reverses the run chunk by chunk
    UNDONE = "undone"  # the run was reversed, except records changed since the import (counted)


class ImportRowOutcome(StrEnum):
    """What one row of an imported file came to."""

    CREATED = "created"  # a new record was made from the row
    UPDATED = "updated"  # the record the upsert key found was changed to the row's values
    UNCHANGED = "unchanged"  # the record the upsert key found already held the row's values
    REJECTED = "rejected"  # nothing was written for the row; its reasons say why


class UpsertKey(StrEnum):
    """How an import finds the existing record a row describes."""

    NONE = "none"  # never: every valid row creates a record
    EMAIL = "email"  # a live record of the kind with one of the row's email addresses
    PHONE = "phone"  # a live record of the kind with one of the row's phone numbers
    CREDIT_CODE = "credit_code"  # the live account with the row's credit code (accounts only)
    EXTERNAL_ID = "external_id"  # the live record with the row's id in the other system


class ImportUndoOutcome(StrEnum):
    """What undoing an import did to the record one row had written."""

    REVERSED = "reversed"  # a created record was deleted, an updated one got its previous values back
    SKIPPED = "skipped"  # the record changed (or was deleted) after the import; it was left as it is


class ImportRun(Base):
    """One import of a CSV or XLSX file into accounts or contacts, with its progress and counts.

    The uploaded file lives in ``<data_dir>/imports/<id>/`` until the run finishes (ADR 0006).
    ``mapping`` names the target of each column in file order (``ignore`` for none); the run's
    importer (``created_by``) is the actor its rows are written as, so scope and field rules
    are the importer's, exactly as through the API.
    """

    __tablename__ = "customer_import_runs"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    record_kind: Mapped[str] = mapped_column(String(10))
    file_name: Mapped[str] = mapped_column(String(255))
    file_format: Mapped[str] = mapped_column(String(10))
    encoding: Mapped[str | None] = mapped_column(String(20), default=None)
    file_size: Mapped[int] = mapped_column(Integer, default=0)
    headers: Mapped[list[str]] = mapped_column(JSON, default=list)
    mapping: Mapped[list[str]] = mapped_column(JSON, default=list)
    upsert_key: Mapped[str] = mapped_column(String(20), default=UpsertKey.NONE.value)
    status: Mapped[str] = mapped_column(String(12), default=ImportStatus.UPLOADED.value)
    total_rows: Mapped[int | None] = mapped_column(Integer, default=None)
    processed_rows: Mapped[int] = mapped_column(Integer, default=0)
    created_count: Mapped[int] = mapped_column(Integer, default=0)
    updated_count: Mapped[int] = mapped_column(Integer, default=0)
    unchanged_count: Mapped[int] = mapped_column(Integer, default=0)
    rejected_count: Mapped[int] = mapped_column(Integer, default=0)
    warning_count: Mapped[int] = mapped_column(Integer, default=0)
    reversed_count: Mapped[int] = mapped_column(Integer, default=0)
    undo_skipped_count: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    created_by: Mapped[str] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    started_at: Mapped[datetime | None] = mapped_column(default=None)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)
    undone_by: Mapped[str | None] = mapped_column(String(36), default=None)
    undone_at: Mapped[datetime | None] = mapped_column(default=None)

    __table_args__ = (Index("ix_customer_import_runs_created_by", "created_by", "id"),)


class ImportRowResult(Base):
    """What one row of a run came to, kept for the report and for undo.

    Rows that changed nothing and raised no warning are only counted. ``cells`` are the row's
    original values (for the report), ``problems`` and ``warnings`` lists of
    ``{"field", "column", "message", "params"}`` whose messages are English msgids translated
    when the report is read. ``previous`` holds what an update overwrote, and
    ``record_version`` the record's version right after the run wrote it: undo restores
    ``previous`` only while the record still has that version.
    """

    __tablename__ = "customer_import_rows"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(ForeignKey("customer_import_runs.id", ondelete="CASCADE"))
    row_number: Mapped[int] = mapped_column(Integer)
    outcome: Mapped[str] = mapped_column(String(10))
    record_id: Mapped[str | None] = mapped_column(String(36), default=None)
    record_version: Mapped[int | None] = mapped_column(Integer, default=None)
    # none_as_null: rows are inserted in bulk, and a missing value must be SQL NULL, not JSON null.
    cells: Mapped[list[str] | None] = mapped_column(JSON(none_as_null=True), default=None)
    problems: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON(none_as_null=True), default=None)
    warnings: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON(none_as_null=True), default=None)
    previous: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True), default=None)
    undo_outcome: Mapped[str | None] = mapped_column(String(10), default=None)

    __table_args__ = (
        Index("ix_customer_import_rows_run_row", "run_id", "row_number"),
        Index("ix_customer_import_rows_record", "record_id"),
    )


class ImportMapping(Base):
    """A column mapping a user chose, remembered for the next file with the same header row."""

    __tablename__ = "customer_import_mappings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    record_kind: Mapped[str] = mapped_column(String(10))
    signature: Mapped[str] = mapped_column(String(64))
    mapping: Mapped[list[str]] = mapped_column(JSON, default=list)
    upsert_key: Mapped[str] = mapped_column(String(20), default=UpsertKey.NONE.value)
    updated_at: Mapped[datetime] = mapped_column(default=utc_now)

    __table_args__ = (UniqueConstraint("user_id", "record_kind", "signature"),)
