"""MENTIONDESK_DATABASE_URL and MENTIONDESK_DATABASE_POOL as settings.DATABASES reads them."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured

from mentiondesk.settings import database_from_url

PG = "postgres://postgres@127.0.0.1:5432/mentiondesk"


def test_postgresql_keeps_connections_with_a_health_check(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("MENTIONDESK_DATABASE_POOL", raising=False)
    config = database_from_url(PG)
    assert config["CONN_MAX_AGE"] == 60 and config["CONN_HEALTH_CHECKS"] is True
    assert "pool" not in config.get("OPTIONS", {})


def test_a_pool_size_borrows_connections_from_psycopgs_pool(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("MENTIONDESK_DATABASE_POOL", "8")
    config = database_from_url(PG)
    # Django refuses a pool with persistent connections; the health check is the pool's.
    assert config["CONN_MAX_AGE"] == 0 and config["CONN_HEALTH_CHECKS"] is True
    assert config["OPTIONS"]["pool"] == {"min_size": 2, "max_size": 8, "timeout": 10}


def test_sqlite_never_pools(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.setenv("MENTIONDESK_DATABASE_POOL", "8")
    config = database_from_url(f"sqlite:///{tmp_path / 'desk.db'}")
    assert config["CONN_MAX_AGE"] == 0 and "pool" not in config["OPTIONS"]


@pytest.mark.parametrize("value", ["many", "-1"])
def test_a_pool_size_that_is_no_count_fails(monkeypatch: pytest.MonkeyPatch, value: str):
    monkeypatch.setenv("MENTIONDESK_DATABASE_POOL", value)
    with pytest.raises(ImproperlyConfigured, match="MENTIONDESK_DATABASE_POOL"):
        database_from_url(PG)
