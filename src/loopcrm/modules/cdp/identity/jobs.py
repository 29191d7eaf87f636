"""The identity job: resolves the event log to profiles, in order, a few seconds behind ingestion.

``loopcrm.app.register_tasks`` imports this module so that workers know the task.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from loopcrm.modules.cdp.identity import service as identity
from loopcrm.platform.jobs.registry import JobContext, busy_writer_probe, periodic
from loopcrm.platform.jobs.service import enqueue_continuation
from loopcrm.platform.unit_of_work import UnitOfWork

RESOLVE_IDENTITIES = "cdp.resolve_identities"

# Event ingestion is the writer that long jobs (imports) make room for while it is busy, where
# they share the web process or SQLite's write lock with it (ADR 0018).
busy_writer_probe(identity.ingestion_is_busy_in)


@periodic(RESOLVE_IDENTITIES, every=timedelta(seconds=5))
def resolve_identities(uow: UnitOfWork, payload: dict[str, Any], context: JobContext) -> None:
    """Resolve the events ingested since the last run, at most one run's worth; a full run queues
    the next, so a backlog drains at the job's own speed, not one run per slot (paused while
    ingestion is busy, where the two share the process or SQLite's lock). The worker commits the
    cursor with the profiles, so a crash repeats nothing."""
    limit = context.settings.cdp_identity_events_per_run or identity.events_per_run(
        uow.session, embedded=context.embedded, ingestion_busy=identity.ingestion_is_busy_in(uow)
    )
    if identity.resolve_pending_events_in(uow, max_events=limit) >= limit:
        enqueue_continuation(uow, RESOLVE_IDENTITIES, context, contended=identity.ingestion_is_busy_in(uow))


LINK_CONTACTS = "cdp.link_contacts"


@periodic(LINK_CONTACTS, every=timedelta(seconds=10))
def link_crm_contacts(uow: UnitOfWork, payload: dict[str, Any], context: JobContext) -> None:
    """Feed changed CRM contacts into the graph (and, when ``cdp_create_contacts`` is on, create
    contacts for identified profiles first); committed by the worker with the feed's cursor. A
    full run (an import changes many contacts at once) queues the next."""
    settings = context.settings
    limit = settings.cdp_link_contacts_per_run
    run = identity.link_crm_contacts_in(uow, create_contacts=settings.cdp_create_contacts, max_contacts=limit)
    if run.contacts_read >= limit or run.creation_full:
        # Contacts change in bursts from imports, whose steps write as often as they can (and
        # profiles get emails in bursts from a backlog of events).
        enqueue_continuation(uow, LINK_CONTACTS, context, contended=True)
