"""Computed traits: events sent through /v1/batch at known times, resolved by the identity job and
folded by the computed-traits consumer, give exact counts over 7/30/90 days and all time, exact
order totals, and follow merges and unmerges; the consumer never runs ahead of identity."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from tests.conftest import Person

from loopcrm.app import register_tasks
from loopcrm.modules.cdp import service as cdp
from loopcrm.modules.cdp.computed import service as computed
from loopcrm.modules.cdp.computed.jobs import COMPUTE_TRAITS
from loopcrm.modules.cdp.computed.schemas import ComputedTraitsOut, TraitCondition, Window
from loopcrm.modules.cdp.identity import service as identity
from loopcrm.modules.cdp.identity.schemas import MergeIn
from loopcrm.modules.cdp.schemas import SourceCreate
from loopcrm.platform.db import create_session_factory
from loopcrm.platform.jobs.worker import Worker
from loopcrm.platform.permissions import system_actor
from loopcrm.platform.unit_of_work import UnitOfWork
from loopcrm.settings import Settings

UowFactory = Callable[[], UnitOfWork]
# The reference day of the window tests, in Asia/Shanghai (UTC+8): 7 days are 4–10 December,
# 30 days 11 November – 10 December, 90 days 12 September – 10 December.
AS_OF = date(2026, 12, 10)
SHANGHAI = "Asia/Shanghai"


def _send(client: TestClient, uow_factory: UowFactory, messages: list[dict[str, Any]], channel: str) -> None:
    source = cdp.create_source(uow_factory(), system_actor(), SourceCreate(name=channel, channel=channel))
    answer = client.post("/v1/batch", json={"batch": messages, "writeKey": source.write_key})
    assert answer.status_code == 200, answer.text


def _track(user_id: str, event: str, at: str, **properties: Any) -> dict[str, Any]:
    return {"type": "track", "userId": user_id, "event": event, "timestamp": at, "properties": properties}


def _process(uow_factory: UowFactory) -> None:
    identity.resolve_pending_events(uow_factory())
    computed.update_computed_traits(uow_factory(), time_zone=SHANGHAI)


def _traits(uow_factory: UowFactory, user_id: str, as_of: date = AS_OF) -> ComputedTraitsOut:
    profile = identity.find_profile(uow_factory(), system_actor(), "user_id", user_id)
    assert profile is not None
    return computed.computed_traits(uow_factory(), system_actor(), profile.id, as_of=as_of)


def _counts(traits: ComputedTraitsOut, event_type: str, name: str) -> dict[Window, int]:
    for count in traits.event_counts:
        if count.type.value == event_type and count.name == name:
            return count.counts
    raise AssertionError(f"no count of {event_type} {name!r}")


def _orders(traits: ComputedTraitsOut, window: Window) -> tuple[int, dict[str, Decimal]]:
    row = next(row for row in traits.orders if row.window is window)
    return row.order_count, {money.currency: money.amount for money in row.spend}


def test_event_counts_over_windows_follow_calendar_days_in_the_time_zone(
    client: TestClient, uow_factory: UowFactory
) -> None:
    viewed = "Product Viewed"
    _send(
        client,
        uow_factory,
        [
            _track("u-1", viewed, "2026-12-10T15:59:59Z"),  # 10 Dec 23:59:59 in Shanghai: 7 days
            _track("u-1", viewed, "2026-12-10T16:00:00Z"),  # 11 Dec 00:00: after the reference day
            _track("u-1", viewed, "2026-12-03T16:00:00Z"),  # 4 Dec 00:00: first day of 7 days
            _track("u-1", viewed, "2026-12-03T15:59:59Z"),  # 3 Dec 23:59:59: 30 days, not 7
            _track("u-1", viewed, "2026-11-10T16:00:00Z"),  # 11 Nov 00:00: first day of 30 days
            _track("u-1", viewed, "2026-11-10T15:59:59Z"),  # 10 Nov: 90 days, not 30
            _track("u-1", viewed, "2026-09-11T16:00:00Z"),  # 12 Sep 00:00: first day of 90 days
            _track("u-1", viewed, "2026-09-11T15:59:59Z"),  # 11 Sep: all time only
            _track("u-1", "Cart Viewed", "2026-12-09T00:00:00Z"),
            {"type": "page", "userId": "u-1", "name": "Home", "timestamp": "2026-12-01T00:00:00Z"},
        ],
        "web",
    )
    _send(client, uow_factory, [_track("u-1", viewed, "2026-12-05T00:00:00Z")], "mini_program")
    _process(uow_factory)

    traits = _traits(uow_factory, "u-1")

    assert _counts(traits, "track", viewed) == {
        Window.LAST_7_DAYS: 3,
        Window.LAST_30_DAYS: 5,
        Window.LAST_90_DAYS: 7,
        Window.ALL_TIME: 8,
    }
    assert _counts(traits, "track", "Cart Viewed") == dict.fromkeys(Window, 1)
    assert _counts(traits, "page", "Home")[Window.LAST_7_DAYS] == 0
    assert _counts(traits, "page", "Home")[Window.LAST_30_DAYS] == 1
    assert traits.event_count == 10  # the event after the reference day is not counted
    assert traits.channels == ["mini_program", "web"]
    assert traits.time_zone == SHANGHAI
    assert traits.first_seen_at == datetime.fromisoformat("2026-09-11T15:59:59+00:00")
    assert traits.last_seen_at == datetime.fromisoformat("2026-12-10T16:00:00+00:00")
    # A day later the window moves by one calendar day: 4 December leaves the 7 days.
    later = _traits(uow_factory, "u-1", as_of=date(2026, 12, 11))
    assert _counts(later, "track", viewed)[Window.LAST_7_DAYS] == 3  # 5, 10 and 11 December


def test_orders_count_once_per_order_id_and_spend_sums_exactly(
    client: TestClient, uow_factory: UowFactory
) -> None:
    completed = "Order Completed"
    _send(
        client,
        uow_factory,
        [
            _track("u-2", completed, "2026-12-01T02:00:00Z", order_id="o-1", total=0.1, currency="CNY"),
            _track("u-2", completed, "2026-12-02T02:00:00Z", order_id="o-2", total=0.2, currency="cny"),
            _track("u-2", completed, "2026-12-09T02:00:00Z", order_id="o-3", total=19.99),
            _track("u-2", completed, "2026-10-01T02:00:00Z", order_id="o-4", total="1234567.8901"),
            _track("u-2", completed, "2026-12-08T02:00:00Z", order_id=5, revenue=0.07),  # no total
            _track("u-2", completed, "2026-12-08T03:00:00Z", order_id="o-1", total=999),  # re-sent o-1
            _track("u-2", completed, "2026-12-10T01:00:00Z", order_id="o-6", total=5.5, currency="USD"),
            _track("u-2", completed, "2026-12-10T01:30:00Z", order_id="o-7", total="not a number"),
            _track("u-2", "Order Refunded", "2026-12-10T02:00:00Z", order_id="o-3", total=19.99),
        ],
        "ecommerce",
    )
    _process(uow_factory)

    traits = _traits(uow_factory, "u-2")

    assert _orders(traits, Window.ALL_TIME) == (
        7,
        {"CNY": Decimal("1234588.2501"), "USD": Decimal("5.5")},
    )
    assert _orders(traits, Window.LAST_7_DAYS) == (4, {"CNY": Decimal("20.06"), "USD": Decimal("5.5")})
    assert _orders(traits, Window.LAST_30_DAYS) == (6, {"CNY": Decimal("20.36"), "USD": Decimal("5.5")})
    assert traits.last_order_at == datetime.fromisoformat("2026-12-10T01:30:00+00:00")


def test_the_consumer_waits_for_the_identity_job(client: TestClient, uow_factory: UowFactory) -> None:
    _send(client, uow_factory, [_track("u-3", "Signed Up", "2026-12-10T01:00:00Z")], "web")

    assert computed.update_computed_traits(uow_factory(), time_zone=SHANGHAI) == 0
    identity.resolve_pending_events(uow_factory())
    assert computed.update_computed_traits(uow_factory(), time_zone=SHANGHAI) == 1
    assert computed.update_computed_traits(uow_factory(), time_zone=SHANGHAI) == 0

    traits = _traits(uow_factory, "u-3")
    assert _counts(traits, "track", "Signed Up")[Window.ALL_TIME] == 1
    assert traits.processed_through >= 1


def test_merge_then_unmerge_moves_computed_traits_with_attribution(
    client: TestClient, uow_factory: UowFactory, make_person: Callable[..., Person]
) -> None:
    marketer = make_person("marketer")
    _send(
        client,
        uow_factory,
        [
            _track("u-4", "Product Viewed", "2026-12-09T01:00:00Z"),
            _track("u-4", "Order Completed", "2026-12-09T02:00:00Z", order_id="a-1", total=10),
            {
                "type": "track",
                "anonymousId": "anon-4",
                "event": "Product Viewed",
                "timestamp": "2026-12-08T01:00:00Z",
            },
            {
                "type": "track",
                "anonymousId": "anon-4",
                "event": "Order Completed",
                "properties": {"order_id": "b-1", "total": 2.5},
                "timestamp": "2026-12-08T02:00:00Z",
            },
        ],
        "web",
    )
    _process(uow_factory)
    known = identity.find_profile(uow_factory(), system_actor(), "user_id", "u-4")
    anonymous = identity.find_profile(uow_factory(), system_actor(), "anonymous_id", "anon-4")
    assert known is not None and anonymous is not None and known.id != anonymous.id
    at_least_two_views = TraitCondition(
        measure="event_count", event="Product Viewed", window="7d", comparison="gte", value=2, as_of=AS_OF
    )
    assert computed.profiles_matching(uow_factory(), marketer.actor, at_least_two_views) == []

    merge = identity.merge_profiles(
        uow_factory(), marketer.actor, MergeIn(survivor_id=known.id, merged_id=anonymous.id, note="same")
    )
    merged = computed.computed_traits(uow_factory(), marketer.actor, known.id, as_of=AS_OF)

    assert merged.profile_ids == sorted([known.id, anonymous.id])
    assert _counts(merged, "track", "Product Viewed")[Window.ALL_TIME] == 2
    assert _orders(merged, Window.ALL_TIME) == (2, {"CNY": Decimal("12.5")})
    assert computed.profiles_matching(uow_factory(), marketer.actor, at_least_two_views) == [known.id]

    identity.unmerge(uow_factory(), marketer.actor, merge.id)
    survivor = computed.computed_traits(uow_factory(), marketer.actor, known.id, as_of=AS_OF)
    restored = computed.computed_traits(uow_factory(), marketer.actor, anonymous.id, as_of=AS_OF)

    assert _counts(survivor, "track", "Product Viewed")[Window.ALL_TIME] == 1
    assert _orders(survivor, Window.ALL_TIME) == (1, {"CNY": Decimal("10")})
    assert _orders(restored, Window.ALL_TIME) == (1, {"CNY": Decimal("2.5")})
    assert computed.profiles_matching(uow_factory(), marketer.actor, at_least_two_views) == []


def test_conditions_select_live_profiles_and_count_a_profile_without_events_as_zero(
    client: TestClient, uow_factory: UowFactory
) -> None:
    _send(
        client,
        uow_factory,
        [
            _track("big", "Order Completed", "2026-12-01T02:00:00Z", order_id="1", total="600.005"),
            _track("big", "Order Completed", "2026-12-03T02:00:00Z", order_id="2", total="400"),
            _track("small", "Order Completed", "2026-12-02T02:00:00Z", order_id="3", total="99.99"),
            {"type": "identify", "userId": "quiet", "timestamp": "2026-12-02T02:00:00Z"},
        ],
        "ecommerce",
    )
    _process(uow_factory)
    ids = {
        user_id: identity.find_profile(uow_factory(), system_actor(), "user_id", user_id).id  # type: ignore[union-attr]
        for user_id in ("big", "small", "quiet")
    }

    def matching(**condition: Any) -> list[str]:
        return computed.profiles_matching(
            uow_factory(), system_actor(), TraitCondition.model_validate({"as_of": AS_OF, **condition})
        )

    assert matching(measure="spend", currency="CNY", comparison="gt", value="1000") == [ids["big"]]
    assert matching(measure="order_count", window="30d", comparison="lt", value=1) == [ids["quiet"]]
    assert matching(measure="order_count", comparison="eq", value=1) == [ids["small"]]
    assert matching(measure="days_since_last_seen", comparison="gte", value=8) == sorted(
        [ids["small"], ids["quiet"]]
    )


def test_computed_traits_over_http_need_the_right_to_read_profiles(
    client: TestClient, uow_factory: UowFactory, make_person: Callable[..., Person]
) -> None:
    _send(client, uow_factory, [_track("u-5", "Opened", "2026-12-10T01:00:00Z")], "app")
    _process(uow_factory)
    profile = identity.find_profile(uow_factory(), system_actor(), "user_id", "u-5")
    assert profile is not None
    analyst, rep = make_person("analyst"), make_person("sales_rep")

    answer = client.get(
        f"/api/v1/cdp/profiles/{profile.id}/computed-traits?as_of=2026-12-10", headers=analyst.headers
    )
    refused = client.get(f"/api/v1/cdp/profiles/{profile.id}/computed-traits", headers=rep.headers)
    missing = client.get("/api/v1/cdp/profiles/no-such-profile/computed-traits", headers=analyst.headers)

    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["event_counts"] == [
        {"type": "track", "name": "Opened", "counts": {"7d": 1, "30d": 1, "90d": 1, "all": 1}}
    ]
    assert body["channels"] == ["app"]
    assert body["as_of"] == "2026-12-10"
    assert refused.status_code == 403
    assert missing.status_code == 404


def test_the_job_is_scheduled_and_folds_what_identity_resolved(
    client: TestClient, settings: Settings, engine: Engine, uow_factory: UowFactory
) -> None:
    _send(client, uow_factory, [_track("u-6", "Opened", "2026-12-10T01:00:00Z")], "app")
    identity.resolve_pending_events(uow_factory())
    register_tasks()
    worker = Worker(create_session_factory(engine), settings)

    scheduled = worker.tick_scheduler()
    while worker.run_once():
        pass

    assert COMPUTE_TRAITS in {job.name for job in scheduled}
    with engine.connect() as connection:
        cursor = connection.execute(
            text("SELECT last_sequence, time_zone FROM cdp_computed_cursors WHERE name = 'computed_traits'")
        ).one()
        last = connection.execute(text("SELECT max(sequence) FROM cdp_events")).scalar_one()
    assert (cursor.last_sequence, cursor.time_zone) == (last, settings.default_timezone)
    assert _counts(_traits(uow_factory, "u-6"), "track", "Opened")[Window.ALL_TIME] == 1
