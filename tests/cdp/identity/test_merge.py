"""Manual and rule merges of profiles and their exact undo: identities, traits, consent, seen
times and event attribution come back; later changes survive; refusals change nothing."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import Engine, text

from loopcrm.modules.cdp.identity import service as identity
from loopcrm.modules.cdp.identity.models import MergeReason
from loopcrm.modules.cdp.identity.schemas import MergeIn
from loopcrm.platform.errors import Conflict, PermissionDenied
from loopcrm.platform.permissions import system_actor
from loopcrm.platform.unit_of_work import UnitOfWork

from .conftest import graph_state, minutes

Send = Callable[..., Any]


def _profile(send: Send, message: dict[str, Any], minute: float) -> str:
    resolution = send(message, minutes(minute))
    assert resolution is not None
    return str(resolution.profile_id)


@pytest.fixture
def two_people(send: Send) -> tuple[str, str]:
    """Two profiles with overlapping traits and consent: a web visitor and an app user."""
    web = _profile(
        send,
        {
            "type": "identify",
            "anonymousId": "anon-web",
            "traits": {"email": "fang@example.com", "name": "王芳", "city": "上海"},
            "context": {"consent": {"categoryPreferences": {"marketing": True}}},
        },
        0,
    )
    send(
        {
            "type": "page",
            "anonymousId": "anon-web",
            "context": {"traits": {"email": "fang.work@example.com"}},
        },
        minutes(3),
    )
    app = _profile(
        send,
        {
            "type": "identify",
            "userId": "u-77",
            "traits": {"phone": "13912345678", "name": "Wang Fang", "plan": "gold"},
            "context": {
                "device": {"id": "iphone-1"},
                "consent": {"categoryPreferences": {"marketing": False}},
            },
        },
        10,
    )
    return web, app


def test_a_manual_merge_then_its_undo_restores_the_whole_graph_exactly(
    two_people: tuple[str, str], engine: Engine, uow_factory: Callable[[], UnitOfWork], make_person: Any
) -> None:
    web, app = two_people
    marketer = make_person("marketer")
    before = graph_state(engine)

    merge = identity.merge_profiles(
        uow_factory(), marketer.actor, MergeIn(survivor_id=app, merged_id=web, note="same person, called in")
    )

    merged_state = graph_state(engine)
    assert (merge.reason, merge.note, merge.merged_by) == (
        MergeReason.MANUAL,
        "same person, called in",
        marketer.user.id,
    )
    survivor = identity.get_profile(uow_factory(), marketer.actor, app)
    assert sorted((item.type, item.value) for item in survivor.identities) == [
        ("anonymous_id", "anon-web"),
        ("device_id", "iphone-1"),
        ("email", "fang.work@example.com"),
        ("email", "fang@example.com"),
        ("phone", "+8613912345678"),
        ("user_id", "u-77"),
    ]
    assert survivor.traits == {
        "email": "fang@example.com",
        "phone": "13912345678",
        "name": "Wang Fang",  # said later (minute 10) than 王芳 (minute 0)
        "city": "上海",
        "plan": "gold",
    }
    assert survivor.consent == {"marketing": False}
    assert (survivor.first_seen_at, survivor.last_seen_at) == (minutes(0), minutes(10))
    assert merged_state["profiles"][web][5] == app
    assert identity.profile_ids_of(uow_factory(), app) == {app, web}

    undone = identity.unmerge(uow_factory(), marketer.actor, merge.id)

    assert undone.undone_by == marketer.user.id and undone.undone_at is not None
    assert graph_state(engine) == before
    assert identity.profile_ids_of(uow_factory(), app) == {app}
    assert identity.current_profile_id(uow_factory(), web) == web
    with engine.connect() as connection:
        history = connection.execute(
            text(
                "SELECT opened_by, closed_by FROM cdp_identity_links WHERE value = 'anon-web'"
                " ORDER BY valid_from, id"
            )
        ).all()
        audited = connection.execute(
            text("SELECT count(*) FROM audit_entries WHERE object_type = 'profile' AND object_id = :id"),
            {"id": app},
        ).scalar_one()
    assert [tuple(row) for row in history] == [("observed", "merge"), ("merge", "unmerge"), ("unmerge", None)]
    assert audited == 2


def test_a_rule_merge_can_be_undone_exactly(
    send: Send, engine: Engine, uow_factory: Callable[[], UnitOfWork]
) -> None:
    browser = _profile(send, {"type": "page", "anonymousId": "anon-1"}, 0)
    external_ids = [{"id": "tb-1", "type": "taobao_buyer_id", "collection": "users"}]
    shop = _profile(
        send,
        {
            "type": "identify",
            "traits": {"email": "buyer@example.com", "orders": 3},
            "context": {"externalIds": external_ids},
        },
        1,
    )
    before = graph_state(engine)
    # Seen at minute 0 like the browser's first page, so the merge is the only change.
    joined = send(
        {"type": "page", "anonymousId": "anon-1", "context": {"traits": {"email": "buyer@example.com"}}},
        minutes(0),
    )
    assert joined is not None and joined.profile_id == browser and joined.merged_profile_ids == (shop,)
    assert graph_state(engine) != before
    [merge] = identity.list_merges(uow_factory(), system_actor(), shop)
    assert merge.reason is MergeReason.RULE and merge.merged_by is None

    identity.unmerge(uow_factory(), system_actor(), merge.id)

    assert graph_state(engine) == before


def test_an_undo_keeps_what_later_messages_changed_on_the_survivor(
    two_people: tuple[str, str], send: Send, uow_factory: Callable[[], UnitOfWork]
) -> None:
    web, app = two_people
    merge = identity.merge_profiles(
        uow_factory(), system_actor(), MergeIn(survivor_id=app, merged_id=web, note="x")
    )
    send(
        {"type": "identify", "userId": "u-77", "anonymousId": "anon-new", "traits": {"plan": "platinum"}},
        minutes(30),
    )

    identity.unmerge(uow_factory(), system_actor(), merge.id)

    survivor = identity.get_profile(uow_factory(), system_actor(), app)
    merged = identity.get_profile(uow_factory(), system_actor(), web)
    assert survivor.traits == {"phone": "13912345678", "name": "Wang Fang", "plan": "platinum"}
    assert survivor.last_seen_at == minutes(30)
    assert sorted((item.type, item.value) for item in survivor.identities) == [
        ("anonymous_id", "anon-new"),
        ("device_id", "iphone-1"),
        ("phone", "+8613912345678"),
        ("user_id", "u-77"),
    ]
    assert sorted((item.type, item.value) for item in merged.identities) == [
        ("anonymous_id", "anon-web"),
        ("email", "fang.work@example.com"),
        ("email", "fang@example.com"),
    ]
    assert merged.merged_into is None


def test_merges_are_undone_newest_first(
    send: Send, engine: Engine, uow_factory: Callable[[], UnitOfWork]
) -> None:
    first = _profile(send, {"type": "page", "anonymousId": "a-1"}, 0)
    second = _profile(send, {"type": "page", "anonymousId": "a-2"}, 1)
    third = _profile(send, {"type": "page", "anonymousId": "a-3"}, 2)
    before = graph_state(engine)
    actor = system_actor()
    inner = identity.merge_profiles(
        uow_factory(), actor, MergeIn(survivor_id=second, merged_id=first, note="x")
    )
    outer = identity.merge_profiles(
        uow_factory(), actor, MergeIn(survivor_id=third, merged_id=second, note="y")
    )
    assert identity.current_profile_id(uow_factory(), first) == third
    assert identity.profile_ids_of(uow_factory(), third) == {first, second, third}

    with pytest.raises(Conflict):
        identity.unmerge(uow_factory(), actor, inner.id)
    identity.unmerge(uow_factory(), actor, outer.id)
    identity.unmerge(uow_factory(), actor, inner.id)
    with pytest.raises(Conflict):
        identity.unmerge(uow_factory(), actor, inner.id)

    assert graph_state(engine) == before


def test_two_profiles_with_user_ids_cannot_be_merged_by_hand(
    send: Send, engine: Engine, uow_factory: Callable[[], UnitOfWork]
) -> None:
    first = _profile(send, {"type": "identify", "userId": "u-1"}, 0)
    second = _profile(send, {"type": "identify", "userId": "u-2"}, 1)
    before = graph_state(engine)

    with pytest.raises(Conflict):
        identity.merge_profiles(
            uow_factory(), system_actor(), MergeIn(survivor_id=first, merged_id=second, note="x")
        )
    with pytest.raises(Conflict):
        identity.merge_profiles(
            uow_factory(), system_actor(), MergeIn(survivor_id=first, merged_id=first, note="x")
        )

    assert graph_state(engine) == before


def test_a_sales_rep_may_not_merge_profiles(
    two_people: tuple[str, str], engine: Engine, uow_factory: Callable[[], UnitOfWork], make_person: Any
) -> None:
    web, app = two_people
    rep = make_person("sales_rep")
    before = graph_state(engine)

    with pytest.raises(PermissionDenied):
        identity.merge_profiles(uow_factory(), rep.actor, MergeIn(survivor_id=app, merged_id=web, note="x"))

    assert graph_state(engine) == before
