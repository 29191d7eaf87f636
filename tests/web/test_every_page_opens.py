"""Every page without a parameter in its path opens for a signed-in admin: none is answered by a
route with a parameter registered before it (``/sales/leads/{lead_id}`` once took
``/sales/leads/settings`` for a lead's id) and none fails on an empty database."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from fastapi.testclient import TestClient
from httpx import Response
from tests.conftest import Person

# Pages that need a query parameter to know what to show, and answer without one as they should.
NEEDS_A_QUERY = {
    "/customers/merge": 404,  # which record survives: ?survivor=…
    "/sales/quotes/new": 400,  # the opportunity the quote is for: ?opportunity=…
}
# Pages that send the reader on, and where.
REDIRECTS = {
    "/customers": "/customers/accounts",
    "/sales": "/sales/opportunities/kanban",
    "/login": "/",  # already signed in
}
NOT_PAGES = ("/api/", "/v1/", "/logout", "/static/")


def _routes(router: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    """(full path, route) of every route, through the routers included with their prefixes."""
    for route in router.routes:
        included = getattr(route, "original_router", None)
        if included is not None:
            yield from _routes(included, prefix + route.include_context.prefix)
        elif hasattr(route, "methods"):
            yield prefix + route.path, route


def test_every_page_without_a_path_parameter_opens_for_an_admin(
    client: TestClient, admin: Person, sign_in: Callable[..., Response]
) -> None:
    sign_in(admin.user.email)
    paths = sorted(
        {
            path
            for path, route in _routes(client.app.router)  # type: ignore[attr-defined]
            if "GET" in (route.methods or set()) and "{" not in path and not path.startswith(NOT_PAGES)
        }
    )
    assert {"/sales/leads/settings", "/sales/leads/imports", "/sales/dashboard"} <= set(paths)

    answers = {path: client.get(path, follow_redirects=False) for path in paths}

    expected = {
        path: (303, REDIRECTS[path]) if path in REDIRECTS else (NEEDS_A_QUERY.get(path, 200), None)
        for path in paths
    }
    found = {path: (answer.status_code, answer.headers.get("location")) for path, answer in answers.items()}
    assert found == expected
