"""Encryption at rest of the handles' credentials: Fernet (AES-128-CBC + HMAC-SHA256, from
`cryptography`) with keys from MENTIONDESK_CREDENTIALS_KEY.

The variable holds one or more keys, comma-separated: the first encrypts, every one decrypts,
so a key is rotated by putting the new one first, running `mentiondesk credentials rekey`,
then dropping the old one (https://cryptography.io/en/latest/fernet/#cryptography.fernet.MultiFernet).
Keys are read at the point of use, never at import: a desk that stores no credentials runs
without one. No message here ever carries a key or a token.
"""

from __future__ import annotations

import binascii
import json
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings

from mentiondesk.core.errors import DomainError

KEY_VARIABLE = "MENTIONDESK_CREDENTIALS_KEY"
_HOW_TO_MAKE = "make one with `mentiondesk credentials key`"


class CredentialsKeyError(DomainError):
    """MENTIONDESK_CREDENTIALS_KEY is unset, malformed, or opens nothing stored."""


def key_problems(raw: str) -> list[str]:
    """What is wrong with the value `raw` of MENTIONDESK_CREDENTIALS_KEY ([] when usable)."""
    keys = [part.strip() for part in raw.split(",") if part.strip()]
    if not keys:
        return [f"{KEY_VARIABLE} is not set: stored X credentials need it ({_HOW_TO_MAKE})"]
    problems = []
    for number, key in enumerate(keys, start=1):
        try:
            Fernet(key)
        except (ValueError, binascii.Error):
            problems.append(
                f"{KEY_VARIABLE}: key {number} of {len(keys)} is not a Fernet key "
                f"(32 url-safe base64-encoded bytes; {_HOW_TO_MAKE})"
            )
    return problems


def keyring() -> MultiFernet:
    """The keys of MENTIONDESK_CREDENTIALS_KEY, first one encrypting.

    Raises CredentialsKeyError naming the variable when it is unset or a key is malformed."""
    raw = settings.CREDENTIALS_KEY or ""
    problems = key_problems(raw)
    if problems:
        raise CredentialsKeyError("; ".join(problems))
    return MultiFernet([Fernet(part.strip()) for part in raw.split(",") if part.strip()])


def key_generate() -> str:
    """A new random Fernet key."""
    return Fernet.generate_key().decode()


def secret_seal(values: dict[str, Any]) -> str:
    """`values` as JSON, encrypted with the first key."""
    return keyring().encrypt(json.dumps(values).encode()).decode()


def secret_open(sealed: str, *, owner: str) -> dict[str, Any]:
    """What `secret_seal` sealed. Raises CredentialsKeyError when no key opens it (`owner`,
    e.g. "@GitLab", says whose credentials)."""
    try:
        return dict(json.loads(keyring().decrypt(sealed.encode())))
    except InvalidToken:
        raise CredentialsKeyError(_undecryptable(owner)) from None


def secret_rekey(sealed: str, *, owner: str) -> str:
    """`sealed` encrypted again with the first key (MultiFernet.rotate)."""
    try:
        return keyring().rotate(sealed.encode()).decode()
    except InvalidToken:
        raise CredentialsKeyError(_undecryptable(owner)) from None


def _undecryptable(owner: str) -> str:
    return (
        f"{owner}: the stored X credentials cannot be decrypted with any key in {KEY_VARIABLE} "
        "(was the key replaced? keep the old key after the new one, comma-separated, and run "
        "`mentiondesk credentials rekey`; or store the credentials again)"
    )
