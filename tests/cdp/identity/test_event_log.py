"""The identity job over the event log: events sent through /v1/batch are resolved in order and
attributed to profiles; the cursor commits with them, so a rolled-back run changes nothing and a
re-run resolves nothing twice."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine, text, update
from tests.support.workers import run_until_idle

from loopcrm.app import register_tasks
from loopcrm.modules.cdp import service as cdp
from loopcrm.modules.cdp.identity import service as identity
from loopcrm.modules.cdp.identity.event_log import consume_event_log
from loopcrm.modules.cdp.identity.jobs import RESOLVE_IDENTITIES
from loopcrm.modules.cdp.identity.schemas import MergeIn
from loopcrm.modules.cdp.models import ChannelType, Event
from loopcrm.modules.cdp.schemas import SourceCreate
from loopcrm.platform.db import create_session_factory, utc_now
from loopcrm.platform.jobs.worker import Worker
from loopcrm.platform.permissions import system_actor
from loopcrm.platform.unit_of_work import UnitOfWork
from loopcrm.settings import Settings

MESSAGES: list[dict[str, Any]] = [
    {"type": "page", "anonymousId": "anon-1", "name": "Home", "timestamp": "2026-12-01T08:00:00Z"},
    {"type": "track", "anonymousId": "anon-2", "event": "Viewed", "timestamp": "2026-12-01T08:01:00Z"},
    {
        "type": "identify",
        "anonymousId": "anon-1",
        "userId": "u-1",
        "traits": {"email": "Wang@Example.com", "plan": "pro"},
        "timestamp": "2026-12-01T08:02:00Z",
    },
    {"type": "track", "userId": "u-1", "event": "Ordered", "timestamp": "2026-12-01T08:03:00Z"},
    {
        "type": "track",
        "anonymousId": "null",
        "userId": "undefined",
        "event": "Bot",
        "timestamp": "2026-12-01T08:04:00Z",
    },
]


def _send(client: TestClient, uow_factory: Callable[[], UnitOfWork]) -> None:
    source = cdp.create_source(
        uow_factory(), system_actor(), SourceCreate(name="Shop", channel=ChannelType.WEB)
    )
    answer = client.post("/v1/batch", json={"batch": MESSAGES, "writeKey": source.write_key})
    assert answer.status_code == 200, answer.text


def _attribution(engine: Engine) -> list[tuple[str | None, str | None, str | None]]:
    with engine.connect() as connection:
        rows = connection.execute(
            text(
                "SELECT anonymous_id, user_id, profile_id FROM cdp_events"
                " LEFT JOIN cdp_event_attributions USING (sequence) ORDER BY sequence"
            )
        ).all()
    return [(row.anonymous_id, row.user_id, row.profile_id) for row in rows]


def _cursor(engine: Engine) -> int | None:
    with engine.connect() as connection:
        return connection.execute(
            text("SELECT last_sequence FROM cdp_identity_cursors WHERE name = 'identity'")
        ).scalar_one_or_none()


def test_the_identity_job_attributes_every_event_in_order_once(
    client: TestClient, settings: Settings, engine: Engine, uow_factory: Callable[[], UnitOfWork]
) -> None:
    _send(client, uow_factory)
    register_tasks()
    worker = Worker(create_session_factory(engine), settings)

    scheduled = worker.tick_scheduler()
    while worker.run_once():
        pass

    assert RESOLVE_IDENTITIES in {job.name for job in scheduled}
    attribution = _attribution(engine)
    profile = identity.find_profile(uow_factory(), system_actor(), "user_id", "u-1")
    other = identity.find_profile(uow_factory(), system_actor(), "anonymous_id", "anon-2")
    assert profile is not None and other is not None
    assert attribution == [
        ("anon-1", None, profile.id),
        ("anon-2", None, other.id),
        ("anon-1", "u-1", profile.id),
        (None, "u-1", profile.id),
        ("null", "undefined", None),  # blocked values: no profile
    ]
    assert sorted((item.type, item.value) for item in profile.identities) == [
        ("anonymous_id", "anon-1"),
        ("email", "wang@example.com"),
        ("user_id", "u-1"),
    ]
    assert profile.traits == {"email": "Wang@Example.com", "plan": "pro"}
    with engine.connect() as connection:
        last = connection.execute(text("SELECT max(sequence) FROM cdp_events")).scalar_one()
    assert _cursor(engine) == last

    assert identity.resolve_pending_events(uow_factory()) == 0
    assert _attribution(engine) == attribution


def test_a_backlog_larger_than_a_run_is_resolved_by_runs_that_follow_each_other_at_once(
    client: TestClient, settings: Settings, engine: Engine, uow_factory: Callable[[], UnitOfWork]
) -> None:
    _send(client, uow_factory)
    register_tasks()
    worker = Worker(
        create_session_factory(engine), settings.model_copy(update={"cdp_identity_events_per_run": 2})
    )

    worker.tick_scheduler()  # one slot: without the follow-up runs only two events would resolve
    run_until_idle(worker, engine)

    with engine.connect() as connection:
        runs = connection.execute(
            text("SELECT id, payload, status FROM jobs WHERE name = :name ORDER BY created_at, id"),
            {"name": RESOLVE_IDENTITIES},
        ).all()
    payloads = [json.loads(row.payload) if isinstance(row.payload, str) else row.payload for row in runs]
    assert [list(payload) for payload in payloads] == [["slot_start"], ["continues"], ["continues"]]
    assert [payload.get("continues") for payload in payloads[1:]] == [runs[0].id, runs[1].id]
    assert {row.status for row in runs} == {"succeeded"}
    attributed = [profile_id for _, _, profile_id in _attribution(engine)]
    assert attributed[0] == attributed[2] == attributed[3] is not None
    assert attributed[1] is not None and attributed[4] is None
    with engine.connect() as connection:
        assert (
            _cursor(engine) == connection.execute(text("SELECT max(sequence) FROM cdp_events")).scalar_one()
        )


def test_ingestion_counts_as_busy_while_the_log_got_events_in_the_last_seconds(
    client: TestClient, engine: Engine, uow_factory: Callable[[], UnitOfWork]
) -> None:
    def busy() -> bool:
        with uow_factory() as uow:
            return identity.ingestion_is_busy_in(uow)

    empty = busy()
    _send(client, uow_factory)
    just_sent = busy()
    with engine.begin() as connection:  # as if the batch had come a minute ago
        connection.execute(update(Event).values(received_at=utc_now() - timedelta(minutes=1)))
    a_minute_later = busy()

    assert (empty, just_sent, a_minute_later) == (False, True, False)


def test_a_run_is_large_only_where_nobody_waits_for_it(
    engine: Engine, uow_factory: Callable[[], UnitOfWork]
) -> None:
    with uow_factory() as uow:
        sizes = {
            (embedded, busy): identity.events_per_run(uow.session, embedded=embedded, ingestion_busy=busy)
            for embedded in (False, True)
            for busy in (False, True)
        }

    own_worker = 25_000 if engine.dialect.name == "sqlite" else 50_000  # SQLite: the write lock
    assert sizes == {
        (False, False): own_worker,
        (False, True): 10_000 if engine.dialect.name == "sqlite" else 50_000,
        (True, False): 25_000,
        (True, True): 10_000,
    }


def test_a_run_that_does_not_commit_leaves_the_cursor_and_the_events_as_they_were(
    client: TestClient, engine: Engine, uow_factory: Callable[[], UnitOfWork]
) -> None:
    _send(client, uow_factory)

    with uow_factory() as uow:  # a worker that dies before committing
        assert consume_event_log(uow.session, max_events=100) == len(MESSAGES)
    assert _cursor(engine) is None
    assert [profile_id for _, _, profile_id in _attribution(engine)] == [None] * len(MESSAGES)

    assert identity.resolve_pending_events(uow_factory(), max_events=2) == 2
    assert identity.resolve_pending_events(uow_factory()) == len(MESSAGES) - 2
    attributed = [profile_id for _, _, profile_id in _attribution(engine)]
    assert attributed[0] == attributed[2] == attributed[3] is not None
    assert attributed[4] is None


def _names(uow_factory: Callable[[], UnitOfWork], **filters: str) -> list[str | None]:
    """The events the log's filters find, newest first, paged one at a time through the cursor."""
    found: list[str | None] = []
    cursor: str | None = None
    while True:
        page = cdp.list_events(uow_factory(), system_actor(), limit=1, cursor=cursor, **filters)
        found.extend(event.event for event in page.items)
        if page.next_cursor is None:
            return found
        cursor = page.next_cursor


def test_the_log_filters_by_user_and_anonymous_id_the_same_before_and_after_the_identity_job(
    client: TestClient, uow_factory: Callable[[], UnitOfWork]
) -> None:
    # The log has no index on raw ids (ADR 0016); a filter matches the ids the events carry,
    # whatever profile the identity job gives them: a second user on a shared browser (whose
    # anonymous id gives way to the user id), a merge, an unmerge.
    _send(client, uow_factory)
    shared_browser = [
        {"type": "identify", "anonymousId": "anon-1", "userId": "u-2", "traits": {"plan": "free"}},
        {"type": "track", "anonymousId": "anon-1", "userId": "u-2", "event": "Switched"},
    ]
    answer = client.post("/v1/batch", json={"batch": shared_browser, "writeKey": _source_key(uow_factory)})
    assert answer.status_code == 200
    queries: dict[str, dict[str, str]] = {
        "u-1": {"user_id": "u-1"},
        "anon-1": {"anonymous_id": "anon-1"},
        "anon-2": {"anonymous_id": "anon-2"},
        "u-2 on anon-1": {"user_id": "u-2", "anonymous_id": "anon-1"},
        "placeholder": {"user_id": "undefined"},  # blocked: no profile holds it
        "nobody": {"user_id": "u-404"},
    }
    expected = {
        "u-1": ["Ordered", None],  # the identify has no name
        "anon-1": ["Switched", None, None, "Home"],
        "anon-2": ["Viewed"],
        "u-2 on anon-1": ["Switched", None],
        "placeholder": ["Bot"],
        "nobody": [],
    }
    before = {label: _names(uow_factory, **filters) for label, filters in queries.items()}

    identity.resolve_pending_events(uow_factory())
    after_job = {label: _names(uow_factory, **filters) for label, filters in queries.items()}
    first = identity.find_profile(uow_factory(), system_actor(), "user_id", "u-1")
    second = identity.find_profile(uow_factory(), system_actor(), "user_id", "u-2")
    visitor = identity.find_profile(uow_factory(), system_actor(), "anonymous_id", "anon-2")
    assert first is not None and second is not None and visitor is not None
    merge = identity.merge_profiles(
        uow_factory(),
        system_actor(),
        MergeIn(survivor_id=first.id, merged_id=visitor.id, note="same shopper"),
    )
    after_merge = {label: _names(uow_factory, **filters) for label, filters in queries.items()}
    identity.unmerge(uow_factory(), system_actor(), merge.id)
    after_unmerge = {label: _names(uow_factory, **filters) for label, filters in queries.items()}

    assert second.id != first.id  # two user ids on one browser stay two people
    assert before == expected
    assert after_job == expected
    assert after_merge == expected
    assert after_unmerge == expected


def _source_key(uow_factory: Callable[[], UnitOfWork]) -> str:
    created = cdp.create_source(
        uow_factory(), system_actor(), SourceCreate(name="Shop 2", channel=ChannelType.WEB)
    )
    return created.write_key
