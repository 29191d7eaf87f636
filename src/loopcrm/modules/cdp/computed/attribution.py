"""How aggregates kept per attributed profile map onto the profiles people look at, read from the
identity graph's tables (read only, in the caller's transaction).

The identity service offers the same answers (``profile_ids_of``, ``current_profile_id``), each
in a transaction of its own; the consumer, the bulk conditions and erasure need them inside their
own transaction (erasure under the cursors' locks), and for every profile at once. One profile's
family in the caller's transaction is ``identity.event_log.profile_family``.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from loopcrm.modules.cdp.identity.models import IdentityLink, Profile


class Redirects:
    """Every merged profile's survivor, loaded once: maps any attributed profile to the live
    profile it stands for now. Only merged profiles have a row here, a small share of all."""

    def __init__(self, session: Session) -> None:
        rows = session.execute(
            select(Profile.id, Profile.merged_into).where(Profile.merged_into.is_not(None))
        )
        self._survivor: dict[str, str] = {profile_id: survivor for profile_id, survivor in rows if survivor}
        self._live: dict[str, str] = {}

    def live_profile_of(self, profile_id: str) -> str:
        found = self._live.get(profile_id)
        if found is not None:
            return found
        seen = {profile_id}
        current = profile_id
        while (target := self._survivor.get(current)) is not None and target not in seen:
            seen.add(target)
            current = target
        self._live[profile_id] = current
        return current


def live_profile_ids(session: Session) -> Iterable[str]:
    """Profiles that are not merged into another and still hold an identifier (an erased profile
    holds none), streamed in id order."""
    holds_identifier = exists().where(IdentityLink.profile_id == Profile.id, IdentityLink.valid_to.is_(None))
    return session.scalars(
        select(Profile.id)
        .where(Profile.merged_into.is_(None), holds_identifier)
        .order_by(Profile.id)
        .execution_options(yield_per=5000)
    )
