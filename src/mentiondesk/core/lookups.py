"""`field__literal_in=("new", "open")`: an IN whose values are written into the SQL.

SQLite uses a partial index only when the query's WHERE clause holds the index's own condition,
and a bound `IN (?, ?)` never does: the queue page, Play and ingest sorted or scanned every
ticket instead of walking their partial indexes (bench/RESULTS.md, "Side by side"). Queries
that must use a partial index name its statuses with this lookup, in the index's order.
PostgreSQL plans both forms alike. Only plain lower-case words are accepted, so nothing from
outside can be written into SQL this way."""

from __future__ import annotations

import re
from typing import Any

from django.db.models import Field, Lookup

_WORD = re.compile(r"[a-z_]+\Z")


@Field.register_lookup
class LiteralIn(Lookup):  # type: ignore[type-arg]  # generic in django-stubs only
    lookup_name = "literal_in"
    prepare_rhs = False

    def get_prep_lookup(self) -> tuple[str, ...]:
        values = tuple(str(v) for v in self.rhs)
        if not values or not all(_WORD.match(v) for v in values):
            raise ValueError(f"literal_in takes plain lower-case words, not {self.rhs!r}")
        return values

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, list[Any]]:
        lhs, params = self.process_lhs(compiler, connection)
        literals = ", ".join(f"'{v}'" for v in self.rhs)
        return f"{lhs} IN ({literals})", list(params)
