"""The demo's database from a pre-migrated template (issue 21, item 4).

Migrating a fresh SQLite file renders every model state of ~100 migrations: seconds at each
demo start, for a schema that only changes when a migration does. So the first start migrates
a template file under the data dir, named by a digest of every installed app's migration files
(and Django's version), and each later start copies it. A template is checked before it is
used (SQLite's quick_check, and every migration on disk recorded as applied); one that fails
is deleted and built again, never trusted.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import os
import pkgutil
import sqlite3
from collections.abc import Iterable
from pathlib import Path
from typing import Literal

import django
from django.apps import apps
from django.conf import settings
from django.core.management import call_command
from django.db import connections
from django.db.migrations.loader import MigrationLoader

TEMPLATE_PREFIX = "demo-template-"

Migration = tuple[str, str]


def migration_files() -> dict[Migration, Path]:
    """Every installed app's migration files on disk, by (app label, migration name)."""
    found: dict[Migration, Path] = {}
    for app_config in apps.get_app_configs():
        module_name, _ = MigrationLoader.migrations_module(app_config.label)
        if module_name is None:
            continue
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError:
            continue
        for _, name, is_pkg in pkgutil.iter_modules(getattr(module, "__path__", [])):
            # The same files Django's loader takes as migrations.
            if is_pkg or name[0] in "_~":
                continue
            spec = importlib.util.find_spec(f"{module_name}.{name}")
            if spec is not None and spec.origin is not None:
                found[(app_config.label, name)] = Path(spec.origin)
    return found


def migrations_digest(*, files: Iterable[tuple[Migration, Path]]) -> str:
    """A digest of the migrations' names and contents and of Django's version (its schema
    editor writes the SQL), so any change to the schema a migrate would build changes it."""
    digest = hashlib.sha256(f"django {django.__version__}\n".encode())
    for (label, name), path in sorted(files):
        digest.update(f"{label}.{name}\n".encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:20]


def template_valid(*, path: Path, migrations: Iterable[Migration]) -> bool:
    """Whether `path` is a sound SQLite file with every one of `migrations` recorded."""
    if not path.is_file():
        return False
    try:
        db = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)
    except sqlite3.DatabaseError:
        return False
    try:
        if db.execute("PRAGMA quick_check").fetchall() != [("ok",)]:
            return False
        applied = set(db.execute("SELECT app, name FROM django_migrations").fetchall())
    except sqlite3.DatabaseError:  # not a database, truncated, no django_migrations table
        return False
    finally:
        db.close()
    return set(migrations) <= applied


def template_save(*, source: Path, path: Path) -> None:
    """Copy the just-migrated `source` into the template `path`: written aside, then renamed
    into place, so a start running beside this one never reads a half-written template."""
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    try:
        database_copy(source=source, target=partial)
        db = sqlite3.connect(partial)
        try:
            # One self-contained file: the demo's database runs in WAL mode, the template not.
            db.execute("PRAGMA journal_mode=DELETE")
        finally:
            db.close()
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)


def database_copy(*, source: Path, target: Path) -> None:
    """Copy `source` into `target` page by page with SQLite's backup API, which reads
    `source` as one consistent snapshot (its WAL included) and replaces `target`'s pages."""
    for suffix in ("-wal", "-shm"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    src = sqlite3.connect(f"{source.as_uri()}?mode=ro", uri=True)
    dst = sqlite3.connect(target)
    try:
        src.backup(dst)
    finally:
        dst.close()
        src.close()


def sqlite_empty(*, path: Path) -> bool:
    """Whether `path` holds no tables yet (absent, empty, or a fresh SQLite file)."""
    if not path.exists() or path.stat().st_size == 0:
        return True
    db = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)
    try:
        tables: int = db.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
        return tables == 0
    finally:
        db.close()


def demo_database_prepare(
    *, data_dir: Path, digest: str | None = None
) -> Literal["copied", "built"]:
    """Fill the demo's empty SQLite database (`default`) with the migrated schema: a copy of
    the template under `data_dir` for `digest` (default: the installed migrations'), or, if
    that template is missing, stale or corrupt, a migrate whose result becomes the template.
    Templates of other digests are deleted."""
    files = migration_files()
    digest = digest or migrations_digest(files=files.items())
    template = data_dir / f"{TEMPLATE_PREFIX}{digest}.db"
    target = Path(settings.DATABASES["default"]["NAME"])
    if template_valid(path=template, migrations=files):
        # Nothing may hold the file open while its pages are replaced.
        connections["default"].close()
        try:
            database_copy(source=template, target=target)
            return "copied"
        except sqlite3.DatabaseError:
            pass  # deleted since the check, by a start of other code on the same data dir
    for old in data_dir.glob(f"{TEMPLATE_PREFIX}*.db"):
        old.unlink(missing_ok=True)
    call_command("migrate", verbosity=0, interactive=False)
    # Before anything else writes to it: the template holds the schema and migrations' rows only.
    connections["default"].close()
    template_save(source=target, path=template)
    return "built"


def demo_database_ready() -> str:
    """Make the demo's database ready to use: the template's copy for an empty SQLite
    database, a plain migrate for any other (a database named by MENTIONDESK_DATABASE_URL
    that already has tables, or PostgreSQL). Says which it did."""
    default = settings.DATABASES["default"]
    if default["ENGINE"] == "django.db.backends.sqlite3" and sqlite_empty(
        path=Path(default["NAME"])
    ):
        return demo_database_prepare(data_dir=Path(settings.DATA_DIR))
    call_command("migrate", verbosity=0, interactive=False)
    return "migrated"
