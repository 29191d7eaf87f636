"""Contracts of the audit log API."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from loopcrm.platform.audit.models import AuditAction
from loopcrm.platform.timestamps import IsoDateTime


class AuditEntryOut(BaseModel):
    """One audit entry as the API returns it."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    at: datetime
    actor_id: str | None
    actor_label: str
    action: AuditAction
    object_type: str
    object_id: str | None
    changes: dict[str, Any]
    request_id: str | None
    ip: str | None


class AuditFilter(BaseModel):
    """Filters of the audit log list."""

    model_config = ConfigDict(extra="forbid")

    object_type: str | None = None
    object_id: str | None = None
    actor_id: str | None = None
    action: AuditAction | None = None
    since: IsoDateTime | None = None
    until: IsoDateTime | None = None
