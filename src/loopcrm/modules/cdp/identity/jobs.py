"""The identity job: resolves the event log to profiles, in order, a few seconds behind ingestion.

``loopcrm.app.register_tasks`` imports this module so that workers know the task.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from loopcrm.modules.cdp.identity import service as identity
from loopcrm.platform.jobs.registry import JobContext, periodic
from loopcrm.platform.unit_of_work import UnitOfWork

RESOLVE_IDENTITIES = "cdp.resolve_identities"


@periodic(RESOLVE_IDENTITIES, every=timedelta(seconds=5))
def resolve_identities(uow: UnitOfWork, payload: dict[str, Any], context: JobContext) -> None:
    """Resolve the events ingested since the last run (at most one run's worth; the next slot
    takes the rest). The worker commits the cursor with the profiles, so a crash repeats nothing."""
    identity.resolve_pending_events_in(uow)


LINK_CONTACTS = "cdp.link_contacts"


@periodic(LINK_CONTACTS, every=timedelta(seconds=10))
def link_crm_contacts(uow: UnitOfWork, payload: dict[str, Any], context: JobContext) -> None:
    """Feed changed CRM contacts into the graph (and, when ``cdp_create_contacts`` is on, create
    contacts for identified profiles first); committed by the worker with the feed's cursor."""
    identity.link_crm_contacts_in(uow, create_contacts=context.settings.cdp_create_contacts)
