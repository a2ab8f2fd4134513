"""The desk's own 500 page in a real browser: styled like the desk, it says the error was
logged and leads back to the queue; nothing of the error reaches the page."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from mentiondesk.accounts.models import User
from tests.browser.journeys import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.urls("tests.browser.urls_with_a_bug")]


def test_a_failing_page_shows_the_desks_500_page(
    page: Page,
    live_server: Any,
    advocate: User,
    console_errors_expected: list[re.Pattern[str]],
) -> None:
    # The 500 is this test's point: the console guard lets this one through.
    console_errors_expected.append(re.compile(r"500"))
    sign_in(page, live_server.url, advocate.username)

    response = page.goto(f"{live_server.url}/broken/")
    assert response is not None and response.status == 500
    expect(page.get_by_role("heading", name="Something went wrong on our side")).to_be_visible()
    expect(page.locator("body")).to_contain_text("logged the error")
    expect(page.locator("body")).not_to_contain_text("a bug, on purpose")
    expect(page.locator("body")).not_to_contain_text("Traceback")
    # The page's own stylesheet loaded (the guard fails on an asset that did not).
    assert page.evaluate("document.styleSheets.length") >= 1
    page.get_by_role("link", name="Back to the queue").click()
    expect(page.get_by_role("heading", name="Twitter")).to_be_visible()
