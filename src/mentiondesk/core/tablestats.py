"""Planner statistics kept up with a burst of writes, on PostgreSQL.

PostgreSQL plans each query from the statistics ANALYZE last gathered. Autovacuum gathers them
again once a table changed by a tenth, but only when it next wakes (every minute by default),
and some servers run with it off. A fresh desk reading its first backlog, or importing its
history, grows its tables from empty within that minute: until they are analysed, the planner
takes them for empty and looks a page's posts up by network alone, filtering a hundred thousand
rows for each page (91 ms against 1.2 ms per lookup at 100,000 posts, bench/RESULTS.md). So
the write paths ask for it themselves once a batch has committed, as autovacuum would, with a
wider margin so that a steady trickle of mentions never triggers it."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import connection, models

# ANALYZE a table once more rows changed since the last than this many plus this share of the
# rows it had then (autovacuum: 50 and 0.1). Growing from empty, that is about fifteen
# ANALYZEs on the way to a million rows, each a fixed sample (about 0.1 s).
MIN_CHANGED = 1_000
SHARE_CHANGED = 0.5


def tables_analyze_stale(*, tables: Iterable[type[models.Model]]) -> list[str]:
    """ANALYZE those of the models' tables whose statistics are stale by the margin above
    (PostgreSQL; elsewhere nothing) and return their names. Outside a transaction: an ANALYZE
    takes a lock that writers do not wait for, and releases it at once."""
    if connection.vendor != "postgresql":
        return []
    names = [model._meta.db_table for model in tables]
    with connection.cursor() as cursor:
        # n_mod_since_analyze lags a second at most (statistics are flushed when a backend goes
        # idle); reltuples is -1 for a table never analysed.
        cursor.execute(
            "SELECT s.relname FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid "
            "WHERE s.relname = ANY(%s) AND s.schemaname = current_schema() "
            "AND s.n_mod_since_analyze > %s + %s * GREATEST(c.reltuples, 0)",
            [names, MIN_CHANGED, SHARE_CHANGED],
        )
        stale = sorted(row[0] for row in cursor.fetchall())
        for name in stale:
            cursor.execute(f"ANALYZE {connection.ops.quote_name(name)}")
    return stale
