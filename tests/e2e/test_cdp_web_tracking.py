"""Web tracking end to end in a real browser: a website on another origin pastes the snippet its
admin copied from the new source's page, analytics.js loads from LoopCRM itself (the script, its
settings and a lazy-loaded chunk), and the page's page, identify and track calls land in the
event log — while not one request of the browser leaves the loopback address."""

from __future__ import annotations

import http.server
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, Request, Route, expect
from tests.conftest import Person

pytestmark = pytest.mark.browser

PASSWORD = "correct horse battery"
SOURCE_PAGE = re.compile(r"/cdp/sources/[0-9a-f-]{36}$")
LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "[::1]", "::1"}
# What the shop's own page does once the snippet is in its head.
SHOP_SCRIPT = """<script>
  analytics.identify("shopper-42", {email: "li.lei@example.com", name: "李雷"});
  analytics.track("Order Completed", {order_id: "SO-1001", revenue: 199.5, currency: "CNY"});
</script>"""


class _Site:
    """A website on its own loopback port: a different origin from LoopCRM's."""

    def __init__(self) -> None:
        self.page_html = ""
        site = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body = site.page_html.encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.origin = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, name="shop-site", daemon=True)

    def page(self, snippet: str) -> None:
        self.page_html = (
            "<!doctype html><html><head><meta charset='utf-8'><title>Shop</title>"
            f"{snippet}</head><body><h1>Shop</h1>{SHOP_SCRIPT}</body></html>"
        )


@pytest.fixture
def site() -> Iterator[_Site]:
    shop = _Site()
    shop.thread.start()
    yield shop
    shop.server.shutdown()
    shop.server.server_close()


def _is_loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    if host in LOOPBACK_HOSTS:
        return True
    try:
        return socket.inet_aton(host)[0] == 127
    except OSError:
        return False


def _events(shop: Page, live_server: str, admin: Person, source_id: str, count: int) -> list[dict[str, Any]]:
    """The source's events once ``count`` have arrived (the browser sends them asynchronously).

    Waits through the page, not ``time.sleep``: Playwright's sync API runs the route guard only
    while the test calls into it, so a plain sleep would hold the browser's requests back."""
    deadline = time.monotonic() + 20
    while True:
        answer = httpx.get(
            f"{live_server}/api/v1/cdp/events",
            params={"source_id": source_id, "limit": 50},
            headers=admin.headers,
            timeout=10,
        )
        assert answer.status_code == 200, answer.text
        items: list[dict[str, Any]] = answer.json()["items"]
        if len(items) >= count or time.monotonic() > deadline:
            return sorted(items, key=lambda item: item["sequence"])
        shop.wait_for_timeout(200)


def test_a_website_loads_the_tracker_from_loopcrm_and_its_events_land_in_the_log(
    browser: Browser, page: Page, live_server: str, site: _Site, make_person: Callable[..., Person]
) -> None:
    admin = make_person("admin", name="管理员 王芳", email="admin@example.com", password=PASSWORD)

    # Given an admin creates a website source for the shop's origin and copies the snippet shown
    page.goto("/login")
    page.get_by_label("邮箱").fill("admin@example.com")
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.goto("/cdp/sources/new")
    page.get_by_label("名称").fill("官网")
    page.get_by_label("渠道").select_option(label="官网")
    page.get_by_label("允许的来源").fill(site.origin)
    page.get_by_role("button", name="创建事件源").click()
    expect(page.get_by_role("heading", name="网站埋点")).to_be_visible()
    expect(page).to_have_url(SOURCE_PAGE)
    write_key = page.locator("#write-key").inner_text()
    snippet = page.locator("#web-snippet").inner_text()
    source_id = page.url.rsplit("/", 1)[1]
    assert f'analytics._writeKey="{write_key}"' in snippet
    assert f'analytics._cdn="{live_server}"' in snippet
    assert "segment.com" not in snippet and "segment.io" not in snippet

    # And the shop pastes it into its page
    site.page(snippet)

    # When a visitor opens the shop (a campaign link: analytics.js lazy-loads its query-string chunk)
    visitor = browser.new_context(locale="zh-CN")
    requests: list[str] = []
    left_loopback: list[str] = []
    console_errors: list[str] = []

    def guard(route: Route, request: Request) -> None:
        if _is_loopback(request.url):
            route.continue_()
        else:
            left_loopback.append(request.url)
            route.abort()

    def keep_error(message: ConsoleMessage) -> None:
        if message.type == "error":
            console_errors.append(message.text)

    visitor.route("**/*", guard)
    visitor.on("request", lambda request: requests.append(request.url))
    try:
        shop = visitor.new_page()
        shop.on("console", keep_error)
        shop.goto(f"{site.origin}/?ajs_event=Coupon%20Copied&ajs_prop_coupon=SPRING")
        expect(shop.get_by_role("heading", name="Shop")).to_be_visible()

        # Then the page, the campaign's event, the identify and the track call are in the log
        events = _events(shop, live_server, admin, source_id, 4)
        shop.wait_for_timeout(500)  # anything the tracker would send after its events
    finally:
        visitor.close()

    by_type: dict[str, list[dict[str, Any]]] = {}
    for event in events:
        by_type.setdefault(event["type"], []).append(event)
    assert sorted((event["type"], event["event"]) for event in events) == [
        ("identify", None),
        ("page", None),
        ("track", "Coupon Copied"),
        ("track", "Order Completed"),
    ]
    identify = by_type["identify"][0]
    assert identify["user_id"] == "shopper-42"
    assert identify["properties"] == {"email": "li.lei@example.com", "name": "李雷"}
    order = next(event for event in by_type["track"] if event["event"] == "Order Completed")
    assert order["properties"] == {"order_id": "SO-1001", "revenue": 199.5, "currency": "CNY"}
    assert order["user_id"] == "shopper-42"
    coupon = next(event for event in by_type["track"] if event["event"] == "Coupon Copied")
    assert coupon["properties"] == {"coupon": "SPRING"}
    # One browser, one anonymous id on every event; the page's address in the context
    anonymous_ids = {event["anonymous_id"] for event in events}
    assert len(anonymous_ids) == 1 and None not in anonymous_ids
    page_event = by_type["page"][0]
    assert page_event["properties"]["url"].startswith(f"{site.origin}/")
    assert page_event["context"]["library"]["name"] == "analytics.js"

    # And everything came from LoopCRM or the shop: the script, the settings and the chunk
    assert left_loopback == []
    assert console_errors == []
    paths = [urlsplit(url).path for url in requests if url.startswith(live_server)]
    assert f"/analytics.js/v1/{write_key}/analytics.min.js" in paths
    assert f"/v1/projects/{write_key}/settings" in paths
    assert any(path.startswith("/analytics-next/bundles/queryString.bundle.") for path in paths), paths
    assert {urlsplit(url).netloc for url in requests} == {
        urlsplit(live_server).netloc,
        urlsplit(site.origin).netloc,
    }

    # And the source page, reloaded, shows the snippet with a placeholder instead of the key
    page.reload()
    reloaded = page.locator("#web-snippet").inner_text()
    assert write_key not in reloaded
    assert 'analytics._writeKey="YOUR_WRITE_KEY"' in reloaded
