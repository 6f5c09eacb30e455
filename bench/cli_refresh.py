"""Process start-up and a full `headwater refresh --wait` through the CLI, side by side per tree.

    python bench/cli_refresh.py [--repos 10] [--latency-ms 0] [--rounds 3] [--tree DIR ...]

Each ``--tree`` is a checkout of the project (default: this one); a baseline is measured by
checking out an older commit elsewhere (``git worktree add /tmp/hw-base REV``) and passing
both trees. The trees are run alternately, ``--rounds`` times each, with this interpreter and
``PYTHONPATH=<tree>``, so both see the same machine load. Per tree: median wall seconds of
``headwater --help`` and of a full ``headwater refresh TENANT --full --wait --json`` of a
sandbox GitHub org (its own process), requests served, rows loaded and the run's state. The
first tree is compared with the others as ratios (other / first). The last line is one JSON
object.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet

HERE = Path(__file__).resolve().parent.parent


def cli(tree: Path, env: dict[str, str], *args: str) -> tuple[float, subprocess.CompletedProcess[str]]:
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "headwater", *args], cwd=tree, env=env, capture_output=True, text=True, check=False
    )
    return time.perf_counter() - started, done


def tree_env(tree: Path, home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEADWATER_")}
    env.update(
        PYTHONPATH=str(tree),
        HEADWATER_HOME=str(home),
        HEADWATER_SECRET_KEY=Fernet.generate_key().decode(),
        HEADWATER_LOG_LEVEL="WARNING",
    )
    return env


def one_round(tree: Path, repos: int, latency_ms: float) -> dict[str, Any]:
    sys.path.insert(0, str(HERE))
    from headwater.cli.sandboxes import SandboxProcess, settings_from_truth

    with tempfile.TemporaryDirectory(prefix="hw-cli-") as tmp:
        env = tree_env(tree, Path(tmp))
        help_s, _ = cli(tree, env, "--help")
        sandbox = SandboxProcess("github", seed=7, latency_ms=latency_ms, repos=repos)
        try:
            options, secrets = settings_from_truth(sandbox.truth(), sandbox.url)
            for args in (["db", "upgrade", "--json"], ["tenant", "add", "bench", "--json"]):
                _, done = cli(tree, env, *args)
                if done.returncode:
                    raise RuntimeError(f"{args}: {done.stderr.strip()}")
            add = ["source", "add", "bench", "github", "--no-backfill", "--json"]
            add += [x for k, v in options.items() for x in ("--option", f"{k}={v}")]
            add += [x for k, v in secrets.items() for x in ("--secret", f"{k}={v}")]
            _, done = cli(tree, env, *add)
            if done.returncode:
                raise RuntimeError(f"source add: {done.stderr.strip()}")
            before = len(sandbox.api_requests())
            refresh_s, done = cli(tree, env, "refresh", "bench", "--full", "--wait", "--json")
            doc = json.loads(done.stdout) if done.stdout.strip() else {}
            return {
                "help_s": help_s,
                "refresh_s": refresh_s,
                "requests": len(sandbox.api_requests()) - before,
                "state": doc.get("state", done.stderr.strip()[-200:]),
                "records_loaded": doc.get("records_loaded"),
            }
        finally:
            sandbox.stop()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--repos", type=int, default=10)
    p.add_argument("--latency-ms", type=float, default=0.0)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--tree", type=Path, action="append", default=None, help="A checkout (repeat for a baseline).")
    args = p.parse_args()
    trees = [t.resolve() for t in (args.tree or [HERE])]
    rounds: dict[Path, list[dict[str, Any]]] = {t: [] for t in trees}
    for _ in range(args.rounds):
        for t in trees:
            rounds[t].append(one_round(t, args.repos, args.latency_ms))
    per_tree = []
    for t in trees:
        rs = rounds[t]
        per_tree.append(
            {
                "tree": str(t),
                "help_s": round(statistics.median(r["help_s"] for r in rs), 3),
                "refresh_s": round(statistics.median(r["refresh_s"] for r in rs), 3),
                "requests": rs[-1]["requests"],
                "records_loaded": rs[-1]["records_loaded"],
                "states": sorted({str(r["state"]) for r in rs}),
            }
        )
    first = per_tree[0]
    for other in per_tree[1:]:
        other["help_ratio"] = round(other["help_s"] / first["help_s"], 2)
        other["refresh_ratio"] = round(other["refresh_s"] / first["refresh_s"], 2)
    out = {"benchmark": "cli_refresh", "repos": args.repos, "latency_ms": args.latency_ms, "trees": per_tree}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
