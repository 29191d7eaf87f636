"""Trait strategies: latest by event time unless an administrator chose oldest, sum or non-empty,
when messages arrive and when profiles merge."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from loopcrm.modules.cdp.identity import service as identity
from loopcrm.modules.cdp.identity.models import TraitStrategy
from loopcrm.modules.cdp.identity.schemas import MergeIn, TraitStrategyIn
from loopcrm.platform.errors import PermissionDenied
from loopcrm.platform.permissions import system_actor
from loopcrm.platform.unit_of_work import UnitOfWork

from .conftest import minutes

Send = Callable[..., Any]


def _traits(uow_factory: Callable[[], UnitOfWork], profile_id: str) -> dict[str, Any]:
    return identity.get_profile(uow_factory(), system_actor(), profile_id).traits


def _identify(send: Send, anonymous_id: str, traits: dict[str, Any], minute: float) -> str:
    resolution = send({"type": "identify", "anonymousId": anonymous_id, "traits": traits}, minutes(minute))
    assert resolution is not None
    return str(resolution.profile_id)


def _choose(uow_factory: Callable[[], UnitOfWork], trait: str, strategy: TraitStrategy) -> None:
    identity.set_trait_strategy(
        uow_factory(), system_actor(), TraitStrategyIn(trait=trait, strategy=strategy)
    )


def test_the_latest_value_by_event_time_wins_even_when_it_arrives_first(
    send: Send, uow_factory: Callable[[], UnitOfWork]
) -> None:
    profile = _identify(send, "a-1", {"city": "北京"}, 10)
    _identify(send, "a-1", {"city": "上海", "name": "李雷"}, 5)  # an older event, delivered late

    assert _traits(uow_factory, profile) == {"city": "北京", "name": "李雷"}


def test_oldest_keeps_the_first_value_and_non_empty_never_erases(
    send: Send, uow_factory: Callable[[], UnitOfWork]
) -> None:
    _choose(uow_factory, "first_channel", TraitStrategy.OLDEST)
    _choose(uow_factory, "company", TraitStrategy.NON_EMPTY)
    profile = _identify(send, "a-1", {"first_channel": "wechat", "company": "云启科技"}, 5)

    _identify(send, "a-1", {"first_channel": "web", "company": ""}, 6)
    assert _traits(uow_factory, profile) == {"first_channel": "wechat", "company": "云启科技"}

    _identify(send, "a-1", {"first_channel": "sms", "company": None}, 1)
    assert _traits(uow_factory, profile) == {"first_channel": "sms", "company": "云启科技"}

    _identify(send, "a-1", {"company": "云启"}, 7)
    assert _traits(uow_factory, profile) == {"first_channel": "sms", "company": "云启"}
    assert identity.trait_strategies(uow_factory()) == {
        "first_channel": TraitStrategy.OLDEST,
        "company": TraitStrategy.NON_EMPTY,
    }


def test_counters_add_up_on_merge_and_come_back_apart_on_undo(
    send: Send, uow_factory: Callable[[], UnitOfWork]
) -> None:
    _choose(uow_factory, "orders", TraitStrategy.SUM)
    _choose(uow_factory, "first_channel", TraitStrategy.OLDEST)
    first = _identify(send, "a-1", {"orders": 2, "first_channel": "web", "tier": "silver"}, 1)
    second = _identify(send, "a-2", {"orders": 3, "first_channel": "app", "tier": "gold"}, 2)

    merge = identity.merge_profiles(
        uow_factory(), system_actor(), MergeIn(survivor_id=second, merged_id=first, note="same phone")
    )
    assert _traits(uow_factory, second) == {"orders": 5, "first_channel": "web", "tier": "gold"}

    identity.unmerge(uow_factory(), system_actor(), merge.id)
    assert _traits(uow_factory, second) == {"orders": 3, "first_channel": "app", "tier": "gold"}
    assert _traits(uow_factory, first) == {"orders": 2, "first_channel": "web", "tier": "silver"}


def test_only_people_who_may_change_profiles_choose_strategies(
    uow_factory: Callable[[], UnitOfWork], make_person: Any
) -> None:
    analyst = make_person("analyst")

    with pytest.raises(PermissionDenied):
        identity.set_trait_strategy(
            uow_factory(), analyst.actor, TraitStrategyIn(trait="orders", strategy=TraitStrategy.SUM)
        )

    assert identity.trait_strategies(uow_factory()) == {}
