"""One's own account: profile, password, personal API tokens, and the emailed password reset."""

from __future__ import annotations

import re
from email import message_from_bytes

from fastapi.testclient import TestClient

from loopcrm.app import create_app
from loopcrm.platform.auth import service as auth
from loopcrm.platform.permissions import system_actor


def test_the_profile_saves_name_language_and_time_zone(
    client: TestClient, rep, sign_in, post_form, uow_factory
):
    sign_in(rep.user.email)

    answer = post_form("/profile", "/profile", {"name": "李雷 Lei", "locale": "en", "timezone": "Asia/Tokyo"})

    assert answer.status_code == 303
    saved = auth.get_user(uow_factory(), system_actor(), rep.user.id)
    assert (saved.name, saved.locale, saved.timezone) == ("李雷 Lei", "en", "Asia/Tokyo")
    assert "Your profile has been saved." in client.get("/profile").text


def test_an_unknown_time_zone_is_marked_and_the_input_kept(client: TestClient, rep, sign_in, post_form):
    sign_in(rep.user.email)

    answer = post_form(
        "/profile", "/profile", {"name": "李雷 Lei", "locale": "zh_CN", "timezone": "Mars/Olympus"}
    )

    assert answer.status_code == 422
    assert "请选择有效的时区" in answer.text
    assert 'value="李雷 Lei"' in answer.text


def test_changing_the_password_needs_the_current_one(client: TestClient, rep, sign_in, post_form):
    sign_in(rep.user.email)

    wrong = post_form(
        "/profile",
        "/profile/password",
        {
            "current_password": "guess",
            "new_password": "a new long passphrase",
            "new_password_again": "a new long passphrase",
        },
    )
    mismatch = post_form(
        "/profile",
        "/profile/password",
        {
            "current_password": "correct horse battery",
            "new_password": "a new long passphrase",
            "new_password_again": "another one",
        },
    )
    right = post_form(
        "/profile",
        "/profile/password",
        {
            "current_password": "correct horse battery",
            "new_password": "a new long passphrase",
            "new_password_again": "a new long passphrase",
        },
    )

    assert wrong.status_code == 422 and "当前密码不正确" in wrong.text
    assert mismatch.status_code == 422 and "两次输入的密码不一致" in mismatch.text
    assert right.status_code == 303
    client.cookies.clear()
    assert sign_in(rep.user.email, "a new long passphrase").status_code == 303


def test_a_new_token_is_shown_once_and_works_with_the_api(client: TestClient, rep, sign_in, post_form):
    sign_in(rep.user.email)

    created = post_form(
        "/tokens", "/tokens", {"name": "ERP 同步", "scope": "read", "expires_on": "2099-12-31"}
    )

    assert created.status_code == 201
    secret = re.search(r'<code class="token-secret" id="token-secret">([^<]+)</code>', created.text).group(1)  # type: ignore[union-attr]
    assert (
        client.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"}).json()["email"]
        == rep.user.email
    )
    assert secret not in client.get("/tokens").text


def test_a_token_can_be_revoked_from_the_tokens_page(
    client: TestClient, rep, sign_in, post_form, uow_factory
):
    sign_in(rep.user.email)
    token = auth.list_tokens(uow_factory(), system_actor(), limit=5, cursor=None, user_id=rep.user.id).items[
        0
    ]

    answer = post_form("/tokens", f"/tokens/{token.id}/revoke", {})

    assert answer.status_code == 303
    assert client.get("/api/v1/me", headers=rep.headers).status_code == 401
    assert f"令牌 {token.name} 已吊销。" in client.get("/tokens").text


def test_a_token_name_is_required(client: TestClient, rep, sign_in, post_form):
    sign_in(rep.user.email)

    answer = post_form("/tokens", "/tokens", {"name": "", "scope": "read_write", "expires_on": "not a day"})

    assert answer.status_code == 422
    assert "请输入有效的日期" in answer.text


def test_a_password_reset_goes_by_email_and_its_link_sets_a_new_password(
    settings, engine, rep, smtp_server, form_token
):
    mail_settings = settings.model_copy(
        update={"smtp_port": smtp_server.port, "base_url": "http://crm.example.com"}
    )
    with TestClient(create_app(mail_settings, engine=engine)) as browser:
        page = browser.get("/password-reset")
        known = browser.post(
            "/password-reset", data={"email": rep.user.email, "csrf_token": form_token(page.text)}
        )
        unknown = browser.post(
            "/password-reset", data={"email": "nobody@example.com", "csrf_token": form_token(page.text)}
        )
        assert known.status_code == unknown.status_code == 200
        assert "如果有账号使用该邮箱" in known.text and "如果有账号使用该邮箱" in unknown.text
        assert len(smtp_server.messages) == 1

        body = message_from_bytes(smtp_server.messages[0][2]).get_payload(decode=True).decode()  # type: ignore[union-attr]
        link = re.search(r"http://crm\.example\.com(/password-reset/\S+)", body).group(1)  # type: ignore[union-attr]
        choose = browser.get(link)
        mismatch = browser.post(
            link,
            data={
                "new_password": "a brand new phrase",
                "new_password_again": "other",
                "csrf_token": form_token(choose.text),
            },
        )
        done = browser.post(
            link,
            data={
                "new_password": "a brand new phrase",
                "new_password_again": "a brand new phrase",
                "csrf_token": form_token(choose.text),
            },
            follow_redirects=False,
        )
        after = browser.get("/login")
        again = browser.post(
            link,
            data={
                "new_password": "a brand new phrase",
                "new_password_again": "a brand new phrase",
                "csrf_token": form_token(choose.text),
            },
        )

        assert mismatch.status_code == 422 and "两次输入的密码不一致" in mismatch.text
        assert done.status_code == 303 and done.headers["location"] == "/login"
        assert "密码已修改，请使用新密码登录。" in after.text
        assert again.status_code == 422 and "重置链接无效或已过期" in again.text
        login = browser.get("/login")
        signed_in = browser.post(
            "/login",
            data={
                "email": rep.user.email,
                "password": "a brand new phrase",
                "csrf_token": form_token(login.text),
            },
            follow_redirects=False,
        )
        assert signed_in.status_code == 303
