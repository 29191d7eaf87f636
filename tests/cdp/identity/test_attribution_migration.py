"""The migration that moves events' profiles out of the log (ADR 0017) keeps every attribution:
events the identity job had resolved keep their profile, unresolved ones stay unresolved, and a
downgrade writes the profiles back onto the events."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import JSON, Boolean, Engine, Integer, String, column, insert, inspect, select, table, text
from tests.support.migration_steps import downgrade_past, revision_before

from loopcrm.modules.cdp.models import Event
from loopcrm.platform.db import UTCDateTime, create_session_factory
from loopcrm.platform.migrations import upgrade

REVISION = "20261218_cdp_event_attributions"
AT = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)

# The log as the previous revision had it, with the profile on the event.
OLD_EVENTS = table(
    "cdp_events",
    column("id", String),
    column("source_id", String),
    column("message_id", String),
    column("type", String),
    column("profile_id", String),
    column("timestamp", UTCDateTime()),
    column("received_at", UTCDateTime()),
    column("properties", JSON),
    column("context", JSON),
    column("extra", JSON),
)
SOURCES = table(
    "cdp_sources",
    column("id", String),
    column("name", String),
    column("channel", String),
    column("write_key_digest", String),
    column("write_key_prefix", String),
    column("is_enabled", Boolean),
    column("allowed_origins", JSON),
    column("created_at", UTCDateTime()),
    column("updated_at", UTCDateTime()),
    column("version", Integer),
)
PROFILES = ("p-1", None, "p-2")


def _old_log(engine: Engine) -> None:
    with engine.begin() as connection:
        connection.execute(
            insert(SOURCES).values(
                id="s-1",
                name="Shop",
                channel="web",
                write_key_digest="d" * 64,
                write_key_prefix="wk",
                is_enabled=True,
                allowed_origins=[],
                created_at=AT,
                updated_at=AT,
                version=1,
            )
        )
        for number, profile_id in enumerate(PROFILES, start=1):
            connection.execute(
                insert(OLD_EVENTS).values(
                    id=f"e-{number}",
                    source_id="s-1",
                    message_id=f"m-{number}",
                    type="track",
                    profile_id=profile_id,
                    timestamp=AT + timedelta(minutes=number),
                    received_at=AT,
                    properties={},
                    context={},
                    extra={},
                )
            )


def test_upgrading_keeps_each_resolved_events_profile_and_downgrading_puts_it_back(
    empty_engine: Engine,
) -> None:
    previous = revision_before(empty_engine, REVISION)
    upgrade(empty_engine, previous)
    _old_log(empty_engine)

    upgrade(empty_engine)

    columns = {found["name"] for found in inspect(empty_engine).get_columns("cdp_events")}
    assert "profile_id" not in columns
    with empty_engine.connect() as connection:
        attributions = connection.execute(
            text("SELECT e.id, a.profile_id FROM cdp_event_attributions a JOIN cdp_events e USING (sequence)")
        ).all()
    assert sorted(attributions) == [("e-1", "p-1"), ("e-3", "p-2")]
    with create_session_factory(empty_engine)() as session:
        read = session.execute(select(Event.id, Event.profile_id, Event.timestamp).order_by(Event.id)).all()
    assert [tuple(row) for row in read] == [
        (f"e-{number}", profile_id, AT + timedelta(minutes=number))
        for number, profile_id in enumerate(PROFILES, start=1)
    ]

    downgrade_past(empty_engine, REVISION)

    assert "cdp_event_attributions" not in inspect(empty_engine).get_table_names()
    with empty_engine.connect() as connection:
        restored = connection.execute(text("SELECT id, profile_id FROM cdp_events ORDER BY id")).all()
    assert [tuple(row) for row in restored] == [
        (f"e-{number}", profile_id) for number, profile_id in enumerate(PROFILES, start=1)
    ]
