"""Demo data for trying LoopCRM: the platform's people first, then each module's records."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from loopcrm.modules.activities.service import load_demo_activities
from loopcrm.modules.cdp.demo import DEMO_EVENTS, DEMO_PROFILES, CrmPerson, load_demo_cdp
from loopcrm.modules.customers.demo import (
    DEMO_ACCOUNTS,
    DEMO_CONTACTS,
    DEMO_SEED,
    load_demo_customers,
    plan_demo_customers,
)
from loopcrm.modules.sales.demo import load_demo_sales
from loopcrm.platform.auth.demo import DEMO_ADMIN_EMAIL, DEMO_PASSWORD, create_demo_people
from loopcrm.platform.db import create_database_engine, create_session_factory, utc_now
from loopcrm.platform.migrations import upgrade
from loopcrm.platform.permissions import system_actor
from loopcrm.platform.unit_of_work import UnitOfWork
from loopcrm.settings import Settings


@dataclass(frozen=True)
class DemoLogin:
    email: str
    password: str
    created: bool  # False when the demo data was already there


def load_demo_data(
    settings: Settings,
    *,
    accounts: int = DEMO_ACCOUNTS,
    contacts: int = DEMO_CONTACTS,
    cdp_profiles: int = DEMO_PROFILES,
    cdp_events: int = DEMO_EVENTS,
    progress: Callable[[str], None] | None = None,
) -> DemoLogin:
    """Migrate the database and add the demo data once; running it again changes nothing.

    ``accounts`` and ``contacts`` size the customers (and so their year of activities and the
    sales demo: 3 leads and 1.5 deals an account, with their quotes and orders), and
    ``cdp_profiles`` and ``cdp_events`` the CDP's people and events (the full CDP demo takes a few
    minutes: its identity resolution is the slow part); a smaller demo loads in seconds, which
    is what the command-line tests use."""
    engine = create_database_engine(settings.resolved_database_url)
    try:
        upgrade(engine)
        session_factory = create_session_factory(engine)
        created = create_demo_people(lambda: UnitOfWork(session_factory), system_actor("demo"))
        customers = load_demo_customers(
            lambda: UnitOfWork(session_factory), accounts=accounts, contacts=contacts
        )
        if customers.created:  # a year of history for every demo account and contact
            load_demo_activities(UnitOfWork(session_factory), customers.subjects)
        created = created or customers.created
        # A year of leads, deals, quotes and orders over the demo customers, sized with them.
        sales = load_demo_sales(lambda: UnitOfWork(session_factory))
        created = created or sales.created
        if cdp_events > 0:  # people of the CDP, some of them the CRM's contacts, and their events
            cdp = load_demo_cdp(
                lambda: UnitOfWork(session_factory),
                profiles=cdp_profiles,
                events=cdp_events,
                crm_people=lambda: _crm_people(accounts, contacts),
                progress=progress,
            )
            created = created or cdp.created
    finally:
        engine.dispose()
    return DemoLogin(DEMO_ADMIN_EMAIL, DEMO_PASSWORD, created)


def _crm_people(accounts: int, contacts: int) -> list[CrmPerson]:
    """The demo contacts' names, emails and phones (the plan is seeded, so the same as loaded),
    for some of the CDP demo's people to be the CRM's contacts."""
    plan = plan_demo_customers(DEMO_SEED, accounts=accounts, contacts=contacts, today=utc_now().date())
    people = []
    for contact in plan.contacts:
        payload = contact.payload
        emails = payload.get("emails") or []
        phones = [phone for phone in payload.get("phones") or [] if phone.get("label") == "mobile"]
        people.append(
            CrmPerson(
                name=f"{payload['family_name']}{payload['given_name']}",
                email=emails[0]["address"] if emails else None,
                phone=phones[0]["number"] if phones else None,
            )
        )
    return people
