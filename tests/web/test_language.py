"""The interface speaks the reader's language, and shows times in the reader's time zone."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi.testclient import TestClient

from loopcrm.platform.auth import service as auth
from loopcrm.platform.i18n import Translator, negotiate_locale
from loopcrm.platform.permissions import system_actor
from loopcrm.platform.web.cookies import LOCALE_COOKIE
from loopcrm.platform.web.templating import RenderLocale, format_datetime, format_money, rendering_for


def test_the_language_switch_changes_the_language_and_the_profile(
    client: TestClient, admin, sign_in, form_token, uow_factory
):
    sign_in(admin.user.email)
    home = client.get("/admin/users")
    assert '<html lang="zh-CN">' in home.text and ">用户</h1>" in home.text

    answer = client.post(
        "/language",
        data={"locale": "en", "next": "/admin/users", "csrf_token": form_token(home.text)},
        follow_redirects=False,
    )

    assert answer.status_code == 303
    assert answer.headers["location"] == "/admin/users"
    english = client.get("/admin/users")
    assert '<html lang="en">' in english.text and ">Users</h1>" in english.text
    assert auth.get_user(uow_factory(), system_actor(), admin.user.id).locale == "en"

    client.post("/language", data={"locale": "zh_CN", "next": "/", "csrf_token": form_token(english.text)})
    assert "欢迎使用 LoopCRM" in client.get("/").text


def test_anonymous_pages_follow_the_browser_and_then_the_switch(client: TestClient, form_token):
    english_browser = client.get("/login", headers={"Accept-Language": "en-US,en;q=0.9,zh;q=0.5"})
    chinese_browser = client.get("/login", headers={"Accept-Language": "zh-TW,zh;q=0.9"})
    assert "Sign in to LoopCRM" in english_browser.text
    assert "登录 LoopCRM" in chinese_browser.text

    client.post(
        "/language", data={"locale": "en", "next": "/login", "csrf_token": form_token(chinese_browser.text)}
    )

    assert client.cookies[LOCALE_COOKIE] == "en"
    assert "Sign in to LoopCRM" in client.get("/login", headers={"Accept-Language": "zh-CN"}).text


def test_the_language_switch_refuses_a_forged_request(client: TestClient, admin, sign_in):
    sign_in(admin.user.email)

    answer = client.post("/language", data={"locale": "en", "next": "/"}, follow_redirects=False)

    assert answer.status_code == 403


def test_accept_language_is_read_by_quality():
    assert negotiate_locale("fr-FR, en;q=0.8, zh-CN;q=0.9") == "zh_CN"
    assert negotiate_locale("en-GB") == "en"
    assert negotiate_locale("fr, de;q=0.5") is None
    assert negotiate_locale("zh;q=0, en") == "en"
    assert negotiate_locale("garbage;;;,*") is None


def test_times_are_shown_in_the_readers_time_zone_and_locale():
    moment = datetime(2026, 11, 23, 16, 30, tzinfo=UTC)

    with rendering_for(RenderLocale(Translator("zh_CN"), "Asia/Shanghai")):
        shanghai = format_datetime(moment)
        money = format_money(1234.5, "CNY")
    with rendering_for(RenderLocale(Translator("en"), "America/New_York")):
        new_york = format_datetime(moment)

    assert shanghai == "2026年11月24日 00:30"
    assert new_york == "Nov 23, 2026, 11:30\u202fAM"
    assert money == "¥1,234.50"


def test_a_profiles_time_zone_changes_the_times_on_pages(client: TestClient, admin, sign_in, uow_factory):
    from loopcrm.platform.auth.schemas import ProfileUpdate

    auth.update_profile(uow_factory(), admin.actor, ProfileUpdate(timezone="UTC", locale="en"))
    sign_in(admin.user.email)
    login_at = auth.get_user(uow_factory(), system_actor(), admin.user.id).last_login_at
    assert login_at is not None

    html = client.get("/profile").text

    assert f'datetime="{login_at.astimezone(UTC).isoformat(timespec="seconds")}"' in html


def test_domain_messages_are_translated_before_their_placeholders_are_filled():
    chinese, english = Translator("zh_CN"), Translator("en")

    assert (
        chinese.message("You may not {action} {object_type}", {"action": "read", "object_type": "user"})
        == "您无权查看用户"
    )
    assert (
        english.message("You may not {action} {object_type}", {"action": "read", "object_type": "user"})
        == "You may not read Users"
    )
    assert chinese.message("Unknown role {role}", {"role": "ceo"}) == "未知角色 ceo"
    assert chinese.message("A message nobody translated") == "A message nobody translated"
