"""The matcher's batch merge (``merge_matched_profiles_many``) against the single merge it batches:
the same answers, refusals included, the same graph, the same merge records and audit entries,
and each of its merges undone by ``unmerge`` exactly as a single merge is."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, text

from loopcrm.modules.cdp.identity import service as identity
from loopcrm.modules.cdp.identity.models import MergeReason
from loopcrm.modules.cdp.identity.schemas import Identifier, MergeIn, MergeOut, Observation
from loopcrm.platform.errors import Conflict, NotFound
from loopcrm.platform.permissions import system_actor
from loopcrm.platform.unit_of_work import UnitOfWork

from .conftest import GraphState, graph_state, minutes
from .test_properties import _message, message_shapes

UowFactory = Callable[[], UnitOfWork]
ACTOR = system_actor("matching")
_runs = itertools.count(1)
ALREADY_MERGED = "One of these profiles was already merged into another."
TWO_USER_IDS = (
    "These profiles cannot be merged: together they would have more identifiers of one type than one "
    "person may have, such as two user ids."
)
ITSELF = "A profile cannot be merged into itself."


def _answers(outcomes: list[MergeOut | Conflict]) -> list[tuple[str, ...]]:
    """What each request got, without the merge ids and times that differ between two runs."""
    return [
        ("refused", str(outcome))
        if isinstance(outcome, Conflict)
        else ("merged", outcome.survivor_id, outcome.merged_id, outcome.reason.value, str(outcome.note))
        for outcome in outcomes
    ]


def _records(engine: Engine, outcomes: list[MergeOut | Conflict]) -> list[tuple[Any, ...]]:
    """The stored merge records of the merges made, in request order: who, why, by whom, and the
    three snapshots unmerge restores from."""
    merge_ids = [outcome.id for outcome in outcomes if not isinstance(outcome, Conflict)]
    with engine.connect() as connection:
        rows = {
            row.id: row
            for row in connection.execute(
                text(
                    "SELECT id, survivor_id, merged_id, reason, note, created_by, undone_at,"
                    " survivor_before, merged_before, survivor_after FROM cdp_profile_merges"
                )
            )
        }
    return [
        (
            rows[merge_id].survivor_id,
            rows[merge_id].merged_id,
            rows[merge_id].reason,
            rows[merge_id].note,
            rows[merge_id].created_by,
            rows[merge_id].undone_at,
            *(_json(value) for value in rows[merge_id][7:]),
        )
        for merge_id in merge_ids
    ]


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def _audit(engine: Engine) -> list[tuple[str, str]]:
    """The profile entries of the audit log (entries written in one transaction share their time
    and their ids are not ordered within a millisecond, so they are compared as a sorted list)."""
    with engine.connect() as connection:
        rows = connection.execute(
            text("SELECT object_id, changes FROM audit_entries WHERE object_type = 'profile'")
        )
        return sorted((row.object_id, json.dumps(_json(row.changes), sort_keys=True)) for row in rows)


def _added(before: list[tuple[str, str]], after: list[tuple[str, str]]) -> list[tuple[str, str]]:
    remaining = list(after)
    for entry in before:
        remaining.remove(entry)
    return remaining


def _singles(uow_factory: UowFactory, requests: list[MergeIn]) -> list[MergeOut | Conflict]:
    outcomes: list[MergeOut | Conflict] = []
    for request in requests:
        try:
            outcomes.append(identity.merge_matched_profiles(uow_factory(), ACTOR, request))
        except Conflict as refusal:
            outcomes.append(refusal)
    return outcomes


def _undo(uow_factory: UowFactory, outcomes: list[MergeOut | Conflict]) -> None:
    """Unmerge every merge made, newest first (the order unmerge asks for)."""
    for outcome in reversed(outcomes):
        if not isinstance(outcome, Conflict):
            identity.unmerge(uow_factory(), ACTOR, outcome.id)


def _compare_batch_with_singles(
    engine: Engine, uow_factory: UowFactory, requests: list[MergeIn]
) -> tuple[list[MergeOut | Conflict], GraphState]:
    """Apply the requests one by one, undo them, apply them as one batch; both must agree on
    everything. The batch's outcomes and the state it left are returned."""
    before = graph_state(engine)
    audit_before = _audit(engine)

    singles = _singles(uow_factory, requests)
    after_singles = graph_state(engine)
    single_records = _records(engine, singles)
    single_audit = _added(audit_before, _audit(engine))
    _undo(uow_factory, singles)
    assert graph_state(engine) == before
    audit_before = _audit(engine)

    batch = identity.merge_matched_profiles_many(uow_factory(), ACTOR, requests)

    assert _answers(batch) == _answers(singles)
    assert graph_state(engine) == after_singles
    assert _records(engine, batch) == single_records
    assert _added(audit_before, _audit(engine)) == single_audit
    return batch, after_singles


def _observe(uow_factory: UowFactory, *observations: Observation) -> list[str]:
    resolutions = identity.resolve_many(uow_factory(), list(observations))
    return [resolution.profile_id for resolution in resolutions if resolution is not None]


@pytest.fixture
def six(uow_factory: UowFactory) -> dict[str, str]:
    """Six profiles with traits, consent, seen times and group memberships; d and e have user ids."""

    def observation(minute: float, *identifiers: tuple[str, str], **extra: Any) -> Observation:
        return Observation(
            tuple(Identifier(kind, value) for kind, value in identifiers), minutes(minute), **extra
        )

    ids = _observe(
        uow_factory,
        observation(
            0,
            ("anonymous_id", "a-1"),
            ("email", "a@example.com"),
            traits={"name": "王芳", "plan": "free"},
            consent={"marketing": True},
        ),
        observation(5, ("anonymous_id", "b-1"), ("phone", "+8613912345678"), traits={"name": "Wang Fang"}),
        observation(6, ("anonymous_id", "b-1"), group_id="group-1"),
        observation(
            2,
            ("anonymous_id", "c-1"),
            ("email", "c@example.com"),
            traits={"plan": "pro", "city": "上海"},
            consent={"marketing": False},
        ),
        observation(7, ("anonymous_id", "c-1"), group_id="group-1"),
        observation(8, ("anonymous_id", "c-1"), group_id="group-2"),
        observation(3, ("user_id", "u-1"), ("device_id", "phone-d"), traits={"name": "Fang"}),
        observation(4, ("user_id", "u-2"), traits={"name": "Other"}),
        observation(9, ("anonymous_id", "f-1"), traits={"city": "北京"}, group_id="group-3"),
    )
    a, b, _, c, _, _, d, e, f = ids
    assert len({a, b, c, d, e, f}) == 6
    return {"a": a, "b": b, "c": c, "d": d, "e": e, "f": f}


def test_a_batch_with_chains_and_refusals_equals_the_single_merges_one_by_one(
    six: dict[str, str], engine: Engine, uow_factory: UowFactory
) -> None:
    p = six
    pairs = [
        ("a", "b"),  # merged
        ("c", "a"),  # a chain: the survivor of the first merge is merged in turn
        ("f", "b"),  # b was merged away earlier in the batch: refused, as a single merge refuses it
        ("d", "e"),  # two user ids: refused by the rule
        ("d", "d"),  # into itself: refused
        ("d", "f"),  # merged
        ("c", "d"),  # a chain: c takes d, which took f
    ]
    requests = [
        MergeIn(survivor_id=p[survivor], merged_id=p[merged], note=f"pair {index}")
        for index, (survivor, merged) in enumerate(pairs)
    ]
    before = graph_state(engine)

    batch, after = _compare_batch_with_singles(engine, uow_factory, requests)

    assert _answers(batch) == [
        ("merged", p["a"], p["b"], MergeReason.PROBABILISTIC.value, "pair 0"),
        ("merged", p["c"], p["a"], MergeReason.PROBABILISTIC.value, "pair 1"),
        ("refused", ALREADY_MERGED),
        ("refused", TWO_USER_IDS),
        ("refused", ITSELF),
        ("merged", p["d"], p["f"], MergeReason.PROBABILISTIC.value, "pair 5"),
        ("merged", p["c"], p["d"], MergeReason.PROBABILISTIC.value, "pair 6"),
    ]
    redirects = {name: after["profiles"][p[name]][5] for name in p}
    assert redirects == {"a": p["c"], "b": p["a"], "c": None, "d": p["c"], "e": None, "f": p["d"]}
    survivor = identity.get_profile(uow_factory(), ACTOR, p["c"])
    assert sorted((item.type, item.value) for item in survivor.identities) == [
        ("anonymous_id", "a-1"),
        ("anonymous_id", "b-1"),
        ("anonymous_id", "c-1"),
        ("anonymous_id", "f-1"),
        ("device_id", "phone-d"),
        ("email", "a@example.com"),
        ("email", "c@example.com"),
        ("phone", "+8613912345678"),
        ("user_id", "u-1"),
    ]
    groups = sorted(group for profile_id, group, _ in after["groups"] if profile_id == p["c"])
    assert groups == ["group-1", "group-2", "group-3"]
    assert identity.profile_ids_of(uow_factory(), p["c"]) == {p[name] for name in "abcdf"}

    # A batch merge is undone like a single one: not while its survivor is merged into another,
    merge_of_b = batch[0]
    assert isinstance(merge_of_b, MergeOut)
    with pytest.raises(Conflict, match="merged again since"):
        identity.unmerge(uow_factory(), ACTOR, merge_of_b.id)
    # and newest first, back to exactly the graph before the batch.
    _undo(uow_factory, batch)
    assert graph_state(engine) == before


def test_one_batch_merge_undone_restores_the_graph_as_it_was_without_it(
    six: dict[str, str], engine: Engine, uow_factory: UowFactory
) -> None:
    p = six
    first = MergeIn(survivor_id=p["a"], merged_id=p["b"], note="first")
    second = MergeIn(survivor_id=p["d"], merged_id=p["f"], note="second")
    alone, only_first = _compare_batch_with_singles(engine, uow_factory, [first])
    _undo(uow_factory, alone)
    batch = identity.merge_matched_profiles_many(uow_factory(), ACTOR, [first, second])
    assert isinstance(batch[1], MergeOut)

    undone = identity.unmerge(uow_factory(), ACTOR, batch[1].id)

    assert undone.undone_by == ACTOR.user_id and undone.reason is MergeReason.PROBABILISTIC
    assert graph_state(engine) == only_first
    assert identity.current_profile_id(uow_factory(), p["f"]) == p["f"]


def test_a_missing_profile_fails_the_whole_batch_and_nothing_is_merged(
    six: dict[str, str], engine: Engine, uow_factory: UowFactory
) -> None:
    before = graph_state(engine)
    requests = [
        MergeIn(survivor_id=six["a"], merged_id=six["b"], note="fine"),
        MergeIn(survivor_id=six["c"], merged_id="no-such-profile", note="missing"),
    ]

    with pytest.raises(NotFound):
        identity.merge_matched_profiles_many(uow_factory(), ACTOR, requests)

    assert graph_state(engine) == before
    assert identity.merge_matched_profiles_many(uow_factory(), ACTOR, []) == []


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    shapes=st.lists(message_shapes, min_size=2, max_size=10),
    pairs=st.lists(st.tuples(st.integers(0, 20), st.integers(0, 20)), min_size=1, max_size=6),
)
def test_random_batches_equal_the_single_merges_and_undo_exactly(
    shapes: list[dict[str, Any]],
    pairs: list[tuple[int, int]],
    engine: Engine,
    uow_factory: UowFactory,
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
    live = sorted({identity.current_profile_id(uow_factory(), profile_id) for profile_id in profile_ids})
    if not live:
        return
    requests = [
        MergeIn(survivor_id=live[left % len(live)], merged_id=live[right % len(live)], note="property")
        for left, right in pairs
    ]
    before = graph_state(engine)

    batch, _ = _compare_batch_with_singles(engine, uow_factory, requests)

    _undo(uow_factory, batch)
    assert graph_state(engine) == before
