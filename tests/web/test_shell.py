"""The layout around every page: navigation of every module, honest placeholders, local assets only."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient

from loopcrm.modules import PRODUCT_MODULES
from loopcrm.platform.i18n import Translator

CHINESE = Translator("zh_CN")
SIGNED_IN_PAGES = (
    "/",
    "/profile",
    "/tokens",
    "/admin",
    "/admin/users",
    "/admin/users/new",
    "/admin/teams",
    "/admin/teams/new",
    "/admin/roles",
    "/admin/roles/new",
    "/admin/tokens",
    "/admin/audit",
    "/admin/jobs",
    *(module.path for module in PRODUCT_MODULES),
)
PUBLIC_PAGES = ("/login", "/password-reset", "/password-reset/some-token-0123456789")


def test_the_catalogue_holds_the_twelve_modules_of_the_product_in_order():
    assert [module.number for module in PRODUCT_MODULES] == list(range(1, 13))
    assert [module.key for module in PRODUCT_MODULES] == [
        "customers",
        "activities",
        "sales",
        "team",
        "service",
        "cdp",
        "segments",
        "journeys",
        "analytics",
        "loyalty",
        "platform",
        "privacy",
    ]


def test_the_navigation_lists_every_module_in_order(client: TestClient, rep, sign_in):
    sign_in(rep.user.email)

    html = client.get("/").text
    navigation = html.split('id="sidebar"', 1)[1].split("</nav>", 1)[0]

    links = re.findall(r'<a href="(/[a-z]*)" class="nav-link', navigation)
    assert links == ["/", *(module.path for module in PRODUCT_MODULES)]
    for module in PRODUCT_MODULES:
        assert CHINESE.gettext(module.label) in navigation


@pytest.mark.parametrize(
    "module", [module for module in PRODUCT_MODULES if not module.is_available], ids=lambda m: m.key
)
def test_a_module_not_built_yet_says_so_with_its_description(client: TestClient, rep, sign_in, module):
    sign_in(rep.user.email)

    answer = client.get(module.path)

    assert answer.status_code == 200
    assert "此模块暂未开放" in answer.text
    assert CHINESE.gettext(module.description) in answer.text
    assert f'<a href="{module.path}" class="nav-link is-unavailable" aria-current="page">' in answer.text
    assert "<table" not in answer.text  # no made-up records


def test_a_module_page_links_only_to_pages_the_reader_may_open(client: TestClient, rep, admin, sign_in):
    sign_in(rep.user.email)
    rep_view = client.get("/team").text
    client.cookies.clear()
    sign_in(admin.user.email)
    admin_view = client.get("/team").text

    assert 'href="/admin/users"' not in rep_view.split('id="main"', 1)[1]
    assert 'href="/admin/users"' in admin_view.split('id="main"', 1)[1]


def test_the_home_page_states_each_modules_status_without_numbers(client: TestClient, rep, sign_in):
    sign_in(rep.user.email)

    html = client.get("/").text

    assert html.count("暂未开放") == sum(1 for module in PRODUCT_MODULES if not module.is_available)
    main = html.split('id="main"', 1)[1]
    assert not re.search(r">\s*\d[\d,.]*\s*<", main)  # no figures anywhere on the page


def _external_references(html: str, own_host: str) -> list[str]:
    references = re.findall(r'\b(?:src|href|action|formaction|content)\s*=\s*["\']([^"\']+)', html)
    references += re.findall(r"url\(([^)]+)\)", html)
    found = []
    for reference in references:
        parts = urlsplit(reference.strip("'\" "))
        if reference.startswith("//") or (parts.scheme in ("http", "https") and parts.netloc != own_host):
            found.append(reference)
    return found


def test_no_page_loads_or_links_anything_from_another_host(client: TestClient, admin, sign_in):
    pages = {path: client.get(path).text for path in PUBLIC_PAGES}
    sign_in(admin.user.email)
    pages.update({path: client.get(path).text for path in SIGNED_IN_PAGES})

    for path, html in pages.items():
        assert _external_references(html, "testserver") == [], path
        assert "cdn" not in html.lower(), path


def test_static_assets_are_served_locally_and_reference_nothing_outside(client: TestClient):
    for path in (
        "/static/css/loopcrm.css",
        "/static/js/loopcrm.js",
        "/static/img/icons.svg",
        "/static/img/favicon.svg",
    ):
        answer = client.get(path)
        assert answer.status_code == 200, path
        assert not re.search(r"https?://(?!www\.w3\.org/2000/svg)", answer.text), path
    assert client.get("/static/vendor/htmx.min.js").status_code == 200


def test_pages_carry_a_strict_content_security_policy(client: TestClient, admin, sign_in):
    sign_in(admin.user.email)

    headers = client.get("/").headers

    assert "default-src 'self'" in headers["content-security-policy"]
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert headers["x-frame-options"] == "DENY"
    assert headers["x-content-type-options"] == "nosniff"


def test_the_current_page_is_marked_for_assistive_technology(client: TestClient, admin, sign_in):
    sign_in(admin.user.email)

    html = client.get("/admin/roles").text

    assert '<a href="/admin/roles" class="nav-link" aria-current="page">' in html
    assert html.count('aria-current="page"') == 1


def test_a_missing_page_is_a_translated_404_page_for_browsers_and_a_problem_for_the_api(
    client: TestClient, admin, sign_in
):
    sign_in(admin.user.email)

    page = client.get("/no/such/page", headers={"Accept": "text/html"})
    record = client.get("/admin/users/no-such-user")
    api = client.get("/api/v1/no/such/thing", headers={"Accept": "text/html"})

    assert page.status_code == 404 and "页面不存在" in page.text
    assert record.status_code == 404 and "找不到该用户" in record.text
    assert api.status_code == 404 and api.headers["content-type"] == "application/problem+json"


def test_the_api_still_answers_domain_errors_with_problem_documents(client: TestClient, rep):
    answer = client.get("/api/v1/users", headers=rep.headers)

    assert answer.status_code == 403
    assert answer.headers["content-type"] == "application/problem+json"
