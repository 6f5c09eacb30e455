"""A full ingest of a sandbox GitHub org through the CLI, REST vs GraphQL, side by side.

    .venv/bin/python bench/github_ingest.py [--repos 10] [--latency 0 100] [--rounds 3]
                                            [--api rest graphql] [--tree DIR ...]

The org is the one of issue #15 (10 repositories: ~200 pull requests with ~1.5 reviews and 1-4
commits each, ~200 issues, 15 members); the sandbox runs in its own process with ``--latency``
ms added to every request. Per latency, the two source settings (``graphql=false`` and
``graphql=true``) are run alternately, ``--rounds`` times each, each round into a fresh
``HEADWATER_HOME``: ``headwater refresh TENANT --full --wait --json`` timed from process start
to exit (set-up commands are not timed). Prints one JSON line per configuration (medians of the
rounds: wall seconds, CPU seconds of the CLI process and every process it started, Dask
workers included (bench/measure.py);
requests the sandbox served; rows loaded, and a digest of them), then one line of ratios
(REST / GraphQL) per latency. ``identical_rows`` says every configuration loaded the same rows.
Each ``--tree`` (a checkout: ``git worktree add /tmp/hw-base REV``) runs the CLI from there
(PYTHONPATH), alternating with the others round after round; a ratio line per extra tree
compares it with the first (above 1: the first is faster).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import measure  # bench/measure.py: CPU of the command and every process it starts
from cryptography.fernet import Fernet

HERE = Path(__file__).resolve().parent.parent
SIZE = {"pulls": 25, "issues": 25, "commits": 42, "members": 15}  # per repository (members: the org)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Sandbox:
    """The GitHub sandbox of the given size in its own process (this script with --serve)."""

    def __init__(self, repos: int, latency_ms: float) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        cmd = [sys.executable, __file__, "--serve", str(self.port), "--repos", str(repos)]
        cmd += ["--latency", str(latency_ms)]
        self.proc = subprocess.Popen(cmd, cwd=HERE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                self.truth = httpx.get(self.url + "/__truth", timeout=2).json()
                return
            except httpx.HTTPError:
                time.sleep(0.1)
        raise RuntimeError("the sandbox did not start")

    def served(self) -> int:
        return len(httpx.get(self.url + "/__requests", timeout=30).json())

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)


def serve(port: int, repos: int, latency_ms: float) -> None:
    import uvicorn

    from connectors.github.sandbox import make_sandbox

    sandbox = make_sandbox(seed=7, latency_ms=latency_ms, repos=repos, **SIZE)
    uvicorn.run(sandbox.app(), host="127.0.0.1", port=port, log_level="warning", access_log=False)


def cli(env: dict[str, str], *args: str, tree: Path = HERE) -> subprocess.CompletedProcess[str]:
    env = {**env, "PYTHONPATH": str(tree)}
    done = subprocess.run([sys.executable, "-m", "headwater", *args], cwd=tree, env=env, capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"headwater {' '.join(args[:3])}: {done.stderr.strip()[-300:]}")
    return done


def one_round(repos: int, latency_ms: float, graphql: bool, tree: Path = HERE) -> dict[str, Any]:
    from storage import Database
    from storage.digest import data_digest

    with tempfile.TemporaryDirectory(prefix="hw-bench-") as tmp:
        env = {k: v for k, v in os.environ.items() if not k.startswith("HEADWATER_")}
        env.update(
            HEADWATER_HOME=tmp, HEADWATER_SECRET_KEY=Fernet.generate_key().decode(), HEADWATER_LOG_LEVEL="WARNING"
        )
        sandbox = Sandbox(repos, latency_ms)
        try:
            cli(env, "db", "upgrade", "--json", tree=tree)
            cli(env, "tenant", "add", "bench", "--json", tree=tree)
            options = {"base_url": sandbox.url, **sandbox.truth["options"], "graphql": str(graphql).lower()}
            add = ["source", "add", "bench", "github", "--no-backfill", "--json"]
            add += [x for k, v in options.items() for x in ("--option", f"{k}={v}")]
            add += [x for k, v in sandbox.truth["secrets"].items() for x in ("--secret", f"{k}={v}")]
            cli(env, *add, tree=tree)
            before = sandbox.served()
            done, measured = measure.run(
                [sys.executable, "-m", "headwater", "refresh", "bench", "--full", "--wait", "--json"],
                cwd=tree,
                env={**env, "PYTHONPATH": str(tree)},
            )
            if done.returncode:
                raise RuntimeError(f"headwater refresh: {done.stderr.strip()[-300:]}")
            wall, cpu = measured["wall_s"], measured["cpu_s"]
            requests = sandbox.served() - before
        finally:
            sandbox.stop()
        db = Database(f"sqlite:///{tmp}/headwater.db")
        try:
            digest, counts = data_digest(db)
        finally:
            db.dispose()
    doc = json.loads(done.stdout)
    return {"wall_s": wall, "cpu_s": cpu, "requests": requests, "rows": counts, "digest": digest, "state": doc["state"]}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--repos", type=int, default=10)
    p.add_argument("--latency", type=float, nargs="+", default=[0.0, 100.0])
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--api", nargs="+", choices=("rest", "graphql"), default=["rest", "graphql"])
    p.add_argument("--tree", type=Path, action="append", help="a checkout to run (PYTHONPATH); default this one")
    p.add_argument("--serve", type=int, default=None, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.serve is not None:
        serve(args.serve, args.repos, args.latency[0])
        return
    trees = args.tree or [HERE]
    for latency in args.latency:
        configs = [(tree, api) for tree in trees for api in args.api]
        rounds: dict[tuple[Path, str], list[dict[str, Any]]] = {c: [] for c in configs}
        for _ in range(args.rounds):  # configurations alternate, round after round
            for tree, api in configs:
                rounds[(tree, api)].append(one_round(args.repos, latency, api == "graphql", tree))
        lines = {}
        for (tree, api), rs in rounds.items():
            lines[(tree, api)] = line = {
                "benchmark": "github_ingest",
                "tree": str(tree),
                "api": api,
                "latency_ms": latency,
                "repos": args.repos,
                "rounds": len(rs),
                "requests": int(statistics.median(r["requests"] for r in rs)),
                "wall_s": round(statistics.median(r["wall_s"] for r in rs), 2),
                "cpu_s": round(statistics.median(r["cpu_s"] for r in rs), 2),
                "rows": sum(rs[-1]["rows"].values()),
                "rows_by_entity": rs[-1]["rows"],
                "walls_s": [round(r["wall_s"], 2) for r in rs],
                "states": sorted({r["state"] for r in rs}),
                "digest": rs[-1]["digest"][:16],
            }
            print(json.dumps(line), flush=True)
        identical = len({r["digest"] for rs in rounds.values() for r in rs}) == 1
        for tree in trees:
            if {"rest", "graphql"} <= set(args.api):
                print(json.dumps(_ratio(lines[(tree, "rest")], lines[(tree, "graphql")], "rest/graphql", identical)))
        for tree in trees[1:]:
            for api in args.api:
                print(json.dumps(_ratio(lines[(tree, api)], lines[(trees[0], api)], f"{tree}/{trees[0]}", identical)))


def _ratio(a: dict[str, Any], b: dict[str, Any], what: str, identical: bool) -> dict[str, Any]:
    """``a`` over ``b``: requests, wall and CPU (above 1: ``b`` is that many times better)."""
    return {
        "benchmark": "github_ingest",
        "tree": a["tree"] if a["tree"] == b["tree"] else None,
        "latency_ms": a["latency_ms"],
        "api": a["api"] if a["api"] == b["api"] else None,
        "ratio": what,
        "requests": round(a["requests"] / b["requests"], 2),
        "wall_s": round(a["wall_s"] / b["wall_s"], 2),
        "cpu_s": round(a["cpu_s"] / b["cpu_s"], 2) if b["cpu_s"] else None,
        "identical_rows": identical,
    }


if __name__ == "__main__":
    main()
