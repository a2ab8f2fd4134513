"""The `mentiondesk` command. Product verbs are Django management commands; anything else falls
through to Django's own (`mentiondesk migrate`, `mentiondesk createsuperuser`, ...)."""

from __future__ import annotations

import os
import sys

from mentiondesk import __version__

HELP = f"""mentiondesk {__version__}: answer everyone who mentions your social accounts.

usage: mentiondesk <command> [options]

commands:
  demo [--port N]              the whole desk on SQLite with a sandbox network, no credentials
  serve [--host H] [--port N]  run the web server (default 127.0.0.1:8000)
  worker [--once]              run background work: ingest, outbox (--once: drain and exit)
  poll                         one ingestion pass over every handle that creates tickets
  import FILE [--handle NAME]  load history: X API v2 pages (JSON) or the Customer Support
                               on Twitter CSV; idempotent, bad rows listed by line
  policy apply FILE.toml       load handles and users from a policy file, all or nothing
  policy show                  print the policy in force
  user add NAME --role ROLE    create a user (advocate|lead|infrastructure|light_agent|admin)
  token create NAME            print a new API token for user NAME (last line)
  token list NAME | revoke P   a user's tokens (prefix, state, last use); revoke one by prefix
  credentials set HANDLE       store a handle's X tokens, encrypted (stdin or hidden prompt)
  credentials list|rekey|key   where tokens come from; re-encrypt with the first key; new key
  sandbox [--port N]           run the X-API-compatible sandbox network on its own
  audit export [--format F]    the append-only audit log as CSV or JSON
  report --from D --to D       volume, response times, % within SLA, backlog (table|csv|json)
  triage eval FILE.csv         measure the triage model on your own labelled posts
  triage export                agents' corrections, as labelled data
  sla refresh [--all]          recompute SLA clocks (open tickets; --all: history too)
  migrate                      create or update the database schema
  version                      print the version

Any other Django management command works too (`mentiondesk help` lists them).
Configuration comes from MENTIONDESK_* environment variables; see the README.
"""


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in {"-h", "--help"}:
        print(HELP, end="")
        return 0
    if args[0] in {"version", "--version"}:
        print(__version__)
        return 0
    if args[0] == "demo":
        # The live queue polls every few seconds; a line per request would bury the logins.
        os.environ.setdefault("MENTIONDESK_ACCESS_LOG", "0")
    if args[0] == "demo" and "MENTIONDESK_DATABASE_URL" not in os.environ:
        # The demo keeps its own database so it never mixes with real data under ./var/.
        data_dir = os.environ.get("MENTIONDESK_DATA_DIR", os.path.join(os.getcwd(), "var"))
        os.makedirs(data_dir, exist_ok=True)
        demo_db = os.path.abspath(os.path.join(data_dir, "demo.db"))
        # The sandbox network starts empty every time, so the demo's data does too.
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(demo_db + suffix):
                os.remove(demo_db + suffix)
        os.environ["MENTIONDESK_DATABASE_URL"] = f"sqlite:///{demo_db}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mentiondesk.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(["mentiondesk", *args])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
