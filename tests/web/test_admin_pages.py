"""Admin pages: who may open them, forms that keep input and mark fields, and the changes they make."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from loopcrm.platform.auth import service as auth
from loopcrm.platform.auth.models import Role
from loopcrm.platform.auth.schemas import TeamCreate, UserFilter, UserUpdate
from loopcrm.platform.permissions import system_actor

from ..support.web_forms import field_block

ADMIN_PAGES = ("/admin/users", "/admin/teams", "/admin/roles", "/admin/tokens", "/admin/audit", "/admin/jobs")


@pytest.mark.parametrize("path", ADMIN_PAGES)
def test_a_sales_rep_gets_403_on_admin_pages(client: TestClient, rep, sign_in, path):
    sign_in(rep.user.email)

    answer = client.get(path)

    assert answer.status_code == 403
    assert "无权访问" in answer.text


def test_a_sales_rep_sees_no_admin_menu_and_an_admin_sees_all_of_it(client: TestClient, rep, admin, sign_in):
    sign_in(rep.user.email)
    rep_home = client.get("/").text
    client.cookies.clear()
    sign_in(admin.user.email)
    admin_home = client.get("/").text

    assert "系统管理" not in rep_home
    assert not any(f'href="{path}"' in rep_home for path in ADMIN_PAGES)
    assert "系统管理" in admin_home
    assert all(f'href="{path}"' in admin_home for path in ADMIN_PAGES)


def test_an_admin_creates_a_user_and_sees_the_flash_message(
    client: TestClient, admin, sign_in, post_form, uow_factory
):
    sign_in(admin.user.email)

    answer = post_form(
        "/admin/users/new",
        "/admin/users",
        {
            "email": "Zhang.Wei@Example.com",
            "name": "张伟",
            "role": "sales_rep",
            "locale": "zh_CN",
            "timezone": "Asia/Shanghai",
            "phone": "+86 138 0013 8000",
        },
    )

    assert answer.status_code == 303
    created = client.get(answer.headers["location"])
    assert "用户 张伟 已创建。" in created.text
    assert 'value="zhang.wei@example.com"' in created.text
    listed = auth.list_users(uow_factory(), system_actor(), UserFilter(q="张伟"), limit=5, cursor=None)
    assert [(user.email, user.role) for user in listed.items] == [("zhang.wei@example.com", "sales_rep")]


def test_a_duplicate_email_keeps_the_input_and_marks_the_email_field(
    client: TestClient, admin, rep, sign_in, post_form
):
    sign_in(admin.user.email)

    answer = post_form(
        "/admin/users/new",
        "/admin/users",
        {
            "email": rep.user.email,
            "name": "另一个李雷",
            "role": "marketer",
            "phone": "021-5555-0000",
            "locale": "en",
            "timezone": "Europe/Berlin",
        },
    )

    assert answer.status_code == 422
    html = answer.text
    email_field = field_block(html, "email")
    assert 'aria-invalid="true"' in email_field
    assert "已有用户使用该邮箱" in email_field
    assert 'aria-describedby="f-email-error"' in email_field
    assert 'value="另一个李雷"' in html
    assert 'value="021-5555-0000"' in html
    assert re.search(r'<option value="marketer" selected>', html)
    assert re.search(r'<option value="Europe/Berlin" selected>', html)
    assert 'aria-invalid="true"' not in field_block(html, "name")


def test_an_invalid_email_is_marked_by_schema_validation(client: TestClient, admin, sign_in, post_form):
    sign_in(admin.user.email)

    answer = post_form(
        "/admin/users/new", "/admin/users", {"email": "not-an-email", "name": "", "role": "sales_rep"}
    )

    assert answer.status_code == 422
    assert "请输入有效的邮箱地址" in field_block(answer.text, "email")
    assert "此项为必填项" in field_block(answer.text, "name")


def test_a_stale_version_keeps_the_input_and_explains(
    client: TestClient, admin, rep, sign_in, form_token, uow_factory
):
    sign_in(admin.user.email)
    page = client.get(f"/admin/users/{rep.user.id}")
    auth.update_user(uow_factory(), system_actor(), rep.user.id, UserUpdate(name="李雷（已改名）"))

    answer = client.post(
        f"/admin/users/{rep.user.id}",
        data={
            "csrf_token": form_token(page.text),
            "version": str(rep.user.version),
            "name": "我的新名字",
            "email": rep.user.email,
            "role": "sales_rep",
            "locale": "zh_CN",
            "timezone": "Asia/Shanghai",
            "is_active": "on",
        },
        follow_redirects=False,
    )

    assert answer.status_code == 409
    assert "在您编辑期间，其他人修改了这条记录" in answer.text
    assert 'value="我的新名字"' in answer.text
    assert auth.get_user(uow_factory(), system_actor(), rep.user.id).name == "李雷（已改名）"


def test_an_admin_cannot_deactivate_themselves(client: TestClient, admin, sign_in, post_form, uow_factory):
    sign_in(admin.user.email)
    version = auth.get_user(uow_factory(), system_actor(), admin.user.id).version

    answer = post_form(
        f"/admin/users/{admin.user.id}",
        f"/admin/users/{admin.user.id}",
        {
            "version": str(version),
            "name": admin.user.name,
            "email": admin.user.email,
            "role": "admin",
            "locale": "zh_CN",
            "timezone": "Asia/Shanghai",
        },  # the "active" box unticked
    )

    assert answer.status_code == 422
    assert "您不能停用自己的账号" in answer.text


def test_the_user_list_searches_and_pages_with_a_cursor(client: TestClient, admin, make_person, sign_in):
    for number in range(55):
        make_person("sales_rep", name=f"销售员 {number:02d}")
    sign_in(admin.user.email)

    first = client.get("/admin/users?q=销售员")
    next_link = re.search(r'href="(/admin/users\?[^"]*cursor=[^"]+)"', first.text)
    assert next_link
    second = client.get(next_link.group(1).replace("&amp;", "&"))

    names = re.findall(r">(销售员 \d\d)</a>", first.text + second.text)
    assert sorted(names) == [f"销售员 {number:02d}" for number in range(55)]
    assert "管理员 王芳" not in first.text.split("<tbody>", 1)[1]


def test_an_admin_creates_a_team_with_a_manager_and_members(
    client: TestClient, admin, rep, make_person, sign_in, post_form, uow_factory
):
    manager = make_person("sales_manager", name="主管 韩梅梅")
    sign_in(admin.user.email)

    answer = post_form(
        "/admin/teams/new",
        "/admin/teams",
        {
            "name": "华东大区",
            "description": "上海、江苏、浙江",
            "manager_id": manager.user.id,
            "member_ids": [rep.user.id],
        },
    )

    assert answer.status_code == 303
    team_id = answer.headers["location"].rsplit("/", 1)[1]
    team = auth.get_team(uow_factory(), system_actor(), team_id)
    assert (team.name, team.manager_id, team.member_ids) == ("华东大区", manager.user.id, [rep.user.id])
    listed = client.get("/admin/teams").text
    assert "华东大区" in listed and "主管 韩梅梅" in listed


def test_a_team_name_already_taken_is_marked(client: TestClient, admin, sign_in, post_form, uow_factory):
    auth.create_team(uow_factory(), system_actor(), TeamCreate(name="华南大区"))
    sign_in(admin.user.email)

    answer = post_form("/admin/teams/new", "/admin/teams", {"name": "华南大区"})

    assert answer.status_code == 422
    assert "已有同名团队" in field_block(answer.text, "name")


def test_the_grants_matrix_changes_only_the_rows_that_changed(
    client: TestClient, admin, sign_in, post_form, uow_factory
):
    sign_in(admin.user.email)
    role = next(
        role for role in auth.list_roles(uow_factory(), system_actor()) if role.key == "sales_manager"
    )
    page = client.get(f"/admin/roles/{role.id}")
    matrix = {
        name: value
        for name, value in re.findall(
            r'<select name="(grants\.[a-z_]+\.[a-z]+)"[^>]*>.*?<option value="([a-z]+)" selected',
            page.text,
            re.S,
        )
    }
    assert matrix["grants.user.read"] == "team"  # the object type's default for sales managers

    answer = post_form(
        f"/admin/roles/{role.id}",
        f"/admin/roles/{role.id}",
        {
            **matrix,
            "grants.audit_entry.read": "all",
            "name": "Sales manager",
            "description": role.description,
            "clearance": "confidential",
            "version": str(role.version),
        },
    )

    assert answer.status_code == 303
    updated = auth.get_role(uow_factory(), system_actor(), role.id)
    assert updated.grants["audit_entry"]["read"] == "all"
    assert updated.grants["user"]["read"] == "team"
    with uow_factory() as uow:
        stored = uow.session.get(Role, role.id).grants  # type: ignore[union-attr]
    assert set(stored) == {"audit_entry"}  # untouched rows keep following the defaults


def test_the_role_list_translates_built_in_roles(client: TestClient, admin, sign_in):
    sign_in(admin.user.email)

    html = client.get("/admin/roles").text

    for name in ("管理员", "销售主管", "销售代表", "市场营销", "客服专员", "数据分析师", "只读用户"):
        assert f">{name}</a>" in html


def test_the_audit_log_shows_changes_from_old_to_new(client: TestClient, admin, rep, sign_in, uow_factory):
    auth.update_user(uow_factory(), system_actor(), rep.user.id, UserUpdate(name="李雷 Li Lei"))
    sign_in(admin.user.email)

    html = client.get(f"/admin/audit?object_type=user&object_id={rep.user.id}&action=update").text

    assert "<del>销售 李雷</del>" in html
    assert "<ins>李雷 Li Lei</ins>" in html
    assert ">修改<" in html  # the action


def test_the_audit_log_filters_by_dates_in_the_readers_time_zone(client: TestClient, admin, sign_in):
    sign_in(admin.user.email)

    answer = client.get("/admin/audit?since=2000-01-01&until=2000-01-02")
    bad = client.get("/admin/audit?since=yesterday")

    assert "没有符合筛选条件的日志。" in answer.text
    assert bad.status_code == 200
    assert "请输入有效的日期" in bad.text


def test_an_admin_revokes_any_token(client: TestClient, admin, rep, sign_in, post_form, uow_factory):
    sign_in(admin.user.email)
    token = auth.list_tokens(uow_factory(), system_actor(), limit=10, cursor=None, user_id=rep.user.id).items[
        0
    ]

    answer = post_form("/admin/tokens", f"/admin/tokens/{token.id}/revoke", {})

    assert answer.status_code == 303
    assert (
        auth.list_tokens(uow_factory(), system_actor(), limit=10, cursor=None, user_id=rep.user.id)
        .items[0]
        .revoked_at
    )
    assert f"令牌 {token.name} 已吊销。" in client.get("/admin/tokens").text
