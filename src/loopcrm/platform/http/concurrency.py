"""Optimistic concurrency over HTTP: ``ETag`` carries a record's version, ``If-Match`` checks it."""

from __future__ import annotations

from fastapi import Response

from loopcrm.platform.errors import ValidationFailed


def etag_for(version: int) -> str:
    return f'"{version}"'


def set_etag(response: Response, version: int) -> None:
    response.headers["ETag"] = etag_for(version)


def expected_version(if_match: str | None) -> int | None:
    """The version an ``If-Match`` header demands; ``None`` when absent or ``*``.

    A stale version is answered with 412 by the service; a malformed header is a 400-class error.
    """
    if if_match is None or if_match.strip() == "*":
        return None
    value = if_match.strip()
    if value.startswith("W/"):
        raise ValidationFailed.single(
            "header.If-Match", "Weak ETags cannot be used with If-Match", "weak_etag"
        )
    value = value.strip('"')
    if not value.isdigit():
        raise ValidationFailed.single(
            "header.If-Match", 'If-Match must be an ETag such as "3"', "invalid_etag"
        )
    return int(value)
