"""The browser cookies of the web UI, and how each is set.

| Cookie | Holds | Lifetime |
|---|---|---|
| ``loopcrm_session`` | the random session token (only its digest is stored) | until the session expires |
| ``loopcrm_csrf`` | a signed random value for forms shown before sign-in | the browser session |
| ``loopcrm_flash`` | signed messages to show on the next page | a few minutes |
| ``loopcrm_locale`` | the language chosen with the language switch | a year |

Every cookie is HttpOnly, SameSite=Lax, Path=/, and Secure when ``settings.secure_cookies``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.requests import Request
from starlette.responses import Response

SESSION_COOKIE = "loopcrm_session"
ANONYMOUS_CSRF_COOKIE = "loopcrm_csrf"
FLASH_COOKIE = "loopcrm_flash"
LOCALE_COOKIE = "loopcrm_locale"

LOCALE_COOKIE_SECONDS = 365 * 24 * 3600


def _secure(request: Request) -> bool:
    return bool(request.app.state.settings.secure_cookies)


def set_cookie(
    request: Request,
    response: Response,
    name: str,
    value: str,
    *,
    max_age: int | None = None,
    expires: datetime | None = None,
) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        expires=expires,
        path="/",
        secure=_secure(request),
        httponly=True,
        samesite="lax",
    )


def delete_cookie(request: Request, response: Response, name: str) -> None:
    response.delete_cookie(name, path="/", secure=_secure(request), httponly=True, samesite="lax")


def set_session_cookie(request: Request, response: Response, token: str, expires_at: datetime) -> None:
    """The session cookie lives exactly as long as the session it names."""
    seconds = max(0, int((expires_at - datetime.now(UTC)).total_seconds()))
    set_cookie(request, response, SESSION_COOKIE, token, max_age=seconds, expires=expires_at)


def serializer(request: Request, purpose: str) -> URLSafeTimedSerializer:
    """A signer keyed by the installation's secret, salted per purpose so signatures never cross over."""
    return URLSafeTimedSerializer(request.app.state.secret_key, salt=f"loopcrm.web.{purpose}")


def load_signed(request: Request, name: str, purpose: str, max_age_seconds: int) -> Any | None:
    """The signed payload of cookie ``name``, or ``None`` when absent, tampered with or too old."""
    raw = request.cookies.get(name)
    if not raw:
        return None
    try:
        return serializer(request, purpose).loads(raw, max_age=max_age_seconds)
    except BadSignature:  # also SignatureExpired, its subclass
        return None
