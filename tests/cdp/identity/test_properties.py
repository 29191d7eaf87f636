"""Properties of the graph over random message sequences: no profile ever holds two user ids (or
more of a type than its limit), links point only at live profiles, and merge then unmerge gives
back exactly the graph it started from."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, text

from loopcrm.modules.cdp.identity import service as identity
from loopcrm.modules.cdp.identity.schemas import MergeIn
from loopcrm.platform.errors import Conflict
from loopcrm.platform.permissions import system_actor
from loopcrm.platform.unit_of_work import UnitOfWork

from .conftest import graph_state, minutes

# Each example gets its own identifier values, so examples sharing one database never meet.
_runs = itertools.count(1)

# A message: indexes into small pools of identifiers (small pools make collisions, and so merges
# and limit conflicts, frequent), a minute, and traits.
message_shapes = st.fixed_dictionaries(
    {
        "user": st.none() | st.integers(0, 3),
        "email": st.none() | st.integers(0, 3),
        "phone": st.none() | st.integers(0, 2),
        "anonymous": st.none() | st.integers(0, 5),
        "unionid": st.none() | st.integers(0, 2),
        "blocked": st.sampled_from([None, "null", "0000", "anonymous"]),
        "minute": st.integers(0, 600),
        "plan": st.none() | st.sampled_from(["free", "pro", ""]),
    }
)


def _message(shape: dict[str, Any], run: int) -> dict[str, Any]:
    traits: dict[str, Any] = {}
    context: dict[str, Any] = {}
    message: dict[str, Any] = {"type": "identify", "traits": traits, "context": context}
    if shape["user"] is not None:
        message["userId"] = f"r{run}-u{shape['user']}"
    if shape["blocked"] is not None and "userId" not in message:
        message["userId"] = shape["blocked"]
    if shape["anonymous"] is not None:
        message["anonymousId"] = f"r{run}-a{shape['anonymous']}"
    if shape["email"] is not None:
        traits["email"] = f"R{run}.E{shape['email']}@Example.com"
    if shape["phone"] is not None:
        traits["phone"] = f"139{run % 10_000:04d}{shape['phone']:04d}"
    if shape["unionid"] is not None:
        context["externalIds"] = [{"id": f"r{run}-w{shape['unionid']}", "type": "wechat_unionid"}]
    if shape["plan"] is not None:
        traits["plan"] = shape["plan"]
    return message


def _limits_hold(engine: Engine) -> None:
    with engine.connect() as connection:
        over = connection.execute(
            text(
                "SELECT l.profile_id, l.type, count(*) FROM cdp_identity_links l"
                " WHERE l.valid_to IS NULL GROUP BY l.profile_id, l.type"
                " HAVING (l.type IN ('user_id', 'wechat_unionid') AND count(*) > 1)"
                " OR (l.type IN ('email', 'phone') AND count(*) > 5)"
            )
        ).all()
        on_merged = connection.execute(
            text(
                "SELECT count(*) FROM cdp_identity_links l JOIN cdp_profiles p ON p.id = l.profile_id"
                " WHERE l.valid_to IS NULL AND p.merged_into IS NOT NULL"
            )
        ).scalar_one()
    assert over == []
    assert on_merged == 0


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    shapes=st.lists(message_shapes, min_size=1, max_size=12),
    pair=st.tuples(st.integers(0, 20), st.integers(0, 20)),
)
def test_random_messages_keep_the_rules_and_merge_then_unmerge_changes_nothing(
    shapes: list[dict[str, Any]],
    pair: tuple[int, int],
    engine: Engine,
    uow_factory: Callable[[], UnitOfWork],
) -> None:
    run = next(_runs)
    profile_ids: list[str] = []
    for shape in shapes:
        message = _message(shape, run)
        resolution = identity.resolve(
            uow_factory(),
            identity.identifiers_of_message(message),
            message["traits"],
            minutes(shape["minute"]),
        )
        if resolution is not None:
            profile_ids.append(resolution.profile_id)

    _limits_hold(engine)

    live = sorted({identity.current_profile_id(uow_factory(), profile_id) for profile_id in profile_ids})
    if len(live) < 2:
        return
    survivor, merged = live[pair[0] % len(live)], live[pair[1] % len(live)]
    if survivor == merged:
        return
    before = graph_state(engine)
    try:
        merge = identity.merge_profiles(
            uow_factory(), system_actor(), MergeIn(survivor_id=survivor, merged_id=merged, note="property")
        )
    except Conflict:
        assert graph_state(engine) == before  # refused: two user ids or too many of a type
        return
    _limits_hold(engine)
    identity.unmerge(uow_factory(), system_actor(), merge.id)

    assert graph_state(engine) == before
