"""Contracts of the job queue: what admins see of a job."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from loopcrm.platform.jobs.models import JobStatus


class JobOut(BaseModel):
    """One job as services return it to the admin API, the admin page and callers of ``enqueue``."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    name: str
    payload: dict[str, Any]
    status: JobStatus
    run_at: datetime
    attempts: int
    max_attempts: int
    lease_until: datetime | None
    worker_id: str | None
    last_error: str | None
    idempotency_key: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
