"""Browser tests: pytest-playwright driving Debian's Chromium against `live_server`.

Chromium comes from the distribution (`apt-get install chromium`), never from a download at
test time. Without it these tests are skipped, with the reason shown; in CI (CI=true) a
missing Chromium fails the run instead, so a green build always means the journeys ran."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from mentiondesk.sandbox.x.server import SandboxServer
from tests.conftest import missing

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
def screenshot_dir() -> Path:
    RESULTS.mkdir(exist_ok=True)
    return RESULTS


@pytest.fixture(autouse=True)
def _no_csp_violations_or_script_errors(page: Any) -> Iterator[None]:
    """Every journey also proves the pages work under the Content Security Policy (no inline
    script or style was blocked) and that no script threw."""
    problems: list[str] = []
    page.on(
        "console",
        lambda msg: (
            problems.append(f"{page.url}: {msg.text} at {msg.location}")
            if "Content Security Policy" in msg.text
            else None
        ),
    )
    page.on("pageerror", lambda exc: problems.append(f"uncaught: {exc}"))
    yield
    assert not problems, problems


@pytest.fixture
def no_console_errors(page: Any) -> Iterator[None]:
    """Stricter than the guard above, for journeys that must run clean: any error the console
    shows (a failed request, a script's console.error) fails the test."""
    errors: list[str] = []
    page.on(
        "console",
        lambda msg: (
            errors.append(f"{page.url}: {msg.text} at {msg.location}")
            if msg.type == "error"
            else None
        ),
    )
    yield
    assert not errors, errors
