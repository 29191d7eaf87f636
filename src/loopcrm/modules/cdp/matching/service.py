"""Probabilistic matching's use cases: start a run, follow it, review the queue (ADR 0012).

A run is a background job (``cdp.matching.run``): it loads every live profile, builds features,
trains a Fellegi–Sunter model with Splink (u by random sampling, m by EM), scores the blocked
pairs, merges those at or above the auto-merge threshold through the identity graph's
``merge_matched_profiles`` — which refuses what a deterministic rule forbids, such as two user
ids — and queues the rest above the review threshold with their evidence for a person.

Permissions are the identity graph's profile rights: whoever may update profiles (marketers and
admins by default) may start runs and decide; whoever may read profiles may read the queue.
"""

from __future__ import annotations

import base64
import binascii
import time
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, insert, or_, select, update

from loopcrm.modules.cdp.identity import service as identity
from loopcrm.modules.cdp.identity.models import IdentityLink, Profile
from loopcrm.modules.cdp.identity.schemas import MergeIn, MergeOut
from loopcrm.modules.cdp.matching.features import ProfileFeatures, features_of, written_name
from loopcrm.modules.cdp.matching.models import (
    CandidateStatus,
    MatchCandidate,
    MatchingRun,
    QueueReason,
    RunStage,
    RunStatus,
)
from loopcrm.modules.cdp.matching.schemas import (
    Agreement,
    CandidateOut,
    DecisionIn,
    Evidence,
    ProfileSummary,
    RunIn,
    RunOut,
)
from loopcrm.modules.cdp.matching.scoring import ComparisonLevel, ScoredPair, score
from loopcrm.platform.audit.models import AuditAction
from loopcrm.platform.audit.service import record_change
from loopcrm.platform.db import create_session_factory, new_id, utc_now
from loopcrm.platform.errors import Conflict, NotFound, ValidationFailed
from loopcrm.platform.jobs.service import enqueue
from loopcrm.platform.pagination import Page, check_limit
from loopcrm.platform.permissions import Action, Actor, require, system_actor
from loopcrm.platform.unit_of_work import UnitOfWork

RUN_TASK = "cdp.matching.run"
PROFILE = identity.PROFILE
# Candidates written, and pairs merged (one identity transaction per batch), between two progress
# commits: the bar moves every second or so, and on SQLite the write lock is let go often for
# the people using the application.
WRITE_CHUNK = 2000
MERGE_CHUNK = 1000
# Identity types the matcher reads from the graph: the compared ones, and user ids for the rule
# that two profiles with user ids are never merged automatically.
_READ_IDENTITY_TYPES = ("email", "phone", "user_id")


# --------------------------------------------------------------------------------------- runs


def _run_out(run: MatchingRun) -> RunOut:
    return RunOut(
        id=run.id,
        status=RunStatus(run.status),
        stage=RunStage(run.stage),
        progress_percent=run.progress_percent,
        auto_merge_threshold=run.auto_merge_threshold,
        review_threshold=run.review_threshold,
        job_id=run.job_id,
        created_at=run.created_at,
        started_at=run.started_at,
        finished_at=run.finished_at,
        started_by=run.created_by,
        profile_count=run.profile_count,
        compared_pairs=run.compared_pairs,
        merged_count=run.merged_count,
        queued_count=run.queued_count,
        refused_count=run.refused_count,
        remembered_count=run.remembered_count,
        timings=dict(run.timings),
        error=run.error,
    )


def start_run(uow: UnitOfWork, actor: Actor, request: RunIn | None = None) -> RunOut:
    """Queue a matching run; refused while another run is queued or running (one at a time:
    two runs would merge the same profiles twice)."""
    require(actor, PROFILE.key, Action.UPDATE)
    settings = request or RunIn()
    with uow:
        active = uow.session.scalar(
            select(MatchingRun.id).where(MatchingRun.status.in_([RunStatus.QUEUED, RunStatus.RUNNING]))
        )
        if active is not None:
            raise Conflict("A matching run is already in progress ({run_id}).", run_id=active)
        run = MatchingRun(
            id=new_id(),
            auto_merge_threshold=settings.auto_merge_threshold if settings.auto_merge else 1.01,
            review_threshold=settings.review_threshold,
            created_by=actor.user_id,
            updated_by=actor.user_id,
            timings={},
            levels={},
        )
        uow.session.add(run)
        job = enqueue(uow, RUN_TASK, {"run_id": run.id}, max_attempts=1)
        run.job_id = job.id
        uow.session.flush()
        record_change(uow, actor, AuditAction.CREATE, "matching_run", run.id, {"status": [None, run.status]})
        result = _run_out(run)
        uow.commit()
    return result


def get_run(uow: UnitOfWork, actor: Actor, run_id: str) -> RunOut:
    require(actor, PROFILE.key, Action.READ)
    with uow:
        run = uow.session.get(MatchingRun, run_id)
        if run is None:
            raise NotFound("Matching run {run_id} was not found.", run_id=run_id)
        return _run_out(run)


def latest_runs(uow: UnitOfWork, actor: Actor, *, limit: int = 10) -> list[RunOut]:
    """The most recent runs, newest first."""
    require(actor, PROFILE.key, Action.READ)
    check_limit(limit)
    with uow:
        runs = uow.session.scalars(
            select(MatchingRun).order_by(MatchingRun.created_at.desc(), MatchingRun.id.desc()).limit(limit)
        )
        return [_run_out(run) for run in runs]


# ------------------------------------------------------------------------- the run (job body)


@dataclass
class _Loaded:
    features: list[ProfileFeatures]
    first_seen: dict[str, datetime]
    rejected: set[tuple[str, str]]  # pairs (sorted, live ids) a person rejected
    existing: dict[tuple[str, str], tuple[str, str]]  # pair → (candidate id, status)


def _pair(left: str, right: str) -> tuple[str, str]:
    return (left, right) if left < right else (right, left)


def _live_of(redirects: dict[str, str]) -> Any:
    def live(profile_id: str) -> str:
        seen = {profile_id}
        while (target := redirects.get(profile_id)) is not None and target not in seen:
            seen.add(target)
            profile_id = target
        return profile_id

    return live


def _load(uow: UnitOfWork) -> _Loaded:
    """Every live profile's features, and what people decided before (read in one transaction)."""
    session = uow.session
    identities: dict[str, list[tuple[str, str]]] = {}
    links = session.execute(
        select(IdentityLink.profile_id, IdentityLink.type, IdentityLink.value).where(
            IdentityLink.valid_to.is_(None), IdentityLink.type.in_(_READ_IDENTITY_TYPES)
        )
    )
    for profile_id, kind, value in links:
        identities.setdefault(profile_id, []).append((kind, value))
    features: list[ProfileFeatures] = []
    first_seen: dict[str, datetime] = {}
    rows = session.execute(
        select(Profile.id, Profile.traits, Profile.first_seen_at)
        .where(Profile.merged_into.is_(None))
        .execution_options(yield_per=5000)
    )
    for profile_id, traits, seen_at in rows:
        held = identities.get(profile_id, [])
        has_user_id = any(kind == "user_id" for kind, _ in held)
        features.append(features_of(profile_id, traits or {}, held, has_user_id=has_user_id))
        first_seen[profile_id] = seen_at
    redirects = dict(
        session.execute(select(Profile.id, Profile.merged_into).where(Profile.merged_into.is_not(None))).all()
    )
    live = _live_of({str(key): str(value) for key, value in redirects.items()})
    rejected: set[tuple[str, str]] = set()
    existing: dict[tuple[str, str], tuple[str, str]] = {}
    for candidate_id, left, right, status in session.execute(
        select(
            MatchCandidate.id,
            MatchCandidate.left_profile_id,
            MatchCandidate.right_profile_id,
            MatchCandidate.status,
        )
    ):
        existing[(left, right)] = (candidate_id, status)
        if status == CandidateStatus.REJECTED:
            rejected.add(_pair(live(left), live(right)))
    return _Loaded(features=features, first_seen=first_seen, rejected=rejected, existing=existing)


def _set_progress(uow: UnitOfWork, run_id: str, stage: RunStage, percent: int, **values: Any) -> None:
    with uow:
        uow.session.execute(
            update(MatchingRun)
            .where(MatchingRun.id == run_id)
            .values(stage=stage.value, progress_percent=percent, updated_at=utc_now(), **values)
            .execution_options(synchronize_session=False)
        )
        uow.commit()


def _evidence(pair: ScoredPair, levels: dict[str, dict[int, ComparisonLevel]]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for comparison, gamma in pair.levels.items():
        if gamma < 0:
            found.append(
                Evidence(
                    comparison=comparison, agreement=Agreement.MISSING, label="Not known", match_weight=0.0
                ).model_dump(mode="json")
            )
            continue
        level = levels.get(comparison, {}).get(gamma)
        if level is None:
            continue
        agreement = (
            Agreement.AGREES if level.is_top else Agreement.SIMILAR if gamma > 0 else Agreement.DIFFERS
        )
        found.append(
            Evidence(
                comparison=comparison,
                agreement=agreement,
                label=level.label,
                match_weight=round(level.match_weight, 3),
            ).model_dump(mode="json")
        )
    return found


def _chunks(items: list[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def run_matching(uow: UnitOfWork, run_id: str) -> RunOut | None:
    """Do one run from start to end, committing its progress stage by stage in ``uow``.

    A run cannot hold one transaction: training and predicting 100k profiles take tens of
    seconds, and the embedded database has one writer. So each stage commits on its own, and a
    run that dies half-way is marked failed by the job's give-up hook; what it merged stays
    merged (each merge is a recorded, reversible merge), and the next run picks up the rest.
    None when the run is missing or already finished (a duplicate job).
    """
    clock = time.perf_counter
    timings: dict[str, float] = {}
    with uow:
        run = uow.session.get(MatchingRun, run_id)
        if run is None or run.status not in (RunStatus.QUEUED, RunStatus.RUNNING):
            return None
        auto_threshold, review_threshold = run.auto_merge_threshold, run.review_threshold
        run.status = RunStatus.RUNNING.value
        run.stage = RunStage.LOADING.value
        run.started_at = utc_now()
        uow.commit()

    started = clock()
    with uow:
        loaded = _load(uow)
    timings["load"] = round(clock() - started, 3)
    _set_progress(uow, run_id, RunStage.TRAINING, 10, profile_count=len(loaded.features))

    started = clock()
    stage_of = {"predicting": RunStage.PREDICTING, "predicted": RunStage.QUEUEING}

    def progress(stage: str, percent: int) -> None:
        _set_progress(uow, run_id, stage_of.get(stage, RunStage.TRAINING), max(10, min(percent, 80)))

    result = score(loaded.features, threshold=review_threshold, progress=progress)
    timings["train_and_predict"] = round(clock() - started, 3)

    started = clock()
    by_id = {profile.profile_id: profile for profile in loaded.features}
    planned: list[MatchCandidate] = []
    queued = refused = remembered = 0
    rows_new: list[dict[str, Any]] = []
    rows_update: list[dict[str, Any]] = []
    now = utc_now()
    for pair in result.pairs:
        key = _pair(pair.left_id, pair.right_id)
        if key in loaded.rejected:
            remembered += 1
            continue
        values: dict[str, Any] = {
            "run_id": run_id,
            "match_probability": pair.match_probability,
            "match_weight": pair.match_weight,
            "evidence": _evidence(pair, result.levels),
            "reason_detail": None,
            "merge_id": None,
            "decided_by": None,
            "decided_at": None,
            "updated_at": now,
        }
        left, right = by_id[key[0]], by_id[key[1]]
        if pair.match_probability >= auto_threshold and left.has_user_id and right.has_user_id:
            values.update(status=CandidateStatus.PENDING.value, reason=QueueReason.RULE_FORBIDS.value)
            values["reason_detail"] = "Both profiles have a user id; they are never merged automatically."
            refused += 1
            queued += 1
        elif pair.match_probability >= auto_threshold:
            values.update(status=CandidateStatus.PLANNED.value, reason=None)
        else:
            values.update(status=CandidateStatus.PENDING.value, reason=QueueReason.BELOW_THRESHOLD.value)
            queued += 1
        existing = loaded.existing.get(key)
        if existing is None:
            rows_new.append(
                {
                    "id": new_id(),
                    "left_profile_id": key[0],
                    "right_profile_id": key[1],
                    "created_at": now,
                    **values,
                }
            )
        else:
            # The pair's ids ride along (unchanged by the UPDATE): the merge step reads them.
            rows_update.append(
                {"id": existing[0], "left_profile_id": key[0], "right_profile_id": key[1], **values}
            )
    with uow:
        # Pending pairs whose profiles are no longer both live: someone merged one of them elsewhere.
        live_ids = set(by_id)
        stale = [
            candidate_id
            for (left, right), (candidate_id, status) in loaded.existing.items()
            if status == CandidateStatus.PENDING and (left not in live_ids or right not in live_ids)
        ]
        for chunk in _chunks(stale, WRITE_CHUNK):
            uow.session.execute(
                update(MatchCandidate)
                .where(MatchCandidate.id.in_(chunk))
                .values(status=CandidateStatus.SUPERSEDED.value, updated_at=now)
                .execution_options(synchronize_session=False)
            )
        uow.commit()
    for chunk in _chunks(rows_new, WRITE_CHUNK):
        with uow:
            uow.session.execute(insert(MatchCandidate), chunk)
            uow.commit()
    for chunk in _chunks(rows_update, WRITE_CHUNK):
        with uow:
            uow.session.execute(update(MatchCandidate), chunk)
            uow.commit()
    timings["write_queue"] = round(clock() - started, 3)
    _set_progress(
        uow,
        run_id,
        RunStage.MERGING,
        85,
        compared_pairs=len(result.pairs),
        queued_count=queued,
        refused_count=refused,
        remembered_count=remembered,
        levels={
            name: {str(gamma): vars(level) for gamma, level in levels.items()}
            for name, levels in result.levels.items()
        },
    )

    started = clock()
    planned_rows = [row for row in rows_new + rows_update if row["status"] == CandidateStatus.PLANNED]
    merged, refused_by_graph = _merge_planned(uow, run_id, planned_rows, by_id, loaded.first_seen)
    timings["merge"] = round(clock() - started, 3)
    del planned
    with uow:
        run = uow.session.get(MatchingRun, run_id)
        assert run is not None  # noqa: S101 - the run row is never deleted
        run.status = RunStatus.SUCCEEDED.value
        run.stage = RunStage.DONE.value
        run.progress_percent = 100
        run.merged_count = merged
        run.refused_count = refused + refused_by_graph
        run.queued_count = queued + refused_by_graph
        run.timings = timings
        run.finished_at = utc_now()
        result_out = _run_out(run)
        uow.commit()
    return result_out


def _survivor_first(
    left: str, right: str, profiles: dict[str, ProfileFeatures], first_seen: dict[str, datetime]
) -> tuple[str, str]:
    """The profile that survives: the one with a user id, else the one seen first."""

    def rank(profile_id: str) -> tuple[int, datetime, str]:
        return (0 if profiles[profile_id].has_user_id else 1, first_seen[profile_id], profile_id)

    return (left, right) if rank(left) <= rank(right) else (right, left)


def _merge_planned(
    uow: UnitOfWork,
    run_id: str,
    planned: list[dict[str, Any]],
    profiles: dict[str, ProfileFeatures],
    first_seen: dict[str, datetime],
) -> tuple[int, int]:
    """Merge the planned pairs, best first, through the identity graph; (merged, refused).

    Pairs already joined through earlier merges of this run are marked merged without another
    merge; pairs the graph refuses (a deterministic rule) go to the review queue with its reason.

    The merges go to the graph in batches (``merge_matched_profiles_many``, one transaction per
    batch), each pair mapped first to the current survivors of its two profiles. A pair whose
    profile a merge of the unsent batch would absorb waits for the next batch, so it is mapped
    through that merge's real outcome (merged, or refused) as when the pairs were merged one at
    a time; so does every later pair that shares a profile with a waiting pair, or with where a
    waiting pair may lead, so waiting pairs keep their order among the pairs they touch. Merges
    of pairs with no profile in common commute, hence every pair's outcome is the one it had
    when each pair was its own transaction; only the order of unrelated merges' times changes.
    """
    actor = system_actor("matching")
    survivor_of: dict[str, str] = {}
    live = _live_of(survivor_of)
    counts = {"merged": 0, "refused": 0}
    updates: list[dict[str, Any]] = []
    batch: list[tuple[dict[str, Any], MergeIn]] = []
    planned.sort(key=lambda row: -float(row["match_weight"]))

    def send_batch() -> None:
        if not batch:
            return
        requests = [request for _, request in batch]
        try:
            outcomes = identity.merge_matched_profiles_many(uow, actor, requests)
        except Conflict:
            # Someone changed one of these profiles meanwhile: merge them one by one, as before.
            outcomes = [_merge_one(uow, actor, request) for request in requests]
        now = utc_now()
        for (row, request), outcome in zip(batch, outcomes, strict=True):
            if isinstance(outcome, Conflict):
                counts["refused"] += 1
                updates.append(
                    {
                        "id": row["id"],
                        "status": CandidateStatus.PENDING.value,
                        "reason": QueueReason.RULE_FORBIDS.value,
                        "reason_detail": str(outcome)[:1000],
                        "updated_at": now,
                    }
                )
            else:
                counts["merged"] += 1
                survivor_of[request.merged_id] = request.survivor_id
                updates.append(
                    {
                        "id": row["id"],
                        "status": CandidateStatus.AUTO_MERGED.value,
                        "merge_id": outcome.id,
                        "decided_at": now,
                        "updated_at": now,
                    }
                )
        batch.clear()

    pending_survivor_of: dict[str, str] = {}  # the unsent batch's merges, absorbed → survivor
    waiting: deque[dict[str, Any]] = deque(planned)
    done = 0
    while waiting:
        deferred: list[dict[str, Any]] = []
        deferred_ids: set[str] = set()
        while waiting and len(batch) + len(updates) < MERGE_CHUNK:
            row = waiting.popleft()
            left, right = live(row["left_profile_id"]), live(row["right_profile_id"])
            if deferred or left in pending_survivor_of or right in pending_survivor_of:
                # Where this pair may lead once the batch is sent: its profiles, and the
                # survivors the unsent merges would take them to.
                reach = {left, right}
                for profile_id in (left, right):
                    while (profile_id := pending_survivor_of.get(profile_id, "")) and profile_id not in reach:
                        reach.add(profile_id)
                if reach & deferred_ids or left in pending_survivor_of or right in pending_survivor_of:
                    deferred.append(row)
                    deferred_ids |= reach
                    continue
            done += 1
            if left == right:
                updates.append(
                    {"id": row["id"], "status": CandidateStatus.AUTO_MERGED.value, "updated_at": utc_now()}
                )
                continue
            survivor, absorbed = _survivor_first(left, right, profiles, first_seen)
            note = f"Matching run {run_id}: match probability {row['match_probability']:.4f}"
            batch.append((row, MergeIn(survivor_id=survivor, merged_id=absorbed, note=note)))
            pending_survivor_of[absorbed] = survivor
        send_batch()
        pending_survivor_of.clear()
        waiting.extendleft(reversed(deferred))
        percent = 85 + (14 * done) // max(len(planned), 1)
        with uow:
            for same_keys in _group_by_keys(updates):
                uow.session.execute(update(MatchCandidate), same_keys)
            uow.session.execute(
                update(MatchingRun)
                .where(MatchingRun.id == run_id)
                .values(progress_percent=percent, merged_count=counts["merged"], updated_at=utc_now())
                .execution_options(synchronize_session=False)
            )
            uow.commit()
        updates.clear()
    return counts["merged"], counts["refused"]


def _merge_one(uow: UnitOfWork, actor: Actor, request: MergeIn) -> MergeOut | Conflict:
    try:
        return identity.merge_matched_profiles(uow, actor, request)
    except Conflict as refusal:
        return refusal


def _group_by_keys(rows: Iterable[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """Bulk updates need the same keys in every row of one statement."""
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault(tuple(sorted(row)), []).append(row)
    return list(groups.values())


def run_matching_job(uow: UnitOfWork, payload: dict[str, Any]) -> None:
    """The job's body: the run commits in its own units of work on the same database, leaving
    the job's own transaction (which the worker commits with the job's completion) untouched."""
    own = UnitOfWork(create_session_factory(uow.session.get_bind()))  # type: ignore[arg-type]
    run_matching(own, str(payload["run_id"]))


def give_up_run(uow: UnitOfWork, payload: dict[str, Any], error: str | None = None) -> None:
    """Mark the run failed (inside the worker's transaction that marks its job failed)."""
    run = uow.session.get(MatchingRun, str(payload["run_id"]))
    if run is not None and run.status in (RunStatus.QUEUED, RunStatus.RUNNING):
        run.status = RunStatus.FAILED.value
        run.stage = RunStage.DONE.value
        run.finished_at = utc_now()
        run.error = error or "The matching run stopped with an error; see the job's last error."


# ----------------------------------------------------------------------------- review queue


def _summary(profile: Profile | None, profile_id: str) -> ProfileSummary:
    if profile is None:
        return ProfileSummary(
            id=profile_id, name=None, email=None, phone=None, birthday=None, city=None, is_live=False
        )
    traits = profile.traits or {}
    features = features_of(profile.id, traits, [])
    return ProfileSummary(
        id=profile.id,
        name=written_name(traits),
        email=features.email,
        phone=features.phone,
        birthday=features.birthday,
        city=features.city,
        is_live=profile.merged_into is None,
    )


def _candidate_outs(uow: UnitOfWork, candidates: list[MatchCandidate]) -> list[CandidateOut]:
    ids = {candidate.left_profile_id for candidate in candidates} | {
        candidate.right_profile_id for candidate in candidates
    }
    profiles = {
        profile.id: profile for profile in uow.session.scalars(select(Profile).where(Profile.id.in_(ids)))
    }
    emails_phones: dict[str, dict[str, str]] = {}
    for profile_id, kind, value in uow.session.execute(
        select(IdentityLink.profile_id, IdentityLink.type, IdentityLink.value)
        .where(
            IdentityLink.profile_id.in_(ids),
            IdentityLink.valid_to.is_(None),
            IdentityLink.type.in_(("email", "phone")),
        )
        .order_by(IdentityLink.value)
    ):
        emails_phones.setdefault(profile_id, {}).setdefault(kind, value)
    outs = []
    for candidate in candidates:
        sides = []
        for profile_id in (candidate.left_profile_id, candidate.right_profile_id):
            summary = _summary(profiles.get(profile_id), profile_id)
            held = emails_phones.get(profile_id, {})
            summary = summary.model_copy(
                update={"email": held.get("email", summary.email), "phone": held.get("phone", summary.phone)}
            )
            sides.append(summary)
        outs.append(
            CandidateOut(
                id=candidate.id,
                run_id=candidate.run_id,
                status=CandidateStatus(candidate.status),
                reason=QueueReason(candidate.reason) if candidate.reason else None,
                reason_detail=candidate.reason_detail,
                match_probability=candidate.match_probability,
                match_weight=candidate.match_weight,
                evidence=[Evidence.model_validate(item) for item in candidate.evidence],
                left=sides[0],
                right=sides[1],
                merge_id=candidate.merge_id,
                decided_by=candidate.decided_by,
                decided_at=candidate.decided_at,
                created_at=candidate.created_at,
            )
        )
    return outs


def _encode_cursor(weight: float, candidate_id: str) -> str:
    return base64.urlsafe_b64encode(f"{weight!r}|{candidate_id}".encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[float, str]:
    try:
        text = base64.urlsafe_b64decode((cursor + "=" * (-len(cursor) % 4)).encode()).decode()
        weight, candidate_id = text.split("|", 1)
        return float(weight), candidate_id
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise ValidationFailed.single("cursor", "The cursor is not valid", "invalid_cursor") from None


def review_queue(
    uow: UnitOfWork,
    actor: Actor,
    *,
    limit: int = 50,
    cursor: str | None = None,
    status: CandidateStatus = CandidateStatus.PENDING,
) -> Page[CandidateOut]:
    """Pairs waiting for a person (or with another status), strongest evidence first."""
    require(actor, PROFILE.key, Action.READ)
    check_limit(limit)
    with uow:
        statement = select(MatchCandidate).where(MatchCandidate.status == status.value)
        if cursor:
            weight, last_id = _decode_cursor(cursor)
            statement = statement.where(
                or_(
                    MatchCandidate.match_weight < weight,
                    and_(MatchCandidate.match_weight == weight, MatchCandidate.id > last_id),
                )
            )
        rows = list(
            uow.session.scalars(
                statement.order_by(MatchCandidate.match_weight.desc(), MatchCandidate.id).limit(limit + 1)
            )
        )
        has_more = len(rows) > limit
        rows = rows[:limit]
        next_cursor = _encode_cursor(rows[-1].match_weight, rows[-1].id) if has_more and rows else None
        return Page[CandidateOut](items=_candidate_outs(uow, rows), next_cursor=next_cursor)


def count_pending(uow: UnitOfWork, actor: Actor) -> int:
    require(actor, PROFILE.key, Action.READ)
    with uow:
        return len(
            uow.session.scalars(
                select(MatchCandidate.id).where(MatchCandidate.status == CandidateStatus.PENDING.value)
            ).all()
        )


def get_candidate(uow: UnitOfWork, actor: Actor, candidate_id: str) -> CandidateOut:
    require(actor, PROFILE.key, Action.READ)
    with uow:
        return _candidate_outs(uow, [_load_candidate(uow, candidate_id)])[0]


def _load_candidate(uow: UnitOfWork, candidate_id: str) -> MatchCandidate:
    candidate = uow.session.get(MatchCandidate, candidate_id)
    if candidate is None:
        raise NotFound("Match candidate {candidate_id} was not found.", candidate_id=candidate_id)
    return candidate


def _decide(
    uow: UnitOfWork, actor: Actor, candidate_id: str, status: CandidateStatus, merge_id: str | None = None
) -> CandidateOut:
    with uow:
        candidate = _load_candidate(uow, candidate_id)
        before = candidate.status
        if before != CandidateStatus.PENDING:
            raise Conflict("This pair was already decided ({status}).", status=before)
        candidate.status = status.value
        candidate.merge_id = merge_id
        candidate.decided_by = actor.user_id
        candidate.decided_at = utc_now()
        record_change(
            uow,
            actor,
            AuditAction.UPDATE,
            "match_candidate",
            candidate.id,
            {"status": [before, status.value]},
        )
        uow.session.flush()
        out = _candidate_outs(uow, [candidate])[0]
        uow.commit()
    return out


def reject_candidate(
    uow: UnitOfWork, actor: Actor, candidate_id: str, request: DecisionIn | None = None
) -> CandidateOut:
    """Two people after all: the pair leaves the queue and no later run queues it again."""
    require(actor, PROFILE.key, Action.UPDATE)
    return _decide(uow, actor, candidate_id, CandidateStatus.REJECTED)


def accept_candidate(
    uow: UnitOfWork, actor: Actor, candidate_id: str, request: DecisionIn | None = None
) -> CandidateOut:
    """One person: merge the pair through the identity graph (refused, 409, when a deterministic
    rule forbids it — the pair then stays in the queue to be rejected)."""
    require(actor, PROFILE.key, Action.UPDATE)
    with uow:
        candidate = _load_candidate(uow, candidate_id)
        if candidate.status != CandidateStatus.PENDING:
            raise Conflict("This pair was already decided ({status}).", status=candidate.status)
        left, right = candidate.left_profile_id, candidate.right_profile_id
        probability = candidate.match_probability
        profiles = {
            profile.id: profile
            for profile in uow.session.scalars(select(Profile).where(Profile.id.in_((left, right))))
        }
        if any(profile.merged_into is not None for profile in profiles.values()):
            candidate.status = CandidateStatus.SUPERSEDED.value
            uow.commit()
            raise Conflict("One of these profiles was merged into another since; the pair is closed.")
        survivor, absorbed = sorted(
            (left, right), key=lambda profile_id: (profiles[profile_id].first_seen_at, profile_id)
        )
    note = (request.note if request and request.note else None) or (
        f"Accepted from the review queue (match probability {probability:.4f})"
    )
    merge = identity.merge_matched_profiles(
        uow, actor, MergeIn(survivor_id=survivor, merged_id=absorbed, note=note)
    )
    return _decide(uow, actor, candidate_id, CandidateStatus.ACCEPTED, merge_id=merge.id)
