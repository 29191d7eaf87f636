"""The audit log table. Rows are only ever inserted; database triggers refuse updates and deletes."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from loopcrm.platform.db import Base, new_id, utc_now


class AuditAction(StrEnum):
    """What happened to the record."""

    CREATE = "create"  # the record was created; changes hold the initial values
    UPDATE = "update"  # fields changed; changes hold old → new
    DELETE = "delete"  # the record was deleted (soft or hard)
    RESTORE = "restore"  # a deleted record came back
    READ = "read"  # sensitive fields were read; changes name them, without values
    LOGIN = "login"  # a user signed in
    LOGIN_FAILED = "login_failed"  # a sign-in was refused
    LOGOUT = "logout"  # a user signed out
    PASSWORD_RESET = "password_reset"  # noqa: S105 -- an action name, not a password; a password was reset through an emailed link


class AuditEntry(Base):
    """One audited event. ``changes`` maps a field to ``[old, new]`` (or to ``None`` for reads)."""

    __tablename__ = "audit_entries"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    at: Mapped[datetime] = mapped_column(default=utc_now)
    actor_id: Mapped[str | None] = mapped_column(String(36), default=None)
    actor_label: Mapped[str] = mapped_column(String(320))
    action: Mapped[str] = mapped_column(String(32))
    object_type: Mapped[str] = mapped_column(String(64))
    object_id: Mapped[str | None] = mapped_column(String(64), default=None)
    changes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    request_id: Mapped[str | None] = mapped_column(String(64), default=None)
    ip: Mapped[str | None] = mapped_column(String(64), default=None)

    __table_args__ = (
        Index("ix_audit_entries_object", "object_type", "object_id", "id"),
        Index("ix_audit_entries_actor_id", "actor_id", "id"),
        Index("ix_audit_entries_at", "at"),
    )
