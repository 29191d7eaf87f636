"""Helpers shared by the customers tests: creating an account, logging a call against records, and
reading a list page."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

from loopcrm.modules.activities import service as activities
from loopcrm.modules.activities.schemas import ActivityCreate, ActivityOut
from loopcrm.modules.customers import service as customers
from loopcrm.modules.customers.schemas import AccountCreate, AccountOut
from loopcrm.platform.permissions import Actor
from loopcrm.platform.unit_of_work import UnitOfWork


def create_account(uow_factory: Callable[[], UnitOfWork], actor: Actor, **values: Any) -> AccountOut:
    """Creates an account through the service, as ``actor``, from the API's field names."""
    return customers.create_account(uow_factory(), actor, AccountCreate.model_validate(values))


def log_call(
    uow_factory: Callable[[], UnitOfWork],
    actor: Actor,
    subject: str,
    links: list[tuple[str, str]],
    at: datetime,
) -> ActivityOut:
    """Logs a connected outbound call at ``at``, linked to the ``(kind, record id)`` pairs."""
    return activities.log_activity(
        uow_factory(),
        actor,
        ActivityCreate.model_validate(
            {
                "kind": "call",
                "subject": subject,
                "occurred_at": at.isoformat(),
                "links": [{"subject_type": kind, "subject_id": record} for kind, record in links],
                "call": {"direction": "outbound", "outcome": "connected", "duration_seconds": 60},
            }
        ),
    )


def names_in_list(html: str) -> list[str]:
    """The record names of an account or contact list page's table, in order."""
    body = html.split("<tbody>", 1)[1].split("</tbody>", 1)[0] if "<tbody>" in html else ""
    return re.findall(
        r'<td class="wrap">\s*<a href="/customers/(?:accounts|contacts)/[0-9a-f-]+">([^<]+)</a>', body
    )
