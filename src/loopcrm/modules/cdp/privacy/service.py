"""Use cases of data-subject requests: export everything the CDP holds about a person, and erase
it (PIPL art. 45 and 47, GDPR art. 15, 17 and 20).

Both act on a profile *and every profile merged into it*: one person's data may have arrived
under several identifiers. Both need a dedicated right besides reading profiles — the object type
``cdp_personal_data``: read = export, delete = erase — which only admins hold by default (an
admin may grant it to a data-protection officer's role). An export is recorded in the audit log;
an erasure leaves an :class:`Erasure` record and an audit entry with ids and counts only.

Erasure writes to the identity graph's tables (deletes identity, contact and group links,
blanks profiles and merge snapshots) and to the matcher's pairs in its own transaction, under the
identity job's and the computed-traits job's cursor locks, so neither job can attribute or fold
an event of the person while it runs (the contact feed takes the identity cursor's lock too). The
identity and matching services have no erasure of their own, so this module deletes and blanks
their rows through their models, as their ADRs describe them (0010, 0011, 0012).

A linked CRM contact is *not* deleted: it is the sales team's record, governed by the customers
module. Erasure removes every link to it and names its id in the record's audit entry and
result, so that whoever handles the request can delete it in the CRM as well.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import CursorResult, delete, func, or_, select, update
from sqlalchemy.orm import Session

from loopcrm.modules.cdp.computed.aggregation import CURSOR_NAME as COMPUTED_CURSOR_NAME
from loopcrm.modules.cdp.computed.aggregation import IDENTITY_CURSOR_NAME
from loopcrm.modules.cdp.computed.models import (
    ComputedCursor,
    ProfileActivity,
    ProfileEventDay,
    ProfileOrder,
)
from loopcrm.modules.cdp.computed.service import computed_traits_in
from loopcrm.modules.cdp.identity import service as identity
from loopcrm.modules.cdp.identity.event_log import profile_family
from loopcrm.modules.cdp.identity.models import (
    GroupLink,
    IdentityCursor,
    IdentityLink,
    IdentityType,
    Profile,
    ProfileMerge,
)
from loopcrm.modules.cdp.identity.schemas import Identifier
from loopcrm.modules.cdp.matching.models import CandidateStatus, MatchCandidate, MatchingRun, RunStatus
from loopcrm.modules.cdp.models import DeadLetter, Event, EventAttribution, EventSource, MessageType
from loopcrm.modules.cdp.privacy.models import Erasure, ErasureReason
from loopcrm.modules.cdp.privacy.schemas import (
    ErasureIn,
    ErasureOut,
    ExportedContactLink,
    ExportedEvent,
    ExportedGroupLink,
    ExportedIdentity,
    ExportedMatchDecision,
    ExportedMerge,
    ExportedProfile,
    ProfileExport,
)
from loopcrm.modules.customers import service as customers
from loopcrm.platform.audit.models import AuditAction, AuditEntry
from loopcrm.platform.audit.service import record_change
from loopcrm.platform.db import utc_now
from loopcrm.platform.errors import Conflict, NotFound
from loopcrm.platform.i18n import N_
from loopcrm.platform.permissions import Action, Actor, ObjectType, Scope, register_object_type, require
from loopcrm.platform.unit_of_work import UnitOfWork

PERSONAL_DATA = register_object_type(
    ObjectType(
        key="cdp_personal_data",
        label=N_("Personal data requests"),
        default_grants={"admin": {Action.READ: Scope.ALL, Action.DELETE: Scope.ALL}},
    )
)
# Events read per query while exporting or looking through the unresolved end of the log.
BATCH_SIZE = 1000
# Dead letters are searched for identifier values at least this long: a shorter value (an
# anonymous id "42") would match unrelated messages, and is not a useful identifier anyway.
MIN_SEARCHED_VALUE_LENGTH = 6
# Pairs of the matcher still waiting for a decision: deleted by an erasure (a decision about a
# blanked profile means nothing). Decided pairs stay, blanked, as the memory of the decision.
UNDECIDED_PAIR_STATUSES = (CandidateStatus.PENDING.value, CandidateStatus.PLANNED.value)
CONTACT_TYPE = IdentityType.CRM_CONTACT.value

__all__ = ["PERSONAL_DATA", "erase_profile", "erasures_of", "export_profile", "is_erased"]


def _load_profile(session: Session, profile_id: str) -> Profile:
    profile = session.get(Profile, profile_id)
    if profile is None:
        raise NotFound("Profile {profile_id} was not found.", profile_id=profile_id)
    return profile


def _erasure_of(session: Session, profile_id: str) -> Erasure | None:
    return session.scalars(select(Erasure).where(Erasure.profile_id == profile_id).limit(1)).first()


def _kept_contact_ids(session: Session, record: Erasure) -> list[str]:
    """The CRM contact ids the erasure unlinked, as its audit entry names them."""
    entries = session.scalars(
        select(AuditEntry.changes).where(
            AuditEntry.object_type == identity.PROFILE.key,
            AuditEntry.object_id == record.profile_id,
            AuditEntry.action == AuditAction.DELETE.value,
        )
    )
    for changes in entries:
        if (changes or {}).get("erasure_id") == record.id:
            return [str(contact_id) for contact_id in changes.get("kept_contact_ids", [])]
    return []


def _erasure_out(record: Erasure, kept_contact_ids: list[str]) -> ErasureOut:
    return ErasureOut(
        id=record.id,
        profile_id=record.profile_id,
        profile_ids=list(record.profile_ids),
        reason=ErasureReason(record.reason),
        reference=record.reference,
        counts={name: int(count) for name, count in record.counts.items()},
        erased_at=record.erased_at,
        erased_by=record.erased_by,
        kept_contact_ids=kept_contact_ids,
    )


def is_erased(uow: UnitOfWork, actor: Actor, profile_id: str) -> bool:
    """Whether the profile was erased (it then holds no personal data, only its id)."""
    require(actor, identity.PROFILE.key, Action.READ)
    with uow:
        return _erasure_of(uow.session, profile_id) is not None


def erasures_of(uow: UnitOfWork, actor: Actor, profile_id: str) -> list[ErasureOut]:
    """The erasure records of a profile (at most one), for whoever may erase."""
    require(actor, PERSONAL_DATA.key, Action.DELETE)
    with uow:
        records = uow.session.scalars(select(Erasure).where(Erasure.profile_id == profile_id))
        return [_erasure_out(record, _kept_contact_ids(uow.session, record)) for record in records.all()]


def _events(session: Session, family: set[str]) -> Iterable[ExportedEvent]:
    after = 0
    while True:
        rows = session.execute(
            select(Event, EventSource.channel)
            .join(EventSource, EventSource.id == Event.source_id)
            .join(EventAttribution, EventAttribution.sequence == Event.sequence)
            .where(EventAttribution.profile_id.in_(family), Event.sequence > after)
            .order_by(Event.sequence)
            .limit(BATCH_SIZE)
        ).all()
        if not rows:
            return
        for event, channel in rows:
            yield ExportedEvent(
                id=event.id,
                source_id=event.source_id,
                channel=channel,
                message_id=event.message_id,
                type=event.type,
                event=event.event,
                user_id=event.user_id,
                anonymous_id=event.anonymous_id,
                group_id=event.group_id,
                previous_id=event.previous_id,
                profile_id=event.profile_id,
                timestamp=event.timestamp,
                received_at=event.received_at,
                sent_at=event.sent_at,
                original_timestamp=event.original_timestamp,
                properties=dict(event.properties or {}),
                context=dict(event.context or {}),
                extra=dict(event.extra or {}),
            )
        after = rows[-1][0].sequence
        session.expunge_all()  # a long history is read batch by batch, not kept in the session


def export_profile(uow: UnitOfWork, actor: Actor, profile_id: str) -> ProfileExport:
    """Everything held about the person behind ``profile_id`` (see :class:`ProfileExport`).

    Recorded in the audit log as a read of the profile's personal data (its id, never values)."""
    require(actor, identity.PROFILE.key, Action.READ)
    require(actor, PERSONAL_DATA.key, Action.READ)
    with uow:
        session = uow.session
        _load_profile(session, profile_id)
        if _erasure_of(session, profile_id) is not None:
            raise Conflict("This profile was erased; nothing is left to export.")
        family = profile_family(session, profile_id)
        profiles = [
            ExportedProfile(
                id=profile.id,
                traits=dict(profile.traits),
                trait_times=dict(profile.trait_times),
                consent=dict(profile.consent),
                first_seen_at=profile.first_seen_at,
                last_seen_at=profile.last_seen_at,
                merged_into=profile.merged_into,
                merged_at=profile.merged_at,
            )
            for profile in session.scalars(select(Profile).where(Profile.id.in_(family)).order_by(Profile.id))
        ]
        links = session.scalars(
            select(IdentityLink)
            .where(IdentityLink.profile_id.in_(family))
            .order_by(IdentityLink.type, IdentityLink.value, IdentityLink.valid_from, IdentityLink.id)
        ).all()
        identities = [
            ExportedIdentity(
                type=link.type,
                value=link.value,
                profile_id=link.profile_id,
                first_seen_at=link.first_seen_at,
                valid_from=link.valid_from,
                valid_to=link.valid_to,
                opened_by=link.opened_by,
                closed_by=link.closed_by,
            )
            for link in links
            if link.type != CONTACT_TYPE
        ]
        contact_links = [
            ExportedContactLink(
                contact_id=link.value,
                profile_id=link.profile_id,
                first_seen_at=link.first_seen_at,
                valid_from=link.valid_from,
                valid_to=link.valid_to,
                opened_by=link.opened_by,
                closed_by=link.closed_by,
            )
            for link in links
            if link.type == CONTACT_TYPE
        ]
        group_links = _group_links(uow, family)
        match_decisions = _match_decisions(session, family)
        merges = [
            ExportedMerge(
                id=merge.id,
                survivor_id=merge.survivor_id,
                merged_id=merge.merged_id,
                reason=merge.reason,
                merged_at=merge.merged_at,
                undone_at=merge.undone_at,
            )
            for merge in session.scalars(
                select(ProfileMerge)
                .where(or_(ProfileMerge.survivor_id.in_(family), ProfileMerge.merged_id.in_(family)))
                .order_by(ProfileMerge.merged_at, ProfileMerge.id)
            )
        ]
        traits = computed_traits_in(session, profile_id)
        events = list(_events(session, family))
        record_change(
            uow,
            actor,
            AuditAction.READ,
            identity.PROFILE.key,
            profile_id,
            {
                "personal_data_export": None,
                "profile_ids": sorted(family),
                "events": len(events),
                "contact_ids": sorted({link.contact_id for link in contact_links}),
            },
        )
        uow.commit()
    return ProfileExport(
        exported_at=utc_now(),
        profile_id=profile_id,
        profiles=profiles,
        identities=identities,
        contact_links=contact_links,
        group_links=group_links,
        merges=merges,
        match_decisions=match_decisions,
        computed_traits=traits,
        events=events,
    )


def _group_links(uow: UnitOfWork, family: set[str]) -> list[ExportedGroupLink]:
    """Every version of the family's group memberships, with the account each group names now."""
    memberships = uow.session.scalars(
        select(GroupLink)
        .where(GroupLink.profile_id.in_(family))
        .order_by(GroupLink.group_id, GroupLink.valid_from, GroupLink.id)
    ).all()
    accounts = customers.accounts_of_groups(uow, [membership.group_id for membership in memberships])
    return [
        ExportedGroupLink(
            group_id=membership.group_id,
            account_id=accounts.get(membership.group_id),
            profile_id=membership.profile_id,
            first_seen_at=membership.first_seen_at,
            valid_from=membership.valid_from,
            valid_to=membership.valid_to,
            opened_by=membership.opened_by,
            closed_by=membership.closed_by,
        )
        for membership in memberships
    ]


def _pairs_of(family: set[str]) -> Any:
    return or_(MatchCandidate.left_profile_id.in_(family), MatchCandidate.right_profile_id.in_(family))


def _match_decisions(session: Session, family: set[str]) -> list[ExportedMatchDecision]:
    """The matcher's pairs with one of the family's profiles, naming only the person's side
    (both sides when both are the person's, as after an accepted merge)."""
    decisions = []
    for pair in session.scalars(
        select(MatchCandidate).where(_pairs_of(family)).order_by(MatchCandidate.created_at, MatchCandidate.id)
    ):
        sides = [pair.left_profile_id, pair.right_profile_id]
        own = [side for side in sides if side in family]
        decisions.append(
            ExportedMatchDecision(
                id=pair.id,
                run_id=pair.run_id,
                profile_id=own[0],
                other_profile_id=own[1] if len(own) == 2 else None,
                status=pair.status,
                reason=pair.reason,
                reason_detail=pair.reason_detail,
                match_probability=pair.match_probability,
                match_weight=pair.match_weight,
                evidence=list(pair.evidence or []),
                merge_id=pair.merge_id,
                decided_at=pair.decided_at,
                created_at=pair.created_at,
            )
        )
    return decisions


def _message_identifiers(row: Any) -> set[Identifier]:
    """The identifiers the identity job would read from one stored event (its rules, through the
    identity service): an alias's previousId counts as an anonymous id."""
    message = {
        "userId": row.user_id,
        "anonymousId": row.anonymous_id,
        "context": row.context,
        "traits": row.properties if row.type == MessageType.IDENTIFY else {},
    }
    found = set(identity.identifiers_of_message(message))
    if row.type == MessageType.ALIAS and row.previous_id is not None:
        found.update(identity.identifiers_of_message({"anonymousId": row.previous_id}))
    return found


def _unresolved_events_of(session: Session, identifiers: set[Identifier], after: int) -> list[int]:
    """Sequences of events the identity job has not reached yet that carry one of the person's
    identifiers: resolved later, they would bring the person back as a new profile."""
    found: list[int] = []
    while True:
        rows = session.execute(
            select(
                Event.sequence,
                Event.type,
                Event.user_id,
                Event.anonymous_id,
                Event.previous_id,
                Event.properties,
                Event.context,
            )
            .where(Event.sequence > after)
            .order_by(Event.sequence)
            .limit(BATCH_SIZE)
        ).all()
        if not rows:
            return found
        found.extend(row.sequence for row in rows if _message_identifiers(row) & identifiers)
        after = rows[-1].sequence


def _searched_values(identifiers: set[Identifier], raw_values: Iterable[str | None]) -> set[str]:
    """Texts that betray the person inside a raw dead letter: each identifier as stored, a phone
    also without its country code, and the ids exactly as clients sent them."""
    values: set[str] = set()
    for identifier in identifiers:
        values.add(identifier.value)
        if identifier.type == "phone" and identifier.value.startswith("+86"):
            values.add(identifier.value[3:])
    values.update(value for value in raw_values if value)
    return {value.lower() for value in values if len(value) >= MIN_SEARCHED_VALUE_LENGTH}


def _count(session: Session, statement: Any) -> int:
    """Run a DELETE or UPDATE and say how many rows it touched."""
    result: CursorResult[Any] = session.execute(statement)  # type: ignore[assignment]
    return int(result.rowcount or 0)


def erase_profile(uow: UnitOfWork, actor: Actor, profile_id: str, request: ErasureIn) -> ErasureOut:
    """Erase the person behind a live profile: the profile and every profile merged into it.

    Deletes their events, the events still waiting for identity resolution that carry one of
    their identifiers, every version of their identity links, CRM contact links and group
    memberships, the matcher's undecided pairs with them, their computed aggregates and the dead
    letters whose raw text contains one of their identifiers; blanks the profiles' traits,
    consent and seen times, the merge records' snapshots and notes, and the decided pairs'
    evidence, scores and details (the pair's ids and status stay: a rejected pair is still never
    queued again). The profile rows stay (other records may point at them), holding nothing but
    ids. A linked CRM contact stays in the CRM; its id is in the result and the audit entry.
    Leaves an :class:`Erasure` record and an audit entry with ids and counts. Messages ingested
    after the erasure are new data and resolve to a new profile.

    Refused (409) while a matching run is running: it read the person's data before the erasure
    and would write pairs with their evidence after it.
    """
    require(actor, PERSONAL_DATA.key, Action.DELETE)
    with uow:
        session = uow.session
        # Lock order: the identity job's cursor, then the computed-traits cursor (the jobs take
        # one each), so no event of the person is attributed or folded while this runs.
        identity_cursor = session.get(IdentityCursor, IDENTITY_CURSOR_NAME, with_for_update=True)
        session.get(ComputedCursor, COMPUTED_CURSOR_NAME, with_for_update=True)
        profile = _load_profile(session, profile_id)
        if profile.merged_into is not None:
            raise Conflict(
                "Profile {profile_id} was merged into {survivor_id}; erase that profile instead.",
                profile_id=profile_id,
                survivor_id=profile.merged_into,
            )
        if _erasure_of(session, profile_id) is not None:
            raise Conflict("This profile was erased already.")
        if session.scalar(
            select(MatchingRun.id).where(MatchingRun.status == RunStatus.RUNNING.value).limit(1)
        ):
            raise Conflict("A matching run is running; erase the profile when it has finished.")
        family = profile_family(session, profile_id)
        now = utc_now()

        links = session.execute(
            select(IdentityLink.type, IdentityLink.value).where(IdentityLink.profile_id.in_(family))
        ).all()
        identifiers = {Identifier(kind, value) for kind, value in links if kind != CONTACT_TYPE}
        contact_ids = sorted({value for kind, value in links if kind == CONTACT_TYPE})
        raw_ids = session.execute(
            select(Event.user_id, Event.anonymous_id, Event.previous_id)
            .join(EventAttribution, EventAttribution.sequence == Event.sequence)
            .where(EventAttribution.profile_id.in_(family))
            .distinct()
        ).all()
        searched = _searched_values(identifiers, (value for row in raw_ids for value in row))
        resolved_through = 0 if identity_cursor is None else identity_cursor.last_sequence
        unresolved = _unresolved_events_of(session, identifiers, resolved_through) if identifiers else []

        counts: dict[str, int] = {}
        attributed = select(EventAttribution.sequence).where(EventAttribution.profile_id.in_(family))
        counts["events"] = _count(session, delete(Event).where(Event.sequence.in_(attributed)))
        session.execute(delete(EventAttribution).where(EventAttribution.profile_id.in_(family)))
        counts["unresolved_events"] = 0
        for start in range(0, len(unresolved), BATCH_SIZE):
            counts["unresolved_events"] += _count(
                session, delete(Event).where(Event.sequence.in_(unresolved[start : start + BATCH_SIZE]))
            )
        counts["identity_links"] = _count(
            session,
            delete(IdentityLink).where(
                IdentityLink.profile_id.in_(family), IdentityLink.type != CONTACT_TYPE
            ),
        )
        counts["contact_links"] = _count(
            session,
            delete(IdentityLink).where(
                IdentityLink.profile_id.in_(family), IdentityLink.type == CONTACT_TYPE
            ),
        )
        counts["group_links"] = _count(session, delete(GroupLink).where(GroupLink.profile_id.in_(family)))
        counts["match_pairs_deleted"] = _count(
            session,
            delete(MatchCandidate).where(
                _pairs_of(family), MatchCandidate.status.in_(UNDECIDED_PAIR_STATUSES)
            ),
        )
        counts["match_pairs_blanked"] = _count(
            session,
            update(MatchCandidate)
            .where(_pairs_of(family))
            .values(evidence=[], reason_detail=None, match_probability=0.0, match_weight=0.0),
        )
        counts["merges"] = _count(
            session,
            update(ProfileMerge)
            .where(or_(ProfileMerge.survivor_id.in_(family), ProfileMerge.merged_id.in_(family)))
            .values(survivor_before={}, merged_before={}, survivor_after={}, note=None),
        )
        counts["dead_letters"] = 0
        for value in sorted(searched):
            counts["dead_letters"] += _count(
                session, delete(DeadLetter).where(func.lower(DeadLetter.raw).contains(value, autoescape=True))
            )
        counts["computed_days"] = _count(
            session, delete(ProfileEventDay).where(ProfileEventDay.profile_id.in_(family))
        )
        counts["computed_activity"] = _count(
            session, delete(ProfileActivity).where(ProfileActivity.profile_id.in_(family))
        )
        counts["computed_orders"] = _count(
            session, delete(ProfileOrder).where(ProfileOrder.profile_id.in_(family))
        )
        blanked = session.scalars(select(Profile).where(Profile.id.in_(family))).all()
        for member in blanked:
            member.traits = {}
            member.trait_times = {}
            member.consent = {}
            member.first_seen_at = now
            member.last_seen_at = now
        counts["profiles"] = len(blanked)

        record = Erasure(
            profile_id=profile_id,
            profile_ids=sorted(family),
            reason=request.reason.value,
            reference=request.reference,
            counts=counts,
            erased_at=now,
            erased_by=actor.user_id,
        )
        session.add(record)
        session.flush()
        record_change(
            uow,
            actor,
            AuditAction.DELETE,
            identity.PROFILE.key,
            profile_id,
            {
                "erasure_id": record.id,
                "profile_ids": sorted(family),
                "reason": request.reason.value,
                "kept_contact_ids": contact_ids,
                **counts,
            },
        )
        result = _erasure_out(record, contact_ids)
        uow.commit()
    return result
