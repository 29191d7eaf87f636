"""The record an erasure leaves: which profile rows were erased, why, by whom and how many rows
of each kind were removed — ids and counts only, never a value that could name the person."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from loopcrm.platform.db import Base, new_id, utc_now

# A ticket or case number of the request (e.g. "DSR-2026-0042"), so the erasure can be matched
# with the request it fulfilled. Letters, digits and a few separators only: a free text field
# would invite names and emails into a record that must hold none.
MAX_REFERENCE_LENGTH = 64
REFERENCE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:/#-]*$"


class ErasureReason(StrEnum):
    """Why a person's data was erased (a fixed list, so the record stays free of personal text)."""

    DATA_SUBJECT_REQUEST = "data_subject_request"  # the person asked (GDPR art. 17, PIPL art. 47)
    CONSENT_WITHDRAWN = "consent_withdrawn"  # the person withdrew the consent the data relied on
    RETENTION_EXPIRED = "retention_expired"  # the retention period for the data ended
    LEGAL_ORDER = "legal_order"  # a court or authority ordered it


class Erasure(Base):
    """One erasure of a profile and every profile merged into it."""

    __tablename__ = "cdp_erasures"
    __table_args__ = (Index("ix_cdp_erasures_profile", "profile_id"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    profile_id: Mapped[str] = mapped_column(String(36))  # the profile the request named
    profile_ids: Mapped[list[str]] = mapped_column(JSON)  # it and every profile merged into it
    reason: Mapped[str] = mapped_column(String(32))  # an ErasureReason
    reference: Mapped[str | None] = mapped_column(String(MAX_REFERENCE_LENGTH), default=None)
    counts: Mapped[dict[str, Any]] = mapped_column(JSON)  # table → rows erased or blanked
    erased_at: Mapped[datetime] = mapped_column(default=utc_now)
    erased_by: Mapped[str | None] = mapped_column(String(36), default=None)  # the user's id
