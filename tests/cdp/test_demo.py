"""The CDP demo: a year of fragmented events from several channels that identity resolution
unifies into one profile per person, loaded once.

A small demo (300 people, about 6,000 events) keeps the test fast; the full one has the same
shape at 20,000 people and 500,000 events.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import date

from sqlalchemy import func, select

from loopcrm.modules.cdp.demo import (
    DEMO_SEED,
    DEMO_SOURCES,
    OPENID_TYPE,
    CrmPerson,
    DemoCdp,
    load_demo_cdp,
    plan_people,
)
from loopcrm.modules.cdp.identity import service as identity
from loopcrm.modules.cdp.identity.models import Profile
from loopcrm.modules.cdp.models import Event, EventSource
from loopcrm.platform.permissions import system_actor
from loopcrm.platform.unit_of_work import UnitOfWork

PEOPLE = 300
EVENTS = 6_000
TODAY = date(2026, 6, 30)
CRM_CONTACT = CrmPerson(name="赵海涛", email="zhaoht@zhengmai-business.example.com", phone="186 8864 7808")


def _load(uow_factory: Callable[[], UnitOfWork]) -> DemoCdp:
    return load_demo_cdp(
        uow_factory, profiles=PEOPLE, events=EVENTS, crm_people=lambda: [CRM_CONTACT], today=TODAY
    )


def test_a_crm_contact_seen_on_every_channel_becomes_one_profile_with_all_their_identities(
    uow_factory: Callable[[], UnitOfWork],
) -> None:
    # The plan is seeded: person 0 is the CRM contact, fragmented across every channel.
    people, _anonymous = plan_people(random.Random(DEMO_SEED), PEOPLE, [CRM_CONTACT])
    person = people[0]

    _load(uow_factory)

    actor = system_actor("test")
    profile = identity.find_profile(uow_factory(), actor, "email", CRM_CONTACT.email)
    assert profile is not None
    identities = {(item.type, item.value) for item in profile.identities}
    assert identities == {
        ("email", "zhaoht@zhengmai-business.example.com"),
        ("phone", "+8618688647808"),
        ("user_id", "u100000"),
        ("device_id", "dev-000000"),
        ("wechat_unionid", person.unionid),
        (OPENID_TYPE, person.openid),
        ("tmall_buyer_id", person.buyer_id),
        ("anonymous_id", person.openid),
        ("anonymous_id", f"buyer-{person.buyer_id}"),
        ("anonymous_id", "sms-0"),
        *(("anonymous_id", anonymous_id) for anonymous_id in person.web_anonymous_ids),
    }
    assert profile.traits["name"] == "赵海涛"
    # Each fragment's own identifier finds the same live profile
    for kind, value in (("wechat_unionid", person.unionid), ("phone", "18688647808"), ("user_id", "u100000")):
        found = identity.find_profile(uow_factory(), actor, kind, value)
        assert found is not None and found.id == profile.id, kind
    # And the events of every channel are the profile's (through the merges' redirects)
    with uow_factory() as uow:
        profile_ids = identity.profile_ids_of(uow_factory(), profile.id)
        channels = set(
            uow.session.scalars(
                select(EventSource.channel)
                .join(Event, Event.source_id == EventSource.id)
                .where(Event.profile_id.in_(profile_ids))
                .distinct()
            )
        )
    assert channels == {spec.channel.value for spec in DEMO_SOURCES}


def test_the_demo_resolves_to_one_profile_a_person_and_loads_once(
    uow_factory: Callable[[], UnitOfWork],
) -> None:
    first = _load(uow_factory)
    with uow_factory() as uow:
        events = uow.session.scalar(select(func.count()).select_from(Event))
        unresolved = uow.session.scalar(
            select(func.count()).select_from(Event).where(Event.profile_id.is_(None))
        )
        live = uow.session.scalar(
            select(func.count()).select_from(Profile).where(Profile.merged_into.is_(None))
        )
        event_names = set(uow.session.scalars(select(Event.event).where(Event.type == "track").distinct()))
        sources = uow.session.scalar(select(func.count()).select_from(EventSource))
        span = uow.session.execute(select(func.min(Event.timestamp), func.max(Event.timestamp))).one()

    assert first.created is True
    assert first.events == events and abs(events - EVENTS) < EVENTS * 0.1
    assert unresolved == 0
    # Known people and anonymous-only visitors: each exactly one live profile
    assert live == PEOPLE == first.profiles
    assert sources == len(DEMO_SOURCES)
    assert {"Product Viewed", "Order Completed", "Email Opened", "SMS Delivered", "Mini Program Opened"} <= (
        event_names
    )
    assert (span[1] - span[0]).days >= 300  # spread over the year

    again = _load(uow_factory)
    with uow_factory() as uow:
        assert uow.session.scalar(select(func.count()).select_from(Event)) == events
    assert again.created is False
