"""Demo data for trying LoopCRM: the platform's people first, then each module's records."""

from __future__ import annotations

from dataclasses import dataclass

from loopcrm.modules.activities.service import load_demo_activities
from loopcrm.modules.customers.demo import DEMO_ACCOUNTS, DEMO_CONTACTS, load_demo_customers
from loopcrm.platform.auth.demo import DEMO_ADMIN_EMAIL, DEMO_PASSWORD, create_demo_people
from loopcrm.platform.db import create_database_engine, create_session_factory
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
    settings: Settings, *, accounts: int = DEMO_ACCOUNTS, contacts: int = DEMO_CONTACTS
) -> DemoLogin:
    """Migrate the database and add the demo data once; running it again changes nothing.

    ``accounts`` and ``contacts`` size the customers (and so their year of activities); a
    smaller demo loads in a second, which is what the command-line tests use."""
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
    finally:
        engine.dispose()
    return DemoLogin(DEMO_ADMIN_EMAIL, DEMO_PASSWORD, created)
