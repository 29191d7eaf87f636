"""The timeline: everything that happened with some records, newest first, one page at a time.

Entries come from activities linked to any of the records and from every registered timeline
source (orders, tickets, events of other modules). They are ordered by ``(occurred_at, id)``
descending across sources and paged by keyset: the cursor is the position of the last entry
shown, so inserting new entries never shifts a page.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, String, and_, column, or_, select, true, union_all, values

from loopcrm.modules.activities.models import Activity, ActivityKind, ActivityLink
from loopcrm.modules.activities.schemas import TimelineEntry, TimelinePosition
from loopcrm.modules.activities.service import content
from loopcrm.modules.activities.service.registry import resolve_subject, timeline_sources
from loopcrm.modules.activities.service.storage import activity_path, outputs, users_by_id
from loopcrm.platform.errors import ValidationFailed
from loopcrm.platform.pagination import DEFAULT_PAGE_SIZE, Page, check_limit, decode_cursor, encode_cursor
from loopcrm.platform.permissions import Actor
from loopcrm.platform.unit_of_work import UnitOfWork

ACTIVITIES_SOURCE = "activities"
# More records than this in one timeline is a list, not a timeline (an account with its contacts
# stays far below it); the limit keeps the query's IN lists bounded.
MAX_TIMELINE_SUBJECTS = 1000


def encode_position(position: TimelinePosition) -> str:
    return encode_cursor(f"{position.occurred_at.astimezone(UTC).isoformat()}|{position.id}")


def decode_position(cursor: str) -> TimelinePosition:
    """The position a cursor of :func:`encode_position` names; a mangled one is refused."""
    text = decode_cursor(cursor)
    moment, _, entry_id = text.partition("|")
    try:
        occurred_at = datetime.fromisoformat(moment)
    except ValueError:
        occurred_at = None
    if occurred_at is None or occurred_at.tzinfo is None or not entry_id:
        raise ValidationFailed.single("cursor", "The cursor is not valid", "invalid_cursor")
    return TimelinePosition(occurred_at=occurred_at, id=entry_id)


def _sort_key(entry: TimelineEntry) -> tuple[datetime, str]:
    return (entry.occurred_at.astimezone(UTC), entry.id)


def _subjects_condition(subjects: Sequence[tuple[str, str]]) -> ColumnElement[bool]:
    by_type: dict[str, list[str]] = defaultdict(list)
    for subject_type, subject_id in dict.fromkeys(subjects):
        by_type[subject_type].append(subject_id)
    return or_(
        *(
            and_(ActivityLink.subject_type == subject_type, ActivityLink.subject_id.in_(ids))
            for subject_type, ids in sorted(by_type.items())
        )
    )


def _older_than(before: TimelinePosition) -> ColumnElement[bool]:
    """Links that come after ``before`` on the timeline (newest first by time, then id)."""
    return or_(
        ActivityLink.occurred_at < before.occurred_at,
        and_(ActivityLink.occurred_at == before.occurred_at, ActivityLink.activity_id < before.id),
    )


# Up to this many records, a page is read as one index range per record (see ``_activity_ids``);
# beyond it, as one query over all of them. SQLite allows 500 SELECTs in one UNION.
MAX_MERGED_SUBJECTS = 200


def _activity_ids(
    uow: UnitOfWork,
    subjects: Sequence[tuple[str, str]],
    kinds: Collection[str] | None,
    before: TimelinePosition | None,
    limit: int,
) -> list[str]:
    """Ids of the newest ``limit`` live activities linked to any subject, older than ``before``.

    Each record's newest ``limit`` links are read from its own range of
    ``ix_activity_links_timeline`` and the ranges merged, so a page costs the page size times the
    number of records, whatever their history: one query over all records (``OR``) made the
    database read and sort every link of the account and its contacts (75 ms for an account with
    10,000 activities, bench/activities_timeline.py). ``limit`` links a record are always enough:
    an activity's links share its time, so in each of its records' ranges only activities that
    come before it on the page can precede its link. An activity linked to several of the
    records comes up once (``DISTINCT``).

    On PostgreSQL the ranges are one ``LATERAL`` subquery over the records' list: a ``UNION ALL``
    of 31 ranges took 10 ms to plan, longer than running it. SQLite has no ``LATERAL``; it gets
    the ``UNION ALL``, which it plans quickly.
    """
    wanted = list(dict.fromkeys(subjects))
    if len(wanted) > MAX_MERGED_SUBJECTS:
        return _activity_ids_at_once(uow, wanted, kinds, before, limit)
    conditions: list[ColumnElement[bool]] = [Activity.deleted_at.is_(None)]
    if kinds is not None:
        conditions.append(ActivityLink.kind.in_(sorted(kinds)))
    if before is not None:
        conditions.append(_older_than(before))

    def newest_links(subject_type: Any, subject_id: Any) -> Select[str, datetime]:
        return (
            select(ActivityLink.activity_id, ActivityLink.occurred_at)
            .join(Activity, Activity.id == ActivityLink.activity_id)
            .where(
                ActivityLink.subject_type == subject_type, ActivityLink.subject_id == subject_id, *conditions
            )
            .order_by(ActivityLink.occurred_at.desc(), ActivityLink.activity_id.desc())
            .limit(limit)
        )

    if uow.session.get_bind().dialect.name == "postgresql":
        records = values(column("subject_type", String), column("subject_id", String), name="records").data(
            wanted
        )
        ranges = newest_links(records.c.subject_type, records.c.subject_id).lateral()
        merged = select(ranges).select_from(records).join(ranges, true()).subquery()
    else:
        selects = [select(newest_links(*subject).subquery()) for subject in wanted]
        merged = (union_all(*selects) if len(selects) > 1 else selects[0]).subquery()
    statement = (
        select(merged.c.activity_id, merged.c.occurred_at)
        .distinct()
        .order_by(merged.c.occurred_at.desc(), merged.c.activity_id.desc())
        .limit(limit)
    )
    return list(uow.session.scalars(statement))


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _activity_ids_at_once(
    uow: UnitOfWork,
    subjects: Sequence[tuple[str, str]],
    kinds: Collection[str] | None,
    before: TimelinePosition | None,
    limit: int,
) -> list[str]:
    """``_activity_ids`` for many records: one query over all of them, newest first, skipping
    an activity seen already and fetching more only when repeats made a batch come up short."""
    statement = (
        select(ActivityLink.activity_id)
        .join(Activity, Activity.id == ActivityLink.activity_id)
        .where(_subjects_condition(subjects), Activity.deleted_at.is_(None))
        .order_by(ActivityLink.occurred_at.desc(), ActivityLink.activity_id.desc())
    )
    if kinds is not None:
        statement = statement.where(ActivityLink.kind.in_(sorted(kinds)))
    if before is not None:
        statement = statement.where(_older_than(before))
    found: dict[str, None] = {}
    offset, batch = 0, limit
    while len(found) < limit:
        rows = uow.session.scalars(statement.offset(offset).limit(batch)).all()
        for activity_id in rows:
            found.setdefault(activity_id, None)
            if len(found) == limit:
                break
        if len(rows) < batch:
            break
        offset += batch
        batch *= 2
    return list(found)


def _activity_entries(
    uow: UnitOfWork,
    actor: Actor,
    subjects: Sequence[tuple[str, str]],
    kinds: Collection[str] | None,
    before: TimelinePosition | None,
    limit: int,
) -> list[TimelineEntry]:
    ids = _activity_ids(uow, subjects, kinds, before, limit)
    if not ids:
        return []
    session = uow.session
    by_id = {
        activity.id: activity for activity in session.scalars(select(Activity).where(Activity.id.in_(ids)))
    }
    activities = [by_id[activity_id] for activity_id in ids]
    owners = users_by_id(session, [activity.owner_id for activity in activities])
    entries = []
    for activity, out in zip(activities, outputs(session, activities, actor), strict=True):
        text = content.html_to_text(out.body) if out.kind is ActivityKind.NOTE else out.body
        owner = owners.get(out.owner_id)
        entries.append(
            TimelineEntry(
                id=out.id,
                source=ACTIVITIES_SOURCE,
                kind=out.kind.value,
                occurred_at=activity.occurred_at,
                title=out.subject,
                summary=content.summary(text),
                path=activity_path(out.id),
                actor_name=owner.name if owner is not None else None,
                activity=out,
            )
        )
    return entries


def timeline(
    uow: UnitOfWork,
    actor: Actor,
    subjects: Sequence[tuple[str, str]],
    *,
    kinds: Collection[str] | None = None,
    limit: int = DEFAULT_PAGE_SIZE,
    cursor: str | None = None,
) -> Page[TimelineEntry]:
    """Every activity (and entry of a registered source) linked to ANY of ``subjects``, newest
    first, each once, one page at a time; ``kinds`` keeps only those kinds.

    **It does not check that the actor may read the records**: the caller has done so (a
    customer page has loaded the account before asking for its timeline, and passes the
    account's id with its contacts'). Entry points that take record ids from a request use
    :func:`record_timeline`, which checks each record first.
    """
    check_limit(limit)
    wanted = list(dict.fromkeys(subjects))
    if len(wanted) > MAX_TIMELINE_SUBJECTS:
        raise ValidationFailed.single(
            "subjects",
            "A timeline covers at most {maximum} records",
            "too_many",
            maximum=MAX_TIMELINE_SUBJECTS,
        )
    before = decode_position(cursor) if cursor else None
    kind_filter = set(kinds) if kinds is not None else None
    with uow:
        if not wanted:
            return Page[TimelineEntry](items=[], next_cursor=None)
        entries: list[TimelineEntry] = []
        activity_kinds = (
            None if kind_filter is None else {kind for kind in kind_filter if kind in set(ActivityKind)}
        )
        if activity_kinds is None or activity_kinds:
            entries += _activity_entries(uow, actor, wanted, activity_kinds, before, limit + 1)
        for registered in timeline_sources():
            if kind_filter is not None and registered.kinds and not kind_filter & set(registered.kinds):
                continue
            entries += registered.source(
                uow, actor, wanted, kinds=kind_filter, before=before, limit=limit + 1
            )[: limit + 1]
        entries.sort(key=_sort_key, reverse=True)
        page = entries[:limit]
        next_cursor = encode_position(page[-1].position) if len(entries) > limit and page else None
        return Page[TimelineEntry](items=page, next_cursor=next_cursor)


def record_timeline(
    uow: UnitOfWork,
    actor: Actor,
    subjects: Sequence[tuple[str, str]],
    *,
    kinds: Collection[str] | None = None,
    limit: int = DEFAULT_PAGE_SIZE,
    cursor: str | None = None,
) -> Page[TimelineEntry]:
    """:func:`timeline` for records named in a request: each must exist and be readable by the
    actor (through its module's resolver), else :class:`~loopcrm.platform.errors.NotFound`."""
    with uow:
        for subject_type, subject_id in dict.fromkeys(subjects):
            resolve_subject(uow, actor, subject_type, subject_id)
    return timeline(uow, actor, subjects, kinds=kinds, limit=limit, cursor=cursor)
