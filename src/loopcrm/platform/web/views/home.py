"""The home page, the pages of modules not built yet, and the admin index."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from loopcrm.platform.web.navigation import NavigableModule, admin_pages_for, may_read
from loopcrm.platform.web.pages import Viewer, WebPage, render, shell, web_router

router = web_router()


def _related(page: WebPage, module: NavigableModule) -> list[dict[str, str]]:
    """Pages that exist today in the module's area and that the reader may open."""
    return [
        {"label": page.gettext(related.label), "path": related.path}
        for related in module.related_pages
        if related.object_type is None or may_read(page.actor, related.object_type)
    ]


@router.get("/")
def home(request: Request, page: Viewer) -> Response:
    modules = [
        {
            "module": module,
            "label": page.gettext(module.title),
            "description": page.gettext(module.description),
            "related": _related(page, module),
        }
        for module in shell(request).modules
    ]
    return render(
        request,
        "home.html",
        {
            "modules": modules,
            "available_count": sum(1 for module in shell(request).modules if module.is_available),
        },
    )


@router.get("/admin")
def admin_index(request: Request, page: Viewer) -> Response:
    pages = admin_pages_for(page.actor, shell(request).served_paths)
    return render(
        request,
        "admin/index.html",
        {
            "pages": [
                {"label": page.gettext(item.label), "path": item.path, "icon": item.icon} for item in pages
            ]
        },
    )


def _placeholder(module: NavigableModule) -> Callable[[Request, WebPage], Response]:
    def module_unavailable(request: Request, page: Viewer) -> Response:
        return render(
            request,
            "module_unavailable.html",
            {
                "module": module,
                "title": page.gettext(module.title),
                "description": page.gettext(module.description),
                "related": _related(page, module),
            },
        )

    return module_unavailable


def module_placeholder_router(modules: Sequence[NavigableModule]) -> APIRouter:
    """One plain page per module that is not built yet: what it will do, and that it is not there yet."""
    placeholders = web_router()
    for module in modules:
        if not module.is_available:
            placeholders.add_api_route(
                module.path, _placeholder(module), methods=["GET"], name=f"module_{module.key}"
            )
    return placeholders
