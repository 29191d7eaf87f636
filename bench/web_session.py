"""Signing in through the login form, as the page benchmarks' readers do (FastAPI's TestClient:
the session cookie and CSRF token a browser would get)."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient


def sign_in(client: TestClient, email: str, password: str) -> None:
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    if token is None:
        raise SystemExit("the login page has no CSRF token")
    answer = client.post(
        "/login",
        data={"email": email, "password": password, "csrf_token": token.group(1), "next": ""},
        follow_redirects=False,
    )
    if answer.status_code != 303:
        raise SystemExit(f"signing in as {email} failed: {answer.status_code}")
