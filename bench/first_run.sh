#!/usr/bin/env bash
# Time from a fresh clone to the demo's first page: `make demo` installs the runtime lock into a
# new .venv, migrates, seeds and serves. Usage: bench/first_run.sh [--cold] (cold: no pip cache).
# Needs port 8000 free; the clone goes in a temporary directory and is removed afterwards.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
dir="$(mktemp -d)"
trap 'pkill -f "$dir/.venv" || true; rm -rf "$dir"' EXIT
if [[ "${1:-}" == "--cold" ]]; then export PIP_NO_CACHE_DIR=1; fi

if curl -fs -o /dev/null http://127.0.0.1:8000/; then
  echo "something already serves http://127.0.0.1:8000/: stop it first" >&2
  exit 1
fi
git clone -q "$repo" "$dir"
cd "$dir"
start=$(date +%s.%N)
make demo >"$dir/demo.log" 2>&1 &
for _ in $(seq 1 600); do
  if curl -fs -o /dev/null http://127.0.0.1:8000/accounts/login/; then
    end=$(date +%s.%N)
    echo "first page $(echo "$end - $start" | bc) s after a fresh clone; .venv $(du -sh .venv | cut -f1)"
    exit 0
  fi
  sleep 0.25
done
echo "no page after 150 s; the demo's output:" >&2
cat "$dir/demo.log" >&2
exit 1
