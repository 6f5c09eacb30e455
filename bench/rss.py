"""Peak RSS of a full refresh as the data grows: a sandbox GitHub org of 10, then 100 repositories.

    python bench/rss.py [--repos 10 100] [--latency-ms 0] [--tree DIR ...]

Per size, a fresh home and a sandbox org of that many repositories (its own process, seed 7;
``headwater sandbox --repos N``), then ``headwater refresh bench --full --wait --json`` in a
process of its own, whose peak resident set (``wait4`` rusage: the process and the local
Dask cluster it runs, in-process or waited for) is reported with its wall time, requests and
rows loaded. ``ratio`` is the peak at the largest size over the peak at the smallest: flat
memory means close to 1. Each ``--tree`` (default: this checkout) runs with
``PYTHONPATH=<tree>``, so a baseline checkout (``git worktree add /tmp/hw-base REV``) is
measured in the same run. The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet

HERE = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(HERE))

from headwater.cli.sandboxes import SandboxProcess, settings_from_truth  # noqa: E402


def run_cli(tree: Path, env: dict[str, str], *args: str) -> tuple[subprocess.CompletedProcess[str], float, float]:
    """(result, wall seconds, peak RSS MiB) of one `headwater` process."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        started = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-m", "headwater", *args], cwd=tree, env=env, stdout=out, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)  # its own peak RSS, which Popen.wait() would not give
        wall = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        done = subprocess.CompletedProcess(proc.args, proc.returncode, out.read(), err.read())
    return done, wall, usage.ru_maxrss / 1024


def measure(tree: Path, repos: int, latency_ms: float) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="hw-rss-") as tmp:
        env = {k: v for k, v in os.environ.items() if not k.startswith("HEADWATER_")}
        env.update(
            PYTHONPATH=str(tree),
            HEADWATER_HOME=tmp,
            HEADWATER_SECRET_KEY=Fernet.generate_key().decode(),
            HEADWATER_LOG_LEVEL="WARNING",
        )
        sandbox = SandboxProcess("github", seed=7, latency_ms=latency_ms, repos=repos)
        try:
            options, secrets = settings_from_truth(sandbox.truth(), sandbox.url)
            add = ["source", "add", "bench", "github", "--no-backfill", "--json"]
            add += [x for k, v in options.items() for x in ("--option", f"{k}={v}")]
            add += [x for k, v in secrets.items() for x in ("--secret", f"{k}={v}")]
            for args in (["db", "upgrade", "--json"], ["tenant", "add", "bench", "--json"], add):
                done, _, _ = run_cli(tree, env, *args)
                if done.returncode:
                    raise RuntimeError(f"{args[:2]}: {done.stderr.strip()}")
            done, wall, peak = run_cli(tree, env, "refresh", "bench", "--full", "--wait", "--json")
            doc = json.loads(done.stdout) if done.stdout.strip() else {}
            return {
                "repos": repos,
                "peak_rss_mb": round(peak, 1),
                "wall_s": round(wall, 2),
                "requests": len(sandbox.api_requests()),
                "records_loaded": doc.get("records_loaded"),
                "state": doc.get("state") or done.stderr.strip()[-300:],
            }
        finally:
            sandbox.stop()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--repos", type=int, nargs="+", default=[10, 100])
    p.add_argument("--latency-ms", type=float, default=0.0)
    p.add_argument("--tree", type=Path, action="append", default=None, help="A checkout (repeat for a baseline).")
    args = p.parse_args()
    trees = []
    for tree in [t.resolve() for t in (args.tree or [HERE])]:
        sizes = [measure(tree, n, args.latency_ms) for n in args.repos]
        trees.append(
            {
                "tree": str(tree),
                "sizes": sizes,
                "ratio": round(sizes[-1]["peak_rss_mb"] / sizes[0]["peak_rss_mb"], 2),
            }
        )
        print(json.dumps(trees[-1]), file=sys.stderr)
    print(json.dumps({"benchmark": "rss", "latency_ms": args.latency_ms, "trees": trees}))


if __name__ == "__main__":
    main()
