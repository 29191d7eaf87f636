"""What every page of the web UI shares: who is reading, in which language, and how a page answers.

A route of the web UI depends on :func:`signed_in_page` (through :data:`Viewer`) or on
:func:`public_page` (:data:`Visitor`). Both resolve the browser session once per request,
choose the reader's language and time zone, and check the CSRF token of every unsafe request.
A route then calls one service and answers with :func:`render` or :func:`redirect`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any
from urllib.parse import quote, urlsplit

from fastapi import APIRouter, Depends
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from loopcrm.platform.auth import service as auth
from loopcrm.platform.http.dependencies import request_origin
from loopcrm.platform.i18n import HTML_LANGUAGE, LOCALE_NAMES, SUPPORTED_LOCALES, Translator, negotiate_locale
from loopcrm.platform.i18n import translator as translator_for
from loopcrm.platform.permissions import Actor
from loopcrm.platform.unit_of_work import UnitOfWork
from loopcrm.platform.web import csrf
from loopcrm.platform.web.cookies import LOCALE_COOKIE, SESSION_COOKIE, delete_cookie
from loopcrm.platform.web.flash import FlashLevel, PendingFlash, clear_flashes, pending_flashes, set_flashes
from loopcrm.platform.web.navigation import NavigableModule, admin_pages_for, is_current, may_read
from loopcrm.platform.web.templating import RenderLocale, render_template
from loopcrm.settings import Settings

# Pages carry no third-party anything: scripts, styles, images and forms stay on this origin.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


@dataclass(frozen=True)
class WebShell:
    """The web UI's configuration, kept on ``app.state.web_shell`` by ``install_web``."""

    settings: Settings
    modules: tuple[NavigableModule, ...]
    served_paths: frozenset[str] = field(default_factory=frozenset)  # platform pages this app serves


class LoginRequired(Exception):
    """The page needs a signed-in reader; answered with a redirect to the login page."""

    def __init__(self, next_path: str) -> None:
        self.next_path = next_path
        super().__init__(next_path)


@dataclass
class WebPage:
    """One request of the web UI: the reader, their language and time zone, and their CSRF token."""

    request: Request
    translator: Translator
    timezone: str
    session: auth.BrowserSession | None
    anonymous_csrf: str | None = None
    flashes: list[PendingFlash] = field(default_factory=list)
    stale_session_cookie: bool = False  # the browser sent a session cookie that names no live session

    @property
    def is_signed_in(self) -> bool:
        return self.session is not None

    @property
    def actor(self) -> Actor:
        if self.session is None:
            raise LoginRequired(local_path(self.request))
        return self.session.actor

    @property
    def csrf_token(self) -> str:
        if self.session is not None:
            return self.session.csrf_token
        return self.anonymous_csrf or ""

    @property
    def locale(self) -> str:
        return self.translator.locale

    def gettext(self, message: str) -> str:
        return self.translator.gettext(message)

    def message(self, msgid: str, params: Mapping[str, Any] | None = None) -> str:
        return self.translator.message(msgid, params)

    def uow(self) -> UnitOfWork:
        """A fresh unit of work for one service call."""
        return UnitOfWork(self.request.app.state.session_factory)

    @property
    def origin(self) -> auth.RequestOrigin:
        return request_origin(self.request)

    @property
    def settings(self) -> Settings:
        settings: Settings = self.request.app.state.settings
        return settings

    def flash(self, msgid: str, level: FlashLevel = FlashLevel.SUCCESS, **params: Any) -> None:
        """Show ``msgid`` on the page the next redirect leads to."""
        self.flashes.append(PendingFlash(level, msgid, params))


def shell(request: Request) -> WebShell:
    web_shell: WebShell = request.app.state.web_shell
    return web_shell


def is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


def local_path(request: Request) -> str:
    """The path and query of this request, for a ``next`` parameter."""
    query = request.url.query
    return request.url.path + (f"?{query}" if query else "")


def safe_next(value: str | None, default: str = "/") -> str:
    """``value`` if it is a path on this site, else ``default``: redirects never leave the site."""
    if not value or len(value) > 2000:
        return default
    if any(ord(character) < 32 or character == "\\" for character in value):
        return default
    parts = urlsplit(value)
    if parts.scheme or parts.netloc or not value.startswith("/") or value.startswith("//"):
        return default
    return value


def anonymous_locale(request: Request) -> str:
    """Before sign-in: the language switch's cookie, else the browser's languages, else the default."""
    chosen = request.cookies.get(LOCALE_COOKIE)
    if chosen in SUPPORTED_LOCALES:
        return chosen
    return (
        negotiate_locale(request.headers.get("accept-language")) or request.app.state.settings.default_locale
    )


def resolve_page(request: Request) -> WebPage:
    """Resolve the browser session and the reader's language once per request."""
    existing = getattr(request.state, "web_page", None)
    if isinstance(existing, WebPage):
        return existing
    settings: Settings = request.app.state.settings
    token = request.cookies.get(SESSION_COOKIE)
    session = None
    if token:
        session = auth.resolve_browser_session(
            UnitOfWork(request.app.state.session_factory, read_only=True), token, request_origin(request)
        )
    if session is not None:
        page = WebPage(request, translator_for(session.actor.locale), session.actor.timezone, session)
    else:
        page = WebPage(
            request,
            translator_for(anonymous_locale(request), settings.default_locale),
            settings.default_timezone,
            None,
            anonymous_csrf=csrf.anonymous_token(request),
            stale_session_cookie=bool(token),
        )
    request.state.web_page = page
    return page


def current_page(request: Request) -> WebPage:
    """The page of this request (a dependency; sync, so the session lookup runs in the threadpool)."""
    request.state.is_web = True
    return resolve_page(request)


async def signed_in_page(request: Request, page: Annotated[WebPage, Depends(current_page)]) -> WebPage:
    """Pages for signed-in readers: anyone else goes to the login page; unsafe requests need the
    session's CSRF token."""
    if page.session is None:
        if request.method in csrf.SAFE_METHODS:
            raise LoginRequired(local_path(request))
        raise LoginRequired(safe_next(_referer_path(request)))
    if request.method not in csrf.SAFE_METHODS:
        submitted = await csrf.submitted_token(request)
        if not csrf.tokens_match(page.session.csrf_token, submitted):
            raise csrf.CsrfRejected()
    return page


async def public_page(request: Request, page: Annotated[WebPage, Depends(current_page)]) -> WebPage:
    """Pages anyone may open (login, password reset, language): unsafe requests need the session's
    token when signed in, else the signed double-submit cookie's."""
    if request.method not in csrf.SAFE_METHODS:
        submitted = await csrf.submitted_token(request)
        if page.session is not None and csrf.tokens_match(page.session.csrf_token, submitted):
            return page
        if not csrf.valid_anonymous_submission(request, submitted):
            raise csrf.CsrfRejected()
    return page


def _referer_path(request: Request) -> str | None:
    referer = request.headers.get("referer")
    if not referer:
        return None
    parts = urlsplit(referer)
    if parts.netloc and parts.netloc != request.url.netloc:
        return None
    return parts.path + (f"?{parts.query}" if parts.query else "")


async def form_data(request: Request) -> FormData:
    """The submitted form (read once; the CSRF check may already have read it)."""
    return await request.form()


Viewer = Annotated[WebPage, Depends(signed_in_page)]
Visitor = Annotated[WebPage, Depends(public_page)]
Form = Annotated[FormData, Depends(form_data)]


def web_router(*, public: bool = False) -> APIRouter:
    """A router for HTML pages: not in the OpenAPI schema, every route behind the page dependency."""
    dependency = public_page if public else signed_in_page
    return APIRouter(include_in_schema=False, dependencies=[Depends(dependency)])


# ------------------------------------------------------------------ answering


def _navigation(page: WebPage) -> dict[str, Any]:
    request = page.request
    web_shell = shell(request)
    path = request.url.path
    modules = [
        {
            "module": module,
            "label": page.gettext(module.label),
            "path": module.path,
            "icon": module.icon,
            "is_current": is_current(path, module.path),
            "is_available": module.is_available,
        }
        for module in web_shell.modules
    ]
    admin: list[dict[str, Any]] = []
    if page.session is not None:
        admin = [
            {
                "label": page.gettext(item.label),
                "path": item.path,
                "icon": item.icon,
                "is_current": is_current(path, item.path),
            }
            for item in admin_pages_for(page.session.actor, web_shell.served_paths)
        ]
    return {"modules": modules, "admin": admin}


def page_context(page: WebPage) -> dict[str, Any]:
    """What the layout needs on every page."""
    request = page.request
    return {
        "request": request,
        "page": page,
        "actor": page.session.actor if page.session else None,
        "csrf_token": page.csrf_token,
        "locale": page.locale,
        "html_lang": HTML_LANGUAGE[page.locale],
        "locales": [(code, LOCALE_NAMES[code]) for code in SUPPORTED_LOCALES],
        "current_path": request.url.path,
        "current_url": local_path(request),
        "navigation": _navigation(page),
        "may_read": (lambda object_type: may_read(page.session.actor, object_type)) if page.session else None,
        "product_name": "LoopCRM",
    }


def _apply_page_headers(response: Response) -> None:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)


def render(
    request: Request,
    template: str,
    context: Mapping[str, Any] | None = None,
    *,
    status_code: int = 200,
    headers: Mapping[str, str] | None = None,
) -> HTMLResponse:
    """Render a page for the reader of ``request``: their language, time zone and flash messages."""
    page = resolve_page(request)
    show_flashes = not is_htmx(request)
    flashes = pending_flashes(request, page.translator) if show_flashes else []
    full_context = page_context(page)
    full_context["flashes"] = flashes
    if context:
        full_context.update(context)
    html = render_template(template, full_context, RenderLocale(page.translator, page.timezone))
    response = HTMLResponse(html, status_code=status_code, headers=dict(headers or {}))
    _apply_page_headers(response)
    if flashes:
        clear_flashes(request, response)
    if page.session is None and page.anonymous_csrf:
        csrf.set_anonymous_cookie(request, response, page.anonymous_csrf)
    if page.stale_session_cookie:
        delete_cookie(request, response, SESSION_COOKIE)  # expired, or signed out elsewhere
    return response


def redirect(request: Request, url: str, *, status_code: int = 303) -> Response:
    """Go to ``url`` (a path on this site) after a form: 303 for browsers, ``HX-Redirect`` for htmx.

    Flash messages the route added with :meth:`WebPage.flash` travel with the redirect.
    """
    target = safe_next(url)
    response: Response
    if is_htmx(request):
        response = Response(status_code=200, headers={"HX-Redirect": target})
    else:
        response = RedirectResponse(target, status_code=status_code)
    _apply_page_headers(response)
    page = getattr(request.state, "web_page", None)
    if isinstance(page, WebPage) and page.flashes:
        set_flashes(request, response, page.flashes)
    return response


def login_redirect(request: Request, next_path: str) -> Response:
    """Send the reader to the login page, coming back to ``next_path`` afterwards."""
    target = "/login"
    if next_path and next_path not in ("/", "/login"):
        target += "?next=" + quote(next_path, safe="/")
    response = redirect(request, target)
    if request.cookies.get(SESSION_COOKIE):
        delete_cookie(request, response, SESSION_COOKIE)
    return response


def choices(pairs: Sequence[tuple[str, str]]) -> list[dict[str, str]]:
    """``[(value, label)]`` as the select macro takes them."""
    return [{"value": value, "label": label} for value, label in pairs]
