"""What the navigation shows: the product's modules, and the admin pages the reader may open.

The platform does not import the modules (the layers contract forbids it); the composition root
hands the module catalogue to :func:`loopcrm.platform.web.mount.install_web`, and anything with
the attributes of :class:`NavigableModule` will do.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from loopcrm.platform.i18n import N_
from loopcrm.platform.permissions import Action, Actor, Scope


class NavigablePage(Protocol):
    @property
    def label(self) -> str: ...
    @property
    def path(self) -> str: ...
    @property
    def object_type(self) -> str | None: ...


class NavigableModule(Protocol):
    """A product module as the navigation needs it (``loopcrm.modules.ProductModule``)."""

    @property
    def number(self) -> int: ...
    @property
    def key(self) -> str: ...
    @property
    def label(self) -> str: ...
    @property
    def title(self) -> str: ...
    @property
    def description(self) -> str: ...
    @property
    def path(self) -> str: ...
    @property
    def icon(self) -> str: ...
    @property
    def is_available(self) -> bool: ...
    @property
    def related_pages(self) -> Sequence[NavigablePage]: ...


@dataclass(frozen=True)
class AdminPage:
    """One page of the admin menu; shown to readers whose scope for ``action`` on ``object_type``
    reaches ``minimum_scope``."""

    label: str  # English msgid
    path: str
    object_type: str
    icon: str
    minimum_scope: Scope = Scope.OWN
    # A page that manages a vocabulary everyone reads (tags, custom fields) asks for update instead.
    action: Action = Action.READ


ADMIN_PAGES: tuple[AdminPage, ...] = (
    AdminPage(N_("Users"), "/admin/users", "user", "person"),
    AdminPage(N_("Teams"), "/admin/teams", "team", "people"),
    AdminPage(N_("Roles"), "/admin/roles", "role", "key"),
    # Everyone may read their own tokens (on /tokens); the admin list is for those who see all.
    AdminPage(N_("API tokens"), "/admin/tokens", "api_token", "token", Scope.ALL),
    AdminPage(N_("Audit log"), "/admin/audit", "audit_entry", "list"),
    AdminPage(N_("Jobs"), "/admin/jobs", "job", "gear"),
)

# Admin pages of modules, added by :func:`register_admin_page` when their views are imported.
_module_admin_pages: dict[str, AdminPage] = {}

_SCOPE_RANK = {Scope.NONE: 0, Scope.OWN: 1, Scope.TEAM: 2, Scope.ALL: 3}


def register_admin_page(page: AdminPage) -> AdminPage:
    """Add a module's page to the admin menu, after the platform's.

    The platform cannot import modules, so a module's views register their admin pages when
    they are imported (as object types are registered); the menu shows a page only once the
    composition root mounts the router serving its path. Registering a path again replaces it.
    """
    _module_admin_pages[page.path] = page
    return page


def may(actor: Actor, object_type: str, action: Action, minimum_scope: Scope = Scope.OWN) -> bool:
    """Whether the actor's scope for ``action`` on ``object_type`` reaches ``minimum_scope``.

    An object type nobody registered (a module not installed) is reachable by nobody.
    """
    try:
        scope = actor.scope(object_type, action)
    except KeyError:
        return False
    return _SCOPE_RANK[scope] >= _SCOPE_RANK[minimum_scope] and scope is not Scope.NONE


def may_read(actor: Actor, object_type: str, minimum_scope: Scope = Scope.OWN) -> bool:
    """Whether the actor's read scope of ``object_type`` reaches ``minimum_scope``."""
    return may(actor, object_type, Action.READ, minimum_scope)


def admin_pages_for(actor: Actor, available_paths: frozenset[str]) -> list[AdminPage]:
    """The admin pages this actor may open, among those this installation serves."""
    return [
        page
        for page in (*ADMIN_PAGES, *_module_admin_pages.values())
        if page.path in available_paths and may(actor, page.object_type, page.action, page.minimum_scope)
    ]


def is_current(current_path: str, path: str) -> bool:
    """Whether ``path`` is the page being shown or one of its sub-pages."""
    if path == "/":
        return current_path == "/"
    return current_path == path or current_path.startswith(path.rstrip("/") + "/")
