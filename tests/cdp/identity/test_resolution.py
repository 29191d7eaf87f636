"""Resolving messages to profiles by the contract's identity rules: create, attach, merge, blocked
values, per-type limits and priority, normalised phones and emails."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from loopcrm.modules.cdp.identity import service as identity
from loopcrm.modules.cdp.identity.graph import IdentityGraph
from loopcrm.modules.cdp.identity.models import MergeReason
from loopcrm.modules.cdp.identity.schemas import Identifier, Observation
from loopcrm.platform.errors import Conflict
from loopcrm.platform.permissions import system_actor
from loopcrm.platform.unit_of_work import UnitOfWork

from .conftest import graph_state, minutes

Send = Callable[..., Any]


def _links(engine: Engine) -> list[tuple[str, str, str]]:
    return [(kind, value, profile_id) for kind, value, profile_id, _ in graph_state(engine)["links"]]


def _live_profiles(engine: Engine) -> list[str]:
    return sorted(
        profile_id for profile_id, state in graph_state(engine)["profiles"].items() if state[5] is None
    )


def test_an_anonymous_visitor_who_identifies_with_an_email_is_one_profile_with_both_identities(
    send: Send, engine: Engine, uow_factory: Callable[[], UnitOfWork]
) -> None:
    visit = send({"type": "page", "anonymousId": "anon-1", "name": "Pricing"}, minutes(0))
    identified = send(
        {
            "type": "identify",
            "anonymousId": "anon-1",
            "traits": {"email": "Wang.Fang@Example.com", "name": "王芳"},
        },
        minutes(5),
    )

    assert visit is not None and identified is not None
    assert visit.is_new_profile is True
    assert identified.profile_id == visit.profile_id
    assert identified.is_new_profile is False
    assert _links(engine) == [
        ("anonymous_id", "anon-1", visit.profile_id),
        ("email", "wang.fang@example.com", visit.profile_id),
    ]
    profile = identity.get_profile(uow_factory(), system_actor(), visit.profile_id)
    assert profile.traits == {"email": "Wang.Fang@Example.com", "name": "王芳"}
    assert (profile.first_seen_at, profile.last_seen_at) == (minutes(0), minutes(5))


def test_two_user_ids_sharing_an_email_stay_two_profiles(send: Send, engine: Engine) -> None:
    first = send({"type": "identify", "userId": "u-1", "traits": {"email": "shared@example.com"}})
    second = send({"type": "identify", "userId": "u-2", "traits": {"email": "shared@example.com"}})

    assert first is not None and second is not None
    assert second.profile_id != first.profile_id
    assert second.is_new_profile is True
    assert second.dropped == (Identifier("email", "shared@example.com"),)
    assert _links(engine) == sorted(
        [
            ("email", "shared@example.com", first.profile_id),
            ("user_id", "u-1", first.profile_id),
            ("user_id", "u-2", second.profile_id),
        ]
    )


@pytest.mark.parametrize(
    "blocked",
    [
        "",
        "   ",
        "0",
        "000000",
        "-",
        "0-0",
        "-1",
        "null",
        "NULL",
        "None",
        "undefined",
        "anonymous",
        "Guest",
        "[object Object]",
        "NaN",
        "true",
        "FALSE",
    ],
)
def test_blocked_values_identify_no_one(blocked: str, send: Send, engine: Engine) -> None:
    alone = send({"type": "track", "event": "Viewed", "userId": blocked})
    first = send({"type": "identify", "userId": blocked, "anonymousId": "anon-a"})
    second = send({"type": "identify", "userId": blocked, "anonymousId": "anon-b"})

    assert alone is None
    assert first is not None and second is not None
    assert first.profile_id != second.profile_id
    assert _links(engine) == sorted(
        [("anonymous_id", "anon-a", first.profile_id), ("anonymous_id", "anon-b", second.profile_id)]
    )


def test_messages_sharing_an_identifier_merge_their_profiles_by_rule(
    send: Send, engine: Engine, uow_factory: Callable[[], UnitOfWork]
) -> None:
    browser = send({"type": "page", "anonymousId": "anon-1"}, minutes(0))
    app = send(
        {
            "type": "identify",
            "context": {"device": {"id": "device-9"}},
            "traits": {"email": "li@example.com"},
        },
        minutes(1),
    )
    assert browser is not None and app is not None and browser.profile_id != app.profile_id

    joined = send(
        {"type": "identify", "anonymousId": "anon-1", "traits": {"email": "LI@example.com"}}, minutes(2)
    )

    assert joined is not None
    assert joined.profile_id == browser.profile_id  # the profile seen first survives
    assert joined.merged_profile_ids == (app.profile_id,)
    assert _links(engine) == sorted(
        [
            ("anonymous_id", "anon-1", browser.profile_id),
            ("device_id", "device-9", browser.profile_id),
            ("email", "li@example.com", browser.profile_id),
        ]
    )
    [merge] = identity.list_merges(uow_factory(), system_actor(), app.profile_id)
    assert (merge.survivor_id, merge.merged_id, merge.reason) == (
        browser.profile_id,
        app.profile_id,
        MergeReason.RULE,
    )
    assert identity.current_profile_id(uow_factory(), app.profile_id) == browser.profile_id
    assert identity.profile_ids_of(uow_factory(), browser.profile_id) == {browser.profile_id, app.profile_id}


def test_a_profile_with_a_user_id_survives_a_rule_merge(send: Send) -> None:
    anonymous = send({"type": "page", "anonymousId": "anon-1"}, minutes(0))
    known = send({"type": "identify", "userId": "u-1"}, minutes(1))

    joined = send({"type": "identify", "userId": "u-1", "anonymousId": "anon-1"}, minutes(2))

    assert anonymous is not None and known is not None and joined is not None
    assert joined.profile_id == known.profile_id
    assert joined.merged_profile_ids == (anonymous.profile_id,)


def test_two_profiles_with_user_ids_are_never_merged_by_a_message(send: Send, engine: Engine) -> None:
    first = send({"type": "identify", "userId": "u-1", "traits": {"email": "one@example.com"}})
    second = send({"type": "identify", "userId": "u-2", "traits": {"phone": "13812345678"}})

    # An anonymous message carrying both contact points: the weaker (the phone) gives way.
    both = send(
        {
            "type": "identify",
            "anonymousId": "anon-1",
            "traits": {"email": "one@example.com", "phone": "+86 138 1234 5678"},
        }
    )

    assert first is not None and second is not None and both is not None
    assert both.profile_id == first.profile_id
    assert both.merged_profile_ids == ()
    assert both.dropped == (Identifier("phone", "+8613812345678"),)
    assert _live_profiles(engine) == sorted([first.profile_id, second.profile_id])
    assert ("phone", "+8613812345678", second.profile_id) in _links(engine)


def test_a_profile_holds_at_most_five_emails(send: Send, engine: Engine) -> None:
    for number in range(1, 6):
        send(
            {"type": "identify", "userId": "u-1", "traits": {"email": f"e{number}@example.com"}},
            minutes(number),
        )

    sixth = send({"type": "identify", "userId": "u-1", "traits": {"email": "e6@example.com"}}, minutes(6))

    assert sixth is not None
    assert sixth.dropped == (Identifier("email", "e6@example.com"),)
    emails = [value for kind, value, _ in _links(engine) if kind == "email"]
    assert emails == [f"e{number}@example.com" for number in range(1, 6)]


def test_a_second_wechat_unionid_makes_a_new_profile(send: Send, engine: Engine) -> None:
    def wechat(unionid: str) -> dict[str, Any]:
        return {"id": unionid, "type": "wechat_unionid", "collection": "users"}

    first = send({"type": "identify", "anonymousId": "anon-1", "context": {"externalIds": [wechat("oU-1")]}})
    second = send({"type": "identify", "anonymousId": "anon-1", "context": {"externalIds": [wechat("oU-2")]}})

    assert first is not None and second is not None
    assert second.profile_id != first.profile_id
    assert second.dropped == (Identifier("anonymous_id", "anon-1"),)


def test_phones_and_emails_are_matched_in_their_normal_form(send: Send, engine: Engine) -> None:
    first = send({"type": "identify", "anonymousId": "a-1", "traits": {"phone": "138 1234 5678"}})
    second = send({"type": "identify", "anonymousId": "a-2", "traits": {"phone": "+86-138-1234-5678"}})
    third = send(
        {"type": "identify", "anonymousId": "a-3", "context": {"traits": {"email": " Zhang@Example.COM "}}}
    )
    fourth = send({"type": "identify", "anonymousId": "a-4", "traits": {"email": "zhang@example.com"}})

    assert first is not None and second is not None and third is not None and fourth is not None
    assert second.profile_id == first.profile_id
    assert fourth.profile_id == third.profile_id != first.profile_id


def test_identifiers_are_promoted_from_every_field_of_the_contract() -> None:
    message = {
        "type": "identify",
        "userId": 42,
        "anonymousId": "anon-7",
        "traits": {"email": "Wang@Example.com", "phone": "0086 138 1234 5678"},
        "context": {
            "traits": {"email": "wang.work@example.com"},
            "device": {"id": "dev-1"},
            "externalIds": [
                {"id": "oUnion1", "type": "wechat_unionid", "collection": "users", "encoding": "none"},
                {"id": "oOpen1", "type": "wechat_openid:wxapp1", "collection": "users"},
                {"id": "null", "type": "taobao_buyer_id", "collection": "users"},
                {"id": "tb-9", "type": "taobao_buyer_id", "collection": "users"},
            ],
            "consent": {"categoryPreferences": {"marketing": False, "analytics": True, "ads": "yes"}},
        },
    }

    assert identity.identifiers_of_message(message) == [
        Identifier("user_id", "42"),
        Identifier("wechat_unionid", "oUnion1"),
        Identifier("wechat_openid:wxapp1", "oOpen1"),
        Identifier("email", "wang@example.com"),
        Identifier("email", "wang.work@example.com"),
        Identifier("phone", "+8613812345678"),
        Identifier("taobao_buyer_id", "tb-9"),
        Identifier("device_id", "dev-1"),
        Identifier("anonymous_id", "anon-7"),
    ]
    assert identity.consent_of_message(message) == {"marketing": False, "analytics": True}


def test_a_message_without_identifiers_writes_nothing(send: Send, engine: Engine) -> None:
    assert send({"type": "track", "event": "Viewed", "anonymousId": None, "userId": "  "}) is None
    assert graph_state(engine) == {"profiles": {}, "links": [], "groups": []}


def test_consent_follows_the_latest_statement_by_event_time(
    send: Send, uow_factory: Callable[[], UnitOfWork]
) -> None:
    def consent(marketing: bool) -> dict[str, Any]:
        return {"consent": {"categoryPreferences": {"marketing": marketing}}}

    given = send(
        {"type": "track", "event": "Opt in", "anonymousId": "a-1", "context": consent(True)}, minutes(10)
    )
    send({"type": "track", "event": "Opt out", "anonymousId": "a-1", "context": consent(False)}, minutes(5))

    assert given is not None
    profile = identity.get_profile(uow_factory(), system_actor(), given.profile_id)
    assert profile.consent == {"marketing": True}


def test_a_batch_resolves_in_order_in_one_transaction(
    uow_factory: Callable[[], UnitOfWork], engine: Engine
) -> None:
    from loopcrm.modules.cdp.identity.schemas import Observation

    observations = [
        Observation((Identifier("anonymous_id", "a-1"),), minutes(0)),
        Observation((Identifier("user_id", "u-1"),), minutes(1)),
        Observation((Identifier("user_id", "u-1"), Identifier("anonymous_id", "a-1")), minutes(2)),
        Observation((), minutes(3)),
    ]

    first, second, third, fourth = identity.resolve_many(uow_factory(), observations)

    assert first is not None and second is not None and third is not None
    assert third.profile_id == second.profile_id
    assert third.merged_profile_ids == (first.profile_id,)
    assert fourth is None
    assert _links(engine) == sorted(
        [("anonymous_id", "a-1", second.profile_id), ("user_id", "u-1", second.profile_id)]
    )
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM cdp_profile_merges")).scalar_one() == 1


def test_seen_times_written_over_a_profile_changed_meanwhile_are_refused_and_change_nothing(
    send: Send, engine: Engine
) -> None:
    """The identity job reads a profile, another transaction (a person's merge) changes it, then
    the job writes the profile's new seen times: the optimistic lock refuses the write (the job
    retries the whole run later) instead of overwriting the other change."""
    if engine.dialect.name == "sqlite":
        pytest.skip("SQLite's write lock serialises the two writers; its driver reports no per-row counts")
    first = send({"anonymousId": "anon-lock", "type": "track"}, minutes(0))
    assert first is not None
    with Session(engine) as session:
        graph = IdentityGraph(session)
        identifier = Identifier("anonymous_id", "anon-lock")
        graph.prefetch([identifier])
        graph.resolve(Observation((identifier,), minutes(5)))  # only the seen time moves
        with engine.begin() as other:  # meanwhile, someone else changes the profile
            other.execute(
                text("UPDATE cdp_profiles SET version = version + 1 WHERE id = :id"), {"id": first.profile_id}
            )
        with pytest.raises(Conflict):
            graph.flush()
        session.rollback()
    with engine.connect() as connection:
        last_seen = connection.execute(
            text("SELECT last_seen_at FROM cdp_profiles WHERE id = :id"), {"id": first.profile_id}
        ).scalar_one()
    assert str(last_seen).startswith(str(minutes(0).replace(tzinfo=None))[:16])
