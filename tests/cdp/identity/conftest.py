"""Helpers of the identity graph tests: messages in, and the whole graph's state out."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, text

from loopcrm.modules.cdp.identity import service as identity
from loopcrm.modules.cdp.identity.schemas import Resolution
from loopcrm.platform.unit_of_work import UnitOfWork

START = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


def minutes(count: float) -> datetime:
    """A moment ``count`` minutes after the tests' start of time."""
    return START + timedelta(minutes=count)


GraphState = dict[str, Any]


def graph_state(engine: Engine) -> GraphState:
    """Everything a merge may change, read straight from the tables: each profile's traits,
    their times, consent, seen times and redirect, every current identity link (contact links
    included) with the profile it points at and when the identifier was first seen, and every
    current group membership."""
    with engine.connect() as connection:
        profiles = {
            row.id: (
                row.traits,
                row.trait_times,
                row.consent,
                str(row.first_seen_at),
                str(row.last_seen_at),
                row.merged_into,
            )
            for row in connection.execute(
                text(
                    "SELECT id, traits, trait_times, consent, first_seen_at, last_seen_at, merged_into "
                    "FROM cdp_profiles"
                )
            )
        }
        links = sorted(
            (row.type, row.value, row.profile_id, str(row.first_seen_at))
            for row in connection.execute(
                text(
                    "SELECT type, value, profile_id, first_seen_at FROM cdp_identity_links"
                    " WHERE valid_to IS NULL"
                )
            )
        )
        groups = sorted(
            (row.profile_id, row.group_id, str(row.first_seen_at))
            for row in connection.execute(
                text("SELECT profile_id, group_id, first_seen_at FROM cdp_group_links WHERE valid_to IS NULL")
            )
        )
    return {"profiles": _decoded(profiles), "links": links, "groups": groups}


def _decoded(profiles: dict[str, tuple[Any, ...]]) -> dict[str, tuple[Any, ...]]:
    import json

    def as_json(value: Any) -> Any:
        return json.loads(value) if isinstance(value, str) else value

    return {
        profile_id: (as_json(traits), as_json(times), as_json(consent), first, last, merged_into)
        for profile_id, (traits, times, consent, first, last, merged_into) in profiles.items()
    }


@pytest.fixture
def send(uow_factory: Callable[[], UnitOfWork]) -> Callable[..., Resolution | None]:
    """Resolves one Segment-style message the way the identity job does."""

    def send_message(message: dict[str, Any], at: datetime = START) -> Resolution | None:
        return identity.resolve(
            uow_factory(),
            identity.identifiers_of_message(message),
            message.get("traits") or {},
            at,
            consent=identity.consent_of_message(message),
        )

    return send_message
