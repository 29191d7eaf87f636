"""The job table and the rules of a job's life: when it may be claimed, retried or cancelled."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ColumnElement, Index, Integer, String, Text, and_, or_
from sqlalchemy.orm import Mapped, mapped_column

from loopcrm.platform.db import Base, new_id, utc_now


class JobStatus(StrEnum):
    """Where a job is in its life."""

    QUEUED = "queued"  # waiting for run_at, then any worker may claim it
    RUNNING = "running"  # claimed by worker_id until lease_until; claimable again once that passes
    SUCCEEDED = "succeeded"  # the handler's transaction committed together with this status
    FAILED = "failed"  # every attempt failed; last_error says why; an admin may retry it
    CANCELLED = "cancelled"  # an admin stopped it before it ran; an admin may retry it


# Statuses from which an admin may send a job back to the queue.
RETRYABLE_STATUSES = frozenset({JobStatus.FAILED, JobStatus.CANCELLED})

# Task names and idempotency keys are code-chosen identifiers, not user text; a periodic slot key
# is the task name, "@" and a 32-character ISO time, so keys need room for a name plus 33.
MAX_NAME_LENGTH = 200
MAX_IDEMPOTENCY_KEY_LENGTH = 255

# Tracebacks are kept for the admin page, tail first: the last lines name the error; a runaway
# message (a whole HTTP response body) must not bloat the table.
MAX_ERROR_LENGTH = 4000


class Job(Base):
    """One unit of background work: a registered task's name and its JSON payload.

    ``attempts`` counts claims, including claims whose worker died; it doubles as the claim's
    fencing token, so a worker that lost its lease can never overwrite the row of the worker
    that took over.
    """

    __tablename__ = "jobs"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(MAX_NAME_LENGTH))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(16), default=JobStatus.QUEUED.value)
    run_at: Mapped[datetime] = mapped_column(default=utc_now)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer)
    lease_until: Mapped[datetime | None] = mapped_column(default=None)
    worker_id: Mapped[str | None] = mapped_column(String(200), default=None)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
    idempotency_key: Mapped[str | None] = mapped_column(
        String(MAX_IDEMPOTENCY_KEY_LENGTH), unique=True, default=None
    )
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    started_at: Mapped[datetime | None] = mapped_column(default=None)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)

    __table_args__ = (
        Index("ix_jobs_status_run_at", "status", "run_at"),  # due queued jobs, oldest first
        Index("ix_jobs_status_lease_until", "status", "lease_until"),  # running jobs whose worker died
        Index("ix_jobs_status_id", "status", "id"),  # the admin list of one status, newest first
        Index("ix_jobs_name_status", "name", "status"),  # is a periodic task's last run unfinished?
    )

    @property
    def is_retryable(self) -> bool:
        """An admin may queue the job again only once it has stopped for good."""
        return self.status in RETRYABLE_STATUSES

    @property
    def is_cancellable(self) -> bool:
        """Only a job no worker holds can be cancelled: a running handler cannot be stopped."""
        return self.status == JobStatus.QUEUED

    @property
    def has_attempts_left(self) -> bool:
        return self.attempts < self.max_attempts

    @classmethod
    def claimable(cls, now: datetime) -> ColumnElement[bool]:
        """Jobs a worker may take at ``now``: due queued jobs and running jobs whose lease expired."""
        return or_(
            and_(cls.status == JobStatus.QUEUED.value, cls.run_at <= now),
            and_(cls.status == JobStatus.RUNNING.value, cls.lease_until < now),
        )

    @classmethod
    def held_by(cls, job_id: str, worker_id: str, attempt: int) -> ColumnElement[bool]:
        """The fence: the job is still this worker's claim for this attempt."""
        return and_(
            cls.id == job_id,
            cls.status == JobStatus.RUNNING.value,
            cls.worker_id == worker_id,
            cls.attempts == attempt,
        )


def truncate_error(text: str) -> str:
    """Keep the end of an error report, where the exception's type and message are."""
    if len(text) <= MAX_ERROR_LENGTH:
        return text
    return "…" + text[-(MAX_ERROR_LENGTH - 1) :]
