"""The Segment-compatible ingestion endpoints at the server root (CDP_CONTRACT.md).

Authenticated by a source's write key only: no session, no CSRF, no API token. Errors are the
small ``{"code", "message"}`` documents Segment clients expect, not the API's problem documents,
and success is exactly ``200`` (analytics-python treats any other 2xx as a failure).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from loopcrm.modules.cdp import service as cdp
from loopcrm.modules.cdp.models import MessageType

router = APIRouter(include_in_schema=False)

_CORS_ALLOWED_HEADERS = "Authorization, Content-Type, AnonymousId, Content-Encoding"
# Browsers may cache a preflight answer this long (seconds).
_CORS_MAX_AGE = "86400"


def _ingestion(request: Request) -> cdp.Ingestion:
    ingestion: cdp.Ingestion = request.app.state.cdp_ingestion
    return ingestion


def _cors_headers(request: Request) -> dict[str, str]:
    origin = request.headers.get("origin")
    if not origin:
        return {}
    return {
        "Access-Control-Allow-Origin": origin,
        "Access-Control-Allow-Credentials": "true",
        "Vary": "Origin",
    }


def _error(request: Request, status: int, code: str, message: str, **headers: str) -> JSONResponse:
    return JSONResponse(
        {"code": code, "message": message},
        status_code=status,
        headers={**_cors_headers(request), **headers},
    )


async def _ingest(request: Request, message_type: MessageType | None) -> Response:
    incoming = cdp.IncomingRequest(
        body=await request.body(),
        message_type=message_type,
        authorization=request.headers.get("authorization"),
        query_write_key=request.query_params.get("writeKey"),
        content_encoding=request.headers.get("content-encoding"),
        origin=request.headers.get("origin"),
        ip=request.client.host if request.client else None,
    )
    try:
        await _ingestion(request).ingest(incoming)
    except cdp.InvalidWriteKey:
        return _error(request, 401, "invalid_write_key", "The write key is unknown or its source is disabled")
    except cdp.OriginNotAllowed:
        return _error(
            request, 403, "origin_not_allowed", "This source does not accept events from this origin"
        )
    except cdp.RequestRefused as refused:
        return _error(request, 400, refused.code.value, refused.message)
    except cdp.TooManyEvents as limited:
        return _error(
            request,
            429,
            "rate_limited",
            "The source sends more events than its rate limit; retry later",
            **{"Retry-After": str(limited.retry_after_seconds)},
        )
    except cdp.WriterUnavailable as unavailable:
        return _error(
            request,
            503,
            "temporarily_unavailable",
            unavailable.reason,
            **{"Retry-After": str(unavailable.retry_after_seconds)},
        )
    return JSONResponse({"success": True}, status_code=200, headers=_cors_headers(request))


def _preflight(request: Request) -> Response:
    headers = _cors_headers(request)
    headers["Access-Control-Allow-Methods"] = "GET, POST, OPTIONS"
    headers["Access-Control-Allow-Headers"] = _CORS_ALLOWED_HEADERS
    headers["Access-Control-Max-Age"] = _CORS_MAX_AGE
    return Response(status_code=200, headers=headers)


@router.post("/v1/batch")
@router.post("/v1/b")
async def batch(request: Request) -> Response:
    return await _ingest(request, None)


def _typed_endpoint(message_type: MessageType) -> Any:
    async def endpoint(request: Request) -> Response:
        return await _ingest(request, message_type)

    endpoint.__name__ = f"ingest_{message_type.value}"
    return endpoint


for _type in MessageType:
    router.add_api_route(f"/v1/{_type.value}", _typed_endpoint(_type), methods=["POST"])
for _letter, _type in cdp.SHORT_PATH_TYPES.items():
    router.add_api_route(f"/v1/{_letter}", _typed_endpoint(_type), methods=["POST"])


@router.options("/v1/{path:path}")
def preflight(request: Request, path: str) -> Response:
    """CORS preflight of every ingestion path: echo the origin, allow the headers SDKs send."""
    return _preflight(request)


@router.get("/v1/projects/{write_key}/settings")
def project_settings(request: Request, write_key: str) -> Response:
    """The settings document analytics.js loads when its CDN URL points at this server."""
    try:
        document = _ingestion(request).settings_document(
            write_key, api_host=f"{request.url.netloc}/v1", protocol=request.url.scheme
        )
    except cdp.InvalidWriteKey:
        return _error(request, 401, "invalid_write_key", "The write key is unknown or its source is disabled")
    except cdp.WriterUnavailable as unavailable:
        return _error(
            request,
            503,
            "temporarily_unavailable",
            unavailable.reason,
            **{"Retry-After": str(unavailable.retry_after_seconds)},
        )
    return JSONResponse(document, headers=_cors_headers(request))
