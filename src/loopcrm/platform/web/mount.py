"""Mounting the web UI on the application: static files, page routers, error pages."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.routing import APIRoute
from starlette.routing import BaseRoute
from starlette.staticfiles import StaticFiles

import loopcrm
from loopcrm.platform.web.error_pages import install_error_pages, install_server_error_page
from loopcrm.platform.web.navigation import NavigableModule
from loopcrm.platform.web.pages import WebShell
from loopcrm.platform.web.views import (
    account,
    admin_audit,
    admin_jobs,
    admin_roles,
    admin_teams,
    admin_tokens,
    admin_users,
    home,
)
from loopcrm.settings import Settings

STATIC_DIRECTORY = Path(loopcrm.__file__).resolve().parent / "web" / "static"


def platform_routers() -> list[APIRouter]:
    return [
        account.public,
        account.router,
        home.router,
        admin_users.router,
        admin_teams.router,
        admin_roles.router,
        admin_tokens.router,
        admin_audit.router,
        admin_jobs.router,
    ]


def served_paths(routes: Iterable[BaseRoute], prefix: str = "") -> Iterator[str]:
    """The paths of the page routes among ``routes``, inside included routers too.

    FastAPI keeps a router included in another as one route object pointing at the original
    router (``original_router``, with the prefix in ``include_context``), so a module's router
    that gathers sub-routers has no page routes of its own at the top.
    """
    for route in routes:
        if isinstance(route, APIRoute):
            yield prefix + route.path
        included = getattr(route, "original_router", None)
        if isinstance(included, APIRouter):
            context = getattr(route, "include_context", None)
            yield from served_paths(included.routes, prefix + getattr(context, "prefix", ""))


def install_web(
    app: FastAPI,
    settings: Settings,
    modules: Sequence[NavigableModule] = (),
    module_routers: Sequence[APIRouter] = (),
) -> None:
    """Serve the web UI: ``/static``, the platform's pages, the modules' pages, and a plain
    "not available yet" page at the path of every module not built yet.

    Call after the API's routers and problem handlers are installed: the page error handlers
    answer web requests and hand API requests to the handlers installed before them.
    """
    app.mount("/static", StaticFiles(directory=STATIC_DIRECTORY), name="static")
    served: set[str] = set()
    for router in [*platform_routers(), *module_routers, home.module_placeholder_router(modules)]:
        app.include_router(router)
        served.update(served_paths(router.routes))
    app.state.web_shell = WebShell(settings=settings, modules=tuple(modules), served_paths=frozenset(served))
    install_error_pages(app)
    install_server_error_page(app)
