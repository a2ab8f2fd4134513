"""Bluesky (AT Protocol) connector: vendor I/O only, through MarshalX's `atproto` SDK. `client`
speaks to the PDS, `session` keeps its sessions, `transport` records each request and keeps
the rate-limit book, `errors` turns the SDK's errors into ours, `parse` reads the answers, and
`rules` says what a post's text and record key may be without the SDK.

The connector's names are imported on first use (PEP 562), so the desk can count a post or
link it (`rules`) without loading the SDK."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .rules import (
    TEXT_LIMIT_BYTES,
    TEXT_LIMIT_GRAPHEMES,
    post_url,
    rkey_for,
    text_graphemes,
    text_problem,
)

if TYPE_CHECKING:
    from .client import BlueskyConnector
    from .session import bluesky_state_clear

__all__ = [
    "TEXT_LIMIT_BYTES",
    "TEXT_LIMIT_GRAPHEMES",
    "BlueskyConnector",
    "bluesky_state_clear",
    "post_url",
    "rkey_for",
    "text_graphemes",
    "text_problem",
]

_LAZY = {"BlueskyConnector": ".client", "bluesky_state_clear": ".session"}


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(_LAZY[name], __name__), name)
