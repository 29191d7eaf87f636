"""Driving the web UI's forms over HTTP as a browser does: the CSRF token a page carries, the
login form, posting a form from the page that shows it, and reading one field of a form back.

One copy for every test folder, so that a change to the login form or the CSRF field is mended
once. The fixtures of the top-level ``tests/conftest.py`` (``sign_in``, ``post_form``,
``form_token``) wrap these functions around the test's client.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from fastapi.testclient import TestClient
from httpx import Response

PASSWORD = "correct horse battery"
"""The password of every person a web test signs in as (``make_person(..., password=PASSWORD)``)."""

_CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')

FormData = Mapping[str, object] | Sequence[tuple[str, object]]
"""A form's fields: a mapping (a list value sends the field once per item) or ``(name, value)`` pairs."""


def csrf_token_of(html: str) -> str:
    """The CSRF token of the first form on a page."""
    found = _CSRF_FIELD.search(html)
    assert found, "the page has no form with a CSRF token"
    return found.group(1)


def field_block(html: str, name: str) -> str:
    """The markup of the form field wrapping the input ``name`` (its ``id`` is ``f-<name>``), up to
    the next field: where its value, error message and ``aria-invalid`` are looked for."""
    start = html.index(f'id="f-{name}"')
    begin = html.rfind('<div class="field', 0, start)
    end = html.find('<div class="field', start)
    return html[begin : end if end != -1 else None]


def submit_login(client: TestClient, email: str, password: str = PASSWORD, next_path: str = "") -> Response:
    """Opens the login page and submits its form; returns the answer, whatever it is.

    For tests of signing in itself (wrong passwords, lockout, ``next``); a test that only needs to
    be signed in uses ``sign_in``, which fails at once when the login does not succeed.
    """
    page = client.get("/login")
    data = {"email": email, "password": password, "csrf_token": csrf_token_of(page.text), "next": next_path}
    return client.post("/login", data=data, follow_redirects=False)


def sign_in(client: TestClient, email: str, password: str = PASSWORD, next_path: str = "") -> Response:
    """Signs ``email`` in through the login form and asserts it worked (303); returns the answer."""
    answer = submit_login(client, email, password, next_path)
    assert answer.status_code == 303, answer.text
    return answer


def post_form(client: TestClient, page_path: str, action: str, data: FormData) -> Response:
    """Opens ``page_path`` for its CSRF token, then posts ``data`` to ``action`` without following
    a redirect; the page's token replaces any ``csrf_token`` in ``data``."""
    page = client.get(page_path)
    assert page.status_code == 200, page.text
    # httpx sends a list value once per item, so the values of a name given twice keep their order.
    form: dict[str, list[object]] = {}
    for name, value in data.items() if isinstance(data, Mapping) else data:
        form.setdefault(name, []).extend(value if isinstance(value, list | tuple) else [value])
    form["csrf_token"] = [csrf_token_of(page.text)]
    return client.post(action, data=form, follow_redirects=False)
