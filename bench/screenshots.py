"""README screenshots (issue 20): the queue, a ticket page, the Tour and the reports, taken
from the demo as a person sees it, so they follow the desk as it changes.

Starts `mentiondesk demo` on a fresh data directory and a free port, waits for its script to
have filled the queue, signs in as the demo's lead in headless Chromium (Playwright on the
distribution's /usr/bin/chromium, as the browser tests use) and writes one PNG a screen into
`--out`. Fails on any console error or CSP violation, as the browser tests do.

    python bench/screenshots.py [--out docs/screenshots]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from demo_start import REPO, demo_process, free_port
from playwright.sync_api import Page, sync_playwright

CHROMIUM = "/usr/bin/chromium"
# The demo's published login (desk/demo.py); a lead sees the reports.
USER, PASSWORD = "lee", "mentiondesk"
# A 720p window: wide enough for the desk's layout, small enough that each PNG stays under
# the README's 200 KB budget.
VIEWPORT = {"width": 1280, "height": 720}
BUDGET_KB = 200


def wait_for(url: str, proc: subprocess.Popen[str], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the demo exited with {proc.returncode}")
        try:
            if httpx.get(f"{url}/accounts/login/", timeout=5).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"the demo did not answer within {timeout:.0f} s")


def shoot(page: Page, out: Path, name: str) -> Path:
    path = out / f"{name}.png"
    page.screenshot(path=str(path))
    return path


def take(url: str, out: Path) -> list[Path]:
    problems: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--headless", "--no-sandbox"])
        page = browser.new_page(viewport=VIEWPORT)
        page.on(
            "console",
            lambda m: (
                problems.append(m.text)
                if m.type == "error" or "Content Security Policy" in m.text
                else None
            ),
        )
        page.on("pageerror", lambda exc: problems.append(str(exc)))
        page.goto(f"{url}/accounts/login/")
        page.get_by_label("Username").fill(USER)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_selector("#ticket-rows")
        # The demo's script brings mentions in over its first seconds.
        page.wait_for_selector("#ticket-rows tr.ticket-row", timeout=60_000)
        shots = [shoot(page, out, "queue")]
        page.locator("#ticket-rows tr.ticket-row a.row-link").first.click()
        page.wait_for_selector("#composer")
        page.wait_for_selector("#evidence-block:not([aria-busy])", timeout=30_000)
        shots.append(shoot(page, out, "ticket"))
        page.goto(f"{url}/demo/tour/")
        shots.append(shoot(page, out, "tour"))
        page.goto(f"{url}/reports/")
        page.wait_for_load_state("networkidle")
        shots.append(shoot(page, out, "reports"))
        browser.close()
    if problems:
        raise RuntimeError(f"the pages reported errors: {problems}")
    return shots


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "screenshots")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="screenshots-") as tmp:
        data_dir = Path(tmp) / "var"
        data_dir.mkdir()
        port = free_port()
        # Its log would fill a pipe nobody reads while the pages are taken.
        proc = demo_process(
            src=REPO / "src", data_dir=data_dir, port=port, stderr=subprocess.DEVNULL
        )
        try:
            wait_for(f"http://127.0.0.1:{port}", proc)
            shots = take(f"http://127.0.0.1:{port}", args.out)
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    over = []
    for path in shots:
        size = path.stat().st_size // 1024
        print(f"{path.relative_to(REPO) if path.is_relative_to(REPO) else path}: {size} KB")
        if size > BUDGET_KB:
            over.append(path.name)
    if over:
        sys.exit(f"over {BUDGET_KB} KB, too big for the README: {', '.join(over)}")


if __name__ == "__main__":
    main()
