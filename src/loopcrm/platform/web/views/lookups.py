"""Names of roles, teams and users for the pickers and tables of the admin pages, as the reader sees them."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, available_timezones

from babel import dates

from loopcrm.platform.auth import service as auth
from loopcrm.platform.auth.schemas import RoleOut, TeamOut
from loopcrm.platform.errors import PermissionDenied
from loopcrm.platform.i18n import N_, Translator
from loopcrm.platform.pagination import MAX_PAGE_SIZE
from loopcrm.platform.permissions import Action
from loopcrm.platform.timestamps import time_zone
from loopcrm.platform.web.navigation import may_read
from loopcrm.platform.web.pages import WebPage

# The built-in roles as the first migration seeds them: shown translated while an admin has not renamed them.
BUILTIN_ROLE_NAMES = {
    "admin": (N_("Administrator"), N_("Runs the installation: users, roles, teams and all data")),
    "sales_manager": (N_("Sales manager"), N_("Leads a sales team and sees the team's records")),
    "sales_rep": (N_("Sales rep"), N_("Works own leads, accounts and deals")),
    "marketer": (N_("Marketer"), N_("Segments, journeys and campaigns")),
    "service_agent": (N_("Service agent"), N_("Tickets and customer service")),
    "analyst": (N_("Analyst"), N_("Reads data and analytics, changes nothing")),
    "read_only": (N_("Read-only"), N_("Looks, never touches")),
}

# Time zones offered first: where LoopCRM's users mostly work.
COMMON_TIMEZONES = (
    "Asia/Shanghai",
    "Asia/Hong_Kong",
    "Asia/Taipei",
    "Asia/Singapore",
    "Asia/Tokyo",
    "Asia/Seoul",
    "Europe/London",
    "Europe/Berlin",
    "America/New_York",
    "America/Los_Angeles",
    "UTC",
)


def role_label(translator: Translator, key: str, name: str, *, is_builtin: bool = True) -> str:
    seeded = BUILTIN_ROLE_NAMES.get(key)
    if is_builtin and seeded and name == seeded[0]:
        return translator.gettext(name)
    return name


def role_description(translator: Translator, role: RoleOut) -> str:
    seeded = BUILTIN_ROLE_NAMES.get(role.key)
    if role.is_builtin and seeded and role.description == seeded[1]:
        return translator.gettext(role.description)
    return role.description


def roles(page: WebPage) -> list[RoleOut]:
    """Every role, when the reader may read roles; else none."""
    if not may_read(page.actor, "role"):
        return []
    return auth.list_roles(page.uow(), page.actor)


def role_names(page: WebPage, known: list[RoleOut] | None = None) -> dict[str, str]:
    """Role key → the name to show; the built-in names serve readers who may not read roles."""
    listed = known if known is not None else roles(page)
    if listed:
        return {
            role.key: role_label(page.translator, role.key, role.name, is_builtin=role.is_builtin)
            for role in listed
        }
    return {key: page.gettext(names[0]) for key, names in BUILTIN_ROLE_NAMES.items()}


def teams(page: WebPage) -> list[TeamOut]:
    """Every team the reader may see (all pages of the list)."""
    if not page.actor.can("team", Action.READ):
        return []
    found: list[TeamOut] = []
    cursor: str | None = None
    while True:
        try:
            batch = auth.list_teams(page.uow(), page.actor, limit=MAX_PAGE_SIZE, cursor=cursor)
        except PermissionDenied:
            return found
        found.extend(batch.items)
        if batch.next_cursor is None:
            return sorted(found, key=lambda team: team.name.lower())
        cursor = batch.next_cursor


def user_names(page: WebPage) -> dict[str, str]:
    """Active users' id → name (names are visible to every signed-in user)."""
    return dict(auth.user_choices(page.uow(), page.actor))


@lru_cache(maxsize=8)
def timezone_choices(locale: str) -> tuple[tuple[str, tuple[tuple[str, str], ...]], ...]:
    """Time zones grouped for a select: the common ones with their local names, then every zone."""
    translator = Translator(locale)
    common = tuple(
        (zone, f"{dates.get_timezone_location(ZoneInfo(zone), locale=translator.babel_locale)} — {zone}")
        for zone in COMMON_TIMEZONES
    )
    every = tuple((zone, zone) for zone in sorted(available_timezones()) if zone not in COMMON_TIMEZONES)
    return ((translator.gettext(N_("Common")), common), (translator.gettext(N_("All time zones")), every))


def parse_day(value: str | None) -> date | None:
    """A ``YYYY-MM-DD`` from a date input, or ``None`` when empty or malformed."""
    if not value:
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        return None


def start_of_day(day: date, timezone: str) -> datetime:
    """Midnight at the start of ``day`` in the reader's time zone, as a UTC moment."""
    return datetime.combine(day, time.min, tzinfo=time_zone(timezone)).astimezone(UTC)


def end_of_day(day: date, timezone: str) -> datetime:
    """Midnight after ``day`` in the reader's time zone (an exclusive bound), as a UTC moment."""
    return start_of_day(day + timedelta(days=1), timezone)
