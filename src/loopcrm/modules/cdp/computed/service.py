"""Use cases of computed traits: keep the aggregates current (the job), read one profile's
computed traits, and select the profiles that meet a computed-trait condition (segments).

Reading needs the right to read profiles. Traits are summed over the profile and every profile
merged into it, so they follow merges and unmerges at once; events still waiting for the
identity job or for this consumer are not counted yet (``processed_through`` says how far).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from loopcrm.modules.cdp.computed.aggregation import (
    DEFAULT_CURRENCY,
    DEFAULT_TIME_ZONE,
    consume_event_log,
    processed_through,
    stored_time_zone,
)
from loopcrm.modules.cdp.computed.attribution import Redirects, live_profile_ids
from loopcrm.modules.cdp.computed.models import MONEY_SCALE, ProfileActivity, ProfileEventDay, ProfileOrder
from loopcrm.modules.cdp.computed.schemas import (
    Comparison,
    ComputedTraitsOut,
    EventCountOut,
    Measure,
    MoneyOut,
    OrderWindowOut,
    TraitCondition,
    Window,
)
from loopcrm.modules.cdp.identity import service as identity
from loopcrm.modules.cdp.identity.event_log import profile_family
from loopcrm.modules.cdp.identity.models import Profile
from loopcrm.modules.cdp.models import MessageType
from loopcrm.platform.db import utc_now
from loopcrm.platform.errors import NotFound
from loopcrm.platform.permissions import Action, Actor, require
from loopcrm.platform.unit_of_work import UnitOfWork

# Events one run of the job folds in its transaction: about a second of work, like the identity
# job's, so the SQLite write lock is not held long enough to delay ingestion noticeably.
MAX_EVENTS_PER_RUN = 20_000
WINDOWS = (Window.LAST_7_DAYS, Window.LAST_30_DAYS, Window.LAST_90_DAYS, Window.ALL_TIME)

__all__ = [
    "WINDOWS",
    "Comparison",
    "Measure",
    "TraitCondition",
    "Window",
    "computed_traits",
    "computed_traits_in",
    "profiles_matching",
    "update_computed_traits",
    "update_computed_traits_in",
]


def update_computed_traits(
    uow: UnitOfWork, *, max_events: int = MAX_EVENTS_PER_RUN, time_zone: str = DEFAULT_TIME_ZONE
) -> int:
    """Fold the events the identity job has resolved since the last run into the aggregates, in
    one transaction; returns how many events were read."""
    with uow:
        count = consume_event_log(uow.session, max_events=max_events, time_zone=time_zone)
        uow.commit()
    return count


def update_computed_traits_in(
    uow: UnitOfWork, *, max_events: int = MAX_EVENTS_PER_RUN, time_zone: str = DEFAULT_TIME_ZONE
) -> int:
    """``update_computed_traits`` inside the caller's active transaction (the job worker's)."""
    return consume_event_log(uow.session, max_events=max_events, time_zone=time_zone)


def _window_start(window: Window, as_of: date) -> date | None:
    days = window.days
    return None if days is None else as_of - timedelta(days=days - 1)


def _reference_day(session: Session, as_of: date | None) -> tuple[date, str]:
    zone = stored_time_zone(session)
    return (as_of or utc_now().astimezone(ZoneInfo(zone)).date()), zone


def _in_window(column: Any, window: Window, as_of: date) -> Any:
    start = _window_start(window, as_of)
    return column <= as_of if start is None else column.between(start, as_of)


def _event_counts(session: Session, family: set[str], as_of: date) -> list[EventCountOut]:
    sums = [
        func.sum(case((_in_window(ProfileEventDay.day, window, as_of), ProfileEventDay.count), else_=0))
        for window in WINDOWS
    ]
    rows = session.execute(
        select(ProfileEventDay.type, ProfileEventDay.name, *sums)
        .where(ProfileEventDay.profile_id.in_(family), ProfileEventDay.day <= as_of)
        .group_by(ProfileEventDay.type, ProfileEventDay.name)
        .order_by(ProfileEventDay.type, ProfileEventDay.name)
    ).all()
    return [
        EventCountOut(
            type=MessageType(row[0]),
            name=row[1],
            counts={window: int(row[2 + index] or 0) for index, window in enumerate(WINDOWS)},
        )
        for row in rows
    ]


def _distinct_orders(rows: Iterable[Any]) -> list[Any]:
    """One row per order: an order reported under two profiles before they merged counts once
    (its earliest report wins)."""
    first: dict[tuple[str, str], Any] = {}
    for row in sorted(rows, key=lambda row: row.ordered_at):
        first.setdefault((row.origin, row.order_key), row)
    return list(first.values())


def _order_windows(orders: Sequence[Any], as_of: date) -> list[OrderWindowOut]:
    result = []
    for window in WINDOWS:
        start = _window_start(window, as_of)
        chosen = [order for order in orders if start is None or order.day >= start]
        spend: dict[str, int] = defaultdict(int)
        for order in chosen:
            spend[order.currency] += order.amount
        result.append(
            OrderWindowOut(
                window=window,
                order_count=len(chosen),
                spend=[
                    MoneyOut(currency=currency, amount=Decimal(amount) / MONEY_SCALE)
                    for currency, amount in sorted(spend.items())
                ],
            )
        )
    return result


def computed_traits_in(session: Session, profile_id: str, *, as_of: date | None = None) -> ComputedTraitsOut:
    """A profile's computed traits in the caller's transaction (the privacy export's)."""
    family = profile_family(session, profile_id)
    day, zone = _reference_day(session, as_of)
    activity = session.execute(
        select(func.min(ProfileActivity.first_event_at), func.max(ProfileActivity.last_event_at)).where(
            ProfileActivity.profile_id.in_(family)
        )
    ).one()
    counts = _event_counts(session, family, day)
    channels = session.scalars(
        select(ProfileEventDay.channel)
        .where(ProfileEventDay.profile_id.in_(family), ProfileEventDay.day <= day)
        .distinct()
        .order_by(ProfileEventDay.channel)
    ).all()
    orders = _distinct_orders(
        session.execute(
            select(ProfileOrder).where(ProfileOrder.profile_id.in_(family), ProfileOrder.day <= day)
        ).scalars()
    )
    last_order_at: datetime | None = max((order.ordered_at for order in orders), default=None)
    return ComputedTraitsOut(
        profile_id=profile_id,
        profile_ids=sorted(family),
        as_of=day,
        time_zone=zone,
        processed_through=processed_through(session),
        first_seen_at=activity[0],
        last_seen_at=activity[1],
        event_count=sum(count.counts[Window.ALL_TIME] for count in counts),
        event_counts=counts,
        channels=list(channels),
        orders=_order_windows(orders, day),
        last_order_at=last_order_at,
    )


def computed_traits(
    uow: UnitOfWork, actor: Actor, profile_id: str, *, as_of: date | None = None
) -> ComputedTraitsOut:
    """A profile's computed traits as of the end of ``as_of`` (today in the aggregates' time zone
    if omitted), summed over the profile and every profile merged into it."""
    require(actor, identity.PROFILE.key, Action.READ)
    with uow:
        if uow.session.get(Profile, profile_id) is None:
            raise NotFound("Profile {profile_id} was not found.", profile_id=profile_id)
        return computed_traits_in(uow.session, profile_id, as_of=as_of)


def _values_per_attributed_profile(
    session: Session, condition: TraitCondition, as_of: date
) -> dict[str, Any]:
    """The measure per attributed profile, before merges are rolled up."""
    if condition.measure is Measure.EVENT_COUNT:
        statement = (
            select(ProfileEventDay.profile_id, func.sum(ProfileEventDay.count))
            .where(
                _in_window(ProfileEventDay.day, condition.window, as_of),
                ProfileEventDay.type == condition.event_type.value,
            )
            .group_by(ProfileEventDay.profile_id)
        )
        if condition.event is not None:
            statement = statement.where(ProfileEventDay.name == condition.event)
        return {profile_id: int(total) for profile_id, total in session.execute(statement)}
    if condition.measure is Measure.DAYS_SINCE_LAST_SEEN:
        latest = (
            select(ProfileEventDay.profile_id, func.max(ProfileEventDay.day))
            .where(_in_window(ProfileEventDay.day, condition.window, as_of))
            .group_by(ProfileEventDay.profile_id)
        )
        return {profile_id: day for profile_id, day in session.execute(latest)}
    orders = select(ProfileOrder).where(_in_window(ProfileOrder.day, condition.window, as_of))
    if condition.measure is Measure.SPEND:
        orders = orders.where(ProfileOrder.currency == (condition.currency or DEFAULT_CURRENCY).upper())
    grouped: dict[str, list[Any]] = defaultdict(list)
    for order in session.scalars(orders):
        grouped[order.profile_id].append(order)
    return grouped


def profiles_matching(uow: UnitOfWork, actor: Actor, condition: TraitCondition) -> list[str]:
    """The live profiles (not merged into another, not erased) whose computed trait meets
    ``condition``, sorted by id — the building block of a segment's computed-trait rule.

    It reads the aggregates once per call and rolls merged profiles up to their survivors in
    memory, so its cost grows with the number of profiles that have matching rows; a profile with
    no row counts as 0, which matters for conditions such as "fewer than 1 order in 90 days".
    """
    require(actor, identity.PROFILE.key, Action.READ)
    with uow:
        session = uow.session
        as_of, _zone = _reference_day(session, condition.as_of)
        redirects = Redirects(session)
        per_profile = _values_per_attributed_profile(session, condition, as_of)
        values: dict[str, Decimal] = {}
        if condition.measure is Measure.EVENT_COUNT:
            for profile_id, total in per_profile.items():
                live = redirects.live_profile_of(profile_id)
                values[live] = values.get(live, Decimal(0)) + total
        elif condition.measure is Measure.DAYS_SINCE_LAST_SEEN:
            latest: dict[str, date] = {}
            for profile_id, day in per_profile.items():
                live = redirects.live_profile_of(profile_id)
                latest[live] = max(day, latest.get(live, day))
            values = {live: Decimal((as_of - day).days) for live, day in latest.items()}
        else:
            rolled: dict[str, list[Any]] = defaultdict(list)
            for profile_id, orders in per_profile.items():
                rolled[redirects.live_profile_of(profile_id)].extend(orders)
            for live, orders in rolled.items():
                distinct = _distinct_orders(orders)
                values[live] = (
                    Decimal(len(distinct))
                    if condition.measure is Measure.ORDER_COUNT
                    else Decimal(sum(order.amount for order in distinct)) / MONEY_SCALE
                )
        zero_counts = condition.measure is not Measure.DAYS_SINCE_LAST_SEEN and condition.comparison.holds(
            Decimal(0), condition.value
        )
        matching = []
        for profile_id in live_profile_ids(session):
            value = values.get(profile_id)
            if value is None:
                if zero_counts:
                    matching.append(profile_id)
            elif condition.comparison.holds(value, condition.value):
                matching.append(profile_id)
        return matching
