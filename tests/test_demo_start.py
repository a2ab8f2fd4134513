"""The demo's fast start (issue 21, item 4): the demo users' password hashed ahead of time, and
the database copied from a pre-migrated template that a change of migrations, or damage, makes
the next start build again. Each start is a real process on its own data directory."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.conf import global_settings
from django.contrib.auth.hashers import check_password, get_hasher
from django.test import override_settings

import mentiondesk
from mentiondesk.desk.demo import PASSWORD, PASSWORD_HASH
from mentiondesk.desk.demo_database import TEMPLATE_PREFIX, migration_files, migrations_digest

# One demo start's database step in a process of its own, as `mentiondesk demo` takes it:
# prints what it did, for how many apps Django's migrate ran (its pre_migrate signal), and
# what the database then holds.
START = """
import json, sys
import django
django.setup()
from django.db import connection
from django.db.models.signals import pre_migrate
from mentiondesk.desk.demo_database import demo_database_prepare, demo_database_ready
from django.conf import settings
from pathlib import Path
migrates = []
pre_migrate.connect(lambda **kw: migrates.append(kw["app_config"].label), weak=False)
digest = sys.argv[1]
if digest:
    outcome = demo_database_prepare(data_dir=Path(settings.DATA_DIR), digest=digest)
else:
    outcome = demo_database_ready()
with connection.cursor() as cursor:
    cursor.execute("SELECT app, name FROM django_migrations")
    applied = sorted(cursor.fetchall())
    cursor.execute("SELECT count(*) FROM accounts_user")
    users = cursor.fetchone()[0]
print(json.dumps({"outcome": outcome, "migrated_apps": len(migrates), "applied": applied,
                  "users": users}))
"""


def demo_start(*, workdir: Path, name: str, digest: str = "") -> dict[str, Any]:
    """A start on the fresh database `name` under `workdir`'s data directory."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MENTIONDESK_")}
    env["DJANGO_SETTINGS_MODULE"] = "mentiondesk.settings"
    # The code under test, wherever the child's working directory is.
    env["PYTHONPATH"] = str(Path(mentiondesk.__file__).parents[1])
    env["MENTIONDESK_DATA_DIR"] = str(workdir / "var")
    env["MENTIONDESK_DATABASE_URL"] = f"sqlite:///{workdir / 'var' / name}"
    done = subprocess.run(
        [sys.executable, "-c", START, digest],
        env=env,
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def templates(workdir: Path) -> list[str]:
    return sorted(p.name for p in (workdir / "var").glob(f"{TEMPLATE_PREFIX}*"))


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """A data directory after the first demo start on this machine."""
    workdir = tmp_path_factory.mktemp("demo-first")
    return workdir, demo_start(workdir=workdir, name="first.db")


def expected_migrations() -> list[list[str]]:
    return sorted([label, name] for label, name in migration_files())


def test_the_first_start_migrates_and_keeps_a_template(built: tuple[Path, dict[str, Any]]) -> None:
    workdir, first = built
    assert first["outcome"] == "built"
    assert first["migrated_apps"] > 0
    assert first["applied"] == expected_migrations()
    digest = migrations_digest(files=migration_files().items())
    assert templates(workdir) == [f"{TEMPLATE_PREFIX}{digest}.db"]


def test_a_later_start_copies_the_template_without_migrating(
    built: tuple[Path, dict[str, Any]],
) -> None:
    workdir, _ = built
    second = demo_start(workdir=workdir, name="second.db")
    assert second["outcome"] == "copied"
    assert second["migrated_apps"] == 0
    # The whole schema, and nothing of what an earlier demo wrote into its own copy.
    assert second["applied"] == expected_migrations()
    assert second["users"] == 0


def test_a_template_of_other_migrations_is_rebuilt_not_used(tmp_path: Path) -> None:
    older = demo_start(workdir=tmp_path, name="older.db", digest="older0migrations")
    assert older["outcome"] == "built"
    assert templates(tmp_path) == [f"{TEMPLATE_PREFIX}older0migrations.db"]

    newer = demo_start(workdir=tmp_path, name="newer.db", digest="newer0migrations")
    assert newer["outcome"] == "built"
    assert newer["migrated_apps"] > 0
    assert templates(tmp_path) == [f"{TEMPLATE_PREFIX}newer0migrations.db"]


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda data: b"this is not a database" * 100, id="not-sqlite"),
        pytest.param(lambda data: data[: len(data) // 3], id="truncated"),
    ],
)
def test_a_corrupt_template_is_rebuilt_not_trusted(
    built: tuple[Path, dict[str, Any]], tmp_path: Path, damage: Any
) -> None:
    source, _ = built
    template = next((source / "var").glob(f"{TEMPLATE_PREFIX}*.db"))
    (tmp_path / "var").mkdir()
    (tmp_path / "var" / template.name).write_bytes(damage(template.read_bytes()))

    start = demo_start(workdir=tmp_path, name="demo.db")
    assert start["outcome"] == "built"
    assert start["migrated_apps"] > 0
    assert start["applied"] == expected_migrations()
    assert (tmp_path / "var" / template.name).read_bytes() != damage(template.read_bytes())
    assert demo_start(workdir=tmp_path, name="again.db")["outcome"] == "copied"


def test_the_digest_follows_the_migration_files(tmp_path: Path) -> None:
    first = tmp_path / "0001_initial.py"
    first.write_text("operations = []\n")
    files = [(("tickets", "0001_initial"), first)]
    before = migrations_digest(files=files)

    first.write_text("operations = ['changed']\n")
    edited = migrations_digest(files=files)
    second = tmp_path / "0002_more.py"
    second.write_text("operations = []\n")
    added = migrations_digest(files=[*files, (("tickets", "0002_more"), second)])

    assert len({before, edited, added}) == 3


@override_settings(PASSWORD_HASHERS=global_settings.PASSWORD_HASHERS)
def test_the_precomputed_hash_is_the_demo_password_under_the_default_hasher() -> None:
    assert check_password(PASSWORD, PASSWORD_HASH)
    assert not check_password("not-the-password", PASSWORD_HASH)
    # Not due for an upgrade: otherwise each demo login would hash again (see demo.py).
    assert not get_hasher("default").must_update(PASSWORD_HASH)
