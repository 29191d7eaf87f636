"""Fixtures of the web UI's HTTP tests: people who sign in, and reading forms out of pages."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from httpx import Response

PASSWORD = "correct horse battery"
_CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_token_of(html: str) -> str:
    """The CSRF token of the first form on a page."""
    found = _CSRF_FIELD.search(html)
    assert found, "the page has no form with a CSRF token"
    return found.group(1)


@pytest.fixture
def form_token() -> Callable[[str], str]:
    return csrf_token_of


@pytest.fixture
def sign_in(client: TestClient) -> Callable[..., Response]:
    """Signs ``email`` in through the login form, as a browser does; returns the login answer."""

    def sign_in_as(email: str, password: str = PASSWORD, *, next_path: str = "") -> Response:
        page = client.get("/login")
        data = {
            "email": email,
            "password": password,
            "csrf_token": csrf_token_of(page.text),
            "next": next_path,
        }
        return client.post("/login", data=data, follow_redirects=False)

    return sign_in_as


@pytest.fixture
def post_form(client: TestClient) -> Callable[..., Response]:
    """Opens ``page_path``, then submits ``data`` to ``action`` with the page's CSRF token."""

    def post(page_path: str, action: str, data: dict[str, object]) -> Response:
        page = client.get(page_path)
        assert page.status_code == 200, page.text
        return client.post(
            action, data={**data, "csrf_token": csrf_token_of(page.text)}, follow_redirects=False
        )

    return post


@pytest.fixture
def admin(make_person):  # type: ignore[no-untyped-def]
    return make_person("admin", name="管理员 王芳", email="admin@example.com", password=PASSWORD)


@pytest.fixture
def rep(make_person):  # type: ignore[no-untyped-def]
    return make_person("sales_rep", name="销售 李雷", email="rep@example.com", password=PASSWORD)
