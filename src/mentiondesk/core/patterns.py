"""Regular expressions the team writes (the policy's [[triage_rule]] patterns), run on RE2.

RE2 matches in time linear in the text whatever the pattern, so a careless `(a+)+$` cannot
hang the worker as it does under Python's backtracking `re` (a 26-character post took 10 s
there, doubling with each character). The price is RE2's syntax: no backreferences (`\\1`,
`(?P=name)`), no lookaround (`(?=`, `(?!`, `(?<=`, `(?<!`), `\\z` instead of `\\Z`, and `\\w`,
`\\d`, `\\s`, `\\b` cover ASCII only (`\\pL` is any letter). A pattern RE2 cannot run is
refused with the reason, so `policy apply` says so before any post is matched."""

from __future__ import annotations

import re
from typing import Any

import re2

from mentiondesk.core.errors import DomainError

# Long enough for any hand-written rule; a longer one is generated or pasted by mistake, and
# RE2 compiles every pattern into a program held in memory for the life of the process.
PATTERN_MAX_CHARS = 500

_BACKREFERENCE = re.compile(r"invalid escape sequence: \\[1-9]")
_LOOKAROUND = re.compile(r"invalid perl operator: \(\?<?[=!]")


class PatternError(DomainError):
    """The pattern cannot be run: too long, not a regular expression, or a feature RE2 lacks.
    The message says which."""


def _options() -> re2.Options:
    options = re2.Options()
    options.case_sensitive = False
    # RE2 would also print each refused pattern to stderr; the message carries the reason.
    options.log_errors = False
    return options


_OPTIONS = _options()


def _reason(error: str, source: str) -> str:
    # RE2 names only "(?P" for a named backreference, so the source tells.
    named = "invalid perl operator: (?P" in error and "(?P=" in source
    if named or _BACKREFERENCE.search(error):
        return "uses a backreference (\\1, (?P=name)), which the linear-time matcher cannot run"
    if _LOOKAROUND.search(error):
        return (
            "uses lookahead or lookbehind ((?=, (?!, (?<=, (?<!), which the linear-time "
            "matcher cannot run"
        )
    if "invalid escape sequence: \\Z" in error:
        return "uses \\Z: write \\z for the end of the text"
    if "pattern too large" in error:
        return "is too large for the linear-time matcher to compile; make it simpler"
    return f"is not a regular expression the linear-time matcher can run: {error}"


def pattern_compile(*, source: str) -> Any:
    """`source` compiled for RE2, case-insensitive (an `re2` regexp: `.search(text)` gives a
    match with `.group(0)`, or None; `.pattern` is `source`).

    Raises PatternError naming why when `source` is longer than PATTERN_MAX_CHARS, is not a
    regular expression, or uses what RE2 cannot run (backreferences, lookaround)."""
    if len(source) > PATTERN_MAX_CHARS:
        raise PatternError(
            f"/{source[:40]}…/ is {len(source)} characters long; at most {PATTERN_MAX_CHARS}"
        )
    try:
        return re2.compile(source, _OPTIONS)
    except re2.error as exc:
        error = exc.args[0] if exc.args else ""
        if isinstance(error, bytes):
            error = error.decode("utf-8", "replace")
        raise PatternError(f"/{source}/ {_reason(str(error), source)}") from None


def pattern_search(*, pattern: Any, text: str) -> str | None:
    """The first text `pattern` (from pattern_compile) matches in `text`, or None. Linear in
    `len(text)`."""
    try:
        found = pattern.search(text)
    except UnicodeEncodeError:
        # RE2 reads UTF-8 and a lone surrogate has no UTF-8 form; "?" in its place keeps
        # every other character at its offset.
        text = text.encode("utf-8", "replace").decode("utf-8")
        found = pattern.search(text)
    return None if found is None else found.group(0)
