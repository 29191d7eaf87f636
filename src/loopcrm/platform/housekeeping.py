"""Hourly clean-up of short-lived platform rows, so tables that grow on every request stay small."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import delete

from loopcrm.platform.auth.models import LoginAttempt, PasswordReset, WebSession
from loopcrm.platform.http.idempotency import KEY_LIFETIME
from loopcrm.platform.http.models import IdempotentRequest
from loopcrm.platform.jobs.registry import JobContext, periodic
from loopcrm.platform.jobs.service import delete_finished_jobs
from loopcrm.platform.unit_of_work import UnitOfWork

# Sign-in attempts matter for rate limiting within the lockout window; a day is ample.
LOGIN_ATTEMPT_RETENTION = timedelta(days=1)
# Finished jobs stay visible on the admin page for a month; failed ones stay until retried.
FINISHED_JOB_RETENTION = timedelta(days=30)


@periodic("platform.housekeeping", every=timedelta(hours=1))
def remove_expired_rows(uow: UnitOfWork, payload: dict[str, Any], context: JobContext) -> None:
    """Delete expired sessions, spent reset links, old sign-in attempts, idempotency records
    past their lifetime, and jobs that finished long ago."""
    now = context.now
    session = uow.session
    session.execute(delete(WebSession).where(WebSession.expires_at < now))
    session.execute(delete(PasswordReset).where(PasswordReset.expires_at < now))
    session.execute(delete(LoginAttempt).where(LoginAttempt.at < now - LOGIN_ATTEMPT_RETENTION))
    session.execute(delete(IdempotentRequest).where(IdempotentRequest.created_at < now - KEY_LIFETIME))
    delete_finished_jobs(session, finished_before=now - FINISHED_JOB_RETENTION)
