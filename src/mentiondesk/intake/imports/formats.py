"""The history formats, the network each belongs to, telling them apart, and their readers.

| format | network | what |
| --- | --- | --- |
| csv | x | the "Customer Support on Twitter" CSV layout |
| json, jsonl | x | X API v2 pages (`readers`) |
| mastodon-outbox | mastodon | an account archive (.tar.gz) or its outbox.json (`mastodon`) |
| bluesky-car | bluesky | a repo export, com.atproto.sync.getRepo's CAR (`bluesky`) |
| bluesky-json | bluesky | listRecords pages of app.bsky.feed.post records (`bluesky`) |
"""

from __future__ import annotations

import gzip
import io
import json
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from mentiondesk.channels.models import Network

from . import bluesky, mastodon, readers
from .jsonstream import CHUNK, json_lines, json_values
from .records import Item, Ours, Unreadable

NETWORK_OF = {
    "csv": Network.X,
    "json": Network.X,
    "jsonl": Network.X,
    "mastodon-outbox": Network.MASTODON,
    "bluesky-car": Network.BLUESKY,
    "bluesky-json": Network.BLUESKY,
}
FORMATS = tuple(NETWORK_OF)
_LINES = (".jsonl", ".ndjson")


def formats_of(network: str) -> list[str]:
    return [fmt for fmt, of in NETWORK_OF.items() if of == network]


def detect_format(path: Path, head: str) -> str:
    """The format of a file, from its name first, else from its first characters (`head`,
    its first 64 KiB read as text)."""
    name = path.name.lower().removesuffix(".gz")
    start = head.lstrip()
    if name.endswith(".tar") or head[257:262] == "ustar":
        return "mastodon-outbox"  # the account archive itself: its outbox.json is read
    if name.endswith(".car") or (
        # A CAR starts with its DAG-CBOR header, a map of "roots" and "version".
        not start.startswith(("{", "[")) and "roots" in head[:32] and "version" in head[:128]
    ):
        return "bluesky-car"
    if name.endswith(".csv"):
        return "csv"
    if start.startswith(("{", "[")):
        if '"orderedItems"' in head or '"OrderedCollection"' in head:
            return "mastodon-outbox"
        if '"at://' in head and '"app.bsky.' in head:
            return "bluesky-json"
    if name.endswith(_LINES):
        return "jsonl"
    if start.startswith("["):
        return "json"
    if start.startswith("{"):
        first_line = start.split("\n", 1)[0]
        try:
            json.loads(first_line)
        except ValueError:
            return "json"  # one page written over several lines
        return "jsonl"
    if name.endswith(".json"):
        return "json"
    if head.split("\n", 1)[0].strip().lower().startswith("tweet_id"):
        return "csv"
    raise Unreadable(
        f"{path}: cannot tell the format (not a CSV with a tweet_id header, not JSON, not a "
        f"CAR); name it with --format {'|'.join(FORMATS)}"
    )


def rows(path: Path, *, fmt: str, ours: Ours, text: IO[str]) -> Iterator[Item]:
    """Every row of the file, in file order (a CAR: in record key order)."""
    if fmt == "mastodon-outbox":
        if _is_tar(path):
            text = _archive_outbox(text.buffer)  # type: ignore[attr-defined]
        return mastodon.outbox_rows(text, ours=ours)
    if fmt == "bluesky-car":
        # The bytes under the text layer: nothing of the text has been read yet.
        return bluesky.car_rows(text.buffer, ours=ours)  # type: ignore[attr-defined]
    if fmt == "bluesky-json":
        lines = path.name.lower().removesuffix(".gz").endswith(_LINES)
        return bluesky.record_rows(json_lines(text) if lines else json_values(text), ours=ours)
    return readers.rows(path, fmt=fmt, ours=ours, text=text)


def _is_tar(path: Path) -> bool:
    """Whether `path` is a tar file (gzipped when its name ends in .gz, as `open_text` reads)."""
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    with opener(path, "rb") as raw:
        return raw.read(512)[257:262] == b"ustar"


def _archive_outbox(binary: IO[bytes]) -> IO[str]:
    """The outbox.json of a Mastodon account archive (`archive-….tar.gz`, gunzipped by
    `readers.open_text`), read as a stream: the media files before it are read past, not
    kept (BackupService writes media, then outbox.json, likes, bookmarks and the actor)."""
    try:
        # Open while its outbox is read; the file under it is closed by the caller.
        archive = tarfile.open(fileobj=binary, mode="r|")  # noqa: SIM115
        for member in archive:
            if member.isfile() and member.name.rsplit("/", 1)[-1] == "outbox.json":
                inner = archive.extractfile(member)
                if inner is not None:
                    # A streamed member cannot tell whether it seeks, which TextIOWrapper asks.
                    raw = io.BufferedReader(readers.Counter(inner), buffer_size=CHUNK)
                    return io.TextIOWrapper(raw, encoding="utf-8-sig", errors="replace")
    except tarfile.TarError as exc:
        raise Unreadable(f"not a readable tar archive ({exc})") from exc
    raise Unreadable("no outbox.json in the archive: is it a Mastodon account archive?")
