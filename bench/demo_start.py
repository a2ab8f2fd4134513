"""The demo's own start (issue 21, item 4): from launching `mentiondesk demo` to its first page
(`GET /accounts/login/` answering 200), and the process's RSS then and after a login.

Installs are not counted (bench/first_run.sh measures a fresh clone). Each run starts the
command in a process of its own on the given data directory; `--fresh` gives every run a new,
empty one (the first start on a machine), otherwise the directory is kept between runs (every
later start). `--baseline REV` also runs the code of a git revision (its `src/` exported to a
temporary directory), alternating with this tree's, so both figures come from the same load.

    python bench/demo_start.py [--runs 5] [--fresh] [--baseline REV]
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parent.parent
PAGE_TARGET_S = 2.0
RSS_TARGET_MB = 200.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rss_mb(pid: int) -> tuple[float, float]:
    """Resident set now and its peak (VmRSS, VmHWM), in MB."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        fields[key] = value.split()
    return int(fields["VmRSS"][0]) / 1024, int(fields["VmHWM"][0]) / 1024


def demo_process(
    *, src: Path, data_dir: Path, port: int, stderr: int = subprocess.PIPE
) -> subprocess.Popen[str]:
    """`mentiondesk demo` of the code in `src` on `data_dir` and `port`, in a process of its
    own with none of this shell's MENTIONDESK_ settings. `stderr` a pipe by default: read
    it, or pass DEVNULL for a demo that runs long enough to fill one."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MENTIONDESK_")}
    env["PYTHONPATH"] = str(src)
    env["MENTIONDESK_DATA_DIR"] = str(data_dir)
    return subprocess.Popen(
        [sys.executable, "-m", "mentiondesk", "demo", "--port", str(port)],
        cwd=data_dir.parent,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=stderr,
        text=True,
    )


def start_once(*, src: Path, data_dir: Path) -> dict[str, float]:
    """Start the demo, wait for its first page, log in as ana, read RSS, stop it."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    started = time.perf_counter()
    proc = demo_process(src=src, data_dir=data_dir, port=port)
    try:
        with httpx.Client(base_url=url, timeout=10) as web:
            while True:
                if proc.poll() is not None:
                    assert proc.stderr is not None
                    raise RuntimeError("demo exited early:\n" + proc.stderr.read())
                try:
                    if web.get("/accounts/login/").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                time.sleep(0.02)
            first_page = time.perf_counter() - started
            rss_first, _ = rss_mb(proc.pid)
            csrf = web.cookies["csrftoken"]
            logged_in = web.post(
                "/accounts/login/",
                data={"username": "ana", "password": "mentiondesk", "csrfmiddlewaretoken": csrf},
                headers={"Referer": f"{url}/accounts/login/"},
            )
            assert logged_in.status_code == 302, logged_in.status_code
            assert web.get("/").status_code == 200
            rss_queue, peak = rss_mb(proc.pid)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    return {"first_page": first_page, "rss_first": rss_first, "rss_queue": rss_queue, "peak": peak}


def baseline_export(rev: str, into: Path) -> Path:
    archive = subprocess.run(
        ["git", "-C", str(REPO), "archive", rev, "src"], check=True, capture_output=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into / "src"


def summary(name: str, runs: list[dict[str, float]]) -> str:
    page = statistics.median(r["first_page"] for r in runs)
    rss = statistics.median(r["rss_queue"] for r in runs)
    peak = max(r["peak"] for r in runs)
    pages = ", ".join(f"{r['first_page']:.2f}" for r in runs)
    verdict = "met" if page <= PAGE_TARGET_S and peak <= RSS_TARGET_MB else "MISSED"
    return (
        f"{name}: first page median {page:.2f} s (runs: {pages}); RSS at first page "
        f"{statistics.median(r['rss_first'] for r in runs):.0f} MB, after a login and the "
        f"queue {rss:.0f} MB, peak {peak:.0f} MB; target <= {PAGE_TARGET_S} s, "
        f"<= {RSS_TARGET_MB:.0f} MB: {verdict}"
    )


def measure(
    *, runs: int, fresh: bool, baseline: str | None = None
) -> dict[str, list[dict[str, float]]]:
    """`runs` starts of this tree (and of `baseline`, alternating), by tree."""
    with tempfile.TemporaryDirectory(prefix="demo-start-") as tmp:
        work = Path(tmp)
        trees = {"this tree": REPO / "src"}
        if baseline:
            trees = {f"baseline {baseline}": baseline_export(baseline, work), **trees}
        results: dict[str, list[dict[str, float]]] = {name: [] for name in trees}
        dirs = {name: work / name.replace(" ", "-") / "var" for name in trees}
        if not fresh:
            # Later starts: one start first, not counted, leaves what a first start leaves
            # (the template, the OS's file cache), as on a machine that ran the demo before.
            for name, src in trees.items():
                dirs[name].mkdir(parents=True)
                warm = start_once(src=src, data_dir=dirs[name])
                print(f"warm-up {name}: {warm['first_page']:.2f} s", file=sys.stderr)
        for run in range(runs):
            for name, src in trees.items():
                data_dir = dirs[name]
                if fresh and data_dir.exists():
                    shutil.rmtree(data_dir)
                data_dir.mkdir(parents=True, exist_ok=True)
                result = start_once(src=src, data_dir=data_dir)
                results[name].append(result)
                print(f"run {run + 1} {name}: {result['first_page']:.2f} s", file=sys.stderr)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--fresh", action="store_true", help="a new data directory every run")
    parser.add_argument("--baseline", help="a git revision to run alternately, e.g. main")
    args = parser.parse_args()

    print(f"load before: {os.getloadavg()[0]:.2f}", file=sys.stderr)
    results = measure(runs=args.runs, fresh=args.fresh, baseline=args.baseline)
    print(f"load after: {os.getloadavg()[0]:.2f}", file=sys.stderr)
    kind = "first start on an empty data dir" if args.fresh else "later starts"
    print(f"demo start ({kind}, {args.runs} runs each, alternating)")
    for name, runs in results.items():
        print(summary(name, runs))


if __name__ == "__main__":
    main()
