"""Signing in and out through the browser: cookies, generic errors, lockout, redirects, CSRF."""

from __future__ import annotations

from fastapi.testclient import TestClient
from itsdangerous import URLSafeTimedSerializer

from loopcrm.platform.web.cookies import ANONYMOUS_CSRF_COOKIE, SESSION_COOKIE

from ..support.web_forms import PASSWORD, submit_login


def test_signing_in_sets_an_http_only_session_cookie_and_goes_to_the_next_page(
    client: TestClient, admin, sign_in
):
    answer = sign_in(admin.user.email, next_path="/admin/users?q=wang")

    assert answer.status_code == 303
    assert answer.headers["location"] == "/admin/users?q=wang"
    session_cookie = next(
        value for value in answer.headers.get_list("set-cookie") if value.startswith(SESSION_COOKIE)
    )
    assert "HttpOnly" in session_cookie
    assert "SameSite=lax" in session_cookie
    assert "Path=/" in session_cookie
    assert "Max-Age=" in session_cookie and "expires=" in session_cookie
    assert "Secure" not in session_cookie  # settings.secure_cookies is off in tests
    home = client.get("/")
    assert home.status_code == 200
    assert admin.user.email in home.text


def test_the_session_cookie_is_secure_when_the_settings_ask_for_it(settings, engine, admin):
    from loopcrm.app import create_app

    secure_app = create_app(settings.model_copy(update={"secure_cookies": True}), engine=engine)
    with TestClient(secure_app, base_url="https://testserver") as secure_client:
        answer = submit_login(secure_client, admin.user.email)
    cookies = answer.headers.get_list("set-cookie")
    assert answer.status_code == 303
    assert all("Secure" in cookie for cookie in cookies)


def test_a_wrong_password_and_an_unknown_email_get_the_same_message(client: TestClient, admin):
    wrong_password = submit_login(client, admin.user.email, "not the password")
    unknown_email = submit_login(client, "nobody@example.com", "not the password")

    for answer in (wrong_password, unknown_email):
        assert answer.status_code == 401
        assert "邮箱或密码错误" in answer.text
        assert SESSION_COOKIE not in answer.headers.get("set-cookie", "")
    assert f'value="{admin.user.email}"' in wrong_password.text  # the email stays in the form
    assert "not the password" not in wrong_password.text  # the password never comes back


def test_a_locked_account_is_told_when_to_try_again_with_429(client: TestClient, admin, settings):
    for _ in range(settings.login_max_failures):
        submit_login(client, admin.user.email, "not the password")

    answer = submit_login(client, admin.user.email)

    assert answer.status_code == 429
    assert int(answer.headers["retry-after"]) > 0
    assert "登录失败次数过多，该账号已被锁定" in answer.text
    assert f"请 {settings.login_lockout_minutes} 分钟后再试。" in answer.text


def test_the_login_form_without_its_csrf_token_is_refused(client: TestClient, admin):
    client.get("/login")  # the browser has the double-submit cookie, but the form lacks the token

    answer = client.post(
        "/login",
        data={"email": admin.user.email, "password": PASSWORD},
        follow_redirects=False,
    )

    assert answer.status_code == 403
    assert "表单已失效" in answer.text
    assert SESSION_COOKIE not in answer.headers.get("set-cookie", "")


def test_a_csrf_token_from_another_browser_is_refused(
    client: TestClient, settings, engine, admin, form_token
):
    from loopcrm.app import create_app

    with TestClient(create_app(settings, engine=engine)) as attacker:
        stolen = form_token(attacker.get("/login").text)  # valid, but signed into the attacker's cookie
    client.get("/login")

    answer = client.post(
        "/login",
        data={"email": admin.user.email, "password": PASSWORD, "csrf_token": stolen},
        follow_redirects=False,
    )

    assert answer.status_code == 403


def test_the_login_page_sets_the_signed_double_submit_cookie(client: TestClient, settings, form_token):
    page = client.get("/login")

    cookie = next(
        value for value in page.headers.get_list("set-cookie") if value.startswith(ANONYMOUS_CSRF_COOKIE)
    )
    assert "HttpOnly" in cookie
    signer = URLSafeTimedSerializer(settings.resolved_secret_key(), salt="loopcrm.web.csrf")
    assert signer.loads(client.cookies[ANONYMOUS_CSRF_COOKIE]) == form_token(page.text)


def test_next_never_leads_to_another_site(client: TestClient, admin, sign_in):
    for outside in (
        "https://evil.example.com/",
        "//evil.example.com/x",
        "/\\evil.example.com",
        "javascript:alert(1)",
    ):
        client.cookies.clear()
        answer = sign_in(admin.user.email, next_path=outside)
        assert answer.status_code == 303
        assert answer.headers["location"] == "/", outside


def test_pages_send_visitors_who_are_not_signed_in_to_the_login_page(client: TestClient):
    answer = client.get("/admin/users?q=wang", follow_redirects=False)

    assert answer.status_code == 303
    assert answer.headers["location"] == "/login?next=/admin/users%3Fq%3Dwang"


def test_htmx_requests_of_visitors_who_are_not_signed_in_get_hx_redirect(client: TestClient):
    answer = client.get("/admin/users", headers={"HX-Request": "true"}, follow_redirects=False)

    assert answer.status_code == 200
    assert answer.headers["hx-redirect"] == "/login?next=/admin/users"


def test_signing_out_ends_the_session_and_says_so(client: TestClient, admin, sign_in, form_token):
    sign_in(admin.user.email)
    token = form_token(client.get("/").text)
    old_cookie = client.cookies[SESSION_COOKIE]

    answer = client.post("/logout", data={"csrf_token": token}, follow_redirects=False)

    assert answer.status_code == 303
    assert answer.headers["location"] == "/login"
    login_page = client.get("/login")
    assert "您已退出登录。" in login_page.text
    client.cookies.set(SESSION_COOKIE, old_cookie)  # the old cookie no longer opens anything
    assert client.get("/", follow_redirects=False).headers["location"] == "/login"


def test_a_signed_in_visitor_of_the_login_page_goes_home(client: TestClient, admin, sign_in):
    sign_in(admin.user.email)

    answer = client.get("/login", follow_redirects=False)

    assert answer.status_code == 303
    assert answer.headers["location"] == "/"
