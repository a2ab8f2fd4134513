"""Tests that need `../shared` (recorded X traffic, corpora) skip on a laptop without it and
fail in CI, where a green build must mean they ran."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests import conftest


@pytest.fixture
def shared(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "fixtures").mkdir()
    monkeypatch.setattr(conftest, "SHARED", tmp_path)
    return tmp_path


def test_a_present_folder_is_returned(shared: Path) -> None:
    assert conftest.shared_folder("fixtures") == shared / "fixtures"


@pytest.mark.parametrize("ci", ["1", "true", "yes", "TRUE"])
def test_a_missing_folder_fails_in_ci(
    shared: Path, monkeypatch: pytest.MonkeyPatch, ci: str
) -> None:
    monkeypatch.setenv("CI", ci)
    with pytest.raises(pytest.fail.Exception, match=r"CI needs it: .*corpora"):
        conftest.shared_folder("corpora")


@pytest.mark.parametrize("ci", [None, "", "0", "false"])
def test_a_missing_folder_skips_with_the_reason_elsewhere(
    shared: Path, monkeypatch: pytest.MonkeyPatch, ci: str | None
) -> None:
    if ci is None:
        monkeypatch.delenv("CI", raising=False)
    else:
        monkeypatch.setenv("CI", ci)
    with pytest.raises(pytest.skip.Exception, match=r"corpora is not beside the checkout"):
        conftest.shared_folder("corpora")
