"""The deployment files stay true to the product: units systemd accepts, compose services that
run real mentiondesk commands, and an example environment with only real settings."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.processes import mentiondesk

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
SETTINGS = Path(__file__).resolve().parents[2] / "src" / "mentiondesk" / "settings.py"


@pytest.mark.skipif(not shutil.which("systemd-analyze"), reason="systemd-analyze is missing")
def test_systemd_units_verify(tmp_path: Path) -> None:
    for unit in (DEPLOY / "systemd").glob("*.service"):
        # The binary lives under /opt in production; point at one that exists here.
        text = unit.read_text().replace("/opt/mentiondesk/.venv/bin/mentiondesk", "/bin/true")
        name = unit.name.replace("@.service", "@8001.service")
        (tmp_path / name).write_text(text)
    units = sorted(str(p) for p in tmp_path.iterdir())
    assert len(units) == 3
    checked = subprocess.run(
        ["systemd-analyze", "verify", *units], capture_output=True, text=True, check=False
    )
    assert checked.returncode == 0, checked.stderr
    assert "mentiondesk" not in checked.stderr, checked.stderr


def test_compose_services_run_real_commands() -> None:
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    services = compose["services"]
    assert {"db", "migrate", "web", "worker", "proxy"} <= set(services)
    for name in ("migrate", "worker"):
        command = services[name]["command"]
        helped = mentiondesk(command[0], "--help", env=None)
        assert helped.returncode == 0, (name, helped.stderr)


def test_example_environment_names_only_real_settings() -> None:
    names = re.findall(
        r"^(MENTIONDESK_\w+)=", (DEPLOY / "mentiondesk.env.example").read_text(), re.M
    )
    known = set(re.findall(r'env(?:_bool)?\("(\w+)"', SETTINGS.read_text()))
    unknown = [n for n in names if n.removeprefix("MENTIONDESK_") not in known]
    # Per-handle token variables are named by the policy file, not by settings.
    unknown = [n for n in unknown if not n.startswith("MENTIONDESK_X_TOKEN_")]
    assert not unknown, unknown
