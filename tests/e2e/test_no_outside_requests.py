"""Nothing leaves the server: loading each page of the app makes no request to another host
(a ``:material/...:`` page icon used to make the browser fetch the favicon from
fonts.gstatic.com on every page load)."""

from __future__ import annotations

from urllib.parse import urlparse

import pytest

pytestmark = pytest.mark.e2e

LOCAL = {"127.0.0.1", "localhost", ""}


def test_pages_request_nothing_from_outside_hosts(browser, app_url):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(180_000)
    outside: list[str] = []

    def seen(request) -> None:
        url = urlparse(request.url)
        if url.scheme not in ("data", "blob") and url.hostname not in LOCAL:
            outside.append(request.url)

    page.on("request", seen)
    try:
        for path in ("/", "/data", "/arithmetic", "/compare", "/recommendations"):
            page.goto(app_url + path)
            page.wait_for_selector("[data-testid='stSidebarNav']")
            # the page's script run replaces Streamlit's default favicon with the app's page
            # icon: wait for that, then for the network to settle
            page.wait_for_function(
                "() => [...document.querySelectorAll('link[rel~=icon]')].some(l => !l.href.endsWith('/favicon.png'))"
            )
            page.wait_for_load_state("networkidle")
        assert not outside, f"requests to outside hosts: {sorted(set(outside))}"
        icon = page.evaluate("() => [...document.querySelectorAll('link[rel~=icon]')].map(l => l.href)")
        assert icon and all(urlparse(h).hostname in LOCAL for h in icon if not h.startswith("data:")), icon
    finally:
        context.close()
