"""The identity graph inside one transaction: look up, create, attach, merge and unmerge.

:class:`IdentityGraph` keeps what it has read (current links by identifier, profiles, the limited
identities of each profile, group memberships) as plain rows for the whole transaction, and
writes what changed in :meth:`IdentityGraph.flush` as a few bulk Core statements (one executemany
per table and kind of change), so a batch of thousands of messages costs a few queries to
prefetch and a few to write, not several per message. The ORM's unit of work cost half the
identity job's time (one UPDATE per versioned profile row); see docs/benchmarks.md. Only the
service and the identity job use it; they own the transaction and call ``flush`` before reading
the tables again or committing.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar, cast

from sqlalchemy import (
    ARRAY,
    CursorResult,
    String,
    Table,
    any_,
    bindparam,
    insert,
    select,
    text,
    tuple_,
    update,
)
from sqlalchemy.orm import Session

from loopcrm.modules.cdp.identity.models import (
    GroupLink,
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
from loopcrm.platform.db import insert_rows, new_id, utc_now
from loopcrm.platform.errors import Conflict

# Identifiers per lookup query: 2 bound parameters each stays far below SQLite's and
# PostgreSQL's limits on parameters per statement.
LOOKUP_CHUNK = 500

Item = TypeVar("Item")

PROFILES: Table = cast(Table, Profile.__table__)
LINKS: Table = cast(Table, IdentityLink.__table__)
GROUPS: Table = cast(Table, GroupLink.__table__)
MERGES: Table = cast(Table, ProfileMerge.__table__)


def _chunks(items: Sequence[Item], size: int) -> Iterator[Sequence[Item]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def load_strategies(session: Session) -> dict[str, TraitStrategy]:
    """Every trait strategy an administrator set; traits not named here use LATEST."""
    rows = session.execute(select(TraitStrategySetting.trait, TraitStrategySetting.strategy))
    return {trait: TraitStrategy(strategy) for trait, strategy in rows}


@dataclass(slots=True, eq=False)
class ProfileRow:
    """A profile as the graph holds it; ``version`` is the stored one (0 while not yet inserted)."""

    id: str
    traits: dict[str, Any]
    trait_times: dict[str, str]
    consent: dict[str, Any]
    first_seen_at: datetime
    last_seen_at: datetime
    merged_into: str | None
    merged_at: datetime | None
    version: int
    is_changed: bool = False  # traits, consent or the redirect changed: the whole row is written
    is_seen_changed: bool = False  # only the seen times changed: a narrower UPDATE, no JSON


@dataclass(slots=True, eq=False)
class LinkRow:
    """One version of an identity link (``kind`` is its type) or of a group membership (``kind``
    is empty, ``value`` the group id)."""

    id: str
    kind: str
    value: str
    profile_id: str
    first_seen_at: datetime
    valid_from: datetime
    opened_by: str
    valid_to: datetime | None = None
    closed_by: str | None = None
    opened_by_merge_id: str | None = None
    closed_by_merge_id: str | None = None
    is_stored: bool = True
    is_closed_now: bool = False  # closed in this transaction, not written yet

    @property
    def identifier(self) -> Identifier:
        return Identifier(self.kind, self.value)

    def close(self, change: LinkChange, at: datetime, merge_id: str | None) -> None:
        self.valid_to, self.closed_by, self.closed_by_merge_id = at, change.value, merge_id
        self.is_closed_now = True


def snapshot_of(profile: ProfileRow) -> dict[str, Any]:
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


def _link_of(row: Any, *, kind: str | None = None, value: str | None = None) -> LinkRow:
    """A link version as read; a group membership passes its kind ("") and group id as value."""
    return LinkRow(
        id=row.id,
        kind=row.type if kind is None else kind,
        value=row.value if value is None else value,
        profile_id=row.profile_id,
        first_seen_at=row.first_seen_at,
        valid_from=row.valid_from,
        opened_by=row.opened_by,
        valid_to=row.valid_to,
        closed_by=row.closed_by,
        opened_by_merge_id=row.opened_by_merge_id,
        closed_by_merge_id=row.closed_by_merge_id,
    )


def _group_of(row: Any) -> LinkRow:
    return _link_of(row, kind="", value=row.group_id)


@dataclass(slots=True)
class MergeRow:
    """A merge record as the graph writes it (inserted by the next flush)."""

    values: dict[str, Any]
    is_stored: bool = False
    is_changed: bool = False

    @property
    def id(self) -> str:
        return str(self.values["id"])


class IdentityGraph:
    """The graph as one transaction sees it, with what it has read kept for the next message."""

    def __init__(self, session: Session, strategies: dict[str, TraitStrategy] | None = None) -> None:
        self._session = session
        self._is_postgresql = session.get_bind().dialect.name == "postgresql"
        if self._is_postgresql:
            # psycopg prepares a statement run five times, and PostgreSQL then plans it once for
            # any values: for "value IN (500 values)" over a table that grew since its last
            # statistics, that generic plan read every link (250 ms a lookup instead of 10).
            # Plan each lookup for its values, for this transaction only.
            session.execute(text("SET LOCAL plan_cache_mode = force_custom_plan"))
            # Every lookup of the graph is a few hundred index probes into a table that only
            # grows. At PostgreSQL's default random_page_cost (4, for spinning disks) the planner
            # reads the whole link table instead until it holds about 200,000 links: 10 ms a
            # lookup at 50,000 links against 3 ms by the index. 1.1 is the usual figure for SSDs.
            session.execute(text("SET LOCAL random_page_cost = 1.1"))
        self._strategies = load_strategies(session) if strategies is None else strategies
        self._links: dict[Identifier, LinkRow | None] = {}  # current link, None = none exists
        self._link_by_id: dict[str, LinkRow] = {}
        self._profiles: dict[str, ProfileRow] = {}
        self._limited: dict[str, list[LinkRow]] = {}  # profile id → its current limited links
        self._groups: dict[str, dict[str, LinkRow]] = {}  # profile id → group id → current membership
        self._new_profiles: list[ProfileRow] = []
        self._new_links: list[LinkRow] = []
        # Profile id → its links as read with it plus those opened since (closed ones are skipped
        # when read), so a merge finds the merged profile's links without a query.
        self._links_of: dict[str, list[LinkRow]] = {}
        self._closed_links: list[LinkRow] = []
        self._new_groups: list[LinkRow] = []
        self._closed_groups: list[LinkRow] = []
        self._merges: list[MergeRow] = []

    # ------------------------------------------------------------------------------ reading

    def prefetch(self, identifiers: Iterable[Identifier]) -> None:
        """Read the current links of ``identifiers`` and their profiles in a few queries."""
        missing = [identifier for identifier in set(identifiers) if identifier not in self._links]
        found_profiles: set[str] = set()
        for chunk in _chunks(missing, LOOKUP_CHUNK):
            for identifier in chunk:
                self._links[identifier] = None
            # By value only, not (type, value) IN (VALUES ...): SQLite scans the whole index for
            # the row-value form, and a type condition lets PostgreSQL without statistics pick
            # the (type, valid_from) index and read every link of the type. By value, both search
            # the (value, type) index; the rare value under another type is skipped here. On
            # PostgreSQL the values go as one array (= ANY): 500 bound parameters made a query
            # text psycopg parses again on every call, and with random_page_cost at 1.1 (above)
            # the array is planned as index probes too.
            wanted = set(chunk)
            values = sorted({item.value for item in chunk})
            rows = self._session.execute(
                select(LINKS).where(
                    LINKS.c.valid_to.is_(None),
                    LINKS.c.value == any_(bindparam("values", values, type_=ARRAY(String)))
                    if self._is_postgresql
                    else LINKS.c.value.in_(values),
                )
            )
            for row in rows:
                if Identifier(row.type, row.value) not in wanted:
                    continue
                link = self._known(_link_of(row))
                self._links[link.identifier] = link
                found_profiles.add(link.profile_id)
        self.load_profiles(found_profiles)

    def _known(self, link: LinkRow) -> LinkRow:
        """The graph's own copy of a link read from the database (which may have changed it since)."""
        return self._link_by_id.setdefault(link.id, link)

    def load_profiles(self, profile_ids: Iterable[str]) -> None:
        """Read profiles and their current limited links, unless already read."""
        missing = [profile_id for profile_id in set(profile_ids) if profile_id not in self._profiles]
        if not missing:
            return
        for chunk in _chunks(missing, LOOKUP_CHUNK):
            for row in self._session.execute(select(PROFILES).where(PROFILES.c.id.in_(chunk))):
                self._profiles[row.id] = ProfileRow(
                    id=row.id,
                    traits=dict(row.traits or {}),
                    trait_times=dict(row.trait_times or {}),
                    consent=dict(row.consent or {}),
                    first_seen_at=row.first_seen_at,
                    last_seen_at=row.last_seen_at,
                    merged_into=row.merged_into,
                    merged_at=row.merged_at,
                    version=row.version,
                )
                self._limited[row.id] = []
                self._links_of[row.id] = []
                self._groups[row.id] = {}
            # By profile only: a "valid_to IS NULL" or type condition in SQL tempts the planners
            # (PostgreSQL before its first statistics) to indexes of every current link or of
            # every link of a type; a profile's few other links are skipped here instead.
            links = self._session.execute(select(LINKS).where(LINKS.c.profile_id.in_(chunk)))
            for row in links:
                if row.valid_to is not None:
                    continue
                link = self._known(_link_of(row))
                if link.valid_to is None and link.profile_id == row.profile_id:
                    self._links_of[link.profile_id].append(link)
                    if is_limited(link.kind):
                        self._limited[link.profile_id].append(link)
            memberships = self._session.execute(select(GROUPS).where(GROUPS.c.profile_id.in_(chunk)))
            for row in memberships:
                if row.valid_to is None:
                    self._groups[row.profile_id][row.group_id] = _group_of(row)

    def profile(self, profile_id: str) -> ProfileRow | None:
        self.load_profiles([profile_id])
        return self._profiles.get(profile_id)

    def _profiles_of(self, identifiers: Sequence[Identifier]) -> list[ProfileRow]:
        """The distinct live profiles the identifiers' current links point at, in first-seen order."""
        profiles: dict[str, ProfileRow] = {}
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

    def _current_links(self, profile_id: str) -> list[LinkRow]:
        """The profile's current identity links, stored or opened in this transaction."""
        self.load_profiles([profile_id])
        links = {
            link.id: link
            for link in self._links_of[profile_id]
            if link.valid_to is None and link.profile_id == profile_id
        }
        return sorted(links.values(), key=lambda link: (link.kind, link.value))

    def _group_links(self, profile_id: str) -> dict[str, LinkRow]:
        """The profile's current group memberships (read once per transaction)."""
        known = self._groups.get(profile_id)
        if known is None:  # a profile made in this transaction starts with an empty dict
            rows = self._session.execute(
                select(GROUPS).where(GROUPS.c.profile_id == profile_id, GROUPS.c.valid_to.is_(None))
            )
            known = self._groups[profile_id] = {row.group_id: _group_of(row) for row in rows}
        return known

    # ------------------------------------------------------------------------------ rules

    def breaks_limits(self, identifiers: Sequence[Identifier], profiles: Sequence[ProfileRow]) -> bool:
        """Whether one profile holding all of ``profiles``' identities and ``identifiers`` would
        break a per-type limit, or join two profiles that both have a user id."""
        values: dict[str, set[str]] = {}
        profiles_with_user_id = 0
        for profile in profiles:
            has_user_id = False
            for link in self._limited[profile.id]:
                values.setdefault(link.kind, set()).add(link.value)
                has_user_id = has_user_id or link.kind == IdentityType.USER_ID
            profiles_with_user_id += has_user_id
        if profiles_with_user_id > 1:
            return True
        for identifier in identifiers:
            if is_limited(identifier.type):
                values.setdefault(identifier.type, set()).add(identifier.value)
        return any(len(found) > (limit_of(kind) or len(found)) for kind, found in values.items())

    def _survivor_of(self, profiles: Sequence[ProfileRow]) -> ProfileRow:
        """A profile with a user id survives (its id is what the customer's systems know); else the
        one seen first, whose history is longest."""
        for profile in profiles:
            if any(link.kind == IdentityType.USER_ID for link in self._limited[profile.id]):
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
        links = self._links
        if any(identifier not in links for identifier in identifiers):  # usually prefetched already
            self.prefetch(identifiers)
        dropped: list[Identifier] = []
        profiles = self._profiles_of(identifiers)
        # The usual message (a known visitor again) adds no limited identifier to at most one
        # profile, so no limit can break: skip the check.
        is_safe = len(profiles) <= 1 and all(
            self._links[identifier] is not None for identifier in identifiers if is_limited(identifier.type)
        )
        while not is_safe and identifiers and self.breaks_limits(identifiers, profiles):
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
            survivor = self._survivor_of(profiles)
            for profile in profiles:
                if profile is not survivor:
                    self.merge(survivor, profile, MergeReason.RULE)
                    merged_ids.append(profile.id)
        else:
            survivor = self._create_profile(observation.at)
        for identifier in identifiers:
            if self._links[identifier] is None:
                self._open_link(identifier, survivor, LinkChange.OBSERVED, observation.at)
        if observation.group_id is not None:
            self._join_group(survivor, observation.group_id, observation.at)
        self._observe(survivor, observation)
        return Resolution(survivor.id, not profiles, tuple(merged_ids), tuple(dropped))

    def unlink_contact(self, contact_id: str) -> str | None:
        """End the link of a deleted CRM contact; the profile it was on, if any. The profile keeps
        the contact's emails and phones: they were its identifiers, whoever reported them."""
        identifier = Identifier(IdentityType.CRM_CONTACT.value, contact_id)
        self.prefetch([identifier])
        link = self._links.get(identifier)
        if link is None:
            return None
        self._close_link(link, LinkChange.UNLINKED, utc_now(), None)
        return link.profile_id

    def _create_profile(self, at: datetime) -> ProfileRow:
        profile = ProfileRow(
            id=new_id(),
            traits={},
            trait_times={},
            consent={},
            first_seen_at=at,
            last_seen_at=at,
            merged_into=None,
            merged_at=None,
            version=0,
        )
        self._new_profiles.append(profile)
        self._profiles[profile.id] = profile
        self._limited[profile.id] = []
        self._links_of[profile.id] = []
        self._groups[profile.id] = {}
        return profile

    def _open_link(
        self,
        identifier: Identifier,
        profile: ProfileRow,
        change: LinkChange,
        first_seen_at: datetime,
        merge_id: str | None = None,
    ) -> LinkRow:
        link = LinkRow(
            id=new_id(),
            kind=identifier.type,
            value=identifier.value,
            profile_id=profile.id,
            first_seen_at=first_seen_at,
            valid_from=utc_now(),
            opened_by=change.value,
            opened_by_merge_id=merge_id,
            is_stored=False,
        )
        self._new_links.append(link)
        self._links_of.setdefault(profile.id, []).append(link)
        self._link_by_id[link.id] = link
        self._links[identifier] = link
        if is_limited(identifier.type):
            self._limited[profile.id].append(link)
        return link

    def _close_link(self, link: LinkRow, change: LinkChange, at: datetime, merge_id: str | None) -> None:
        link.close(change, at, merge_id)
        if link.is_stored:
            self._closed_links.append(link)
        limited = self._limited.get(link.profile_id)
        if limited is not None and link in limited:
            limited.remove(link)
        if self._links.get(link.identifier) is link:
            self._links[link.identifier] = None

    def _open_group(
        self,
        profile: ProfileRow,
        group_id: str,
        change: LinkChange,
        first_seen_at: datetime,
        merge_id: str | None = None,
    ) -> None:
        link = LinkRow(
            id=new_id(),
            kind="",
            value=group_id,
            profile_id=profile.id,
            first_seen_at=first_seen_at,
            valid_from=utc_now(),
            opened_by=change.value,
            opened_by_merge_id=merge_id,
            is_stored=False,
        )
        self._new_groups.append(link)
        self._group_links(profile.id)[group_id] = link

    def _close_group(self, link: LinkRow, change: LinkChange, at: datetime, merge_id: str | None) -> None:
        link.close(change, at, merge_id)
        if link.is_stored:
            self._closed_groups.append(link)
        memberships = self._groups.get(link.profile_id, {})
        if memberships.get(link.value) is link:
            del memberships[link.value]

    def _join_group(self, profile: ProfileRow, group_id: str, at: datetime) -> None:
        if group_id not in self._group_links(profile.id):
            self._open_group(profile, group_id, LinkChange.OBSERVED, at)

    def _observe(self, profile: ProfileRow, observation: Observation) -> None:
        if observation.is_visit:
            if observation.at < profile.first_seen_at:
                profile.first_seen_at = observation.at
                profile.is_seen_changed = True
            if observation.at > profile.last_seen_at:
                profile.last_seen_at = observation.at
                profile.is_seen_changed = True
        if not observation.traits and not observation.consent:
            return
        observed_at = time_text(observation.at)
        if observation.traits:
            changed = apply_observed(
                profile.traits, profile.trait_times, observation.traits, observed_at, self._strategies
            )
            if changed is not None:
                profile.traits, profile.trait_times = changed
                profile.is_changed = True
        if observation.consent:
            consent = apply_consent(profile.consent, observation.consent, observed_at)
            if consent is not None:
                profile.consent = consent
                profile.is_changed = True

    def merge(
        self,
        survivor: ProfileRow,
        merged: ProfileRow,
        reason: MergeReason,
        *,
        actor_id: str | None = None,
        note: str | None = None,
    ) -> MergeRow:
        """Fold ``merged`` into ``survivor``: its links and group memberships move (closed, then
        opened on the survivor), traits and consent combine by strategy, and ``merged``
        redirects to ``survivor``."""
        now = utc_now()
        record = MergeRow(
            {
                "id": new_id(),
                "survivor_id": survivor.id,
                "merged_id": merged.id,
                "reason": reason.value,
                "note": note,
                "merged_at": now,
                "survivor_before": snapshot_of(survivor),
                "merged_before": snapshot_of(merged),
                "survivor_after": {},
                "undone_at": None,
                "undone_by": None,
                "created_at": now,
                "updated_at": now,
                "created_by": actor_id,
                "updated_by": actor_id,
                "version": 1,
            }
        )
        self._merges.append(record)
        moved = self._current_links(merged.id)
        for link in moved:
            self._close_link(link, LinkChange.MERGE, now, record.id)
        self._limited[merged.id] = []
        for link in moved:
            self._open_link(link.identifier, survivor, LinkChange.MERGE, link.first_seen_at, record.id)
        survivor_groups = self._group_links(survivor.id)
        for membership in list(self._group_links(merged.id).values()):
            self._close_group(membership, LinkChange.MERGE, now, record.id)
            if membership.value not in survivor_groups:
                self._open_group(
                    survivor, membership.value, LinkChange.MERGE, membership.first_seen_at, record.id
                )
        survivor.traits, survivor.trait_times = combine_on_merge(
            (survivor.traits, survivor.trait_times), (merged.traits, merged.trait_times), self._strategies
        )
        survivor.consent = combine_consent(survivor.consent, merged.consent)
        survivor.first_seen_at = min(survivor.first_seen_at, merged.first_seen_at)
        survivor.last_seen_at = max(survivor.last_seen_at, merged.last_seen_at)
        merged.merged_into = survivor.id
        merged.merged_at = now
        survivor.is_changed = merged.is_changed = True
        record.values["survivor_after"] = snapshot_of(survivor)
        return record

    def load_merge(self, merge_id: str) -> MergeRow | None:
        row = self._session.execute(select(MERGES).where(MERGES.c.id == merge_id)).one_or_none()
        return None if row is None else MergeRow(dict(row._mapping), is_stored=True)

    def unmerge(self, record: MergeRow, *, actor_id: str | None) -> None:
        """Undo ``record``: the merged profile gets back its identities, group memberships,
        traits and consent, and the survivor gets back what it had, except what later messages
        changed on it."""
        values = record.values
        if values["undone_at"] is not None:
            raise Conflict("This merge has already been undone.")
        self.load_profiles([values["survivor_id"], values["merged_id"]])
        survivor = self._profiles[values["survivor_id"]]
        merged = self._profiles[values["merged_id"]]
        if survivor.merged_into is not None or merged.merged_into != survivor.id:
            raise Conflict("The surviving profile was merged again since; undo that merge first.")
        self.flush()  # what the queries below read must include this transaction's changes
        now = utc_now()
        # The merged profile's identifiers as the merge found them, wherever they are now on the
        # survivor (a later merge and its undo may have moved them through other links since).
        originals = self._session.execute(
            select(LINKS.c.type, LINKS.c.value).where(
                LINKS.c.closed_by_merge_id == record.id, LINKS.c.closed_by == LinkChange.MERGE.value
            )
        )
        keys = [(kind, value) for kind, value in originals]
        moved_back: list[LinkRow] = []
        for chunk in _chunks(keys, LOOKUP_CHUNK):
            rows = self._session.execute(
                select(LINKS).where(
                    LINKS.c.profile_id == survivor.id,
                    LINKS.c.valid_to.is_(None),
                    tuple_(LINKS.c.type, LINKS.c.value).in_(chunk),
                )
            )
            moved_back.extend(self._known(_link_of(row)) for row in rows)
        for link in moved_back:
            self._close_link(link, LinkChange.UNMERGE, now, record.id)
        for link in moved_back:
            self._open_link(link.identifier, merged, LinkChange.UNMERGE, link.first_seen_at, record.id)
        # Group memberships: the merged profile's come back; the survivor loses those the merge
        # gave it and still holds — by group, like the links above: when a later merge of the
        # survivor was undone first, the survivor holds them again through that undo's rows.
        memberships = self._session.execute(
            select(GROUPS).where(
                GROUPS.c.closed_by_merge_id == record.id, GROUPS.c.closed_by == LinkChange.MERGE.value
            )
        )
        for row in memberships:
            self._open_group(merged, row.group_id, LinkChange.UNMERGE, row.first_seen_at, record.id)
        given = set(
            self._session.scalars(
                select(GROUPS.c.group_id).where(
                    GROUPS.c.opened_by_merge_id == record.id,
                    GROUPS.c.opened_by == LinkChange.MERGE.value,
                    GROUPS.c.profile_id == survivor.id,
                )
            )
        )
        for membership in list(self._group_links(survivor.id).values()):
            if membership.value in given:
                self._close_group(membership, LinkChange.UNMERGE, now, record.id)
        _restore(survivor, values["survivor_before"], values["survivor_after"])
        _restore(merged, values["merged_before"], snapshot_of(merged))
        merged.merged_into = None
        merged.merged_at = None
        survivor.is_changed = merged.is_changed = True
        values.update(undone_at=now, undone_by=actor_id, updated_by=actor_id, updated_at=now)
        record.is_changed = True
        if record not in self._merges:
            self._merges.append(record)

    # ------------------------------------------------------------------------------ flushing

    def flush(self) -> None:
        """Write every change held since the last flush, a bulk statement per table and change.

        Order matters: profiles before the links and merges that refer to them; closing links
        before opening their successors (one current link per identifier); a profile merged into
        another new one is inserted after it (the redirect is a foreign key).
        """
        session = self._session
        now = utc_now()
        if self._new_profiles:
            session.execute(
                insert(PROFILES), [_profile_values(row, now) for row in _by_redirect(self._new_profiles)]
            )
            for profile in self._new_profiles:
                profile.version, profile.is_changed, profile.is_seen_changed = 1, False, False
            self._new_profiles = []
        changed = [profile for profile in self._profiles.values() if profile.is_changed]
        if changed:
            self._update_profiles(changed, now, is_seen_only=False)
        seen = [profile for profile in self._profiles.values() if profile.is_seen_changed]
        if seen:
            self._update_profiles(seen, now, is_seen_only=True)
        new_merges = [record.values for record in self._merges if not record.is_stored]
        if new_merges:
            session.execute(insert(MERGES), new_merges)
        changed_merges = [record for record in self._merges if record.is_stored and record.is_changed]
        for record in changed_merges:  # an unmerge: one at a time
            session.execute(
                update(MERGES)
                .where(MERGES.c.id == record.id)
                .values(
                    undone_at=record.values["undone_at"],
                    undone_by=record.values["undone_by"],
                    updated_by=record.values["updated_by"],
                    updated_at=record.values["updated_at"],
                    version=MERGES.c.version + 1,
                )
            )
        for record in self._merges:
            record.is_stored, record.is_changed = True, False
        self._merges = []
        self._write_links(LINKS, self._closed_links, self._new_links, is_group=False)
        self._write_links(GROUPS, self._closed_groups, self._new_groups, is_group=True)
        for link in self._new_links:
            link.is_stored = True
        for link in self._new_groups:
            link.is_stored = True
        self._closed_links, self._new_links = [], []
        self._closed_groups, self._new_groups = [], []

    def _update_profiles(self, changed: list[ProfileRow], now: datetime, *, is_seen_only: bool) -> None:
        if is_seen_only and self._session.get_bind().dialect.name == "postgresql":
            # Most events only move a known profile's seen times: one array statement on
            # PostgreSQL, where an executemany is still one statement a profile.
            result = cast(
                CursorResult[Any],
                self._session.execute(
                    _UPDATE_SEEN_ARRAYS,
                    {
                        "ids": [profile.id for profile in changed],
                        "versions": [profile.version for profile in changed],
                        "firsts": [profile.first_seen_at for profile in changed],
                        "lasts": [profile.last_seen_at for profile in changed],
                        "now": now,
                    },
                ),
            )
            self._after_profile_update(changed, result.rowcount, is_checked=True)
            return
        values: dict[str, Any] = {
            "first_seen_at": bindparam("b_first_seen_at"),
            "last_seen_at": bindparam("b_last_seen_at"),
            "updated_at": bindparam("b_updated_at"),
            "version": bindparam("b_new_version"),
        }
        if not is_seen_only:
            values.update(
                traits=bindparam("b_traits"),
                trait_times=bindparam("b_trait_times"),
                consent=bindparam("b_consent"),
                merged_into=bindparam("b_merged_into"),
                merged_at=bindparam("b_merged_at"),
            )
        statement = (
            update(PROFILES)
            .where(PROFILES.c.id == bindparam("b_id"), PROFILES.c.version == bindparam("b_version"))
            .values(values)
        )
        parameters = []
        for profile in changed:
            row = {
                "b_id": profile.id,
                "b_version": profile.version,
                "b_first_seen_at": profile.first_seen_at,
                "b_last_seen_at": profile.last_seen_at,
                "b_updated_at": now,
                "b_new_version": profile.version + 1,
            }
            if not is_seen_only:
                row.update(
                    b_traits=profile.traits,
                    b_trait_times=profile.trait_times,
                    b_consent=profile.consent,
                    b_merged_into=profile.merged_into,
                    b_merged_at=profile.merged_at,
                )
            parameters.append(row)
        result = cast(CursorResult[Any], self._session.execute(statement, parameters))
        dialect = self._session.get_bind().dialect
        self._after_profile_update(changed, result.rowcount, is_checked=dialect.supports_sane_multi_rowcount)

    @staticmethod
    def _after_profile_update(changed: list[ProfileRow], rowcount: int, *, is_checked: bool) -> None:
        if is_checked and rowcount != len(changed):
            # Someone else changed one of these profiles since it was read (a person's merge).
            raise Conflict("A profile changed while it was being resolved; try again.")
        for profile in changed:
            profile.version += 1
            profile.is_changed = profile.is_seen_changed = False

    def _write_links(
        self, table: Table, closed: list[LinkRow], opened: list[LinkRow], *, is_group: bool
    ) -> None:
        session = self._session
        if closed:
            session.execute(
                update(table)
                .where(table.c.id == bindparam("b_id"))
                .values(
                    valid_to=bindparam("b_valid_to"),
                    closed_by=bindparam("b_closed_by"),
                    closed_by_merge_id=bindparam("b_closed_by_merge_id"),
                ),
                [
                    {
                        "b_id": link.id,
                        "b_valid_to": link.valid_to,
                        "b_closed_by": link.closed_by,
                        "b_closed_by_merge_id": link.closed_by_merge_id,
                    }
                    for link in closed
                ],
            )
            for link in closed:
                link.is_closed_now = False
        if opened:
            rows = []
            for link in opened:
                row = {
                    "id": link.id,
                    "profile_id": link.profile_id,
                    "first_seen_at": link.first_seen_at,
                    "valid_from": link.valid_from,
                    "valid_to": link.valid_to,
                    "opened_by": link.opened_by,
                    "closed_by": link.closed_by,
                    "opened_by_merge_id": link.opened_by_merge_id,
                    "closed_by_merge_id": link.closed_by_merge_id,
                }
                if is_group:
                    row["group_id"] = link.value
                else:
                    row["type"], row["value"] = link.kind, link.value
                rows.append(row)
                link.is_closed_now = False
            insert_rows(session, table, rows)


# PostgreSQL: the seen times of many profiles in one statement, each row only if its version is
# still the one read (the optimistic lock of the executemany it replaces).
_UPDATE_SEEN_ARRAYS = text(
    "UPDATE cdp_profiles SET first_seen_at = given.first_seen_at, last_seen_at = given.last_seen_at,"
    " updated_at = :now, version = given.version + 1"
    " FROM unnest(CAST(:ids AS VARCHAR[]), CAST(:versions AS INTEGER[]),"
    " CAST(:firsts AS TIMESTAMPTZ[]), CAST(:lasts AS TIMESTAMPTZ[]))"
    " AS given(id, version, first_seen_at, last_seen_at)"
    " WHERE cdp_profiles.id = given.id AND cdp_profiles.version = given.version"
)


def _profile_values(profile: ProfileRow, now: datetime) -> dict[str, Any]:
    return {
        "id": profile.id,
        "traits": profile.traits,
        "trait_times": profile.trait_times,
        "consent": profile.consent,
        "first_seen_at": profile.first_seen_at,
        "last_seen_at": profile.last_seen_at,
        "merged_into": profile.merged_into,
        "merged_at": profile.merged_at,
        "created_at": now,
        "updated_at": now,
        "created_by": None,
        "updated_by": None,
        "version": 1,
    }


def _by_redirect(profiles: list[ProfileRow]) -> list[ProfileRow]:
    """New profiles ordered so that one merged into another comes after it (redirects are
    acyclic: a merged profile is never a survivor again while it redirects)."""
    by_id = {profile.id: profile for profile in profiles}

    def depth(profile: ProfileRow) -> int:
        steps = 0
        while profile.merged_into is not None and profile.merged_into in by_id:
            profile = by_id[profile.merged_into]
            steps += 1
        return steps

    return sorted(profiles, key=depth)


def _restore(profile: ProfileRow, before: dict[str, Any], after: dict[str, Any]) -> None:
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
