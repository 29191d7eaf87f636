"""The ingestion use case: write key → source, rate limit, read the messages, hand them to the
group-commit writer, answer once committed.

One :class:`Ingestion` lives per process (the application builds it). The write-key lookups are
cached for a few seconds, so a request costs no query; a change of a source in this process
clears the cache at once, other processes see it within ``SOURCE_CACHE_SECONDS``.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import math
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from loopcrm.modules.cdp.models import EventSource, MessageType, RejectionCode
from loopcrm.modules.cdp.service.messages import (
    ReadBatch,
    Rejection,
    RequestFacts,
    RequestRefused,
    body_write_key,
    decode_body,
    raw_text,
    read_batch,
    read_single,
)
from loopcrm.modules.cdp.service.sources import sources_generation, write_key_digest
from loopcrm.modules.cdp.service.writer import EventWriter, Submission, WriteOutcome, WriterUnavailable
from loopcrm.platform.db import utc_now

# How long a write-key lookup is trusted before the database is asked again (other processes'
# changes to a source take effect within this time).
SOURCE_CACHE_SECONDS = 5.0
# Unknown keys are remembered too, so a client hammering with a wrong key costs no queries.
UNKNOWN_KEY_CACHE_SECONDS = 2.0
MAX_CACHED_KEYS = 10_000


class InvalidWriteKey(Exception):
    """No enabled source has this write key (401 ``invalid_write_key``)."""


class OriginNotAllowed(Exception):
    """A browser sent from an origin the source does not list (403 ``origin_not_allowed``)."""


class TooManyEvents(Exception):
    """The source is over its rate limit (429 with ``Retry-After``)."""

    def __init__(self, retry_after_seconds: int) -> None:
        self.retry_after_seconds = retry_after_seconds
        super().__init__("rate limited")


@dataclass(frozen=True)
class KnownSource:
    """What ingestion needs to know about a source, cached per write key."""

    id: str
    is_enabled: bool
    allowed_origins: frozenset[str]
    rate_limit_per_second: int | None

    def allows_origin(self, origin: str | None) -> bool:
        if origin is None:
            return True  # not a browser
        return "*" in self.allowed_origins or origin.rstrip("/").lower() in self.allowed_origins


@dataclass(frozen=True)
class IncomingRequest:
    """An ingestion request as the HTTP layer read it."""

    body: bytes
    message_type: MessageType | None  # None for /v1/batch and /v1/b
    authorization: str | None
    query_write_key: str | None
    content_encoding: str | None
    origin: str | None
    ip: str | None


class _Bucket:
    """A token bucket that may go negative: a batch larger than the rate still passes once, and
    the next requests wait until the debt is paid."""

    __slots__ = ("tokens", "updated")

    def __init__(self, rate: float) -> None:
        self.tokens = rate
        self.updated = time.monotonic()


class Ingestion:
    """Write keys, rate limits and the writer of one process."""

    def __init__(
        self,
        session_factory: sessionmaker[Session],
        database_url: str,
        *,
        default_rate_limit_per_second: int,
        max_queued_events: int,
        lock_timeout_seconds: float,
        acknowledge_timeout_seconds: float,
    ) -> None:
        self.session_factory = session_factory
        self.default_rate_limit_per_second = default_rate_limit_per_second
        self.acknowledge_timeout_seconds = acknowledge_timeout_seconds
        self.writer = EventWriter(
            database_url, max_queued_events=max_queued_events, lock_timeout_seconds=lock_timeout_seconds
        )
        self._cache: dict[str, tuple[float, KnownSource | None]] = {}
        self._cache_generation = sources_generation()
        self._buckets: dict[str, _Bucket] = {}
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ write keys

    def find_source(self, write_key: str) -> KnownSource | None:
        """The source of ``write_key`` (enabled or not), or ``None``; cached."""
        now = time.monotonic()
        key_digest = write_key_digest(write_key)
        with self._lock:
            generation = sources_generation()
            if self._cache_generation != generation:
                self._cache.clear()
                self._cache_generation = generation
            cached = self._cache.get(key_digest)
        if cached is not None and cached[0] > now:
            return cached[1]
        try:
            with self.session_factory() as session:
                source = session.scalar(select(EventSource).where(EventSource.write_key_digest == key_digest))
        except SQLAlchemyError:
            raise WriterUnavailable("The database is unavailable", retry_after_seconds=5) from None
        known = (
            KnownSource(
                id=source.id,
                is_enabled=source.is_enabled,
                allowed_origins=frozenset(source.allowed_origins),
                rate_limit_per_second=source.rate_limit_per_second,
            )
            if source is not None
            else None
        )
        lifetime = SOURCE_CACHE_SECONDS if known is not None else UNKNOWN_KEY_CACHE_SECONDS
        with self._lock:
            if len(self._cache) >= MAX_CACHED_KEYS:
                self._cache.clear()
            self._cache[key_digest] = (now + lifetime, known)
        return known

    def enabled_source(self, write_key: str | None) -> KnownSource:
        """The enabled source of ``write_key``; raises :class:`InvalidWriteKey` otherwise."""
        if not write_key:
            raise InvalidWriteKey()
        source = self.find_source(write_key)
        if source is None or not source.is_enabled:
            raise InvalidWriteKey()
        return source

    # ------------------------------------------------------------------ rate limits

    def _take(self, source: KnownSource, count: int) -> None:
        rate = float(source.rate_limit_per_second or self.default_rate_limit_per_second)
        now = time.monotonic()
        with self._lock:
            bucket = self._buckets.get(source.id)
            if bucket is None:
                bucket = self._buckets[source.id] = _Bucket(rate)
            bucket.tokens = min(rate, bucket.tokens + (now - bucket.updated) * rate)
            bucket.updated = now
            if bucket.tokens <= 0:
                raise TooManyEvents(max(1, math.ceil(-bucket.tokens / rate)))
            bucket.tokens -= count

    # ------------------------------------------------------------------ requests

    async def ingest(self, request: IncomingRequest) -> WriteOutcome:
        """Store a request's messages; returns once they are committed.

        Raises :class:`InvalidWriteKey`, :class:`OriginNotAllowed`, :class:`RequestRefused`
        (bad input, 400), :class:`TooManyEvents` (429) or :class:`WriterUnavailable` (503).
        """
        received_at = utc_now()
        basic_key, bearer = credentials_from_authorization(request.authorization)
        document: Any = None
        refusal: RequestRefused | None = None
        try:
            document = decode_body(request.body, request.content_encoding)
        except RequestRefused as refused:
            refusal = refused
        # Basic, then the body, then the query; a bearer counts only when nothing else names a key
        # (it may be an OAuth token sent along with the body key).
        write_key = basic_key or body_write_key(document) or request.query_write_key or bearer
        if refusal is not None and not write_key:
            raise refusal  # the key may be in the body that could not be read: bad input all the same
        source = self.enabled_source(write_key)
        if not source.allows_origin(request.origin):
            raise OriginNotAllowed()
        if refusal is not None:
            await self._keep_refused_request(source, refusal, request.body, received_at)
            raise refusal
        facts = RequestFacts(received_at=received_at, ip=request.ip, source_id=source.id)
        try:
            if request.message_type is None:
                read = read_batch(document, facts)
            else:
                read = read_single(document, request.message_type, facts)
        except RequestRefused as refused:
            await self._keep_refused_request(source, refused, document, received_at)
            raise
        self._take(source, len(read.rows) or 1)
        return await self._store(source, read, received_at)

    async def _store(self, source: KnownSource, read: ReadBatch, received_at: datetime) -> WriteOutcome:
        submission = Submission(
            source_id=source.id, rows=read.rows, rejections=read.rejections, received_at=received_at
        )
        future = self.writer.submit(submission)
        try:
            return await asyncio.wait_for(asyncio.wrap_future(future), self.acknowledge_timeout_seconds)
        except TimeoutError:
            # The events may still commit; the client's retry is deduplicated by messageId.
            raise WriterUnavailable("The event log is slow to answer", retry_after_seconds=2) from None

    async def _keep_refused_request(
        self, source: KnownSource, refused: RequestRefused, content: Any, received_at: datetime
    ) -> None:
        """Keep a refused request of a known source as a dead letter, best effort."""
        if isinstance(content, bytes):
            content = content.decode("utf-8", "replace")
        rejection = Rejection(
            code=refused.code, reason=refused.message, message_id=None, raw=raw_text(content)
        )
        with contextlib.suppress(WriterUnavailable, SQLAlchemyError):  # the client gets its 400 either way
            await self._store(source, ReadBatch(rejections=[rejection]), received_at)

    def settings_document(self, write_key: str, api_host: str, protocol: str) -> dict[str, Any]:
        """What analytics.js loads from ``/v1/projects/{writeKey}/settings``: send to this server."""
        self.enabled_source(write_key)
        return {
            "integrations": {
                "Segment.io": {
                    "apiKey": write_key,
                    "apiHost": api_host,
                    "protocol": protocol,
                    "unbundledIntegrations": [],
                    "addBundledMetadata": False,
                }
            },
            "plan": {"track": {"__default": {"enabled": True, "integrations": {}}}, "identify": {}},
            "edgeFunction": {},
            "analyticsNextEnabled": True,
            "middlewareSettings": {},
            "enabledMiddleware": {},
            "metrics": {"sampleRate": 0},
            "legacyVideoPluginsEnabled": False,
            "remotePlugins": [],
        }

    def stop(self) -> None:
        self.writer.stop()


def credentials_from_authorization(authorization: str | None) -> tuple[str | None, str | None]:
    """The write key of ``Authorization: Basic base64(key:)`` (colon optional), and a bearer token."""
    if not authorization:
        return None, None
    scheme, _, credentials = authorization.strip().partition(" ")
    credentials = credentials.strip()
    if not credentials:
        return None, None
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(credentials, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None, None
        return decoded.split(":", 1)[0] or None, None
    if scheme.lower() == "bearer":
        return None, credentials
    return None, None


__all__ = [
    "IncomingRequest",
    "Ingestion",
    "InvalidWriteKey",
    "KnownSource",
    "OriginNotAllowed",
    "RejectionCode",
    "RequestRefused",
    "TooManyEvents",
    "WriteOutcome",
    "WriterUnavailable",
]
