"""JSON read as a stream, one value at a time, in bounded memory: JSON Lines, a sequence of
documents or a top-level array (X pages, Bluesky record pages), and the array held by one
member of a top-level object (a Mastodon outbox's `orderedItems`).

Each value comes with the line it starts on. Only one value is held at a time (at most
MAX_VALUE_BYTES of text); a syntax error ends the reading there (an array cannot be picked up
again after a break): it becomes the last Problem, with the unread text's start as raw."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import IO, Any

from .records import Problem, Unreadable

# A value bigger than this is not a page someone saved from the API; stop rather than buffer
# the rest of the file looking for its end.
MAX_VALUE_BYTES = 256 * 1024 * 1024
CHUNK = 1024 * 1024
# Python's JSON reader gives up past its recursion limit (about a thousand levels): no page of
# a network's is that deep, so such a value is a problem, never a crash.
TOO_DEEP = "JSON nested too deeply"

Value = tuple[int, Any] | Problem


def json_lines(text: IO[str]) -> Iterator[Value]:
    for number, line in enumerate(text, 1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except ValueError as exc:
            yield Problem(number, f"not JSON: {exc}", line.rstrip("\n"))
            continue
        except RecursionError:
            yield Problem(number, TOO_DEEP, line[:2000])
            continue
        yield number, value


class _Broken(Exception):
    """The text cannot be read from here on: `problem` says where and why."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.reason)
        self.problem = problem


class _Scanner:
    """A window on the text: whitespace skipped and values decoded as the window slides."""

    def __init__(self, text: IO[str]) -> None:
        self.text = text
        self.decoder = json.JSONDecoder()
        self.buffer, self.pos, self.line, self.eof = "", 0, 1, False
        self.decoded = False  # a break before the first value: the file is not JSON at all

    def fill(self) -> bool:
        if self.eof:
            return False
        chunk = self.text.read(CHUNK)
        if not chunk:
            self.eof = True
            return False
        self.buffer = self.buffer[self.pos :] + chunk
        self.pos = 0
        return True

    def skip(self, chars: str) -> str:
        """Skip whitespace (and `chars`); the next significant character, "" at the end."""
        while True:
            buffer = self.buffer
            while self.pos < len(buffer) and (
                buffer[self.pos].isspace() or buffer[self.pos] in chars
            ):
                if buffer[self.pos] == "\n":
                    self.line += 1
                self.pos += 1
            if self.pos < len(buffer):
                return buffer[self.pos]
            if not self.fill():
                return ""

    def value(self) -> Any:
        """The value starting here; raises _Broken (or Unreadable before any value)."""
        while True:
            try:
                value, end = self.decoder.raw_decode(self.buffer, self.pos)
                break
            except RecursionError:
                # Its end cannot be found without reading it: the rest of the file is lost.
                raise _Broken(
                    Problem(
                        self.line,
                        f"{TOO_DEEP}, the rest of the file cannot be read",
                        self.buffer[self.pos : self.pos + 2000],
                    )
                ) from None
            except ValueError as exc:
                at = getattr(exc, "pos", self.pos)
                near_end = at >= len(self.buffer) - 65536
                if near_end and len(self.buffer) - self.pos < MAX_VALUE_BYTES and self.fill():
                    continue
                where = self.line + self.buffer.count("\n", self.pos, at)
                if not self.decoded:
                    raise Unreadable(f"not JSON (line {where}: {exc})") from exc
                raise _Broken(
                    Problem(
                        where,
                        f"broken JSON, the rest of the file cannot be read: {exc}",
                        self.buffer[self.pos : self.pos + 2000],
                    )
                ) from exc
        self.decoded = True
        self.line += self.buffer.count("\n", self.pos, end)
        self.pos = end
        return value

    def items(self, *, in_array: bool) -> Iterator[Value]:
        """The values from here: an array's elements up to its "]", or documents to the end."""
        separators = "," if in_array else ""
        while True:
            char = self.skip(separators)
            if char == "":
                if in_array:
                    yield Problem(
                        self.line, "the JSON array is not closed: the file ends early", None
                    )
                return
            if in_array and char == "]":
                self.pos += 1
                return
            line = self.line
            yield line, self.value()


def json_values(text: IO[str]) -> Iterator[Value]:
    """The values of one JSON document (or several one after another) or of a top-level
    array, one at a time. Raises Unreadable when not even the first value can be read."""
    scanner = _Scanner(text)
    in_array = scanner.skip("") == "["
    if in_array:
        scanner.pos += 1
    try:
        yield from scanner.items(in_array=in_array)
    except _Broken as broken:
        yield broken.problem


def json_member_values(text: IO[str], *, member: str, what: str) -> Iterator[Value]:
    """The elements of the array that `member` of the top-level object holds (the object's
    other members are read past one at a time, and what follows the array is not read).
    Raises Unreadable, naming `what` the file should be, when there is no such array."""
    scanner = _Scanner(text)
    if scanner.skip("") != "{":
        raise Unreadable(f"not {what}: it does not start with a JSON object")
    scanner.pos += 1
    try:
        while scanner.skip(",") == '"':
            key = scanner.value()
            if scanner.skip("") != ":":
                break
            scanner.pos += 1
            if key != member:
                scanner.skip("")
                scanner.value()  # another member ("@context", "id", "totalItems"…)
                continue
            if scanner.skip("") != "[":
                raise Unreadable(f"not {what}: {member!r} is not an array")
            scanner.pos += 1
            try:
                yield from scanner.items(in_array=True)
            except _Broken as broken:  # part-way through the array: what came before stays
                yield broken.problem
            return
    except _Broken as broken:
        raise Unreadable(f"not {what}: {broken.problem.reason}") from None
    raise Unreadable(f"not {what}: no {member!r} array in the top-level object")
