"""Optimistic concurrency over HTTP: ``ETag`` carries a record's version, ``If-Match`` checks it."""

from __future__ import annotations

from typing import Protocol, TypeVar

from fastapi import Response

from loopcrm.platform.errors import ValidationFailed


def etag_for(version: int) -> str:
    return f'"{version}"'


def set_etag(response: Response, version: int) -> None:
    response.headers["ETag"] = etag_for(version)


class Versioned(Protocol):
    """A resource the API answers with its version as the ``ETag``."""

    @property
    def id(self) -> str: ...

    @property
    def version(self) -> int: ...


VersionedT = TypeVar("VersionedT", bound=Versioned)


def with_etag(response: Response, resource: VersionedT, *, created_in: str | None = None) -> VersionedT:
    """``resource``, answered with its version as the ``ETag`` and, when it was just created in
    the collection at ``created_in``, with its address as the ``Location`` (ADR 0005)."""
    set_etag(response, resource.version)
    if created_in is not None:
        response.headers["Location"] = f"{created_in}/{resource.id}"
    return resource


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
