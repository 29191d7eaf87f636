"""Tables of leads (销售线索), their scoring rules, the public web forms that capture them, the
submissions of those forms (for the rate limit) and lead imports with their rejected rows.

A lead is a person and a company not yet qualified as a customer. Its contact points are plain
columns (one email, one phone in E.164), unlike accounts and contacts: a lead is a single
enquiry, and a converted lead's contact keeps the full list.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from loopcrm.platform.db import Base, Record, SoftDeletable, new_id, utc_now


class LeadStatus(StrEnum):
    """Where a lead stands in qualification."""

    NEW = "new"  # captured, nobody has worked it yet
    WORKING = "working"  # an owner is contacting the person
    NURTURING = "nurturing"  # interested but not ready; kept warm by marketing
    QUALIFIED = "qualified"  # converted into a contact (and an account / opportunity)
    DISQUALIFIED = "disqualified"  # not a prospect; a disqualification reason is required


OPEN_LEAD_STATUSES = (LeadStatus.NEW.value, LeadStatus.WORKING.value, LeadStatus.NURTURING.value)


class DisqualificationReason(StrEnum):
    """Why a lead was disqualified (one is required, a note may add detail)."""

    NO_BUDGET = "no_budget"  # cannot pay for what we sell
    NO_NEED = "no_need"  # has no use for what we sell
    NO_AUTHORITY = "no_authority"  # cannot decide and will not lead us to who does
    BAD_TIMING = "bad_timing"  # not buying in any foreseeable period
    COMPETITOR = "competitor"  # chose, or is, a competitor
    UNREACHABLE = "unreachable"  # never answered after repeated attempts
    DUPLICATE = "duplicate"  # the same person as another lead or a contact
    SPAM = "spam"  # not a real enquiry
    OTHER = "other"  # anything else; say what in the note


class ScoringRuleKind(StrEnum):
    """What a lead scoring rule gives points for."""

    ATTRIBUTE = "attribute"  # the field has exactly this value (industry = finance)
    PRESENCE = "presence"  # the field is filled in (has an email)
    ACTIVITY = "activity"  # each activity of this kind logged on the lead (each call)


class SubmissionOutcome(StrEnum):
    """What became of one post of a public web form."""

    ACCEPTED = "accepted"  # a lead was created
    HONEYPOT = "honeypot"  # the hidden field was filled: a bot; dropped without telling it


class Lead(Record, SoftDeletable, Base):
    """A person and company that showed interest and are not yet qualified (销售线索)."""

    __tablename__ = "sales_leads"

    family_name: Mapped[str] = mapped_column(String(100), default="")
    given_name: Mapped[str] = mapped_column(String(100), default="")
    full_name: Mapped[str] = mapped_column(String(200), default="")
    title: Mapped[str | None] = mapped_column(String(100))
    email: Mapped[str | None] = mapped_column(String(320))  # lower-cased
    phone: Mapped[str | None] = mapped_column(String(40))  # E.164
    company_name: Mapped[str | None] = mapped_column(String(200))
    industry: Mapped[str | None] = mapped_column(String(40))  # customers.Industry values
    province: Mapped[str | None] = mapped_column(String(50))
    city: Mapped[str | None] = mapped_column(String(50))
    website: Mapped[str | None] = mapped_column(String(300))
    source: Mapped[str | None] = mapped_column(String(30))  # customers.CustomerSource values
    utm_campaign: Mapped[str | None] = mapped_column(String(100))
    utm_medium: Mapped[str | None] = mapped_column(String(100))
    utm_source: Mapped[str | None] = mapped_column(String(100))
    description: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default=LeadStatus.NEW.value)
    disqualification_reason: Mapped[str | None] = mapped_column(String(30))
    disqualification_note: Mapped[str | None] = mapped_column(Text)
    owner_id: Mapped[str | None] = mapped_column(ForeignKey("users.id"))
    team_id: Mapped[str | None] = mapped_column(ForeignKey("teams.id"))
    score: Mapped[int] = mapped_column(Integer, default=0)
    # Activities counted per kind at the last scoring, so lists show the score without a query
    # into activities per row.
    activity_counts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    form_id: Mapped[str | None] = mapped_column(String(36))  # the web form that captured it
    converted_at: Mapped[datetime | None] = mapped_column(default=None)
    converted_by: Mapped[str | None] = mapped_column(String(36))
    converted_account_id: Mapped[str | None] = mapped_column(String(36))
    converted_contact_id: Mapped[str | None] = mapped_column(String(36))
    converted_opportunity_id: Mapped[str | None] = mapped_column(String(36))

    __table_args__ = (
        Index("ix_sales_leads_owner", "owner_id", "id"),
        Index("ix_sales_leads_status", "status", "id"),
        Index("ix_sales_leads_email", "email"),
        Index("ix_sales_leads_phone", "phone"),
        Index("ix_sales_leads_score", "score", "id"),
    )


class LeadScoringRule(Record, Base):
    """Points a lead earns for an attribute value, a filled field or each activity of a kind."""

    __tablename__ = "sales_lead_scoring_rules"

    kind: Mapped[str] = mapped_column(String(20))  # ScoringRuleKind
    field: Mapped[str] = mapped_column(String(40))  # a lead field; "activity" for activity rules
    value: Mapped[str | None] = mapped_column(String(100))  # the value, or the activity kind
    points: Mapped[int] = mapped_column(Integer, default=0)
    position: Mapped[int] = mapped_column(Integer, default=0)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)


class LeadForm(Record, Base):
    """A public web form that creates leads, embedded on other sites by its token."""

    __tablename__ = "sales_lead_forms"

    name: Mapped[str] = mapped_column(String(100))
    token: Mapped[str] = mapped_column(String(64), unique=True)
    fields: Mapped[list[str]] = mapped_column(JSON, default=list)  # lead fields shown, in order
    required_fields: Mapped[list[str]] = mapped_column(JSON, default=list)
    title: Mapped[str | None] = mapped_column(String(200))
    thank_you_message: Mapped[str] = mapped_column(Text, default="")
    allowed_origins: Mapped[list[str]] = mapped_column(JSON, default=list)  # https://example.com
    source: Mapped[str] = mapped_column(String(30), default="website")
    utm_campaign: Mapped[str | None] = mapped_column(String(100))
    owner_id: Mapped[str | None] = mapped_column(ForeignKey("users.id"))  # when no rule assigns one
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)


class LeadFormSubmission(Base):
    """One post of a public web form: what the per-IP and per-form rate limits count."""

    __tablename__ = "sales_lead_form_submissions"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    form_id: Mapped[str] = mapped_column(ForeignKey("sales_lead_forms.id"))
    ip: Mapped[str] = mapped_column(String(64))
    submitted_at: Mapped[datetime] = mapped_column(default=utc_now)
    outcome: Mapped[str] = mapped_column(String(20))  # SubmissionOutcome
    lead_id: Mapped[str | None] = mapped_column(String(36))

    __table_args__ = (
        Index("ix_sales_lead_form_submissions_ip", "ip", "submitted_at"),
        Index("ix_sales_lead_form_submissions_form", "form_id", "submitted_at"),
    )


class LeadImport(Record, Base):
    """One import of a CSV or XLSX file of leads, with every rejected row and its reasons."""

    __tablename__ = "sales_lead_imports"

    file_name: Mapped[str] = mapped_column(String(300))
    total_rows: Mapped[int] = mapped_column(Integer, default=0)
    created_count: Mapped[int] = mapped_column(Integer, default=0)
    updated_count: Mapped[int] = mapped_column(Integer, default=0)
    unchanged_count: Mapped[int] = mapped_column(Integer, default=0)
    rejected_count: Mapped[int] = mapped_column(Integer, default=0)
    # [{"row": 3, "values": {...}, "errors": [{"field": ..., "message": ...}]}]
    rejected_rows: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    header: Mapped[list[str]] = mapped_column(JSON, default=list)
