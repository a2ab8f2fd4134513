"""Keep Python's cyclic garbage collector off the objects a web process keeps for good.

A full collection walks every tracked object. In a warmed desk process (Django, the URL
patterns, compiled templates, the triage model) that is some 140,000 objects, 60 to 130 ms of
CPU landing on whichever request happens to trigger it: a twentieth of the queue pages at a
million tickets (bench/RESULTS.md, "Scale"). What is alive once the first requests have run
lives as long as the process, so it is frozen (`gc.freeze`: moved out of the collector's
sight) after the first, the 10th and the 100th request, each of which has compiled templates
and filled caches the earlier ones did not need. No collection first: it would cost the very
pause this avoids. The garbage cycles alive at those three moments are kept for good, a
bounded amount."""

from __future__ import annotations

import gc
import itertools
from typing import Any

FREEZE_AFTER = frozenset({1, 10, 100})

_finished = itertools.count(1)  # thread-safe: waitress serves requests from several threads


def request_finished_freeze(**_: Any) -> None:
    """request_finished receiver (core.apps)."""
    if next(_finished) in FREEZE_AFTER:
        gc.freeze()
