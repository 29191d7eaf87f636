"""Errors on pages answer with pages: 403, 404 and the rest, translated, inside the layout.

The API keeps its problem documents: each handler here answers only requests of the web UI
(routes that went through the page dependency, or a browser asking for HTML outside ``/api``)
and hands everything else to the handler that was installed before it.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from loopcrm.platform.errors import DomainError, NotAuthenticated, NotFound, PermissionDenied, RateLimited
from loopcrm.platform.i18n import N_, translator
from loopcrm.platform.web.csrf import CsrfRejected, anonymous_token
from loopcrm.platform.web.pages import (
    LoginRequired,
    WebPage,
    anonymous_locale,
    local_path,
    login_redirect,
    render,
    resolve_page,
)

log = logging.getLogger(__name__)

Handler = Callable[[Request, Any], Awaitable[Response]]

# Paths that belong to machines, never answered with an HTML page.
_MACHINE_PREFIXES = ("/api/", "/v1/", "/static/", "/healthz", "/readyz")


def is_web_request(request: Request) -> bool:
    """A request of the web UI: it went through a page route, or a browser wants HTML here."""
    if getattr(request.state, "is_web", False):
        return True
    if request.url.path.startswith(_MACHINE_PREFIXES):
        return False
    return "text/html" in request.headers.get("accept", "")


async def reader_of(request: Request) -> WebPage:
    """The reader of a failed request; without the database (it may be why we are here) an anonymous one."""
    try:
        return await run_in_threadpool(resolve_page, request)
    except Exception:
        log.exception("could not resolve the reader of an error page")
        page = WebPage(
            request,
            translator(anonymous_locale(request)),
            request.app.state.settings.default_timezone,
            None,
            anonymous_csrf=anonymous_token(request),
        )
        request.state.web_page = page
        return page


def error_page(request: Request, status_code: int, title: str, detail: str | None = None) -> Response:
    """An error page in the reader's language; ``title`` and ``detail`` are already translated."""
    return render(
        request,
        "errors/error.html",
        {"title": title, "detail": detail, "status": status_code},
        status_code=status_code,
    )


def _previous(app: FastAPI, key: type[BaseException] | int) -> Handler | None:
    handler = app.exception_handlers.get(key)
    return handler  # type: ignore[return-value]


def install_error_pages(app: FastAPI) -> None:
    """Register the page handlers in front of the API's; call after the API's are installed."""
    previous_domain = _previous(app, DomainError)
    previous_http = _previous(app, StarletteHTTPException)
    previous_validation = _previous(app, RequestValidationError)

    async def fallback(request: Request, error: Exception, previous: Handler | None) -> Response:
        if previous is not None:
            return await previous(request, error)
        raise error

    @app.exception_handler(LoginRequired)
    async def _login_required(request: Request, error: LoginRequired) -> Response:
        return login_redirect(request, error.next_path)

    @app.exception_handler(CsrfRejected)
    async def _csrf(request: Request, error: CsrfRejected) -> Response:
        page = await reader_of(request)
        return error_page(
            request,
            403,
            page.gettext(N_("This form has expired")),
            page.gettext(
                N_(
                    "The form was open too long or came from another site. Go back, reload the page "
                    "and send it again."
                )
            ),
        )

    @app.exception_handler(DomainError)
    async def _domain(request: Request, error: DomainError) -> Response:
        if not is_web_request(request):
            return await fallback(request, error, previous_domain)
        page = await reader_of(request)
        if isinstance(error, NotAuthenticated):
            return login_redirect(request, local_path(request))
        if isinstance(error, PermissionDenied):
            return error_page(
                request,
                403,
                page.gettext(N_("Access denied")),
                page.gettext(
                    N_("Your role does not allow this page. Ask an administrator if you need access.")
                ),
            )
        if isinstance(error, NotFound):
            return error_page(
                request, 404, page.gettext(N_("Not found")), page.message(error.message, error.params)
            )
        headers = {"Retry-After": str(error.retry_after_seconds)} if isinstance(error, RateLimited) else None
        response = error_page(
            request, error.status, page.message(error.title), page.message(error.message, error.params)
        )
        if headers:
            response.headers.update(headers)
        return response

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, error: StarletteHTTPException) -> Response:
        if not is_web_request(request):
            return await fallback(request, error, previous_http)
        page = await reader_of(request)
        if error.status_code == 404:
            return error_page(
                request,
                404,
                page.gettext(N_("Page not found")),
                page.gettext(N_("There is no page at this address.")),
            )
        if error.status_code == 405:
            return error_page(request, 405, page.gettext(N_("This page cannot be used this way")))
        return error_page(request, error.status_code, page.gettext(N_("Something went wrong")))

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, error: RequestValidationError) -> Response:
        if not is_web_request(request):
            return await fallback(request, error, previous_validation)
        page = await reader_of(request)
        return error_page(
            request,
            400,
            page.gettext(N_("The address is not valid")),
            page.gettext(N_("A part of the address or the form is malformed.")),
        )


def install_server_error_page(app: FastAPI) -> None:
    """A crash on a page shows a plain apology page (the error itself is logged by the server)."""
    previous = _previous(app, Exception) or _previous(app, 500)

    @app.exception_handler(Exception)
    async def _server_error(request: Request, error: Exception) -> Response:
        if not is_web_request(request):
            if previous is not None:
                return await previous(request, error)
            return PlainTextResponse("Internal Server Error", status_code=500)
        try:
            page = WebPage(
                request,
                translator(anonymous_locale(request)),
                request.app.state.settings.default_timezone,
                None,
            )
            request.state.web_page = page
            return render(
                request,
                "errors/error.html",
                {
                    "title": page.gettext(N_("Something went wrong")),
                    "detail": page.gettext(N_("The server could not show this page. Try again in a moment.")),
                    "status": 500,
                },
                status_code=500,
            )
        except Exception:
            return PlainTextResponse("Internal Server Error", status_code=500)
