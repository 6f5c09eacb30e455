"""Peak RSS of a full refresh as the data grows: a sandbox GitHub org of 10, then 100 repositories.

    python bench/rss.py [--repos 10 100] [--latency-ms 0] [--tree DIR ...]

Per size, a fresh home and a sandbox org of that many repositories (its own process, seed 7;
``headwater sandbox --repos N``), then ``headwater refresh bench --full --wait --json`` in a
process of its own, reported with its wall time, requests and rows loaded, and two peaks:

``peak_rss_mb``   the ``wait4`` rusage of that process: a *max*, never a sum, over the process
                  and those of its descendants that were waited for. Spawned Dask workers are
                  (their nanny joins them); workers forked by a fork server are not (the fork
                  server outlives the command and nobody waits for it), so it can be the
                  driver's own peak alone.
``peak_tree_mb``  the peak of the *sum* over the process tree (the command and every descendant:
                  fork server, workers), sampled every 50 ms; ``peak_tree_pss_mb`` the same in
                  proportional set size (pages a fork shares with its parent counted once).
                  ``processes`` is each process's own peak RSS, by role.

``ratio`` (``ratio_tree``) is the peak at the largest size over the peak at the smallest:
flat memory means close to 1. Each ``--tree`` (default: this checkout) runs with
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
import threading
import time
from pathlib import Path
from typing import Any

import psutil  # type: ignore[import-untyped]  # (installed with distributed)
from cryptography.fernet import Fernet

HERE = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(HERE))

from headwater.cli.sandboxes import SandboxProcess, settings_from_truth  # noqa: E402


class TreeSampler(threading.Thread):
    """The peak summed RSS and PSS of process ``pid`` and all its descendants, and each one's own peak."""

    def __init__(self, pid: int, interval: float = 0.05) -> None:
        super().__init__(daemon=True)
        self.root, self.interval = pid, interval
        self.peak_rss = self.peak_pss = 0
        self.own: dict[int, tuple[str, int]] = {}  # pid -> (role, peak RSS)
        self._stop_now = threading.Event()

    def _role(self, proc: psutil.Process) -> str:
        if proc.pid == self.root:
            return "driver"
        line = " ".join(proc.cmdline())
        if "resource_tracker" in line:
            return "resource_tracker"
        if "forkserver" in line:  # the server, and the workers it forked (its children)
            return "forkserver" if proc.ppid() == self.root else "worker"
        return "worker" if "multiprocessing" in line else "other"

    def sample(self) -> None:
        try:
            root = psutil.Process(self.root)
            procs = [root, *root.children(recursive=True)]
        except psutil.Error:
            return
        rss = pss = 0
        for proc in procs:
            try:
                mem = proc.memory_full_info()
                role = self._role(proc)
            except psutil.Error:
                continue
            rss, pss = rss + mem.rss, pss + mem.pss
            self.own[proc.pid] = (role, max(mem.rss, self.own.get(proc.pid, ("", 0))[1]))
        self.peak_rss, self.peak_pss = max(self.peak_rss, rss), max(self.peak_pss, pss)

    def run(self) -> None:
        while not self._stop_now.wait(self.interval):
            self.sample()

    def stop(self) -> dict[str, Any]:
        self._stop_now.set()
        self.join()
        mb = 1 << 20
        return {
            "peak_tree_mb": round(self.peak_rss / mb, 1),
            "peak_tree_pss_mb": round(self.peak_pss / mb, 1),
            "processes": sorted(
                ({"role": role, "peak_rss_mb": round(peak / mb, 1)} for role, peak in self.own.values()),
                key=lambda x: (x["role"] != "driver", x["role"], -x["peak_rss_mb"]),
            ),
        }


def run_cli(
    tree: Path, env: dict[str, str], *args: str
) -> tuple[subprocess.CompletedProcess[str], float, float, dict[str, Any]]:
    """(result, wall seconds, wait4 peak RSS MiB, TreeSampler.stop()) of one `headwater` process."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        started = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-m", "headwater", *args], cwd=tree, env=env, stdout=out, stderr=err)
        sampler = TreeSampler(proc.pid)
        sampler.start()
        _, status, usage = os.wait4(proc.pid, 0)  # its own peak RSS, which Popen.wait() would not give
        wall = time.perf_counter() - started
        tree_peaks = sampler.stop()
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        done = subprocess.CompletedProcess(proc.args, proc.returncode, out.read(), err.read())
    return done, wall, usage.ru_maxrss / 1024, tree_peaks


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
                done, *_ = run_cli(tree, env, *args)
                if done.returncode:
                    raise RuntimeError(f"{args[:2]}: {done.stderr.strip()}")
            done, wall, peak, tree_peaks = run_cli(tree, env, "refresh", "bench", "--full", "--wait", "--json")
            doc = json.loads(done.stdout) if done.stdout.strip() else {}
            return {
                "repos": repos,
                "peak_rss_mb": round(peak, 1),
                "peak_tree_mb": tree_peaks["peak_tree_mb"],
                "peak_tree_pss_mb": tree_peaks["peak_tree_pss_mb"],
                "wall_s": round(wall, 2),
                "requests": len(sandbox.api_requests()),
                "records_loaded": doc.get("records_loaded"),
                "state": doc.get("state") or done.stderr.strip()[-300:],
                "processes": tree_peaks["processes"],
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
                "ratio_tree": round(sizes[-1]["peak_tree_mb"] / sizes[0]["peak_tree_mb"], 2),
            }
        )
        print(json.dumps(trees[-1]), file=sys.stderr)
    print(json.dumps({"benchmark": "rss", "latency_ms": args.latency_ms, "trees": trees}))


if __name__ == "__main__":
    main()
