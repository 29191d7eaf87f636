"""The identity graph's use cases — the only entry the ingestion, the identity job, the API and
other modules use (``from loopcrm.modules.cdp.identity import service as identity``).

``resolve`` and ``resolve_many`` are the pipeline's: they run as the system, for messages that
were already accepted. Merging, unmerging and reading profiles are people's actions and check
the actor's rights on profiles.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from loopcrm.modules.cdp.identity.event_log import consume_event_log, is_being_written, profile_family
from loopcrm.modules.cdp.identity.graph import IdentityGraph, MergeRow, ProfileRow
from loopcrm.modules.cdp.identity.links import (
    MAX_CONTACTS_PER_RUN,
    MAX_CREATED_PER_RUN,
    LinkRun,
    link_contacts,
)
from loopcrm.modules.cdp.identity.models import (
    GroupLink,
    IdentityLink,
    IdentityType,
    MergeReason,
    Profile,
    ProfileMerge,
    TraitStrategy,
    TraitStrategySetting,
)
from loopcrm.modules.cdp.identity.rules import (
    consent_of_message,
    identifiers_of_message,
    normalize_identifier,
)
from loopcrm.modules.cdp.identity.schemas import (
    Identifier,
    IdentityOut,
    MergeIn,
    MergeOut,
    Observation,
    ProfileOut,
    Resolution,
    TraitStrategyIn,
)
from loopcrm.modules.customers import service as customers
from loopcrm.platform.audit.models import AuditAction
from loopcrm.platform.audit.service import record_change
from loopcrm.platform.db import utc_now
from loopcrm.platform.errors import Conflict, NotFound
from loopcrm.platform.jobs.service import shares_with_writers
from loopcrm.platform.permissions import (
    GRANT_ALL,
    GRANT_READ_ALL,
    Action,
    Actor,
    ObjectType,
    Scope,
    SecurityLevel,
    register_object_type,
    require,
)
from loopcrm.platform.unit_of_work import UnitOfWork

# Profiles are the marketing team's material: marketers and admins merge and unmerge them;
# everyone who analyses or serves customers reads them. Sales reps work from CRM contacts.
PROFILE = register_object_type(
    ObjectType(
        key="profile",
        label="Profiles",
        default_grants={
            "admin": GRANT_ALL,
            "marketer": {Action.READ: Scope.ALL, Action.UPDATE: Scope.ALL},
            "analyst": GRANT_READ_ALL,
            "service_agent": GRANT_READ_ALL,
            "sales_manager": GRANT_READ_ALL,
        },
        field_levels={"identities": SecurityLevel.INTERNAL, "traits": SecurityLevel.INTERNAL},
    )
)

# Events one run of the identity job resolves in its transaction, unless the settings say (the
# job queues the next run while runs come back full). Larger runs are faster per event: a run
# reads each person's links and profile once, so five runs of 10,000 read most people five times
# (docs/benchmarks.md: 7,600 → 11,600 events/s on PostgreSQL). What limits them is who waits.
# A worker process of its own on PostgreSQL blocks no ingestion (the log is append-only,
# attributions go beside it). On SQLite a run holds the write lock, and in the web process (the
# embedded worker) the interpreter lock for most of its Python work: while ingestion is busy a
# run there is about a second's worth; while it is quiet, about 2.5 s, so that the first events
# of a new burst wait well under the event writer's lock timeout (5 s).
OWN_WORKER_EVENTS_PER_RUN = 50_000
SHARED_QUIET_EVENTS_PER_RUN = 25_000
SHARED_BUSY_EVENTS_PER_RUN = 10_000

__all__ = [
    "PROFILE",
    "consent_of_message",
    "current_profile_id",
    "events_per_run",
    "find_profile",
    "get_profile",
    "identifiers_of_message",
    "ingestion_is_busy_in",
    "link_crm_contacts",
    "link_crm_contacts_in",
    "list_merges",
    "merge_matched_profiles",
    "merge_matched_profiles_many",
    "merge_profiles",
    "profile_ids_of",
    "profile_of_contact",
    "resolve",
    "resolve_many",
    "resolve_pending_events",
    "resolve_pending_events_in",
    "set_trait_strategy",
    "trait_strategies",
    "unmerge",
]


def _normalized(identifiers: Iterable[Identifier | tuple[str, Any]]) -> tuple[Identifier, ...]:
    found = (normalize_identifier(kind, value) for kind, value in identifiers)
    return tuple(identifier for identifier in found if identifier is not None)


def resolve(
    uow: UnitOfWork,
    identifiers: Iterable[Identifier | tuple[str, Any]],
    traits: Mapping[str, Any] | None,
    at: datetime,
    *,
    consent: Mapping[str, bool] | None = None,
) -> Resolution | None:
    """Find or make the profile of one message and record what it says (CDP_CONTRACT.md rules).

    Identifiers may be raw (``("phone", "138 1234 5678")``): they are normalised and blocked
    values are dropped. None when no identifier counts, so nothing is written.
    """
    observation = Observation(_normalized(identifiers), at, dict(traits or {}), dict(consent or {}))
    with uow:
        graph = IdentityGraph(uow.session)
        resolution = graph.resolve(observation)
        graph.flush()
        uow.commit()
    return resolution


def resolve_many(uow: UnitOfWork, observations: Sequence[Observation]) -> list[Resolution | None]:
    """Resolve a batch of messages in order, in one transaction; one answer per message.

    The batch's identifiers are looked up together, and profiles touched by many messages are
    written once, which is what makes identity processing keep up with ingestion. The
    observations' identifiers must already be normalised (``identifiers_of_message`` does it).
    """
    with uow:
        resolutions = resolve_observations(uow, observations)
        uow.commit()
    return resolutions


def resolve_observations(uow: UnitOfWork, observations: Sequence[Observation]) -> list[Resolution | None]:
    """``resolve_many`` inside the caller's active transaction (the identity job's, which the
    worker commits together with the cursor)."""
    graph = IdentityGraph(uow.session)
    graph.prefetch(identifier for observation in observations for identifier in observation.identifiers)
    resolutions = [graph.resolve(observation) for observation in observations]
    graph.flush()
    return resolutions


def _profile_out(uow: UnitOfWork, profile: Profile) -> ProfileOut:
    links = list(
        uow.session.scalars(
            select(IdentityLink)
            .where(IdentityLink.profile_id == profile.id, IdentityLink.valid_to.is_(None))
            .order_by(IdentityLink.type, IdentityLink.value)
        )
    )
    contact_ids = [link.value for link in links if link.type == IdentityType.CRM_CONTACT]
    group_ids = list(
        uow.session.scalars(
            select(GroupLink.group_id)
            .where(GroupLink.profile_id == profile.id, GroupLink.valid_to.is_(None))
            .order_by(GroupLink.first_seen_at, GroupLink.group_id)
        )
    )
    accounts = customers.accounts_of_groups(uow, group_ids)
    account_ids = list(dict.fromkeys(accounts[group_id] for group_id in group_ids if group_id in accounts))
    return ProfileOut(
        id=profile.id,
        traits=dict(profile.traits),
        consent={category: statement["granted"] for category, statement in profile.consent.items()},
        first_seen_at=profile.first_seen_at,
        last_seen_at=profile.last_seen_at,
        merged_into=profile.merged_into,
        identities=[
            IdentityOut(type=link.type, value=link.value, first_seen_at=link.first_seen_at)
            for link in links
            if link.type != IdentityType.CRM_CONTACT
        ],
        version=profile.version,
        contact_id=contact_ids[0] if contact_ids else None,
        account_ids=account_ids,
    )


def _merge_out(values: Mapping[str, Any]) -> MergeOut:
    return MergeOut(
        id=values["id"],
        survivor_id=values["survivor_id"],
        merged_id=values["merged_id"],
        reason=MergeReason(values["reason"]),
        note=values["note"],
        merged_at=values["merged_at"],
        merged_by=values["created_by"],
        undone_at=values["undone_at"],
        undone_by=values["undone_by"],
    )


def _load_profile(uow: UnitOfWork, profile_id: str) -> Profile:
    profile = uow.session.get(Profile, profile_id)
    if profile is None:
        raise NotFound("Profile {profile_id} was not found.", profile_id=profile_id)
    return profile


def get_profile(uow: UnitOfWork, actor: Actor, profile_id: str) -> ProfileOut:
    """A profile as stored, with its current identities; a merged one shows ``merged_into``."""
    require(actor, PROFILE.key, Action.READ)
    with uow:
        return _profile_out(uow, _load_profile(uow, profile_id))


def profile_of_contact(uow: UnitOfWork, actor: Actor, contact_id: str) -> ProfileOut | None:
    """The live profile linked to a CRM contact, if any (the contact side of ``contact_id``)."""
    return find_profile(uow, actor, IdentityType.CRM_CONTACT.value, contact_id)


def find_profile(uow: UnitOfWork, actor: Actor, identity_type: str, value: Any) -> ProfileOut | None:
    """The live profile an identifier currently belongs to, if any (the value is normalised)."""
    require(actor, PROFILE.key, Action.READ)
    identifier = normalize_identifier(identity_type, value)
    if identifier is None:
        return None
    with uow:
        profile_id = uow.session.scalar(
            select(IdentityLink.profile_id).where(
                IdentityLink.type == identifier.type,
                IdentityLink.value == identifier.value,
                IdentityLink.valid_to.is_(None),
            )
        )
        return None if profile_id is None else _profile_out(uow, _load_profile(uow, profile_id))


def current_profile_id(uow: UnitOfWork, profile_id: str) -> str:
    """The live profile that ``profile_id`` stands for now: itself, or its survivor after merges.

    Events keep the profile they were resolved to; readers map it through this redirect.
    """
    with uow:
        seen = {profile_id}
        current = profile_id
        while (
            target := uow.session.scalar(select(Profile.merged_into).where(Profile.id == current))
        ) is not None:
            if target in seen:  # a cycle cannot be made by merge; refuse to loop if data is damaged
                break
            seen.add(target)
            current = target
        return current


def profile_ids_of(uow: UnitOfWork, profile_id: str) -> set[str]:
    """``profile_id`` and every profile currently merged into it, directly or through others.

    The event log's attribution hook: a profile's events are those whose ``profile_id`` is in this
    set. A merge or an unmerge changes the set, never the events, so unmerging restores the
    attribution exactly.
    """
    with uow:
        return profile_family(uow.session, profile_id)


def merge_profiles(uow: UnitOfWork, actor: Actor, request: MergeIn) -> MergeOut:
    """Merge two profiles a person knows to be one, with the reason; refused when the rules
    forbid it (a profile already merged, or two user ids, two unionids, too many emails)."""
    return _merge(uow, actor, request, MergeReason.MANUAL)


def merge_matched_profiles(uow: UnitOfWork, actor: Actor, request: MergeIn) -> MergeOut:
    """The probabilistic matcher's merge: the same rules as a manual merge, recorded as such."""
    return _merge(uow, actor, request, MergeReason.PROBABILISTIC)


def merge_matched_profiles_many(
    uow: UnitOfWork, actor: Actor, requests: Sequence[MergeIn]
) -> list[MergeOut | Conflict]:
    """Many of the matcher's merges in one transaction: one answer per request, in order.

    The result is what calling ``merge_matched_profiles`` for each request in turn would give,
    refusals included, but one transaction and one ``IdentityGraph`` serve them all: the
    profiles are read together and the links, memberships, profiles and merge records are
    written by one flush, where one merge per transaction ran about 70 merges/s (ADR 0012).

    Requests are applied in order on the state the earlier ones left. A request whose profile
    an earlier one merged away is refused as a single merge would refuse it ("already merged"):
    the batch never follows redirects by itself, so its result equals the single merges one by
    one, and the caller — who chose the survivor — maps its pairs to the current survivors
    first (the matcher does). A refused request (that, a merge into itself, or a rule such as
    two user ids) gives its ``Conflict`` in its place and the batch goes on; a profile that
    does not exist raises ``NotFound`` and nothing is merged, as a single merge raises it. Each
    merge is recorded as a single one is (its snapshots, reason ``probabilistic``, an audit
    entry) and ``unmerge`` undoes it the same way. A profile someone else changed while the
    batch ran makes the whole transaction fail with ``Conflict`` (nothing merged): the caller
    may then merge that batch one by one.
    """
    require(actor, PROFILE.key, Action.UPDATE)
    if not requests:
        return []
    reason = MergeReason.PROBABILISTIC
    results: list[MergeOut | Conflict] = []
    with uow:
        graph = IdentityGraph(uow.session)
        graph.load_profiles({profile_id for request in requests for profile_id in _ids_of(request)})
        outcomes: list[MergeRow | Conflict] = []
        for request in requests:
            try:
                survivor, merged = _mergeable(graph, request)
            except Conflict as refusal:
                outcomes.append(refusal)
            else:
                outcomes.append(
                    graph.merge(survivor, merged, reason, actor_id=actor.user_id, note=request.note)
                )
        graph.flush()
        for outcome in outcomes:
            if isinstance(outcome, Conflict):
                results.append(outcome)
                continue
            record_change(
                uow,
                actor,
                AuditAction.UPDATE,
                PROFILE.key,
                outcome.values["survivor_id"],
                {"merged_profile": [None, outcome.values["merged_id"]], "merge_reason": [None, reason.value]},
            )
            results.append(_merge_out(outcome.values))
        uow.commit()
    return results


def _ids_of(request: MergeIn) -> tuple[str, str]:
    return request.survivor_id, request.merged_id


def _mergeable(graph: IdentityGraph, request: MergeIn) -> tuple[ProfileRow, ProfileRow]:
    """The two profiles of a merge request as the graph holds them now, or why they cannot merge:
    the single merge's checks, in its order (``NotFound`` for a missing profile)."""
    if request.survivor_id == request.merged_id:
        raise Conflict("A profile cannot be merged into itself.")
    survivor = graph.profile(request.survivor_id)
    if survivor is None:
        raise NotFound("Profile {profile_id} was not found.", profile_id=request.survivor_id)
    merged = graph.profile(request.merged_id)
    if merged is None:
        raise NotFound("Profile {profile_id} was not found.", profile_id=request.merged_id)
    if survivor.merged_into is not None or merged.merged_into is not None:
        raise Conflict("One of these profiles was already merged into another.")
    if graph.breaks_limits([], [survivor, merged]):
        raise Conflict(
            "These profiles cannot be merged: together they would have more identifiers of one "
            "type than one person may have, such as two user ids."
        )
    return survivor, merged


def _merge(uow: UnitOfWork, actor: Actor, request: MergeIn, reason: MergeReason) -> MergeOut:
    require(actor, PROFILE.key, Action.UPDATE)
    if request.survivor_id == request.merged_id:
        raise Conflict("A profile cannot be merged into itself.")
    with uow:
        graph = IdentityGraph(uow.session)
        survivor, merged = _mergeable(graph, request)
        record = graph.merge(survivor, merged, reason, actor_id=actor.user_id, note=request.note)
        graph.flush()
        record_change(
            uow,
            actor,
            AuditAction.UPDATE,
            PROFILE.key,
            survivor.id,
            {"merged_profile": [None, merged.id], "merge_reason": [None, reason.value]},
        )
        result = _merge_out(record.values)
        uow.commit()
    return result


def unmerge(uow: UnitOfWork, actor: Actor, merge_id: str) -> MergeOut:
    """Undo a merge: both profiles get back their identities, traits and consent, and the merged
    profile its own events again (its redirect ends). The merge stays recorded, marked undone."""
    require(actor, PROFILE.key, Action.UPDATE)
    with uow:
        graph = IdentityGraph(uow.session)
        record: MergeRow | None = graph.load_merge(merge_id)
        if record is None:
            raise NotFound("Merge {merge_id} was not found.", merge_id=merge_id)
        graph.unmerge(record, actor_id=actor.user_id)
        graph.flush()
        record_change(
            uow,
            actor,
            AuditAction.UPDATE,
            PROFILE.key,
            record.values["survivor_id"],
            {"merged_profile": [record.values["merged_id"], None]},
        )
        result = _merge_out(record.values)
        uow.commit()
    return result


def list_merges(uow: UnitOfWork, actor: Actor, profile_id: str) -> list[MergeOut]:
    """Every merge a profile took part in, as survivor or as merged, newest first."""
    require(actor, PROFILE.key, Action.READ)
    with uow:
        records = uow.session.execute(
            select(*ProfileMerge.__table__.columns)
            .where((ProfileMerge.survivor_id == profile_id) | (ProfileMerge.merged_id == profile_id))
            .order_by(ProfileMerge.merged_at.desc(), ProfileMerge.id.desc())
        )
        return [_merge_out(dict(record._mapping)) for record in records]


def trait_strategies(uow: UnitOfWork) -> dict[str, TraitStrategy]:
    """The strategy of every trait that has one set; all others use LATEST."""
    with uow:
        rows = uow.session.execute(select(TraitStrategySetting.trait, TraitStrategySetting.strategy))
        return {trait: TraitStrategy(strategy) for trait, strategy in rows}


def set_trait_strategy(uow: UnitOfWork, actor: Actor, request: TraitStrategyIn) -> None:
    """Choose how one trait combines from now on (setting LATEST removes nothing: it is stored)."""
    require(actor, PROFILE.key, Action.UPDATE)
    with uow:
        setting = uow.session.get(TraitStrategySetting, request.trait)
        before = None if setting is None else setting.strategy
        if setting is None:
            setting = TraitStrategySetting(trait=request.trait, strategy=request.strategy.value)
            uow.session.add(setting)
        setting.strategy = request.strategy.value
        setting.updated_by = actor.user_id
        setting.updated_at = utc_now()
        record_change(
            uow,
            actor,
            AuditAction.UPDATE,
            "trait_strategy",
            None,
            {request.trait: [before, setting.strategy]},
        )
        uow.commit()


def events_per_run(session: Session, *, embedded: bool = False, ingestion_busy: bool = False) -> int:
    """How many events a run resolves by default (see ``OWN_WORKER_EVENTS_PER_RUN``): everything
    a worker process of its own on PostgreSQL reads in one go, less where the run shares SQLite's
    write lock or the web process with ingestion, least while ingestion is busy."""
    if shares_with_writers(session, embedded=embedded):
        return SHARED_BUSY_EVENTS_PER_RUN if ingestion_busy else SHARED_QUIET_EVENTS_PER_RUN
    return OWN_WORKER_EVENTS_PER_RUN


def ingestion_is_busy_in(uow: UnitOfWork) -> bool:
    """Whether ingestion is writing the event log now (its newest event arrived seconds ago), in
    the caller's active transaction: jobs reading the log then leave it room between their runs
    (``enqueue_continuation``)."""
    return is_being_written(uow.session)


def resolve_pending_events(uow: UnitOfWork, *, max_events: int | None = None) -> int:
    """Resolve the event log after the identity cursor, up to ``max_events`` (default
    ``events_per_run``), in one transaction; returns how many events were read. The identity job
    runs the same steps in its own transaction."""
    with uow:
        count = resolve_pending_events_in(uow, max_events=max_events)
        uow.commit()
    return count


def resolve_pending_events_in(uow: UnitOfWork, *, max_events: int | None = None) -> int:
    """``resolve_pending_events`` inside the caller's active transaction (the job worker's, which
    commits it together with the job's completion)."""
    session = uow.session
    return consume_event_log(session, max_events=max_events or events_per_run(session))


def link_crm_contacts(
    uow: UnitOfWork,
    *,
    create_contacts: bool = False,
    max_contacts: int = MAX_CONTACTS_PER_RUN,
    max_created: int = MAX_CREATED_PER_RUN,
) -> LinkRun:
    """Feed the CRM contacts changed since the last run into the graph (linking profiles to
    contacts), at most ``max_contacts``, and first, when ``create_contacts``
    (``Settings.cdp_create_contacts``), create a contact for each identified profile that has
    none, looking at most at ``max_created`` profiles; one transaction. A run that read
    ``max_contacts`` (or looked at ``max_created`` profiles) stopped with more waiting: the next
    resumes where it stopped."""
    with uow:
        run = link_crm_contacts_in(
            uow, create_contacts=create_contacts, max_contacts=max_contacts, max_created=max_created
        )
        uow.commit()
    return run


def link_crm_contacts_in(
    uow: UnitOfWork,
    *,
    create_contacts: bool = False,
    max_contacts: int = MAX_CONTACTS_PER_RUN,
    max_created: int = MAX_CREATED_PER_RUN,
) -> LinkRun:
    """``link_crm_contacts`` inside the caller's active transaction (the job worker's)."""
    return link_contacts(uow, create=create_contacts, max_contacts=max_contacts, max_created=max_created)
