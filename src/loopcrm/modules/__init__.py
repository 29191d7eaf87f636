"""The product's modules, declared once, in the order of the loop (docs: /work/shared/design/PRODUCT.md).

The web UI builds its navigation and home page from :data:`PRODUCT_MODULES`. A module that is
not built yet keeps ``is_available=False``: its path shows a plain "not available yet" page
with its description, never made-up data. A module team that ships its pages sets
``is_available=True`` and mounts its own router at ``path``.

Labels and descriptions are English msgids (marked with ``N_`` for extraction); the web layer
translates them for each reader.
"""

from __future__ import annotations

from dataclasses import dataclass

from loopcrm.platform.i18n import N_


@dataclass(frozen=True)
class RelatedPage:
    """A page that exists today and belongs to a module's area, such as the user admin for team
    management. ``object_type`` names what the reader must be allowed to read to see the link."""

    label: str  # English msgid
    path: str
    object_type: str | None = None


@dataclass(frozen=True)
class ProductModule:
    """One of the twelve modules of the loop, as the navigation shows it."""

    number: int  # position in PRODUCT.md's table
    key: str  # the package name under loopcrm.modules once it exists
    label: str  # short navigation label (English msgid)
    title: str  # the module's name in PRODUCT.md (English msgid)
    description: str  # what it does for the user (English msgid)
    path: str  # where its pages live
    icon: str  # symbol id in /static/img/icons.svg
    is_available: bool = False  # True once the module serves its own pages at ``path``
    related_pages: tuple[RelatedPage, ...] = ()


PRODUCT_MODULES: tuple[ProductModule, ...] = (
    ProductModule(
        number=1,
        key="customers",
        label=N_("Customers"),
        title=N_("Customer master data"),
        description=N_(
            "Accounts (companies: industry, size, region, CEO, legal status, parent) and contacts (people, "
            "their title and their role in each buying decision), with custom fields, tags and owners."
        ),
        path="/customers",
        icon="building",
        is_available=True,
    ),
    ProductModule(
        number=2,
        key="activities",
        label=N_("Activities"),
        title=N_("Interaction timeline"),
        description=N_(
            "Every touch on one timeline: notes, calls, meetings, emails, tasks with due dates and "
            "reminders, page views, campaign responses, purchases, tickets and complaints."
        ),
        path="/activities",
        icon="clock",
        is_available=True,
    ),
    ProductModule(
        number=3,
        key="sales",
        label=N_("Sales"),
        title=N_("Sales flow"),
        description=N_(
            "Lead → opportunity → quote → order: pipelines and stages with probabilities, kanban, lost "
            "reasons, products and price lists, quotes with discounts and tax, orders and payment status."
        ),
        path="/sales",
        icon="trending",
        is_available=True,
    ),
    ProductModule(
        number=4,
        key="team",
        label=N_("Team management"),
        title=N_("Team management"),
        description=N_(
            "Users, roles, teams, managers and territories; lead assignment by round robin, load, rules and"
            " capacity; record visibility own / team / all; rep performance."
        ),
        path="/team",
        icon="people",
        related_pages=(
            RelatedPage(N_("Users"), "/admin/users", "user"),
            RelatedPage(N_("Teams"), "/admin/teams", "team"),
            RelatedPage(N_("Roles"), "/admin/roles", "role"),
        ),
    ),
    ProductModule(
        number=5,
        key="service",
        label=N_("Service"),
        title=N_("Service"),
        description=N_(
            "Tickets from many channels, SLA policies and breach timers, escalation, a knowledge base of "
            "solutions, satisfaction surveys (CSAT / NPS) and complaints."
        ),
        path="/service",
        icon="headset",
    ),
    ProductModule(
        number=6,
        key="cdp",
        label=N_("CDP"),
        title=N_("CDP: collect & unify"),
        description=N_(
            "Event ingestion from web, app, mini program, e-commerce, email, SMS and servers; identity "
            "resolution of fragmented contacts; one 360° profile per person; computed traits."
        ),
        path="/cdp",
        icon="database",
        is_available=True,
    ),
    ProductModule(
        number=7,
        key="segments",
        label=N_("Segments"),
        title=N_("Segmentation & tags"),
        description=N_(
            "Tag rules and segments over attributes, behaviour in time windows, purchases, value and "
            "layers; nested AND / OR / NOT; intersection, union and difference of segments; preview, "
            "snapshots, export."
        ),
        path="/segments",
        icon="filter",
    ),
    ProductModule(
        number=8,
        key="journeys",
        label=N_("Journeys"),
        title=N_("Marketing automation"),
        description=N_(
            "Journeys triggered by segment entry, events or dates, with waits, branches, A/B splits and "
            "holdout groups; email, SMS, WeChat and webhook channels; frequency caps, quiet hours, consent;"
            " hand-off to sales."
        ),
        path="/journeys",
        icon="route",
    ),
    ProductModule(
        number=9,
        key="analytics",
        label=N_("Analytics"),
        title=N_("Analytics"),
        description=N_(
            "Customer layering (AIPL, brand pyramid) and flow between periods, RFM, lifetime value, "
            "funnels, retention cohorts, marketing and sales metrics, forecasts, and campaign effect "
            "against holdouts."
        ),
        path="/analytics",
        icon="chart",
    ),
    ProductModule(
        number=10,
        key="loyalty",
        label=N_("Loyalty"),
        title=N_("Loyalty"),
        description=N_(
            "Membership tiers, points earned and spent, VIP benefits and referral rewards, usable in "
            "segments and journeys."
        ),
        path="/loyalty",
        icon="gift",
    ),
    ProductModule(
        number=11,
        key="platform",
        label=N_("Platform"),
        title=N_("Platform (PaaS)"),
        description=N_(
            "Custom fields and custom objects, workflow automation rules (trigger → conditions → actions), "
            "outgoing webhooks, the REST API for everything, import and export."
        ),
        path="/platform",
        icon="puzzle",
        related_pages=(RelatedPage(N_("API tokens"), "/tokens", None),),
    ),
    ProductModule(
        number=12,
        key="privacy",
        label=N_("Privacy"),
        title=N_("Privacy & security"),
        description=N_(
            "Security levels for information, roles that see only what they may, consent, an audit of who "
            "read and changed what, data-subject export and erasure."
        ),
        path="/privacy",
        icon="shield",
        related_pages=(
            RelatedPage(N_("Audit log"), "/admin/audit", "audit_entry"),
            RelatedPage(N_("Roles"), "/admin/roles", "role"),
        ),
    ),
)
