"""The "possible duplicates" warning a new record's page shows once, right after it was created.

The create answer names the records that look like the new one (``possible_duplicates``, filled
by the duplicate detection). They travel to the record's page in a signed query parameter, so
the page neither reads them again nor shows what a forged link claims.
"""

from __future__ import annotations

from typing import Any

from itsdangerous import BadSignature
from starlette.requests import Request

from loopcrm.modules.customers.schemas import AccountOut, ContactOut
from loopcrm.platform.web.cookies import serializer

PARAMETER = "duplicates"
_PURPOSE = "customers.duplicates"
# The notice is for the page the create form leads to; a bookmarked link stops showing it.
MAX_AGE_SECONDS = 600
MAX_SHOWN = 10
_PATHS = {"account": "/customers/accounts/", "contact": "/customers/contacts/"}


def duplicates_query(request: Request, created: AccountOut | ContactOut) -> str:
    """``?duplicates=<signed list>`` for the new record's page, or nothing when none look alike."""
    matches = [
        [match.record_kind.value, match.id, match.label, list(match.reasons)]
        for match in created.possible_duplicates[:MAX_SHOWN]
    ]
    if not matches:
        return ""
    return f"?{PARAMETER}=" + serializer(request, _PURPOSE).dumps(matches)


def possible_duplicates(request: Request) -> list[dict[str, Any]]:
    """The matches of a just-created record, each with ``path``, ``label`` and ``reasons``."""
    raw = request.query_params.get(PARAMETER)
    if not raw:
        return []
    try:
        matches = serializer(request, _PURPOSE).loads(raw, max_age=MAX_AGE_SECONDS)
    except BadSignature:  # tampered with or expired (SignatureExpired is a BadSignature)
        return []
    shown = []
    for item in matches if isinstance(matches, list) else []:
        try:
            kind, record_id, label, reasons = item
        except (TypeError, ValueError):
            continue
        if kind in _PATHS:
            shown.append(
                {"path": _PATHS[kind] + str(record_id), "label": str(label), "reasons": list(reasons)}
            )
    return shown
