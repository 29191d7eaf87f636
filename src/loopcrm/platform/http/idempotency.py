"""``Idempotency-Key`` on POST: a retried request gets the first answer instead of a second effect.

The first request with a key claims it (a unique row per caller and key) before the handler
runs; its response is stored afterwards. A retry with the same body replays that response; a
retry while the first is still running gets 409; the same key with another body gets 422.
Responses of 5xx and 401 are not kept, so the caller can retry after fixing the cause.
"""

from __future__ import annotations

import asyncio
import hashlib
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from loopcrm.platform.db import utc_now
from loopcrm.platform.http.middleware import ASGIApp, Message, Receive, Scope, Send, send_problem
from loopcrm.platform.http.models import IdempotentRequest

# Keys are kept for a day: long enough for any client's retry policy.
KEY_LIFETIME = timedelta(hours=24)
MAX_KEY_LENGTH = 255
_REPLAYED_HEADERS = (b"content-type", b"etag", b"location")


class IdempotencyMiddleware:
    """Runs after :class:`BodyLimitMiddleware`, which leaves the raw body in the scope state."""

    def __init__(
        self, app: ASGIApp, *, session_factory: sessionmaker[Session], path_prefix: str = "/api/"
    ) -> None:
        self.app = app
        self.session_factory = session_factory
        self.path_prefix = path_prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] != "POST"
            or not scope["path"].startswith(self.path_prefix)
        ):
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        key = headers.get(b"idempotency-key", b"").decode("latin-1").strip()
        if not key:
            await self.app(scope, receive, send)
            return
        request_id = scope.get("state", {}).get("request_id")
        if len(key) > MAX_KEY_LENGTH:
            await send_problem(
                send,
                400,
                "invalid_idempotency_key",
                "Invalid Idempotency-Key",
                f"The key is longer than {MAX_KEY_LENGTH} characters",
                request_id,
            )
            return
        credentials = headers.get(b"authorization", b"") + b"|" + headers.get(b"cookie", b"")
        principal = hashlib.sha256(credentials).hexdigest()
        body = scope.get("state", {}).get("raw_body", b"")
        fingerprint = hashlib.sha256(
            b"POST " + scope["path"].encode() + b"?" + scope.get("query_string", b"") + b"\n" + body
        ).hexdigest()

        outcome = await asyncio.to_thread(self._claim, principal, key, fingerprint)
        if isinstance(outcome, IdempotentRequest):
            if outcome.fingerprint != fingerprint:
                await send_problem(
                    send,
                    422,
                    "idempotency_key_reused",
                    "Idempotency-Key reused",
                    "This key was used for a different request",
                    request_id,
                )
            elif outcome.status_code is None:
                await send_problem(
                    send,
                    409,
                    "idempotency_key_in_use",
                    "Request still in progress",
                    "A request with this key is still being processed; retry later",
                    request_id,
                )
            else:
                await self._replay(send, outcome)
            return

        status: int | None = None
        response_headers: list[tuple[bytes, bytes]] = []
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            nonlocal status, response_headers
            if message["type"] == "http.response.start":
                status = message["status"]
                response_headers = list(message.get("headers", []))
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive, capture)
        finally:
            keep = status is not None and status < 500 and status != 401
            await asyncio.to_thread(
                self._finish, outcome, status if keep else None, response_headers, b"".join(chunks)
            )

    def _claim(self, principal: str, key: str, fingerprint: str) -> IdempotentRequest | str:
        """Claim the key; returns the claim's id, or the existing record when already claimed."""
        with self.session_factory() as session:
            existing = session.scalar(
                select(IdempotentRequest).where(
                    IdempotentRequest.principal == principal, IdempotentRequest.key == key
                )
            )
            if existing is not None and existing.created_at < utc_now() - KEY_LIFETIME:
                # past its lifetime the key is free again; housekeeping removes the others hourly
                session.delete(existing)
                session.flush()
                existing = None
            if existing is not None:
                session.commit()
                return existing
            claim = IdempotentRequest(principal=principal, key=key, fingerprint=fingerprint)
            session.add(claim)
            try:
                session.commit()
            except IntegrityError:  # another request claimed the key between our read and write
                session.rollback()
                found = session.scalar(
                    select(IdempotentRequest).where(
                        IdempotentRequest.principal == principal, IdempotentRequest.key == key
                    )
                )
                if found is None:
                    raise
                return found
            return claim.id

    def _finish(
        self, claim_id: str, status: int | None, headers: list[tuple[bytes, bytes]], body: bytes
    ) -> None:
        with self.session_factory() as session:
            if status is None:
                session.execute(delete(IdempotentRequest).where(IdempotentRequest.id == claim_id))
            else:
                kept: dict[str, Any] = {
                    name.decode("latin-1"): value.decode("latin-1")
                    for name, value in headers
                    if name.lower() in _REPLAYED_HEADERS
                }
                session.execute(
                    update(IdempotentRequest)
                    .where(IdempotentRequest.id == claim_id)
                    .values(
                        status_code=status,
                        response_headers=kept,
                        response_body=body.decode("utf-8", "replace"),
                    )
                )
            session.commit()

    @staticmethod
    async def _replay(send: Send, stored: IdempotentRequest) -> None:
        payload = (stored.response_body or "").encode()
        headers = [
            (name.encode("latin-1"), str(value).encode("latin-1"))
            for name, value in stored.response_headers.items()
        ]
        headers += [(b"content-length", str(len(payload)).encode()), (b"idempotent-replayed", b"true")]
        await send({"type": "http.response.start", "status": stored.status_code or 200, "headers": headers})
        await send({"type": "http.response.body", "body": payload})
