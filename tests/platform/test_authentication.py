"""Signing in, lockout, password resets by email over real SMTP, and API token lifecycle."""

from __future__ import annotations

import re
from datetime import timedelta
from email import message_from_bytes

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from loopcrm.app import create_app
from loopcrm.platform.auth import service as auth
from loopcrm.platform.auth.models import ApiToken, User
from loopcrm.platform.auth.schemas import TokenCreate, UserUpdate
from loopcrm.platform.db import utc_now
from loopcrm.platform.errors import NotAuthenticated, RateLimited
from loopcrm.platform.permissions import TokenScope, system_actor

PASSWORD = "correct horse battery"
ORIGIN = auth.RequestOrigin(ip="203.0.113.7", user_agent="pytest")


def test_a_user_signs_in_with_the_right_password(uow_factory, settings, make_person) -> None:
    person = make_person("sales_rep", password=PASSWORD)

    signed_in = auth.sign_in(uow_factory(), settings, person.user.email.upper(), PASSWORD, ORIGIN)
    session = auth.resolve_browser_session(uow_factory(), signed_in.cookie_token, ORIGIN)

    assert session is not None
    assert session.actor.user_id == person.user.id
    assert session.csrf_token == signed_in.csrf_token
    assert session.actor.role_key == "sales_rep"


def test_passwords_are_stored_as_argon2_hashes_and_tokens_as_digests(uow_factory, make_person) -> None:
    person = make_person("sales_rep", password=PASSWORD)

    with uow_factory() as uow:
        password_hash = uow.session.scalar(select(User.password_hash).where(User.id == person.user.id))
        digests = uow.session.scalars(
            select(ApiToken.token_digest).where(ApiToken.user_id == person.user.id)
        ).all()

    assert password_hash is not None and password_hash.startswith("$argon2id$")
    assert PASSWORD not in password_hash
    assert len(digests) == 1 and person.token not in digests[0] and len(digests[0]) == 64


def test_a_wrong_password_and_an_unknown_email_get_the_same_answer(
    uow_factory, settings, make_person
) -> None:
    person = make_person("sales_rep", password=PASSWORD)

    with pytest.raises(NotAuthenticated) as wrong_password:
        auth.sign_in(uow_factory(), settings, person.user.email, "wrong password", ORIGIN)
    with pytest.raises(NotAuthenticated) as unknown_email:
        auth.sign_in(uow_factory(), settings, "nobody@example.com", PASSWORD, ORIGIN)

    assert str(wrong_password.value) == str(unknown_email.value) == "Wrong email or password"


def test_an_account_locks_after_repeated_failures_even_for_the_right_password(
    uow_factory, settings, make_person
) -> None:
    person = make_person("sales_rep", password=PASSWORD)
    for _ in range(settings.login_max_failures):
        with pytest.raises(NotAuthenticated):
            auth.sign_in(uow_factory(), settings, person.user.email, "wrong password", ORIGIN)

    with pytest.raises(RateLimited) as locked:
        auth.sign_in(uow_factory(), settings, person.user.email, PASSWORD, ORIGIN)

    assert 0 < locked.value.retry_after_seconds <= settings.login_lockout_minutes * 60 + 1


def test_a_lock_expires_after_the_lockout_period(uow_factory, settings, make_person) -> None:
    person = make_person("sales_rep", password=PASSWORD)
    for _ in range(settings.login_max_failures):
        with pytest.raises(NotAuthenticated):
            auth.sign_in(uow_factory(), settings, person.user.email, "wrong password", ORIGIN)
    with uow_factory() as uow:  # time passes
        user = uow.session.get(User, person.user.id)
        assert user is not None and user.locked_until is not None
        user.locked_until = utc_now() - timedelta(seconds=1)
        uow.commit()

    signed_in = auth.sign_in(uow_factory(), settings, person.user.email, PASSWORD, ORIGIN)

    assert signed_in.user_id == person.user.id


def test_an_address_that_keeps_failing_is_refused_for_every_account(
    uow_factory, settings, make_person
) -> None:
    strict = settings.model_copy(update={"login_ip_max_failures": 3})
    person = make_person("sales_rep", password=PASSWORD)
    for number in range(3):
        with pytest.raises(NotAuthenticated):
            auth.sign_in(uow_factory(), strict, f"guess{number}@example.com", "guess", ORIGIN)

    with pytest.raises(RateLimited):
        auth.sign_in(uow_factory(), strict, person.user.email, PASSWORD, ORIGIN)
    other_address = auth.RequestOrigin(ip="198.51.100.1")
    assert (
        auth.sign_in(uow_factory(), strict, person.user.email, PASSWORD, other_address).user_id
        == person.user.id
    )


def test_a_deactivated_user_can_neither_sign_in_nor_use_a_token(uow_factory, settings, make_person) -> None:
    person = make_person("sales_rep", password=PASSWORD)
    signed_in = auth.sign_in(uow_factory(), settings, person.user.email, PASSWORD, ORIGIN)

    auth.update_user(uow_factory(), system_actor(), person.user.id, UserUpdate(is_active=False))

    with pytest.raises(NotAuthenticated):
        auth.sign_in(uow_factory(), settings, person.user.email, PASSWORD, ORIGIN)
    with pytest.raises(NotAuthenticated):
        auth.authenticate_token(uow_factory(), person.token, ORIGIN)
    assert auth.resolve_browser_session(uow_factory(), signed_in.cookie_token, ORIGIN) is None


def test_signing_out_ends_the_session(uow_factory, settings, make_person) -> None:
    person = make_person("sales_rep", password=PASSWORD)
    signed_in = auth.sign_in(uow_factory(), settings, person.user.email, PASSWORD, ORIGIN)

    auth.sign_out(uow_factory(), signed_in.cookie_token, ORIGIN)

    assert auth.resolve_browser_session(uow_factory(), signed_in.cookie_token, ORIGIN) is None


def test_a_revoked_or_expired_token_is_refused(client: TestClient, uow_factory, make_person) -> None:
    person = make_person("admin")
    expiring = auth.create_token(
        uow_factory(), person.actor, TokenCreate(name="soon", expires_at=utc_now() + timedelta(seconds=60))
    )
    with uow_factory() as uow:  # time passes
        token = uow.session.get(ApiToken, expiring.id)
        assert token is not None
        token.expires_at = utc_now() - timedelta(seconds=1)
        uow.commit()

    revoked = client.delete(f"/api/v1/tokens/{_token_id(client, person)}", headers=person.headers)
    after_revoking = client.get("/api/v1/me", headers=person.headers)
    expired = client.get("/api/v1/me", headers={"Authorization": f"Bearer {expiring.token}"})

    assert revoked.status_code == 200 and revoked.json()["revoked_at"] is not None
    assert after_revoking.status_code == 401
    assert expired.status_code == 401


def _token_id(client: TestClient, person) -> str:
    tokens = client.get("/api/v1/tokens", headers=person.headers).json()["items"]
    return next(token["id"] for token in tokens if token["name"] == "test")


def test_users_see_and_revoke_only_their_own_tokens(client: TestClient, make_person) -> None:
    rep = make_person("sales_rep")
    colleague = make_person("sales_rep")
    admin = make_person("admin")
    colleague_token = _token_id(client, colleague)

    own = client.get("/api/v1/tokens", headers=rep.headers).json()["items"]
    every = client.get("/api/v1/tokens", headers=admin.headers).json()["items"]
    foreign_revoke = client.delete(f"/api/v1/tokens/{colleague_token}", headers=rep.headers)

    assert {token["user_id"] for token in own} == {rep.user.id}
    assert {token["user_id"] for token in every} == {rep.user.id, colleague.user.id, admin.user.id}
    assert foreign_revoke.status_code == 404


def test_a_created_token_is_shown_once_and_works_with_its_scope(client: TestClient, make_person) -> None:
    rep = make_person("sales_rep")

    created = client.post("/api/v1/tokens", json={"name": "script", "scope": "read"}, headers=rep.headers)
    token = created.json()["token"]
    listed = client.get("/api/v1/tokens", headers=rep.headers).json()["items"]
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    write = client.patch("/api/v1/me", json={"locale": "en"}, headers={"Authorization": f"Bearer {token}"})

    assert created.status_code == 201
    assert token.startswith("lcrm_") and created.json()["prefix"] == token[:12]
    assert all("token" not in item for item in listed)
    assert me.status_code == 200 and me.json()["id"] == rep.user.id
    assert write.status_code == 200  # one's own profile needs no object permission


def test_a_password_reset_email_arrives_over_smtp_and_its_link_works_once(
    settings, engine, make_person, smtp_server, uow_factory
) -> None:
    mail_settings = settings.model_copy(
        update={"smtp_port": smtp_server.port, "base_url": "http://crm.example.com"}
    )
    person = make_person("sales_rep", password=PASSWORD)
    with TestClient(create_app(mail_settings, engine=engine)) as client:
        requested = client.post("/api/v1/password-resets", json={"email": person.user.email})
        unknown = client.post("/api/v1/password-resets", json={"email": "nobody@example.com"})

        assert requested.status_code == unknown.status_code == 202
        assert requested.json() == unknown.json()
        assert len(smtp_server.messages) == 1
        _sender, recipients, raw = smtp_server.messages[0]
        email = message_from_bytes(raw)
        body = email.get_payload(decode=True).decode()  # type: ignore[union-attr]
        assert recipients == [person.user.email]
        link = re.search(r"http://crm\.example\.com/password-reset/(\S+)", body)
        assert link is not None
        token = link.group(1)

        confirmed = client.post(
            "/api/v1/password-resets/confirm", json={"token": token, "new_password": "new secret words"}
        )
        reused = client.post(
            "/api/v1/password-resets/confirm", json={"token": token, "new_password": "another one!"}
        )

    assert confirmed.status_code == 204
    assert reused.status_code == 422
    assert reused.json()["errors"][0]["field"] == "token"
    assert (
        auth.sign_in(uow_factory(), settings, person.user.email, "new secret words", ORIGIN).user_id
        == person.user.id
    )
    with pytest.raises(NotAuthenticated):
        auth.sign_in(uow_factory(), settings, person.user.email, PASSWORD, ORIGIN)


def test_a_password_reset_for_a_rolled_back_request_sends_nothing(
    settings, make_person, smtp_server, uow_factory
) -> None:
    from loopcrm.platform.mail import Mailer

    mail_settings = settings.model_copy(update={"smtp_port": smtp_server.port})
    person = make_person("sales_rep")
    uow = uow_factory()

    with uow:
        uow.after_commit(lambda: Mailer(mail_settings).send_text(person.user.email, "never", "never"))
        uow.rollback()

    auth.request_password_reset(
        uow_factory(), mail_settings, Mailer(mail_settings), person.user.email, ORIGIN
    )

    assert [recipients for _, recipients, _ in smtp_server.messages] == [[person.user.email]]


def test_the_scope_of_a_token_is_part_of_the_actor(uow_factory, make_person) -> None:
    person = make_person("admin", token_scope=TokenScope.READ)

    actor = auth.authenticate_token(uow_factory(), person.token, ORIGIN)

    assert actor.token_scope is TokenScope.READ
    assert actor.ip == ORIGIN.ip
