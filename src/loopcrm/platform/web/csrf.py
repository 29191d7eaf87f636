"""Cross-site request forgery protection for every unsafe request of the web UI.

Signed-in pages use the synchronizer token of the browser session (``BrowserSession.csrf_token``):
every POST form carries it in the hidden field ``csrf_token`` and htmx sends it in the
``X-CSRF-Token`` header. Pages shown before sign-in (login, password reset, the language switch)
have no session yet; they use a signed double-submit cookie: the cookie holds a random value
signed with the installation's secret, the form repeats the value, and both must agree. A forged
cross-site form can neither read the value nor mint a cookie with a valid signature.
"""

from __future__ import annotations

import hmac

from starlette.requests import Request
from starlette.responses import Response

from loopcrm.platform.db import new_token
from loopcrm.platform.web.cookies import ANONYMOUS_CSRF_COOKIE, load_signed, serializer, set_cookie

CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
# A form shown before sign-in stays usable for a day; after that the reader reloads the page.
ANONYMOUS_TOKEN_MAX_AGE_SECONDS = 24 * 3600
_PURPOSE = "csrf"


class CsrfRejected(Exception):
    """An unsafe request arrived without the token of the page that should have sent it."""


def anonymous_token(request: Request) -> str:
    """The double-submit value of this browser: the one in its cookie, or a new one."""
    payload = load_signed(request, ANONYMOUS_CSRF_COOKIE, _PURPOSE, ANONYMOUS_TOKEN_MAX_AGE_SECONDS)
    if isinstance(payload, str) and payload:
        return payload
    return new_token()


def set_anonymous_cookie(request: Request, response: Response, token: str) -> None:
    """(Re)sign the value into the cookie; re-signing on every page keeps an open tab's form fresh."""
    set_cookie(request, response, ANONYMOUS_CSRF_COOKIE, serializer(request, _PURPOSE).dumps(token))


async def submitted_token(request: Request) -> str:
    """The token the request carries: the htmx header, else the form field."""
    header = request.headers.get(CSRF_HEADER)
    if header:
        return header
    content_type = request.headers.get("content-type", "")
    if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        value = (await request.form()).get(CSRF_FIELD)
        if isinstance(value, str):
            return value
    return ""


def tokens_match(expected: str | None, submitted: str) -> bool:
    return bool(expected) and bool(submitted) and hmac.compare_digest(str(expected), submitted)


def valid_anonymous_submission(request: Request, submitted: str) -> bool:
    """The submitted value equals the value signed into this browser's cookie."""
    payload = load_signed(request, ANONYMOUS_CSRF_COOKIE, _PURPOSE, ANONYMOUS_TOKEN_MAX_AGE_SECONDS)
    return isinstance(payload, str) and tokens_match(payload, submitted)
