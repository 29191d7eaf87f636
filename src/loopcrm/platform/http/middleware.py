"""ASGI middleware of the API: request ids on every request, a size limit on API bodies."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Awaitable, Callable, Collection, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

REQUEST_ID_HEADER = "x-request-id"
_ACCEPTABLE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


class RequestIdMiddleware:
    """Gives every request an id (the caller's ``X-Request-ID`` if sane), echoed in the response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = dict(scope.get("headers") or []).get(REQUEST_ID_HEADER.encode(), b"").decode("latin-1")
        request_id = incoming if _ACCEPTABLE_REQUEST_ID.match(incoming) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", request_id.encode())]
            await send(message)

        await self.app(scope, receive, send_with_id)


async def send_problem(
    send: Send, status: int, code: str, title: str, detail: str, request_id: str | None
) -> None:
    body: dict[str, Any] = {
        "type": f"https://loopcrm.dev/problems/{code}",
        "title": title,
        "status": status,
        "code": code,
        "detail": detail,
        "errors": [{"field": "body", "code": code, "message": detail}],
    }
    if request_id:
        body["request_id"] = request_id
    payload = json.dumps(body).encode()
    headers = [
        (b"content-type", b"application/problem+json"),
        (b"content-length", str(len(payload)).encode()),
    ]
    if request_id:
        headers.append((b"x-request-id", request_id.encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})


class BodyLimitMiddleware:
    """Refuses API request bodies over ``max_bytes`` with 413 before any handler runs, and any
    request whose path or query carries a NUL character with 400. A file upload may be up to
    ``max_upload_bytes``, so that a file the web page takes can be sent through the API too,
    while JSON bodies stay small: a ``POST`` to one of ``upload_paths`` (the routes that take a
    file) with one ``Content-Type``, ``multipart/form-data``.

    The body is read here (bounded) and replayed to the app, so a lying ``Content-Length`` or
    a chunked upload cannot get past the limit.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_bytes: int,
        max_upload_bytes: int | None = None,
        upload_paths: Collection[str] = frozenset(),
        path_prefix: str = "/api/",
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.max_upload_bytes = max(max_bytes, max_upload_bytes or max_bytes)
        self.upload_paths = frozenset(upload_paths)
        self.path_prefix = path_prefix

    def _is_upload(self, scope: Scope) -> bool:
        # Every Content-Type header is looked at: with two, the app would read the first and a
        # check of another could grant a JSON body the upload's limit.
        content_types = [value for name, value in scope.get("headers") or [] if name == b"content-type"]
        return (
            scope.get("method") == "POST"
            and len(content_types) == 1
            and content_types[0].split(b";")[0].strip().lower() == b"multipart/form-data"
            and scope["path"].rstrip("/") in self.upload_paths
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = scope.get("state", {}).get("request_id")
        if "\x00" in scope["path"] or b"%00" in scope.get("query_string", b"").lower():
            # PostgreSQL cannot store NUL characters; refuse them before any handler sees one.
            await send_problem(
                send,
                400,
                "nul_character",
                "Invalid request",
                "The path or query contains a NUL character",
                request_id,
            )
            return
        if not scope["path"].startswith(self.path_prefix):
            await self.app(scope, receive, send)
            return
        max_bytes = self.max_upload_bytes if self._is_upload(scope) else self.max_bytes
        detail = f"The request body is larger than {max_bytes} bytes"
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > max_bytes:
            await send_problem(send, 413, "body_too_large", "Request body too large", detail, request_id)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > max_bytes:
                await send_problem(send, 413, "body_too_large", "Request body too large", detail, request_id)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        scope.setdefault("state", {})["raw_body"] = body
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)
