"""Probabilistic matching through its service and a real worker: accuracy on generated fragments
with known truth, auto-merge refused by a deterministic rule, accept merges, reject is remembered.

The fragments come from the benchmark's generator (``bench/cdp_matching.py``) at a small scale;
each becomes a profile through the identity graph's own ``resolve_many``.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import text
from tests.support.matching_fragments import matching_bench

import loopcrm.modules.cdp.matching.jobs  # noqa: F401  (registers the matching task)
from loopcrm.modules.cdp.identity import service as identity
from loopcrm.modules.cdp.identity.schemas import Identifier, Observation
from loopcrm.modules.cdp.matching import service as matching
from loopcrm.modules.cdp.matching.models import CandidateStatus, QueueReason, RunStage, RunStatus
from loopcrm.modules.cdp.matching.schemas import Agreement, RunIn
from loopcrm.platform.errors import Conflict, PermissionDenied
from loopcrm.platform.permissions import system_actor
from loopcrm.platform.unit_of_work import UnitOfWork

AT = datetime(2026, 12, 1, tzinfo=UTC)
# Floors for 600 generated fragments (the benchmark's bar is F1 ≥ 0.95 on 100,000).
MIN_PRECISION = 0.97
MIN_RECALL = 0.9
MIN_F1 = 0.94


bench = matching_bench()


def _profiles(
    uow_factory: Callable[[], UnitOfWork], traits: list[dict[str, Any]], **identifiers: Any
) -> list[str]:
    observations = []
    for index, fragment in enumerate(traits):
        found = [Identifier("anonymous_id", f"test-{index}-{id(traits)}")]
        for kind, values in identifiers.items():
            if values[index] is not None:
                found.append(Identifier(kind, values[index]))
        observations.append(Observation(tuple(found), AT, fragment))
    resolutions = identity.resolve_many(uow_factory(), observations)
    return [resolution.profile_id for resolution in resolutions if resolution is not None]


def _run(uow_factory, work, actor, request: RunIn | None = None):
    run = matching.start_run(uow_factory(), actor, request)
    assert work() == 1
    return matching.get_run(uow_factory(), actor, run.id)


def test_generated_fragments_are_matched_with_high_precision_and_recall(uow_factory, work):
    # Given 600 fragments of about 360 people (Hanzi and pinyin names, typos, phone notations,
    # email case, missing fields), each its own profile
    fragments = bench.generate_fragments(600, seed=3)
    profile_ids = _profiles(uow_factory, fragments.traits)
    assert len(set(profile_ids)) == 600
    admin = system_actor("test")

    # When a run matches them
    finished = _run(uow_factory, work, admin)

    # Then it finished, and the profiles it merged are the true people, nearly all of them
    assert finished.status is RunStatus.SUCCEEDED
    assert finished.stage is RunStage.DONE
    assert finished.progress_percent == 100
    assert finished.profile_count == 600
    assert finished.merged_count > 150
    survivor = {
        profile_id: identity.current_profile_id(uow_factory(), profile_id) for profile_id in profile_ids
    }
    clusters: dict[str, list[int]] = {}
    for index, profile_id in enumerate(profile_ids):
        clusters.setdefault(survivor[profile_id], []).append(index)
    result = bench.accuracy(bench.pairs_of_clusters(clusters.values()), fragments.true_pairs())
    assert result.precision >= MIN_PRECISION, result
    assert result.recall >= MIN_RECALL, result
    assert result.f1 >= MIN_F1, result


def _fragment_pair() -> list[dict[str, Any]]:
    """One person twice: in Hanzi with a spaced phone, and in pinyin with +86 and another email."""
    return [
        {"name": "王小明", "phone": "138 1234 5678", "birthday": "1990-03-07", "city": "上海市"},
        {"name": "Xiaoming Wang", "phone": "+86-138-1234-5678", "birthday": "1990/3/7", "city": "上海"},
    ]


def _with_background(pair: list[dict[str, Any]]) -> list[dict[str, Any]]:
    # Enough other people for the model to learn what chance agreement looks like.
    return pair + bench.generate_fragments(300, seed=9).traits


def test_auto_merge_refused_by_a_rule_goes_to_the_queue_with_the_reason(uow_factory, work):
    # Given the same person twice, but both profiles have their own user id
    traits = _with_background(_fragment_pair())
    user_ids = ["user-1", "user-2"] + [None] * (len(traits) - 2)
    profile_ids = _profiles(uow_factory, traits, user_id=user_ids)
    admin = system_actor("test")

    # When a run matches them
    finished = _run(uow_factory, work, admin)

    # Then the pair is not merged but waits in the queue, saying why, with its evidence
    assert identity.current_profile_id(uow_factory(), profile_ids[1]) == profile_ids[1]
    assert finished.refused_count >= 1
    queue = matching.review_queue(uow_factory(), admin, limit=500).items
    pair = {profile_ids[0], profile_ids[1]}
    [candidate] = [item for item in queue if {item.left.id, item.right.id} == pair]
    assert candidate.reason is QueueReason.RULE_FORBIDS
    assert candidate.match_probability >= 0.99
    evidence = {item.comparison: item for item in candidate.evidence}
    assert evidence["phone"].agreement is Agreement.AGREES
    assert evidence["birthday"].agreement is Agreement.AGREES
    assert evidence["name"].agreement is Agreement.SIMILAR or evidence["name"].agreement is Agreement.AGREES
    assert evidence["phone"].match_weight > 0

    # And accepting it is refused by the same rule; rejecting it is remembered by the next run
    with pytest.raises(Conflict):
        matching.accept_candidate(uow_factory(), admin, candidate.id)
    rejected = matching.reject_candidate(uow_factory(), admin, candidate.id)
    assert rejected.status is CandidateStatus.REJECTED
    again = _run(uow_factory, work, admin)
    assert again.remembered_count >= 1
    queue = matching.review_queue(uow_factory(), admin, limit=500).items
    assert not [item for item in queue if {item.left.id, item.right.id} == pair]
    with pytest.raises(Conflict):
        matching.reject_candidate(uow_factory(), admin, candidate.id)


def test_accepting_a_queued_pair_merges_the_profiles(uow_factory, work, make_person):
    # Given a pair below the auto-merge threshold: a run that merges nothing by itself
    traits = _with_background(_fragment_pair())
    profile_ids = _profiles(uow_factory, traits)
    marketer = make_person("marketer")
    finished = _run(uow_factory, work, marketer.actor, RunIn(auto_merge=False))
    assert finished.merged_count == 0
    queue = matching.review_queue(uow_factory(), marketer.actor, limit=500).items
    pair = {profile_ids[0], profile_ids[1]}
    [candidate] = [item for item in queue if {item.left.id, item.right.id} == pair]
    assert candidate.reason is QueueReason.BELOW_THRESHOLD
    assert candidate.left.is_live and candidate.right.is_live

    # When the marketer accepts it
    accepted = matching.accept_candidate(uow_factory(), marketer.actor, candidate.id)

    # Then the profiles are one, recorded as a probabilistic merge, and the pair left the queue
    assert accepted.status is CandidateStatus.ACCEPTED
    assert accepted.decided_by == marketer.user.id
    assert accepted.merge_id is not None
    survivors = {identity.current_profile_id(uow_factory(), profile_id) for profile_id in pair}
    assert len(survivors) == 1
    [merge] = identity.list_merges(uow_factory(), marketer.actor, survivors.pop())
    assert merge.reason.value == "probabilistic"
    queue = matching.review_queue(uow_factory(), marketer.actor, limit=500).items
    assert candidate.id not in {item.id for item in queue}


def test_an_analyst_may_read_the_queue_but_not_decide_or_start_runs(uow_factory, make_person):
    analyst = make_person("analyst")
    assert matching.review_queue(uow_factory(), analyst.actor).items == []
    with pytest.raises(PermissionDenied):
        matching.start_run(uow_factory(), analyst.actor)
    with pytest.raises(PermissionDenied):
        matching.reject_candidate(uow_factory(), analyst.actor, "any")


def test_one_run_at_a_time(uow_factory):
    admin = system_actor("test")
    matching.start_run(uow_factory(), admin)
    with pytest.raises(Conflict):
        matching.start_run(uow_factory(), admin)


def test_the_review_queue_pages_with_a_cursor_strongest_first(uow_factory, work):
    _profiles(uow_factory, bench.generate_fragments(300, seed=4).traits)
    admin = system_actor("test")
    _run(uow_factory, work, admin, RunIn(auto_merge=False))
    first = matching.review_queue(uow_factory(), admin, limit=5)
    second = matching.review_queue(uow_factory(), admin, limit=5, cursor=first.next_cursor)
    weights = [item.match_weight for item in itertools.chain(first.items, second.items)]
    assert len(weights) == 10
    assert weights == sorted(weights, reverse=True)
    assert not {item.id for item in first.items} & {item.id for item in second.items}


TWO_USER_IDS = (
    "These profiles cannot be merged: together they would have more identifiers of one type than one "
    "person may have, such as two user ids."
)


def test_a_chain_in_one_batch_follows_the_survivor_and_the_graph_refusal_is_queued(uow_factory, work, engine):
    # Given one person three times: two profiles with their own user id, one without
    third = {"name": "王小明", "phone": "13812345678", "birthday": "1990-03-07", "city": "上海"}
    traits = _with_background([*_fragment_pair(), third])
    user_ids = ["user-1", None, "user-2"] + [None] * (len(traits) - 3)
    first, middle, last = _profiles(uow_factory, traits, user_id=user_ids)[:3]
    admin = system_actor("test")

    # When a run matches them (all three pairs are certain, and all fit in one merge batch)
    finished = _run(uow_factory, work, admin)

    # Then the profile without a user id joined one of the two; the pair that would then join the
    # two user ids through it was refused by the graph and queued with its reason; the pair of the
    # two user ids was never sent
    assert finished.status is RunStatus.SUCCEEDED
    assert finished.merged_count < matching.MERGE_CHUNK
    survivor = identity.current_profile_id(uow_factory(), middle)
    assert survivor in (first, last)
    assert identity.current_profile_id(uow_factory(), first) == first
    assert identity.current_profile_id(uow_factory(), last) == last
    with engine.connect() as connection:
        rows = connection.execute(
            text(
                "SELECT left_profile_id, right_profile_id, status, reason, reason_detail, merge_id,"
                " match_probability FROM cdp_match_candidates"
            )
        ).all()
    ours = {
        frozenset((row.left_profile_id, row.right_profile_id)): row
        for row in rows
        if {row.left_profile_id, row.right_profile_id} <= {first, middle, last}
    }
    assert set(ours) == {frozenset((first, middle)), frozenset((middle, last)), frozenset((first, last))}
    assert all(row.match_probability >= 0.99 for row in ours.values())
    merged_pair = frozenset((survivor, middle))
    other = last if survivor == first else first
    refused_pair = frozenset((other, middle))
    merged, refused, both = ours[merged_pair], ours[refused_pair], ours[frozenset((first, last))]
    assert (merged.status, merged.reason) == (CandidateStatus.AUTO_MERGED.value, None)
    [merge] = identity.list_merges(uow_factory(), admin, middle)
    assert merged.merge_id == merge.id and merge.survivor_id == survivor
    assert (refused.status, refused.reason, refused.reason_detail, refused.merge_id) == (
        CandidateStatus.PENDING.value,
        QueueReason.RULE_FORBIDS.value,
        TWO_USER_IDS,
        None,
    )
    assert (both.status, both.reason, both.reason_detail) == (
        CandidateStatus.PENDING.value,
        QueueReason.RULE_FORBIDS.value,
        "Both profiles have a user id; they are never merged automatically.",
    )
    assert finished.refused_count >= 2
