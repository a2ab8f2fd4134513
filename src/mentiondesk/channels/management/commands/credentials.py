"""`mentiondesk credentials`: the handles' X credentials, stored encrypted. Secrets are read
from standard input or a hidden prompt, never from the command line (argv is visible to every
user of the machine in `ps` and lands in shell history), and never written out."""

from __future__ import annotations

import getpass
import json
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from mentiondesk.channels import selectors
from mentiondesk.channels.credentials import crypto, services
from mentiondesk.channels.credentials import selectors as credential_selectors
from mentiondesk.core.errors import DomainError
from mentiondesk.core.management.base import domain_errors_as_command_errors

SET_HELP = (
    "read the credentials from standard input: the JSON answer of X's token endpoint "
    '({"token_type", "expires_in", "access_token", "scope", "refresh_token"}), or the access '
    "token and the refresh token on two lines; at a terminal, prompt for them (hidden)"
)


class Command(BaseCommand):
    help = (
        "The handles' X credentials, encrypted with MENTIONDESK_CREDENTIALS_KEY: "
        "`set HANDLE` (from stdin or a prompt), `list`, `clear HANDLE`, `rekey`, `key`."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        store = sub.add_parser("set", help=SET_HELP)
        store.add_argument("handle", metavar="HANDLE")
        store.add_argument(
            "--expires-in",
            type=int,
            metavar="SECONDS",
            help="the access token's lifetime when the input does not say (X: 7200)",
        )
        sub.add_parser("list", help="every handle, where its token comes from, its expiry")
        clear = sub.add_parser("clear", help="forget a handle's stored credentials")
        clear.add_argument("handle", metavar="HANDLE")
        sub.add_parser("rekey", help="encrypt every stored secret again with the first key")
        sub.add_parser("key", help="print a new random key for MENTIONDESK_CREDENTIALS_KEY")

    @domain_errors_as_command_errors
    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        if action == "key":
            self.stdout.write(crypto.key_generate())
        elif action == "list":
            self._list()
        elif action == "rekey":
            count = services.credential_rekey()
            self.stdout.write(f"re-encrypted {count} stored credential(s) with the first key")
        elif action == "clear":
            handle = selectors.handle_get(username=options["handle"])
            done = services.credential_clear(handle=handle)
            self.stdout.write(
                f"forgot the stored credentials of {handle}"
                if done
                else f"{handle} had no stored credentials"
            )
        else:
            handle = selectors.handle_get(username=options["handle"])
            crypto.keyring()  # a missing key is said before the secrets are asked for
            values = _read_secrets(expires_in=options["expires_in"])
            credential = services.credential_set(handle=handle, **values)
            self.stdout.write(
                f"stored the X credentials of {handle}: access token "
                f"{_expiry(credential.expires_at)}, refresh token "
                f"{'kept' if credential.has_refresh_token else 'none'}"
            )

    def _list(self) -> None:
        rows = [("HANDLE", "TOKEN FROM", "ACCESS TOKEN", "REFRESH", "REFRESHED")]
        for handle in credential_selectors.handle_list_with_credentials():
            credential = getattr(handle, "credential", None)
            if credential is None:
                source = f"env {handle.credentials_env}" if handle.credentials_env else "-"
                rows.append((str(handle), source, "-", "-", "-"))
                continue
            rows.append(
                (
                    str(handle),
                    "database",
                    _expiry(credential.expires_at),
                    "yes" if credential.has_refresh_token else "no",
                    f"{credential.refreshed_at:%Y-%m-%d %H:%M} UTC"
                    if credential.refreshed_at
                    else "-",
                )
            )
        widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
        for row in rows:
            self.stdout.write("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)))


def _expiry(expires_at: datetime | None) -> str:
    if expires_at is None:
        return "expiry unknown"
    word = "expired" if expires_at <= timezone.now() else "expires"
    return f"{word} {expires_at.astimezone(UTC):%Y-%m-%d %H:%M} UTC"


def _read_secrets(*, expires_in: int | None) -> dict[str, Any]:
    """The credentials from stdin (JSON or two lines) or, at a terminal, hidden prompts."""
    scope = ""
    if sys.stdin.isatty():
        access = getpass.getpass("access token: ")
        refresh = getpass.getpass("refresh token (empty if none): ")
    else:
        text = sys.stdin.read().strip()
        if text.startswith("{"):
            try:
                answer = json.loads(text)
            except ValueError:
                raise DomainError("standard input is not valid JSON") from None
            if not isinstance(answer, dict):
                raise DomainError("standard input is not a JSON object")
            access = str(answer.get("access_token") or "")
            refresh = str(answer.get("refresh_token") or "")
            scope = str(answer.get("scope") or "")
            if expires_in is None and str(answer.get("expires_in", "")).isdigit():
                expires_in = int(answer["expires_in"])
        else:
            lines = text.splitlines()
            access = lines[0] if lines else ""
            refresh = lines[1] if len(lines) > 1 else ""
    if not access.strip():
        raise DomainError("no access token was given (see `credentials set --help`)")
    return {
        "access_token": access,
        "refresh_token": refresh,
        "expires_at": timezone.now() + timedelta(seconds=expires_in)
        if expires_in is not None
        else None,
        "scope": scope,
    }
