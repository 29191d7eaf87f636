"""REST route of the audit log."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from loopcrm.platform.audit import service as audit
from loopcrm.platform.audit.schemas import AuditEntryOut, AuditFilter
from loopcrm.platform.http.dependencies import DEFAULT_PAGE_SIZE, CurrentActor, Cursor, Limit, Uow
from loopcrm.platform.pagination import Page

router = APIRouter()


@router.get("/audit-log", response_model=Page[AuditEntryOut], tags=["audit log"])
def list_audit_entries(
    actor: CurrentActor,
    uow: Uow,
    filters: Annotated[AuditFilter, Depends()],
    limit: Limit = DEFAULT_PAGE_SIZE,
    cursor: Cursor = None,
) -> Page[AuditEntryOut]:
    """Audit entries, newest first, filtered by record, actor, action and time."""
    return audit.list_entries(uow, actor, filters, limit=limit, cursor=cursor)
