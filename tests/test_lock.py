"""The lock files (requirements/*.txt) install what pyproject.toml pins: a pin changed in one
place and not the other would give the machines that install from the lock other versions than
the ones the project was tested with."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PIN = re.compile(r"^([A-Za-z0-9._-]+)(?:\[[^\]]*\])?==([^\s;#]+)")


def _name(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _pins(lines: list[str]) -> dict[str, str]:
    pins = {}
    for line in lines:
        match = PIN.match(line.strip())
        if match:
            pins[_name(match[1])] = match[2]
    return pins


def _lock(name: str) -> dict[str, str]:
    return _pins((ROOT / "requirements" / name).read_text().splitlines())


def _project() -> dict[str, list[str]]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return {"runtime": project["dependencies"], "dev": project["optional-dependencies"]["dev"]}


def test_every_runtime_pin_is_locked_at_its_version():
    declared = _pins(_project()["runtime"])
    assert declared, "pyproject.toml declares no pinned runtime dependency"
    locked = _lock("runtime.txt")
    assert {name: locked.get(name) for name in declared} == declared


def test_every_dev_pin_is_locked_at_its_version():
    declared = _pins(_project()["dev"])
    locked = _lock("dev.txt")
    assert {name: locked.get(name) for name in declared} == declared


def test_the_dev_lock_keeps_the_runtime_versions():
    """Installing the dev lock over the runtime one (make test after make demo) changes nothing
    the demo runs with."""
    runtime, dev = _lock("runtime.txt"), _lock("dev.txt")
    assert {name: dev.get(name) for name in runtime} == runtime


def test_every_dependency_is_pinned_exactly():
    loose = [
        spec
        for specs in _project().values()
        for spec in specs
        if not PIN.match(spec)  # a range or a bare name would let the lock drift
    ]
    assert loose == []
