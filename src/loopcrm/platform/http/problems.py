"""RFC 9457 problem documents for every error the API returns, never a bare 500 for bad input."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from loopcrm.platform.errors import DomainError, RateLimited, StaleVersion, ValidationFailed
from loopcrm.platform.i18n import fill_placeholders

log = logging.getLogger(__name__)

PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_TYPE_BASE = "https://loopcrm.dev/problems/"


def problem_response(
    status: int,
    code: str,
    title: str,
    detail: str | None = None,
    *,
    errors: list[dict[str, Any]] | None = None,
    request: Request | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    """A problem document: ``type``, ``title``, ``status``, ``detail``, ``errors[]``, ``instance``."""
    body: dict[str, Any] = {"type": PROBLEM_TYPE_BASE + code, "title": title, "status": status, "code": code}
    if detail:
        body["detail"] = detail
    if errors is not None:
        body["errors"] = errors
    if request is not None:
        body["instance"] = request.url.path
        request_id = getattr(request.state, "request_id", None)
        if request_id:
            body["request_id"] = request_id
    return JSONResponse(body, status_code=status, media_type=PROBLEM_MEDIA_TYPE, headers=headers)


def domain_error_response(request: Request, error: DomainError) -> JSONResponse:
    errors = None
    headers = None
    if isinstance(error, ValidationFailed):
        errors = [
            {"field": item.field, "code": item.code, "message": fill_placeholders(item.message, item.params)}
            for item in error.errors
        ]
    if isinstance(error, RateLimited):
        headers = {"Retry-After": str(error.retry_after_seconds)}
    detail = fill_placeholders(error.message, error.params)
    return problem_response(
        error.status,
        error.code,
        error.title,
        detail if detail != error.title else None,
        errors=errors,
        request=request,
        headers=headers,
    )


def _location(location: tuple[Any, ...]) -> str:
    """``("body", "lines", 2, "quantity")`` → ``lines.2.quantity``."""
    parts = [str(part) for part in location]
    if parts and parts[0] in {"body", "query", "path", "header", "cookie"}:
        source, parts = parts[0], parts[1:]
        if source != "body" and parts:
            return f"{source}.{'.'.join(parts)}"
    return ".".join(parts) or "body"


def validation_error_response(request: Request, error: RequestValidationError) -> JSONResponse:
    issues = error.errors()
    if any(issue.get("type") == "json_invalid" for issue in issues):
        return problem_response(
            400,
            "malformed_json",
            "The request body is not valid JSON",
            "; ".join(str(issue.get("msg")) for issue in issues if issue.get("type") == "json_invalid"),
            errors=[{"field": "body", "code": "json_invalid", "message": "Malformed JSON"}],
            request=request,
        )
    errors = [
        {
            "field": _location(tuple(issue.get("loc", ()))),
            "code": str(issue.get("type")),
            "message": str(issue.get("msg")),
        }
        for issue in issues
    ]
    return problem_response(
        422, "validation_failed", "The input is not valid", errors=errors, request=request
    )


def install_problem_handlers(app: FastAPI) -> None:
    """Map every error to a problem document on API paths."""

    @app.exception_handler(DomainError)
    async def _domain(request: Request, error: DomainError) -> JSONResponse:
        return domain_error_response(request, error)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, error: RequestValidationError) -> JSONResponse:
        return validation_error_response(request, error)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, error: StarletteHTTPException) -> JSONResponse:
        titles = {404: ("not_found", "Not found"), 405: ("method_not_allowed", "Method not allowed")}
        code, title = titles.get(error.status_code, ("http_error", str(error.detail)))
        return problem_response(
            error.status_code, code, title, request=request, headers=getattr(error, "headers", None)
        )


__all__ = ["StaleVersion", "install_problem_handlers", "problem_response"]


class FieldProblem(BaseModel):
    """One problem with one input field."""

    field: str
    code: str
    message: str


class ProblemDocument(BaseModel):
    """An RFC 9457 problem document, as every error of the API is answered."""

    type: str
    title: str
    status: int
    code: str
    detail: str | None = None
    errors: list[FieldProblem] | None = None
    instance: str | None = None
    request_id: str | None = None


# Every API operation may answer these; each with a problem document.
_PROBLEM_STATUSES = {
    "400": "Malformed request (for example invalid JSON)",
    "401": "Missing, unknown, expired or revoked API token",
    "403": "The token's user may not do this",
    "404": "Not found, or outside the user's record scope",
    "409": "Conflict with the current state (or a request with the same Idempotency-Key in progress)",
    "412": "If-Match names a version that is no longer current",
    "413": "Request body too large",
    "422": "Invalid input; errors[] names each field",
    "429": "Too many requests; see Retry-After",
}


def document_problem_responses(openapi: dict[str, Any], path_prefix: str) -> dict[str, Any]:
    """Declare the problem-document answers on every API operation of an OpenAPI document.

    FastAPI documents only its own 422 shape; this replaces it, so clients and schema-based
    tests know every error's status code, media type and body.
    """
    schemas = openapi.setdefault("components", {}).setdefault("schemas", {})
    schemas.pop("HTTPValidationError", None)
    schemas.pop("ValidationError", None)
    for model in (FieldProblem, ProblemDocument):
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        schema.pop("$defs", None)
        schemas[model.__name__] = schema
    reference = {"$ref": "#/components/schemas/ProblemDocument"}
    for path, operations in openapi.get("paths", {}).items():
        if not path.startswith(path_prefix):
            continue
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            for status, description in _PROBLEM_STATUSES.items():
                responses[status] = {
                    "description": description,
                    "content": {PROBLEM_MEDIA_TYPE: {"schema": reference}},
                }
    return openapi
