"""`history_import`: load a history file so reports and similar-ticket search work from day one."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from time import perf_counter

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from mentiondesk.channels.models import Handle, IngestProblem, Network, Post
from mentiondesk.core import tablestats
from mentiondesk.core.errors import DomainError
from mentiondesk.sla import services as sla_services
from mentiondesk.tickets.models import Ticket, TicketDocument, TicketEvent

from . import conversations, formats, readers, staging, tickets, writing

PHASES = ("conversations", "tickets and posts", "search index", "problems")
SHOWN = 100  # problems and warnings listed by line; all of them are counted
# An imported conversation quiet for longer than this is history: solved, out of Play.
HISTORY_OPEN_DAYS = 7
_AGE = re.compile(r"(\d+)([dh]?)")
SLA_BATCH = 5_000  # tickets per SLA refresh task queued after the import
# The share of settings.IMPORT_CACHE_MB that goes to the TEMP tables' cache; the rest is the
# database's, where the posts' and tickets' indexes are written and read back at random.
TEMP_CACHE_SHARE = 0.25
# The tables an import grows: their planner statistics are refreshed once it has committed.
IMPORTED_TABLES = (Post, Ticket, TicketEvent, TicketDocument, IngestProblem)


@dataclass
class ImportResult:
    """What one import read and wrote, for `mentiondesk import` and the tests."""

    path: str
    format: str
    handle: str
    rows: int = 0  # rows read, usable or not
    seconds: float = 0.0
    totals: staging.Totals = field(default_factory=staging.Totals)
    problem_count: int = 0
    problems: list[tuple[int, str]] = field(default_factory=list)  # (line, reason), first ones
    problems_kept: int = 0  # IngestProblem rows written (0 when the file was imported before)
    skipped: dict[str, int] = field(default_factory=dict)  # records that are no post, by kind

    @property
    def rate(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0


def open_since_parse(value: str, *, now: datetime) -> datetime:
    """`--open-since`: an age (`7d`, `36h`, a bare number of days) or a date or time (ISO
    8601, UTC unless it says otherwise). Raises DomainError saying what is accepted."""
    value = value.strip()
    if match := _AGE.fullmatch(value):
        hours = int(match.group(1)) * (1 if match.group(2) == "h" else 24)
        return now - timedelta(hours=hours)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise DomainError(
            f"--open-since {value!r}: give an age (7d, 36h) or a date (2026-12-01)",
            field="open_since",
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def import_format(*, path: Path, fmt: str | None) -> str:
    """The format of `path`: `fmt` when given (checked), else told from the file (see
    `formats.detect_format`). Raises DomainError."""
    if fmt is not None:
        if fmt not in formats.FORMATS:
            raise DomainError(f"format {fmt!r}: use one of {', '.join(formats.FORMATS)}")
        return fmt
    try:
        return formats.detect_format(path, _head(path))
    except readers.Unreadable as exc:
        raise DomainError(str(exc)) from exc
    except (OSError, EOFError) as exc:
        raise DomainError(f"{path}: cannot read the file ({exc}); nothing was imported") from exc


def import_handle(*, username: str | None, network: str = Network.X) -> Handle:
    """The handle an import speaks for: `username` (on any network: the one of `network`, the
    file's, when several networks have a handle of that name), or the only main handle on
    `network`.

    Raises DomainError naming the handles there are."""
    if username:
        name = username.lstrip("@")
        found = list(Handle.objects.filter(username__iexact=name).order_by("network"))
        if not found:
            known = ", ".join(_named(h) for h in Handle.objects.all()) or "none yet"
            raise DomainError(
                f"@{name} is not one of our handles ({known}); "
                "add it with `mentiondesk policy apply`",
                field="handle",
            )
        return next((h for h in found if h.network == network), found[0])
    handles = Handle.objects.filter(network=network)
    mains = list(handles.filter(role=Handle.Role.MAIN, is_active=True))
    if len(mains) != 1:
        raise DomainError(
            "name the handle the history belongs to with --handle "
            f"(our {network} handles: {', '.join(_named(h) for h in handles) or 'none yet'})",
            field="handle",
        )
    return mains[0]


def _named(handle: Handle) -> str:
    return f"@{handle.username}" + ("" if handle.network == Network.X else f" ({handle.network})")


def _network_check(*, handle: Handle, fmt: str, path: Path) -> None:
    """A file of another network than the handle's is refused before anything is read."""
    network = formats.NETWORK_OF[fmt]
    if network != handle.network:
        raise DomainError(
            f"{path.name} is {fmt} ({network} history) but @{handle.username} is a "
            f"{handle.network} handle, which takes {'|'.join(formats.formats_of(handle.network))}"
            "; nothing was imported",
            field="handle",
        )


def history_import(
    *,
    path: Path,
    handle: Handle,
    fmt: str | None = None,
    on_read: Callable[[int, int], None] | None = None,
    on_phase: Callable[[str], None] | None = None,
    open_since: datetime | None = None,
) -> ImportResult:
    """Import the posts of `path` (a file of `handle`'s network: `formats`) as history of
    `handle`.

    Streams the file into TEMP tables in batches, then in one transaction: rebuilds
    conversations from the reply links, stores new posts (ours are outbound), opens one ticket
    per requester who wrote to `handle` and conversation (pending when our post is the last),
    works out which of our posts answers which ticket (`tickets.answers`, the rule ingest
    follows), makes conversations quiet since before `open_since` (default:
    HISTORY_OPEN_DAYS ago) solved history that Play never hands out, adds their CREATED
    events and search documents, queues their SLA refresh for the worker (after commit), and
    keeps unusable rows as IngestProblem rows. Idempotent: posts already stored are skipped,
    and a file imported before adds no problems again.
    `on_read(bytes_read, rows_read)` is called after every batch and `on_phase(name)` before
    each part of the writing. Raises DomainError when the file cannot be read at all or is
    another network's history than the handle's (nothing is imported then)."""
    started = perf_counter()
    fmt = import_format(path=path, fmt=fmt)
    _network_check(handle=handle, fmt=fmt, path=path)
    ours = _ours(handle)
    result = ImportResult(path=str(path), format=fmt, handle=handle.username)
    digest = hashlib.sha256()
    try:
        counter, text = readers.open_text(path, digest=digest)
        with text, _sqlite_cache(), staging.staging(network=handle.network) as stage:
            items = formats.rows(path, fmt=fmt, ours=ours, text=text)
            for batch in readers.batches_ahead(items, size=staging.batch_rows(fmt)):
                stage.add(batch)
                result.rows += len(batch)
                if on_read:
                    on_read(counter.consumed, result.rows)
            stage.loaded()

            source = path.name
            endpoint = f"import {source[:120]} sha256:{digest.hexdigest()[:16]}"
            with transaction.atomic():
                _phase(on_phase, PHASES[0])
                result.totals = conversations.conversations_resolve(network=handle.network)
                _phase(on_phase, PHASES[1])
                writing.history_write(
                    network=handle.network,
                    handle_id=handle.pk,
                    totals=result.totals,
                    source=source,
                    open_since=open_since or timezone.now() - timedelta(days=HISTORY_OPEN_DAYS),
                    auto_ticket=handle.auto_ticket,
                )
                _phase(on_phase, PHASES[2])
                result.totals.documents = writing.documents_write()
                # As after ingest: the worker computes their SLA clocks once this commits.
                for ticket_ids in tickets.tickets_touched_batches(size=SLA_BATCH):
                    sla_services.tickets_sla_refresh_later(ticket_ids=ticket_ids)
                _phase(on_phase, PHASES[3])
                result.problem_count, result.problems = stage.problems(limit=SHOWN)
                result.skipped = dict(stage.skipped)
                result.problems_kept = stage.keep_problems(
                    handle_id=handle.pk, endpoint=endpoint, source=source
                )
                # Robust: the import is stored whatever happens to the ANALYZE.
                transaction.on_commit(
                    lambda: tablestats.tables_analyze_stale(tables=IMPORTED_TABLES), robust=True
                )
    except readers.Unreadable as exc:
        raise DomainError(str(exc)) from exc
    except (OSError, EOFError) as exc:  # an I/O error or a truncated .gz part-way
        raise DomainError(f"{path}: cannot read the file ({exc}); nothing was imported") from exc
    result.seconds = perf_counter() - started
    return result


def _ours(handle: Handle) -> readers.Ours:
    handles = list(Handle.objects.filter(network=handle.network))
    return readers.Ours(
        handle_id=handle.pk,
        username=handle.username.lower(),
        remote_id=handle.remote_id,
        by_username={h.username.lower(): h.pk for h in handles},
        by_remote_id={h.remote_id: h.pk for h in handles if h.remote_id},
        base_url=handle.base_url,
    )


def _head(path: Path) -> str:
    _, text = readers.open_text(path, digest=None)
    with text:
        return text.read(65536)


def _phase(on_phase: Callable[[str], None] | None, name: str) -> None:
    if on_phase:
        on_phase(name)


@contextmanager
def _sqlite_cache() -> Iterator[None]:
    """Larger page caches on SQLite while importing, then the old size. Together they are
    settings.IMPORT_CACHE_MB (TEMP_CACHE_SHARE of it for the TEMP tables), filled only as far
    as the import needs: the bound on the import's memory that grows with the file."""
    if connection.vendor != "sqlite":
        yield
        return
    total_kib = settings.IMPORT_CACHE_MB * 1024
    temp_kib = int(total_kib * TEMP_CACHE_SHARE)
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA cache_size")
        previous = int(cursor.fetchone()[0])
        cursor.execute(f"PRAGMA cache_size = -{total_kib - temp_kib}")
        cursor.execute(f"PRAGMA temp.cache_size = -{temp_kib}")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA cache_size = {previous}")
            cursor.execute(f"PRAGMA temp.cache_size = {previous}")
