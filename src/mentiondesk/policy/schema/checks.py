"""What every section's checks share: the error, and the helpers that say what is wrong and
where (`<file>: <section>[<n>].<key>: <problem>`).

Underscored names are this package's own: its section modules share them; nothing outside
`policy.schema` calls them."""

from __future__ import annotations

import re
import string
from collections.abc import Callable
from typing import Any

from mentiondesk.core.errors import DomainError

SLUG = re.compile(r"^[a-z0-9_-]{1,50}$")


class PolicyError(DomainError):
    """The file is invalid. The message names the file, the line or key, and the problem."""


def _entries(
    data: dict[str, Any],
    kind: str,
    keys: dict[str, type],
    source: str,
    *,
    first: Callable[[dict[str, Any], str], None] | None = None,
) -> list[tuple[dict[str, Any], str]]:
    entries = data.get(kind, [])
    if not isinstance(entries, list):
        raise PolicyError(f"{source}: {kind} must be an array of tables ([[{kind}]])")
    checked = []
    for index, entry in enumerate(entries, start=1):
        where = f"{source}: {kind}[{index}]"
        if not isinstance(entry, dict):
            raise PolicyError(f"{where}: must be a table ([[{kind}]]), not {entry!r}")
        if first is not None:
            first(entry, where)
        _keys(entry, keys, where)
        checked.append((entry, where))
    return checked


def _keys(entry: dict[str, Any], keys: dict[str, type], where: str) -> None:
    for key, value in entry.items():
        if key not in keys:
            raise PolicyError(f"{where}: unknown key {key!r}; known: {', '.join(keys)}")
        if not isinstance(value, keys[key]):
            raise PolicyError(f"{where}.{key}: expected {keys[key].__name__}, got {value!r}")


def _table(entry: Any, name: str, keys: dict[str, type], where: str) -> dict[str, Any]:
    """`entry` as the single table [name], holding only `keys` (each of its type)."""
    if not isinstance(entry, dict):
        raise PolicyError(f"{where}: [{name}] must be a table")
    _keys(entry, keys, where)
    return entry


def _required(entry: dict[str, Any], key: str, where: str) -> str:
    if key not in entry:
        raise PolicyError(f"{where}: missing required key {key!r}")
    return str(entry[key])


def _template_check(text: str, variables: tuple[str, ...], where: str) -> set[str]:
    """Refuse anything in a reply template but plain {name} fields of `variables`: the text
    goes through str.format, where {requester.__class__} reads attributes, {requester[0]}
    indexes and {requester:>999999999} builds a gigabyte string on every draft. Returns the
    names used."""
    known = ", ".join(f"{{{v}}}" for v in variables)
    try:
        fields = [
            (name, spec, conversion)
            for _, name, spec, conversion in string.Formatter().parse(text)
            if name is not None
        ]
    except ValueError as exc:
        raise PolicyError(
            f"{where}: {exc}; write {{{{ and }}}} for a literal brace, {known} for a variable"
        ) from None
    for name, spec, conversion in fields:
        shown = name + (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else "")
        if name not in variables:
            if name.split(".")[0].split("[")[0] in variables:
                raise PolicyError(
                    f"{where}: {{{shown}}}: only a plain variable is allowed (no attribute or "
                    f"index); use {known}"
                )
            raise PolicyError(f"{where}: unknown variable {{{shown}}}; use {known}")
        if spec or conversion:
            raise PolicyError(
                f"{where}: {{{shown}}}: only a plain variable is allowed (no format spec or "
                f"conversion); write {{{name}}}"
            )
    return {name for name, _, _ in fields}


def _fraction(entry: dict[str, Any], key: str, where: str, default: float) -> float:
    """`entry[key]` as a number from 0 to 1 (a confidence), `default` when absent."""
    value = entry.get(key, default)
    # bool is an int in Python: `act_above = true` is a mistake, not 1.
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise PolicyError(f"{where}.{key}: expected a number from 0 to 1, got {value!r}")
    return float(value)


def _one_of(where: str, key: str, value: Any, allowed: list[str]) -> None:
    if value not in allowed:
        raise PolicyError(f"{where}.{key}: {value!r} is not one of {', '.join(allowed)}")


def _no_duplicates(source: str, kind: str, keys: list[Any]) -> None:
    seen: set[Any] = set()
    for index, key in enumerate(keys, start=1):
        if key in seen:
            raise PolicyError(f"{source}: {kind}[{index}] repeats {key!r}")
        seen.add(key)
