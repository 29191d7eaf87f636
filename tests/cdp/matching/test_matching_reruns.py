"""A later run over pairs an earlier run already stored: a pair the first run only queued and the
second finds certain is merged by the second (it used to stop the run at the merging stage,
because a stored pair's row lacked its profile ids)."""

from __future__ import annotations

from datetime import UTC, datetime

from tests.support.matching_fragments import matching_bench

import loopcrm.modules.cdp.matching.jobs  # noqa: F401  (registers the matching task)
from loopcrm.modules.cdp.identity import service as identity
from loopcrm.modules.cdp.identity.schemas import Identifier, Observation
from loopcrm.modules.cdp.matching import service as matching
from loopcrm.modules.cdp.matching.models import CandidateStatus, RunStatus
from loopcrm.modules.cdp.matching.schemas import RunIn
from loopcrm.platform.permissions import system_actor

AT = datetime(2026, 12, 1, tzinfo=UTC)


def test_a_pair_queued_by_one_run_and_certain_in_the_next_is_merged_by_the_next(uow_factory, work):
    # Given 300 fragments, and a first run that merged nothing: every pair it found is stored pending
    traits = matching_bench().generate_fragments(300, seed=4).traits
    observations = [
        Observation((Identifier("anonymous_id", f"rerun-{index}"),), AT, fragment)
        for index, fragment in enumerate(traits)
    ]
    identity.resolve_many(uow_factory(), observations)
    admin = system_actor("test")
    first = matching.start_run(uow_factory(), admin, RunIn(auto_merge=False))
    assert work() == 1
    assert matching.get_run(uow_factory(), admin, first.id).merged_count == 0
    certain = [
        item
        for item in matching.review_queue(uow_factory(), admin, limit=500).items
        if item.match_probability >= 0.99
    ]
    assert certain

    # When a second run may merge the certain pairs
    second = matching.start_run(uow_factory(), admin)
    assert work() == 1

    # Then it succeeded and merged them: the stored pairs are now auto-merged, their profiles one
    finished = matching.get_run(uow_factory(), admin, second.id)
    assert finished.status is RunStatus.SUCCEEDED, finished.error
    assert finished.merged_count > 0
    for item in certain:
        stored = matching.get_candidate(uow_factory(), admin, item.id)
        assert stored.status is CandidateStatus.AUTO_MERGED
        assert identity.current_profile_id(uow_factory(), item.left.id) == identity.current_profile_id(
            uow_factory(), item.right.id
        )
