"""A real browser (Playwright driving Debian's Chromium): sign up, connect, approve, see projects, disconnect; deny."""
from __future__ import annotations

import os
import secrets
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser as PlaywrightBrowser
from playwright.sync_api import Page, expect, sync_playwright

from tests.app.conftest import CAPTURED

CHROMIUM = "/usr/bin/chromium"
pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def chromium() -> Iterator[PlaywrightBrowser]:
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium package (make system-deps)")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM,
                                    args=["--headless", "--no-sandbox", "--disable-gpu",
                                          "--disable-background-networking"])
        yield browser
        browser.close()


@pytest.fixture
def page(chromium: PlaywrightBrowser, server) -> Iterator[Page]:
    context = chromium.new_context(base_url=server.url)
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


def sign_up(page: Page) -> None:
    password = secrets.token_urlsafe(12)
    CAPTURED.secrets.add(password)
    page.goto("/")
    page.get_by_role("link", name="Sign up").first.click()
    page.get_by_label("Email").fill(f"browser-{secrets.token_hex(4)}@example.com")
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_label("Repeat password").fill(password)
    page.get_by_role("button", name="Sign up").click()
    expect(page.locator("#bc-state")).to_have_text("Not connected")


def test_connect_see_projects_and_disconnect(page: Page, events) -> None:
    sign_up(page)
    page.get_by_role("link", name="Connect Basecamp").click()
    expect(page.get_by_role("button", name="Approve")).to_be_visible()  # the simulator's authorize page
    page.get_by_role("button", name="Approve").click()
    expect(page.locator("#bc-state")).to_have_text("Connected")
    expect(page.locator("#projects li").first).to_be_visible()
    assert page.locator("#projects li").count() >= 1
    page.get_by_role("button", name="Disconnect").click()
    expect(page.locator("#bc-state")).to_have_text("Not connected")
    assert [e["status"] for e in events.all("basecamp_oauth_connect")] == ["success"]
    assert len(events.all("basecamp_disconnect")) == 1


def test_deny_shows_authorization_failed(page: Page, events) -> None:
    sign_up(page)
    page.get_by_role("link", name="Connect Basecamp").click()
    page.get_by_role("button", name="Deny").click()
    expect(page.locator("#error-type")).to_have_text("authorization_failed")
    expect(page.get_by_role("heading")).to_have_text("Basecamp access was not granted")
    [failure] = events.all("basecamp_oauth_connect")
    assert failure["error_type"] == "authorization_failed"
