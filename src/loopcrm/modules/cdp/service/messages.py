"""Reading Segment-compatible requests and messages into event-log rows (CDP_CONTRACT.md).

Everything here is plain Python on purpose: it runs for every one of tens of thousands of
messages a second, so there is no pydantic model per message. A request is refused as a whole
(400) only when it cannot be read at all; a bad message inside a readable batch becomes a
:class:`Rejection` and the other messages are accepted.
"""

from __future__ import annotations

import gzip
import json
import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson

from loopcrm.modules.cdp.models import (
    MAX_DEAD_LETTER_RAW_LENGTH,
    MAX_EVENT_NAME_LENGTH,
    MAX_IDENTIFIER_LENGTH,
    MAX_MESSAGE_ID_LENGTH,
    MessageType,
    RejectionCode,
)
from loopcrm.platform.db import new_id

# The limits of Segment's HTTP API, which clients already respect (CDP_CONTRACT.md: transport).
MAX_MESSAGE_BYTES = 32 * 1024
MAX_REQUEST_BYTES = 500 * 1024
MAX_BATCH_MESSAGES = 2500

# analytics.js posts to the first letter of the type.
SHORT_PATH_TYPES: dict[str, MessageType] = {
    kind.value[0]: kind for kind in MessageType if kind.value[0] != "s"
}
SHORT_PATH_TYPES["s"] = MessageType.SCREEN

# Fields read into columns (or dropped: writeKey is a secret, receivedAt is the server's).
_TIME_FIELDS = ("timestamp", "originalTimestamp", "sentAt")
_COLUMN_FIELDS = frozenset(
    {
        "type",
        "userId",
        "anonymousId",
        "messageId",
        "timestamp",
        "originalTimestamp",
        "sentAt",
        "receivedAt",
        "context",
        "writeKey",
        "groupId",
        "previousId",
    }
)
_PROPERTY_FIELD = {
    MessageType.IDENTIFY: "traits",
    MessageType.GROUP: "traits",
    MessageType.TRACK: "properties",
    MessageType.PAGE: "properties",
    MessageType.SCREEN: "properties",
    MessageType.ALIAS: None,
}
_NAME_FIELD = {MessageType.TRACK: "event", MessageType.PAGE: "name", MessageType.SCREEN: "name"}


class RequestRefused(Exception):
    """The whole request is bad input (400): the client must not retry it."""

    def __init__(self, code: RejectionCode, message: str) -> None:
        self.code = code
        self.message = message
        super().__init__(message)


@dataclass(frozen=True)
class Rejection:
    """One message refused, with the reason, kept as a dead letter."""

    code: RejectionCode
    reason: str
    message_id: str | None
    raw: str


@dataclass
class ReadBatch:
    """What one request carried: event-log rows ready to insert and the messages refused."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)


class _Invalid(Exception):
    def __init__(self, code: RejectionCode, reason: str) -> None:
        self.code = code
        self.reason = reason


def decode_body(body: bytes, content_encoding: str | None) -> Any:
    """The JSON document of a request body, gunzipped if needed, within the request limit."""
    if content_encoding and content_encoding.strip().lower() in ("gzip", "x-gzip", "deflate"):
        body = _decompress(body, content_encoding.strip().lower())
    if len(body) > MAX_REQUEST_BYTES:
        raise RequestRefused(
            RejectionCode.REQUEST_TOO_LARGE,
            f"The request is {len(body)} bytes after decompression; the limit is {MAX_REQUEST_BYTES}",
        )
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        pass
    # orjson refuses a few things the JSON text standard allows and Python's parser reads (integers
    # beyond 64 bits, escaped lone surrogates): such a body is still valid input.
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise RequestRefused(RejectionCode.INVALID_JSON, "The request body is not valid JSON") from None


def json_bytes(value: Any) -> bytes:
    """``value`` as compact UTF-8 JSON, as the event log stores it and as the size limit counts it.

    orjson for speed (it runs for every message, several times); Python's encoder for what orjson
    refuses (integers beyond 64 bits, lone surrogates) so every readable message can be stored.
    """
    try:
        return orjson.dumps(value, default=str)
    except (orjson.JSONEncodeError, TypeError):
        text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)
        return text.encode("utf-8", "surrogatepass")


def _decompress(body: bytes, encoding: str) -> bytes:
    # Decompress at most one byte past the limit, so a small "zip bomb" cannot fill the memory.
    decompressor = zlib.decompressobj(wbits=31 if encoding != "deflate" else 15)
    try:
        inflated = decompressor.decompress(body, MAX_REQUEST_BYTES + 1)
    except (zlib.error, gzip.BadGzipFile):
        raise RequestRefused(RejectionCode.INVALID_JSON, "The body is not valid gzip") from None
    if len(inflated) > MAX_REQUEST_BYTES:
        raise RequestRefused(
            RejectionCode.REQUEST_TOO_LARGE,
            f"The request is over {MAX_REQUEST_BYTES} bytes after decompression",
        )
    return inflated


def body_write_key(document: Any) -> str | None:
    """The ``writeKey`` inside a request body, if there is one."""
    if isinstance(document, dict):
        key = document.get("writeKey")
        if isinstance(key, str) and key:
            return key
    return None


def raw_text(value: Any) -> str:
    """A message as text for a dead letter: JSON, cut to what a dead letter keeps, no NUL."""
    try:
        text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    except (TypeError, ValueError):
        text = repr(value)
    return text[:MAX_DEAD_LETTER_RAW_LENGTH].replace("\x00", "\\u0000")


@dataclass(frozen=True)
class RequestFacts:
    """What the server knows of a request: its clock, the client's address, and batch defaults."""

    received_at: datetime
    ip: str | None
    source_id: str
    context: dict[str, Any] = field(default_factory=dict)
    integrations: dict[str, Any] = field(default_factory=dict)
    sent_at: Any = None


def read_batch(document: Any, facts_without_batch: RequestFacts) -> ReadBatch:
    """Read a ``/v1/batch`` (or ``/v1/b``) body: each message on its own."""
    if not isinstance(document, dict) or not isinstance(document.get("batch"), list):
        raise RequestRefused(RejectionCode.INVALID_MESSAGE, 'The body must be an object with a "batch" array')
    messages = document["batch"]
    if len(messages) > MAX_BATCH_MESSAGES:
        raise RequestRefused(
            RejectionCode.BATCH_TOO_LONG,
            f"The batch has {len(messages)} messages; the limit is {MAX_BATCH_MESSAGES}",
        )
    context = document.get("context")
    integrations = document.get("integrations")
    facts = RequestFacts(
        received_at=facts_without_batch.received_at,
        ip=facts_without_batch.ip,
        source_id=facts_without_batch.source_id,
        context=context if isinstance(context, dict) else {},
        integrations=integrations if isinstance(integrations, dict) else {},
        sent_at=document.get("sentAt"),
    )
    read = ReadBatch()
    sizes_matter = len(messages) > 1  # a single message is within the request limit checked already
    for message in messages:
        _read_into(read, message, None, facts, check_size=sizes_matter)
    return read


def read_single(document: Any, message_type: MessageType, facts: RequestFacts) -> ReadBatch:
    """Read the body of a per-type path (``/v1/track``, ``/v1/t`` …): one message, typed by the path."""
    if not isinstance(document, dict):
        raise RequestRefused(RejectionCode.INVALID_MESSAGE, "The body must be a JSON object")
    read = ReadBatch()
    _read_into(read, document, message_type, facts, check_size=True)
    return read


def _read_into(
    read: ReadBatch, message: Any, path_type: MessageType | None, facts: RequestFacts, *, check_size: bool
) -> None:
    try:
        read.rows.append(_event_row(message, path_type, facts, check_size=check_size))
    except _Invalid as invalid:
        message_id = message.get("messageId") if isinstance(message, dict) else None
        read.rejections.append(
            Rejection(
                code=invalid.code,
                reason=invalid.reason,
                message_id=str(message_id)[:MAX_MESSAGE_ID_LENGTH].replace("\x00", "")
                if isinstance(message_id, str | int) and not isinstance(message_id, bool)
                else None,
                raw=raw_text(message),
            )
        )


def _event_row(
    message: Any, path_type: MessageType | None, facts: RequestFacts, *, check_size: bool
) -> dict[str, Any]:
    if not isinstance(message, dict):
        raise _Invalid(RejectionCode.INVALID_MESSAGE, "A message must be a JSON object")
    if check_size:
        size = len(json_bytes(message))
        if size > MAX_MESSAGE_BYTES:
            raise _Invalid(
                RejectionCode.MESSAGE_TOO_LARGE,
                f"The message is {size} bytes; the limit is {MAX_MESSAGE_BYTES}",
            )
    message_type = path_type or _message_type(message.get("type"))
    user_id = _identifier(message, "userId")
    anonymous_id = _identifier(message, "anonymousId")
    group_id = _identifier(message, "groupId")
    previous_id = _identifier(message, "previousId")
    if message_type is MessageType.ALIAS:
        if previous_id is None or user_id is None:
            raise _Invalid(RejectionCode.MISSING_IDENTITY, "An alias needs both previousId and userId")
    elif user_id is None and anonymous_id is None:
        raise _Invalid(RejectionCode.MISSING_IDENTITY, "A message needs a userId or an anonymousId")
    if message_type is MessageType.GROUP and group_id is None:
        raise _Invalid(RejectionCode.MISSING_FIELD, "A group message needs a groupId")

    name_field = _NAME_FIELD.get(message_type)
    event_name = _text(message, name_field, MAX_EVENT_NAME_LENGTH) if name_field else None
    if message_type is MessageType.TRACK and not event_name:
        raise _Invalid(RejectionCode.MISSING_FIELD, "A track message needs an event name")
    property_field = _PROPERTY_FIELD[message_type]
    properties = _object(message, property_field) if property_field else {}

    context = _object(message, "context")
    if facts.context:
        context = {**facts.context, **context}
    if "ip" not in context and facts.ip:
        context["ip"] = facts.ip
    if message_type is MessageType.IDENTIFY and not properties and isinstance(context.get("traits"), dict):
        properties = dict(context["traits"])  # RudderStack SDKs send identify traits in context.traits

    times = {name: _time(message, name) for name in _TIME_FIELDS}
    original = times["originalTimestamp"] or times["timestamp"]
    sent_at = times["sentAt"] or _parse_time(facts.sent_at, "sentAt", required=False)
    received_at = facts.received_at
    if original is not None and sent_at is not None:
        timestamp = received_at - (sent_at - original)  # the client's clock skew removed
    else:
        timestamp = original or received_at

    extra = {
        key: value
        for key, value in message.items()
        if key not in _COLUMN_FIELDS and key != property_field and key != name_field
    }
    if facts.integrations:
        integrations = extra.get("integrations")
        extra["integrations"] = {
            **facts.integrations,
            **(integrations if isinstance(integrations, dict) else {}),
        }
    message_id = _text(message, "messageId", MAX_MESSAGE_ID_LENGTH) or new_id()
    return {
        "id": new_id(),
        "source_id": facts.source_id,
        "message_id": message_id,
        "type": message_type.value,
        "event": event_name,
        "user_id": user_id,
        "anonymous_id": anonymous_id,
        "group_id": group_id,
        "previous_id": previous_id,
        "timestamp": timestamp,
        "received_at": received_at,
        "sent_at": sent_at,
        "original_timestamp": original,
        "properties": properties,
        "context": context,
        "extra": extra,
    }


def _message_type(value: Any) -> MessageType:
    try:
        return MessageType(value)
    except ValueError:
        raise _Invalid(
            RejectionCode.UNKNOWN_TYPE,
            f"type must be one of {', '.join(kind.value for kind in MessageType)}, not {value!r}"[:500],
        ) from None


def _identifier(message: dict[str, Any], name: str) -> str | None:
    """An id field as a string: numbers are stringified, empty and null are missing."""
    value = message.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise _Invalid(RejectionCode.INVALID_MESSAGE, f"{name} must be a string or a number")
    text = value.strip() if isinstance(value, str) else str(value)
    if not text:
        return None
    return _checked_length(text, name, MAX_IDENTIFIER_LENGTH)


def _text(message: dict[str, Any], name: str, maximum: int) -> str | None:
    value = message.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise _Invalid(RejectionCode.INVALID_MESSAGE, f"{name} must be a string")
    text = str(value)
    return _checked_length(text, name, maximum) if text else None


def _checked_length(text: str, name: str, maximum: int) -> str:
    if len(text) > maximum:
        raise _Invalid(RejectionCode.VALUE_TOO_LONG, f"{name} is longer than {maximum} characters")
    if "\x00" in text:
        raise _Invalid(RejectionCode.INVALID_MESSAGE, f"{name} contains a NUL character")
    return text


def _object(message: dict[str, Any], name: str) -> dict[str, Any]:
    value = message.get(name)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _Invalid(RejectionCode.INVALID_MESSAGE, f"{name} must be a JSON object")
    return dict(value)


def _time(message: dict[str, Any], name: str) -> datetime | None:
    return _parse_time(message.get(name), name, required=False)


def _parse_time(value: Any, name: str, *, required: bool) -> datetime | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise _Invalid(RejectionCode.INVALID_TIMESTAMP, f"{name} must be an ISO 8601 time")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise _Invalid(RejectionCode.INVALID_TIMESTAMP, f"{name} is not an ISO 8601 time") from None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)
