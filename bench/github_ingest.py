"""Full ingest and unchanged refresh of a sandbox GitHub org, serially (run_source_sequentially).

    .venv/bin/python bench/github_ingest.py [--repos 10] [--latency 0 100]

Prints one JSON document: per latency, the requests and wall time of the full ingest and of the
unchanged second refresh (and how the refresh's requests were answered).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet
from pydantic import SecretStr

from connectors.github.sandbox import make_sandbox
from connectors.runtime import run_source_sequentially
from connectors.sandbox import serve_in_thread
from storage import Database, upgrade
from tenancy import Vault, add_source, add_tenant, runtime_for


def measure(repos: int, latency_ms: float, workdir: Path) -> dict[str, Any]:
    sandbox = make_sandbox(repos=repos, latency_ms=latency_ms)
    server = serve_in_thread(sandbox)
    db = Database(f"sqlite:///{workdir}/github-{latency_ms:g}.db")
    try:
        upgrade(db)
        vault = Vault(SecretStr(Fernet.generate_key().decode()))
        truth = sandbox.truth()
        with db.session() as s:
            options = {"base_url": server.url, **truth["options"]}
            source = add_source(s, vault, add_tenant(s, "bench"), "github", options, truth["secrets"])
            rt = runtime_for(source, vault)
        out: dict[str, Any] = {"latency_ms": latency_ms, "repos": repos, "truth": truth["counts"]}
        for phase in ("full_ingest", "unchanged_refresh"):
            sandbox.requests.clear()
            started = time.perf_counter()
            report = asyncio.run(run_source_sequentially(rt, db))
            elapsed = time.perf_counter() - started
            log = sandbox.api_requests()
            out[phase] = {
                "requests": len(log),
                "wall_s": round(elapsed, 2),
                "records_loaded": report.records_loaded,
                "answers": dict(Counter(str(x.status) for x in log)),
                "conditional": sum(1 for x in log if x.conditional),
                "incremental_since": sum(1 for x in log if "since=" in x.query),
            }
        return out
    finally:
        server.stop()
        db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repos", type=int, default=10)
    parser.add_argument("--latency", type=float, nargs="+", default=[0.0, 100.0])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        results = [measure(args.repos, latency, Path(tmp)) for latency in args.latency]
    print(json.dumps({"benchmark": "github_ingest", "runs": results}, indent=2))


if __name__ == "__main__":
    main()
