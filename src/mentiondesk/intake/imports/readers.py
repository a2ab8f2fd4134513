"""Reading X history files row by row, in constant memory: the "Customer Support on Twitter"
CSV layout and X API v2 pages (one page, a JSON array of pages, or JSON Lines of pages); and
what every format's reading shares (the file opened as text, batches parsed ahead).

Readers yield `Row`s (one post, already in the shape of the staging table) and `Problem`s (a
row that cannot be used, with its line number and the raw text or fields). They never raise
for bad content, only `Unreadable` when the file as a whole cannot be read (missing, not the
format asked for, no CSV header). `formats` tells the formats apart and picks the reader."""

from __future__ import annotations

import csv
import gzip
import io
import queue
import re
import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import IO, Any

from mentiondesk.channels.connectors.base import RemotePost
from mentiondesk.channels.connectors.x import parse_page
from mentiondesk.core.constants import POST_TIME_MAX, POST_TIME_MIN, POST_TIME_RANGE

from .jsonstream import CHUNK, Value, json_lines, json_values
from .records import Item, Ours, Problem, Row, Unreadable

__all__ = ["CSV_COLUMNS", "Ours", "Problem", "Row", "Unreadable", "batches_ahead", "open_text"]

FORMATS = ("csv", "json", "jsonl")
CSV_COLUMNS = (
    "tweet_id",
    "author_id",
    "inbound",
    "created_at",
    "text",
    "response_tweet_id",
    "in_response_to_tweet_id",
)
# Column widths of Post and Ticket: a longer value would fail the whole insert on PostgreSQL.
MAX_ID = 40
MAX_POST_ID = 2**63 - 1  # a signed 64-bit integer, as X ids are
MAX_USERNAME = 50

_MONTHS = {
    name: f"{number:02d}"
    for number, name in enumerate(
        ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), 1
    )
}
_CLOCK = re.compile(r"(?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d")
# X usernames: letters, digits and underscores, at most 15 characters; not an e-mail address.
# The look-behind comes after the "@" so it only runs where an "@" is (several times faster).
_MENTION = re.compile(r"@(?<![\w@]@)(\w{1,15})")


class Counter(io.RawIOBase):
    """Counts the bytes read from the file (before decompression), for the progress bar."""

    def __init__(self, raw: IO[bytes], digest: Any = None) -> None:
        self._raw = raw
        self._digest = digest  # a hashlib object fed every byte, or None
        self.consumed = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        count = self._raw.readinto(buffer) or 0  # type: ignore[attr-defined]
        self.consumed += count
        if self._digest is not None and count:
            self._digest.update(memoryview(buffer)[:count])
        return count

    def close(self) -> None:
        self._raw.close()
        super().close()


def open_text(path: Path, *, digest: Any) -> tuple[Counter, IO[str]]:
    """The file as text (UTF-8, BOM tolerated, `.gz` decompressed) and its byte counter,
    which also feeds `digest` (a hashlib object) when given."""
    try:
        counter = Counter(path.open("rb"), digest)
    except OSError as exc:
        raise Unreadable(f"{path}: {exc.strerror or exc}") from exc
    binary: IO[bytes] = io.BufferedReader(counter, buffer_size=CHUNK)
    if path.name.endswith(".gz"):
        binary = gzip.GzipFile(fileobj=binary)  # type: ignore[assignment]
    # newline="" keeps quoted newlines inside CSV fields intact (the csv module's rule).
    return counter, io.TextIOWrapper(binary, encoding="utf-8-sig", errors="replace", newline="")


def rows(path: Path, *, fmt: str, ours: Ours, text: IO[str]) -> Iterator[Row | Problem]:
    """Every row of an X file (`fmt` csv, json or jsonl), in file order."""
    if fmt == "csv":
        return _csv_rows(text, ours=ours, name=path.name)
    if fmt == "jsonl":
        return _x_rows(json_lines(text), ours=ours)
    return _x_rows(json_values(text), ours=ours)


def batches_ahead(items: Iterator[Item], *, size: int) -> Iterator[list[Item]]:
    """`items` in lists of `size`, parsed by a thread of their own while the caller stores the
    previous list (SQLite and PostgreSQL release the GIL while they work). One list waits
    while the next is parsed and the caller stores the last: at most three lists, whatever the
    file's size. An error in the thread is raised here."""
    ready: queue.Queue[list[Item] | BaseException | None] = queue.Queue(maxsize=1)
    stop = threading.Event()

    def put(item: list[Item] | BaseException | None) -> bool:
        while not stop.is_set():
            try:
                ready.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            batch: list[Item] = []
            for item in items:
                batch.append(item)
                if len(batch) >= size:
                    if not put(batch):
                        return
                    batch = []
            if not batch or put(batch):
                put(None)
        except BaseException as exc:  # handed to the caller's thread
            put(exc)

    thread = threading.Thread(target=produce, name="import-reader", daemon=True)
    thread.start()
    try:
        while (got := ready.get()) is not None:
            if isinstance(got, BaseException):
                raise got
            yield got
    finally:
        stop.set()
        thread.join()


# --- CSV ----------------------------------------------------------------------------------------


_DAYS: dict[str, str | None] = {}  # "Tue Oct 31 2017" -> "2017-10-31" (None: no such day)


# csv_time's strings, zero-padded to four-digit years, compare as the times they name.
_CSV_TIME_MIN = f"{POST_TIME_MIN:%Y-%m-%d %H:%M:%S}"
_CSV_TIME_MAX = f"{POST_TIME_MAX:%Y-%m-%d %H:%M:%S}"


def csv_time(value: str) -> str | None:
    """`Tue Oct 31 22:10:47 +0000 2017` as UTC "2017-10-31 22:10:47", or None if malformed.

    The fast path checks the clock with a pattern and the date once per day seen (`_days`, at
    most a few thousand entries): a million strptime calls would cost more than the rest of
    the import. Other offsets than +0000 go through strptime."""
    if len(value) != 30 or value[19:26] != " +0000 ":
        return _csv_time_slow(value)
    clock = value[11:19]
    key = value[:10] + value[25:]
    day = _DAYS.get(key)
    if day is None:
        if key in _DAYS:
            return None
        if len(_DAYS) > 100_000:  # centuries of days: not a real file, stay bounded
            return _csv_time_slow(value)
        day = _DAYS[key] = _csv_day(value)
    if day is None or value[10] != " " or not _CLOCK.fullmatch(clock):
        return None
    return f"{day} {clock}"


def _csv_day(value: str) -> str | None:
    month = _MONTHS.get(value[4:7])
    day, year = value[8:10], value[26:]
    if month is None or not (day.isdigit() and year.isdigit()) or value[3] + value[7] != "  ":
        return None
    try:
        date(int(year), int(month), int(day))
    except ValueError:  # Oct 32, Feb 30
        return None
    return f"{year}-{month}-{day}"


def _csv_time_slow(value: str) -> str | None:
    try:
        moment = datetime.strptime(value, "%a %b %d %H:%M:%S %z %Y").astimezone(UTC)
    except ValueError:
        return None
    return str(moment.replace(tzinfo=None))


def _post_id(value: str) -> int | None:
    if not value.isdigit():
        # Exports that went through a spreadsheet or pandas write ids as floats ("8.0").
        value = value.strip().removesuffix(".0")
        if not value.isdigit():
            return None
    number = int(value)
    return number if number <= MAX_POST_ID else None


def _csv_rows(text: IO[str], *, ours: Ours, name: str) -> Iterator[Row | Problem]:
    reader = csv.reader(text)
    try:
        header = next(reader)
    except StopIteration:
        raise Unreadable(f"{name}: the file is empty") from None
    except csv.Error as exc:
        raise Unreadable(f"{name}: not a CSV file ({exc})") from exc
    columns = [c.strip().lower() for c in header]
    missing = [c for c in CSV_COLUMNS if c not in columns]
    if missing:
        raise Unreadable(
            f"{name}: the CSV header lacks {', '.join(missing)} (expected {','.join(CSV_COLUMNS)})"
        )
    at = {c: columns.index(c) for c in CSV_COLUMNS}
    i_id, i_author, i_inbound, i_time, i_text, i_responses, i_parent = (at[c] for c in CSV_COLUMNS)

    def _as_dict(fields: list[str]) -> dict[str, str] | list[str]:
        return dict(zip(columns, fields, strict=True)) if len(fields) == width else fields

    width = len(columns)
    handle_name = ours.username
    by_username = ours.by_username
    line = reader.line_num + 1  # where the next record starts
    while True:
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            # A quoted field left open swallows the rest of the file: report and stop.
            yield Problem(line, f"unreadable CSV from here on: {exc}", None)
            return
        start, line = line, reader.line_num + 1
        if len(fields) != width:
            if fields:  # blank lines are not rows
                yield Problem(
                    start, f"{len(fields)} fields, the header has {width}", _as_dict(fields)
                )
            continue
        remote_id = _post_id(fields[i_id])
        if remote_id is None:
            yield Problem(start, f"tweet_id {fields[i_id]!r} is not a post id", _as_dict(fields))
            continue
        author = fields[i_author].strip()
        if not author or len(author) > MAX_ID:
            yield Problem(start, f"author_id {author!r} is empty or too long", _as_dict(fields))
            continue
        created_at = csv_time(fields[i_time])
        if created_at is None:
            yield Problem(
                start,
                f"created_at {fields[i_time]!r} is not like 'Tue Oct 31 22:10:47 +0000 2017'",
                _as_dict(fields),
            )
            continue
        if not _CSV_TIME_MIN <= created_at < _CSV_TIME_MAX:
            yield Problem(
                start,
                f"created_at {fields[i_time]!r} is not a time {POST_TIME_RANGE}",
                _as_dict(fields),
            )
            continue
        parent_field = fields[i_parent]
        parent = _post_id(parent_field) if parent_field else None
        if parent_field and parent is None and parent_field.strip():
            yield Problem(
                start,
                f"in_response_to_tweet_id {parent_field!r} is not a post id",
                _as_dict(fields),
            )
            continue
        inbound = fields[i_inbound].strip().lower()
        author_lower = author.lower()
        handle_id = by_username.get(author_lower)
        if handle_id is not None:
            direction = "out"
        elif inbound == "true":
            direction = "in"
        elif inbound == "false":
            direction = "x"
        else:
            yield Problem(
                start, f"inbound {fields[i_inbound]!r} is not True or False", _as_dict(fields)
            )
            continue
        body = fields[i_text]
        mentions = _MENTION.findall(body)
        # Usernames are word characters only: nothing to escape in JSON.
        mentions_json = '["' + '","'.join(mentions) + '"]' if mentions else "[]"
        involves = int(
            author_lower == handle_name or any(m.lower() == handle_name for m in mentions)
        )
        yield Row(
            remote_id,
            start,
            parent,
            None,
            author,
            author,
            direction,
            handle_id,
            involves,
            created_at,
            body,
            mentions_json,
            "[]",
            None,
            fields[i_inbound],
            fields[i_time],
            fields[i_responses],
        )


# --- X API v2 pages -----------------------------------------------------------------------------


def _x_rows(values: Iterator[Value], *, ours: Ours) -> Iterator[Row | Problem]:
    for item in values:
        if isinstance(item, Problem):
            yield item
            continue
        line, value = item
        if isinstance(value, dict) and {"id", "text"} <= value.keys():
            value = {"data": [value]}  # a bare post, as in an array of posts
        if not isinstance(value, dict) or not ({"data", "includes", "meta"} & value.keys()):
            yield Problem(line, "neither an X API page (data, includes) nor a post", value)
            continue
        page = parse_page(value)
        for problem in page.problems:
            yield Problem(line, problem.reason, problem.raw)
        for post in page.posts:
            yield _x_row(post, line=line, ours=ours)
        # The parents X included: context for the conversation, stored like any post.
        for post in page.included.values():
            yield _x_row(post, line=line, ours=ours)


def _x_row(post: RemotePost, *, line: int, ours: Ours) -> Row | Problem:
    if len(post.author_username) > MAX_USERNAME or len(post.author_id) > MAX_ID:
        return Problem(line, f"post {post.remote_id}: author too long", post.raw)
    remote_id = _post_id(post.remote_id)
    parent = _post_id(post.in_reply_to_id) if post.in_reply_to_id else None
    if remote_id is None or (post.in_reply_to_id and parent is None):
        return Problem(line, f"post {post.remote_id}: not a 64-bit post id", post.raw)
    # X's conversation_id when given; without it the reply links decide (parse_page would
    # make the post its own conversation).
    given = post.conversation_id if "conversation_id" in post.raw else None
    if given is not None and len(given) > MAX_ID:
        return Problem(line, f"post {post.remote_id}: conversation_id too long", post.raw)
    return ours.row(
        post,
        line=line,
        remote_id=remote_id,
        parent=parent,
        conversation=given,
        author_username=post.author_username or post.author_id,
    )
