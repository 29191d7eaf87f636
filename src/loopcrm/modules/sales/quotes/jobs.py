"""Background tasks of quotes: emailing a quote with its PDF, and expiring quotes past validity."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from loopcrm.modules.sales.quotes import service as quotes
from loopcrm.platform.jobs.registry import JobContext, periodic, task
from loopcrm.platform.permissions import system_actor
from loopcrm.platform.unit_of_work import JoinedUnitOfWork, UnitOfWork

EXPIRE_QUOTES = "sales.quotes.expire"


@task(quotes.SEND_QUOTE, max_attempts=quotes.SEND_QUOTE_MAX_ATTEMPTS)
def send_quote(uow: UnitOfWork, payload: dict[str, Any], context: JobContext) -> None:
    """A quote a user sent: PDF and public link made, SMTP; a failure rolls the link back and retries."""
    quotes.deliver_quote_email(uow, payload, context)


# Hourly: a quote valid "until" a date expires within the hour after that day ends (UTC); an
# acceptance in between is refused anyway, because accepting checks the date itself.
@periodic(EXPIRE_QUOTES, every=timedelta(hours=1))
def expire_quotes(uow: UnitOfWork, payload: dict[str, Any], context: JobContext) -> None:
    """Mark approved or sent quotes past their validity expired."""
    quotes.expire_quotes(JoinedUnitOfWork(uow), system_actor(EXPIRE_QUOTES))
