"""``insert_rows``: many rows in one statement (column arrays on PostgreSQL), read back exactly,
and the columns it cannot send refused on either engine before anything is written."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import cast

import pytest
from sqlalchemy import Table, func, select

from loopcrm.modules.cdp.identity.models import IdentityLink
from loopcrm.modules.cdp.models import Event, EventAttribution
from loopcrm.platform.db import insert_rows
from loopcrm.platform.unit_of_work import UnitOfWork

ATTRIBUTIONS = cast(Table, EventAttribution.__table__)
AT = datetime(2026, 5, 1, 8, 0, tzinfo=UTC)


def test_rows_are_inserted_with_their_exact_values(uow_factory: Callable[[], UnitOfWork]) -> None:
    rows = [
        {
            "sequence": 3_000_000_000 + number,
            "profile_id": f"p-{number % 3}",
            "timestamp": AT + timedelta(seconds=number, microseconds=number),
        }
        for number in range(2500)
    ]

    with uow_factory() as uow:
        insert_rows(uow.session, ATTRIBUTIONS, rows)
        uow.commit()

    with uow_factory() as uow:
        stored = uow.session.execute(
            select(
                EventAttribution.sequence, EventAttribution.profile_id, EventAttribution.timestamp
            ).order_by(EventAttribution.sequence)
        ).all()
    assert [tuple(row) for row in stored] == [
        (row["sequence"], row["profile_id"], row["timestamp"]) for row in rows
    ]


@pytest.mark.parametrize(
    ("table", "row", "error", "message"),
    [
        # id has a Python-side default (new_id) that the arrays would not apply
        (
            cast(Table, IdentityLink.__table__),
            {
                "type": "email",
                "value": "a@example.com",
                "profile_id": "p",
                "first_seen_at": AT,
                "valid_from": AT,
                "opened_by": "observed",
            },
            ValueError,
            "cdp_identity_links's id",
        ),
        (cast(Table, Event.__table__), {"sequence": 1, "properties": {}}, TypeError, "cdp_events.properties"),
    ],
)
def test_columns_it_cannot_send_are_refused_on_either_engine(
    uow_factory: Callable[[], UnitOfWork], table: Table, row: dict[str, object], error: type, message: str
) -> None:
    with uow_factory() as uow, pytest.raises(error, match=message):
        insert_rows(uow.session, table, [row])

    with uow_factory() as uow:
        assert uow.session.scalar(select(func.count()).select_from(table)) == 0
