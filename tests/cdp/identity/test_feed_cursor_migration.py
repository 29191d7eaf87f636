"""The migrations that make the contact feed's and the creation rule's cursors positions keep what
each would read next: the old cursor (re-read a minute before it) becomes the position a minute
before it, other cursors are left alone, and a downgrade gives back the old cursor."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, Integer, String, column, insert, inspect, select, table
from tests.support.migration_steps import downgrade_past, revision_before

from loopcrm.platform.db import UTCDateTime
from loopcrm.platform.migrations import upgrade

REVISION = "20261220_cdp_feed_resume"
AT = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)

OLD_CURSORS = table(
    "cdp_identity_cursors",
    column("name", String),
    column("last_sequence", Integer),
    column("last_changed_at", UTCDateTime()),
    column("updated_at", UTCDateTime()),
)


def _cursors(engine: Engine, *, with_id: bool = True) -> dict[str, tuple[datetime | None, str | None]]:
    columns = [OLD_CURSORS.c.name, OLD_CURSORS.c.last_changed_at]
    if with_id:
        columns.append(column("last_id", String))
    with engine.connect() as connection:
        rows = connection.execute(select(*columns).select_from(OLD_CURSORS)).all()
    return {row[0]: (row[1], row[2] if with_id else None) for row in rows}


def test_upgrading_moves_the_feed_cursor_a_minute_back_and_downgrading_moves_it_forward(
    empty_engine: Engine,
) -> None:
    upgrade(empty_engine, revision_before(empty_engine, REVISION))
    with empty_engine.begin() as connection:
        connection.execute(
            insert(OLD_CURSORS),
            [
                {"name": "crm_contacts", "last_sequence": 0, "last_changed_at": AT, "updated_at": AT},
                {"name": "contact_creation", "last_sequence": 0, "last_changed_at": AT, "updated_at": AT},
                {"name": "identity", "last_sequence": 42, "last_changed_at": None, "updated_at": AT},
            ],
        )

    upgrade(empty_engine, REVISION)

    assert _cursors(empty_engine) == {
        "contact_creation": (AT, None),
        "crm_contacts": (AT - timedelta(minutes=1), ""),
        "identity": (None, None),
    }

    downgrade_past(empty_engine, REVISION)

    assert "last_id" not in {
        found["name"] for found in inspect(empty_engine).get_columns("cdp_identity_cursors")
    }
    assert _cursors(empty_engine, with_id=False) == {
        "contact_creation": (AT, None),
        "crm_contacts": (AT, None),
        "identity": (None, None),
    }


def test_the_creation_rule_cursor_becomes_a_position_a_minute_back_and_downgrading_moves_it_forward(
    empty_engine: Engine,
) -> None:
    creation = "20261221_cdp_creation_resume"
    upgrade(empty_engine, revision_before(empty_engine, creation))
    with empty_engine.begin() as connection:
        connection.execute(
            insert(OLD_CURSORS),
            [
                {"name": "crm_contacts", "last_sequence": 0, "last_changed_at": AT, "updated_at": AT},
                {"name": "contact_creation", "last_sequence": 0, "last_changed_at": AT, "updated_at": AT},
            ],
        )

    upgrade(empty_engine)

    assert _cursors(empty_engine) == {
        "contact_creation": (AT - timedelta(minutes=1), ""),
        "crm_contacts": (AT, None),
    }

    downgrade_past(empty_engine, creation)

    assert _cursors(empty_engine) == {"contact_creation": (AT, None), "crm_contacts": (AT, None)}
