"""The identity graph inside one transaction: look up, create, attach, merge and unmerge.

:class:`IdentityGraph` keeps what it has read (current links by identifier, profiles, the limited
identities of each profile) for the whole transaction, so a batch of thousands of messages costs
a few queries to prefetch and one flush, not several queries per message. Only the service and
the identity job use it; they own the transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import or_, select, tuple_
from sqlalchemy.orm import Session

from loopcrm.modules.cdp.identity.models import (
    IdentityLink,
    IdentityType,
    LinkChange,
    MergeReason,
    Profile,
    ProfileMerge,
    TraitStrategy,
    TraitStrategySetting,
)
from loopcrm.modules.cdp.identity.rules import (
    IDENTITY_LIMITS,
    PER_APP_LIMITED_PREFIXES,
    is_limited,
    limit_of,
    ranked,
)
from loopcrm.modules.cdp.identity.schemas import Identifier, Observation, Resolution
from loopcrm.modules.cdp.identity.traits import (
    apply_consent,
    apply_observed,
    combine_consent,
    combine_on_merge,
    time_text,
)
from loopcrm.platform.db import new_id, utc_now
from loopcrm.platform.errors import Conflict

# Identifiers per lookup query: 2 bound parameters each stays far below SQLite's and
# PostgreSQL's limits on parameters per statement.
LOOKUP_CHUNK = 500

Item = TypeVar("Item")

# The identity types that have a per-profile limit, as a condition (built once: it is used for
# every batch of profiles read).
_LIMITED_TYPES = or_(
    IdentityLink.type.in_([str(kind) for kind in IDENTITY_LIMITS]),
    *(IdentityLink.type.startswith(prefix, autoescape=True) for prefix in PER_APP_LIMITED_PREFIXES),
)


def _chunks(items: Sequence[Item], size: int) -> Iterator[Sequence[Item]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def load_strategies(session: Session) -> dict[str, TraitStrategy]:
    """Every trait strategy an administrator set; traits not named here use LATEST."""
    rows = session.execute(select(TraitStrategySetting.trait, TraitStrategySetting.strategy))
    return {trait: TraitStrategy(strategy) for trait, strategy in rows}


def snapshot_of(profile: Profile) -> dict[str, Any]:
    """What a merge changes on a profile, as JSON: enough to put it back."""
    return {
        "traits": dict(profile.traits),
        "trait_times": dict(profile.trait_times),
        "consent": dict(profile.consent),
        "first_seen_at": time_text(profile.first_seen_at),
        "last_seen_at": time_text(profile.last_seen_at),
    }


def _restore_seen(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%f%z")


class IdentityGraph:
    """The graph as one transaction sees it, with what it has read kept for the next message."""

    def __init__(self, session: Session, strategies: dict[str, TraitStrategy] | None = None) -> None:
        self._session = session
        self._strategies = load_strategies(session) if strategies is None else strategies
        self._links: dict[Identifier, IdentityLink | None] = {}  # current link, None = none exists
        self._profiles: dict[str, Profile] = {}
        self._limited: dict[str, list[IdentityLink]] = {}  # profile id → its current limited links

    # ------------------------------------------------------------------------------ reading

    def prefetch(self, identifiers: Iterable[Identifier]) -> None:
        """Read the current links of ``identifiers`` and their profiles in a few queries."""
        missing = [identifier for identifier in set(identifiers) if identifier not in self._links]
        found_profiles: set[str] = set()
        for chunk in _chunks(missing, LOOKUP_CHUNK):
            for identifier in chunk:
                self._links[identifier] = None
            rows = self._session.scalars(
                select(IdentityLink).where(
                    IdentityLink.valid_to.is_(None),
                    tuple_(IdentityLink.type, IdentityLink.value).in_([tuple(item) for item in chunk]),
                )
            )
            for link in rows:
                self._links[Identifier(link.type, link.value)] = link
                found_profiles.add(link.profile_id)
        self.load_profiles(found_profiles)

    def load_profiles(self, profile_ids: Iterable[str]) -> None:
        """Read profiles and their current limited links, unless already read."""
        missing = [profile_id for profile_id in set(profile_ids) if profile_id not in self._profiles]
        if not missing:
            return
        for chunk in _chunks(missing, LOOKUP_CHUNK):
            for profile in self._session.scalars(select(Profile).where(Profile.id.in_(chunk))):
                self._profiles[profile.id] = profile
                self._limited[profile.id] = []
            links = self._session.scalars(
                select(IdentityLink).where(
                    IdentityLink.profile_id.in_(chunk), IdentityLink.valid_to.is_(None), _LIMITED_TYPES
                )
            )
            for link in links:
                self._limited[link.profile_id].append(link)

    def profile(self, profile_id: str) -> Profile | None:
        self.load_profiles([profile_id])
        return self._profiles.get(profile_id)

    def _profiles_of(self, identifiers: Sequence[Identifier]) -> list[Profile]:
        """The distinct live profiles the identifiers' current links point at, in first-seen order."""
        profiles: dict[str, Profile] = {}
        for identifier in identifiers:
            link = self._links.get(identifier)
            if link is None:
                continue
            profile = self._profiles[link.profile_id]
            while profile.merged_into is not None:  # links always move with a merge; this is a guard
                self.load_profiles([profile.merged_into])
                profile = self._profiles[profile.merged_into]
            profiles[profile.id] = profile
        return sorted(profiles.values(), key=lambda profile: (profile.first_seen_at, profile.id))

    # ------------------------------------------------------------------------------ rules

    def breaks_limits(self, identifiers: Sequence[Identifier], profiles: Sequence[Profile]) -> bool:
        """Whether one profile holding all of ``profiles``' identities and ``identifiers`` would
        break a per-type limit, or join two profiles that both have a user id."""
        values: dict[str, set[str]] = {}
        profiles_with_user_id = 0
        for profile in profiles:
            has_user_id = False
            for link in self._limited[profile.id]:
                values.setdefault(link.type, set()).add(link.value)
                has_user_id = has_user_id or link.type == IdentityType.USER_ID
            profiles_with_user_id += has_user_id
        if profiles_with_user_id > 1:
            return True
        for identifier in identifiers:
            if is_limited(identifier.type):
                values.setdefault(identifier.type, set()).add(identifier.value)
        return any(len(found) > (limit_of(kind) or len(found)) for kind, found in values.items())

    @staticmethod
    def _survivor_of(profiles: Sequence[Profile], limited: dict[str, list[IdentityLink]]) -> Profile:
        """A profile with a user id survives (its id is what the customer's systems know); else the
        one seen first, whose history is longest."""
        for profile in profiles:
            if any(link.type == IdentityType.USER_ID for link in limited[profile.id]):
                return profile
        return profiles[0]

    # ------------------------------------------------------------------------------ writing

    def resolve(self, observation: Observation) -> Resolution | None:
        """Apply the contract's rules to one message; None when none of its identifiers counts.

        Matching is retried without the message's weakest identifier for as long as the result
        would break a limit, so a second user id with a known email makes a new profile instead
        of a wrong merge. Dropped identifiers that conflict with nothing are then given back.
        """
        identifiers = ranked(observation.identifiers)
        self.prefetch(identifiers)
        dropped: list[Identifier] = []
        profiles = self._profiles_of(identifiers)
        while identifiers and self.breaks_limits(identifiers, profiles):
            dropped.append(identifiers.pop())
            profiles = self._profiles_of(identifiers)
        if not identifiers:
            return None
        # Give back what was dropped only because it ranked low, not because it conflicts (an
        # anonymous id nobody else holds), strongest first.
        for identifier in reversed(dropped[:]):
            candidate = [*identifiers, identifier]
            candidate_profiles = self._profiles_of(candidate)
            if not self.breaks_limits(candidate, candidate_profiles):
                identifiers, profiles = candidate, candidate_profiles
                dropped.remove(identifier)
        merged_ids: list[str] = []
        if profiles:
            survivor = self._survivor_of(profiles, self._limited)
            for profile in profiles:
                if profile is not survivor:
                    self.merge(survivor, profile, MergeReason.RULE)
                    merged_ids.append(profile.id)
        else:
            survivor = self._create_profile(observation.at)
        for identifier in identifiers:
            if self._links[identifier] is None:
                self._open_link(identifier, survivor, LinkChange.OBSERVED, observation.at)
        self._observe(survivor, observation)
        return Resolution(survivor.id, not profiles, tuple(merged_ids), tuple(dropped))

    def _create_profile(self, at: datetime) -> Profile:
        profile = Profile(
            id=new_id(), traits={}, trait_times={}, consent={}, first_seen_at=at, last_seen_at=at
        )
        self._session.add(profile)
        self._profiles[profile.id] = profile
        self._limited[profile.id] = []
        return profile

    def _open_link(
        self,
        identifier: Identifier,
        profile: Profile,
        change: LinkChange,
        first_seen_at: datetime,
        merge_id: str | None = None,
    ) -> IdentityLink:
        link = IdentityLink(
            id=new_id(),
            type=identifier.type,
            value=identifier.value,
            profile_id=profile.id,
            first_seen_at=first_seen_at,
            valid_from=utc_now(),
            opened_by=change.value,
            opened_by_merge_id=merge_id,
        )
        link.profile = profile
        self._session.add(link)
        self._links[identifier] = link
        if is_limited(identifier.type):
            self._limited[profile.id].append(link)
        return link

    def _observe(self, profile: Profile, observation: Observation) -> None:
        if observation.at < profile.first_seen_at:
            profile.first_seen_at = observation.at
        if observation.at > profile.last_seen_at:
            profile.last_seen_at = observation.at
        if not observation.traits and not observation.consent:
            return
        observed_at = time_text(observation.at)
        if observation.traits:
            changed = apply_observed(
                profile.traits, profile.trait_times, observation.traits, observed_at, self._strategies
            )
            if changed is not None:
                profile.traits, profile.trait_times = changed
        if observation.consent:
            consent = apply_consent(profile.consent, observation.consent, observed_at)
            if consent is not None:
                profile.consent = consent

    def _current_links(self, profile_id: str) -> list[IdentityLink]:
        """The profile's current links, stored or still pending in this transaction.

        Read without autoflush: flushing every pending profile and link before each merge would
        cost more than the merge itself.
        """
        with self._session.no_autoflush:
            stored = self._session.scalars(
                select(IdentityLink).where(
                    IdentityLink.profile_id == profile_id, IdentityLink.valid_to.is_(None)
                )
            )
            links = {
                link.id: link for link in stored if link.valid_to is None and link.profile_id == profile_id
            }
        for pending in self._session.new:
            if (
                isinstance(pending, IdentityLink)
                and pending.profile_id == profile_id
                and pending.valid_to is None
            ):
                links[pending.id] = pending
        return sorted(links.values(), key=lambda link: (link.type, link.value))

    def merge(
        self,
        survivor: Profile,
        merged: Profile,
        reason: MergeReason,
        *,
        actor_id: str | None = None,
        note: str | None = None,
    ) -> ProfileMerge:
        """Fold ``merged`` into ``survivor``: its links move (closed, then opened on the survivor),
        traits and consent combine by strategy, and ``merged`` redirects to ``survivor``."""
        if survivor in self._session.new or merged in self._session.new:
            # A profile made earlier in this batch: write it first, as the merge record and the
            # redirect refer to it and a flush orders rows by relationships, not by foreign keys.
            self._session.flush()
        now = utc_now()
        record = ProfileMerge(
            id=new_id(),
            survivor_id=survivor.id,
            merged_id=merged.id,
            reason=reason.value,
            note=note,
            merged_at=now,
            survivor_before=snapshot_of(survivor),
            merged_before=snapshot_of(merged),
            survivor_after={},
            created_by=actor_id,
            updated_by=actor_id,
        )
        self._session.add(record)
        moved = self._current_links(merged.id)
        for link in moved:
            link.valid_to = now
            link.closed_by = LinkChange.MERGE.value
            link.closed_by_merge_id = record.id
        # No flush between closing and opening: a flush writes a table's UPDATEs before its
        # INSERTs, so the closed link never meets its successor in the unique index.
        self._limited[merged.id] = []
        for link in moved:
            self._open_link(
                Identifier(link.type, link.value), survivor, LinkChange.MERGE, link.first_seen_at, record.id
            )
        survivor.traits, survivor.trait_times = combine_on_merge(
            (survivor.traits, survivor.trait_times), (merged.traits, merged.trait_times), self._strategies
        )
        survivor.consent = combine_consent(survivor.consent, merged.consent)
        survivor.first_seen_at = min(survivor.first_seen_at, merged.first_seen_at)
        survivor.last_seen_at = max(survivor.last_seen_at, merged.last_seen_at)
        merged.merged_into = survivor.id
        merged.merged_at = now
        record.survivor_after = snapshot_of(survivor)
        return record

    def unmerge(self, record: ProfileMerge, *, actor_id: str | None) -> None:
        """Undo ``record``: the merged profile gets back its identities, traits and consent, and
        the survivor gets back what it had, except what later messages changed on it."""
        if record.undone_at is not None:
            raise Conflict("This merge has already been undone.")
        self.load_profiles([record.survivor_id, record.merged_id])
        survivor = self._profiles[record.survivor_id]
        merged = self._profiles[record.merged_id]
        if survivor.merged_into is not None or merged.merged_into != survivor.id:
            raise Conflict("The surviving profile was merged again since; undo that merge first.")
        now = utc_now()
        # The merged profile's identifiers as the merge found them, wherever they are now on the
        # survivor (a later merge and its undo may have moved them through other links since).
        originals = self._session.execute(
            select(IdentityLink.type, IdentityLink.value).where(
                IdentityLink.closed_by_merge_id == record.id, IdentityLink.closed_by == LinkChange.MERGE.value
            )
        )
        keys = [(kind, value) for kind, value in originals]
        moved_back: list[IdentityLink] = []
        for chunk in _chunks(keys, LOOKUP_CHUNK):
            moved_back.extend(
                self._session.scalars(
                    select(IdentityLink).where(
                        IdentityLink.profile_id == survivor.id,
                        IdentityLink.valid_to.is_(None),
                        tuple_(IdentityLink.type, IdentityLink.value).in_(chunk),
                    )
                )
            )
        for link in moved_back:
            link.valid_to = now
            link.closed_by = LinkChange.UNMERGE.value
            link.closed_by_merge_id = record.id
            if link in self._limited[survivor.id]:
                self._limited[survivor.id].remove(link)
            self._links.pop(Identifier(link.type, link.value), None)
        self._session.flush()  # close before opening: one current link per identifier
        for link in moved_back:
            self._open_link(
                Identifier(link.type, link.value), merged, LinkChange.UNMERGE, link.first_seen_at, record.id
            )
        _restore(survivor, record.survivor_before, record.survivor_after)
        _restore(merged, record.merged_before, snapshot_of(merged))
        merged.merged_into = None
        merged.merged_at = None
        record.undone_at = now
        record.undone_by = actor_id
        record.updated_by = actor_id


def _restore(profile: Profile, before: dict[str, Any], after: dict[str, Any]) -> None:
    """Put back ``before`` wherever the profile still holds what the merge left (``after``);
    whatever changed since the merge stays as it is now."""
    current = snapshot_of(profile)
    traits: dict[str, Any] = {}
    times: dict[str, str] = {}
    for name in current["traits"].keys() | before["traits"].keys():
        was_changed_later = name in current["traits"] and (
            name not in after["traits"]
            or (current["traits"][name], current["trait_times"].get(name))
            != (after["traits"][name], after["trait_times"].get(name))
        )
        source = current if was_changed_later else before
        if name in source["traits"]:
            traits[name] = source["traits"][name]
            times[name] = source["trait_times"].get(name, "")
    consent = {
        category: statement
        for category in current["consent"].keys() | before["consent"].keys()
        if (
            statement := (
                current["consent"].get(category)
                if current["consent"].get(category) != after["consent"].get(category)
                else before["consent"].get(category)
            )
        )
        is not None
    }
    profile.traits, profile.trait_times, profile.consent = traits, times, consent
    for field in ("first_seen_at", "last_seen_at"):
        if current[field] == after[field]:
            setattr(profile, field, _restore_seen(before[field]))
