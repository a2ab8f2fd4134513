"""Browser tests: pytest-playwright driving Debian's Chromium against `live_server`.

Chromium comes from the distribution (`apt-get install chromium`), never from a download at
test time. Without it these tests are skipped, with the reason shown; in CI (CI=true) a
missing Chromium fails the run instead, so a green build always means the journeys ran."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Response

from mentiondesk.desk.demo_world import DemoWorld
from mentiondesk.sandbox.x.server import SandboxServer
from tests.browser.journeys import ingest
from tests.conftest import missing
from tests.test_demo_world import world  # noqa: F401 (the demo's world, for `demo`)

# Playwright's sync API keeps an event loop running in the test thread; Django refuses ORM
# calls from a thread with a running loop unless told otherwise. Only these tests need it.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
RESULTS = Path(__file__).resolve().parents[2] / "test-results"


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    if not CHROMIUM.exists():
        missing(f"{CHROMIUM} is missing: apt-get install chromium")
    return {**browser_type_launch_args, "executable_path": str(CHROMIUM), "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict[str, Any]) -> dict[str, Any]:
    # A 1366x768 laptop, the smallest screen the desk is designed for.
    return {**browser_context_args, "viewport": {"width": 1366, "height": 768}}


@pytest.fixture
def live_desk(
    transactional_db: None, live_server: Any, desk: SandboxServer
) -> Iterator[SandboxServer]:
    """The desk against the sandbox, served by `live_server` over a database the server thread
    sees committed (transactional_db), with the connector's settings patched by `desk`."""
    assert desk.url == settings.X_API_URL
    yield desk


@pytest.fixture
def demo(live_desk: SandboxServer, world: DemoWorld) -> DemoWorld:  # noqa: F811
    """The demo's world (every stand-in, the script's first mentions) around the live desk,
    with those mentions ingested."""
    ingest()
    return world


@pytest.fixture
def screenshot_dir() -> Path:
    RESULTS.mkdir(exist_ok=True)
    return RESULTS


# Chromium logs every answer >= 400 as "Failed to load resource"; the desk answers refusals
# (a form error, a collision, a page that does not exist) with such codes on purpose. Those are
# judged by their response instead (`_no_console_errors_or_csp_violations`).
FAILED_LOAD = re.compile(r"^Failed to load resource: the server responded with a status of \d+")
ASSETS = {"stylesheet", "script", "image", "font", "media"}


@pytest.fixture
def console_errors_expected() -> list[re.Pattern[str]]:
    """Console errors or failed answers a journey causes on purpose (the desk's own 500 page):
    the test appends a pattern for each, matched against the message or the answer's URL and
    status. A CSP violation is never expected."""
    return []


@pytest.fixture
def console_problems() -> list[str]:
    """What the watched browser contexts reported (`console_watch`); empty at the end."""
    return []


def console_watch(
    context: BrowserContext, *, expected: list[re.Pattern[str]], problems: list[str]
) -> None:
    """Collect into `problems` what `context` reports wrong: a CSP violation, an uncaught
    script error, anything else logged as an error (htmx logs a failed swap as one), a server
    error, an asset that did not load. Heard on the whole context, so a second tab counts."""

    def allowed(text: str) -> bool:
        return any(p.search(text) for p in expected)

    def on_console(msg: ConsoleMessage) -> None:
        csp = "Content Security Policy" in msg.text
        if csp or (
            msg.type == "error" and not FAILED_LOAD.match(msg.text) and not allowed(msg.text)
        ):
            page = msg.page
            problems.append(f"{page.url if page else '?'}: {msg.text} at {msg.location}")

    def on_response(response: Response) -> None:
        status = response.status
        asset = response.request.resource_type in ASSETS
        if (status >= 500 or (asset and status >= 400)) and not allowed(f"{status} {response.url}"):
            problems.append(f"{response.request.method} {response.url} answered {status}")

    context.on("console", on_console)
    context.on("response", on_response)
    context.on("weberror", lambda error: problems.append(f"uncaught: {error.error}"))


@pytest.fixture(autouse=True)
def _no_console_errors_or_csp_violations(
    context: BrowserContext,
    console_errors_expected: list[re.Pattern[str]],
    console_problems: list[str],
) -> Iterator[None]:
    """Every journey also proves the pages work under the Content Security Policy, that no
    script threw or logged an error, and that the desk answered nothing with a server error."""
    console_watch(context, expected=console_errors_expected, problems=console_problems)
    yield
    assert not console_problems, console_problems


@pytest.fixture
def other_context(
    browser: Browser,
    browser_context_args: dict[str, Any],
    console_errors_expected: list[re.Pattern[str]],
    console_problems: list[str],
) -> Iterator[BrowserContext]:
    """A second browser (another person signed in at the same time), watched like the first."""
    context = browser.new_context(**browser_context_args)
    console_watch(context, expected=console_errors_expected, problems=console_problems)
    yield context
    context.close()
