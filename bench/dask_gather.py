"""How long DaskRunner takes to collect the summaries of finished tasks, side by side by tree.

    python bench/dask_gather.py [--tasks 83] [--rounds 3] [--tree PATH ...]

For each tree (default: this checkout) in a child process: a local Dask cluster with worker
processes (as ``refresh`` starts one), ``--tasks`` tasks that return a small summary at once,
all left to finish; then the time the runner's ``wait()`` loop takes to hand every summary back
(``collect_s``) and from the first submit to the last summary (``total_s``). Rounds alternate
between trees; medians are reported. Prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parents[1]


def summary_task(cfg: Any, task_id: int, full: bool) -> dict[str, Any]:
    return {"state": "COMPLETED", "task": task_id, "requests": 3, "rows": 40}


def child(tasks: int) -> dict[str, float]:
    import distributed

    import pipelines.runners as runners
    from pipelines.cluster import close, connect

    runners.execute_task = summary_task  # type: ignore[attr-defined,assignment]  # by value (defined in __main__)
    client = connect(None, workers=1, threads=4)
    try:
        runners.DaskRunner(client, None).submit(-1, full=False, priority=0)  # type: ignore[arg-type]  # warm-up
        distributed.wait(list(client.futures), timeout=60)  # type: ignore[no-untyped-call]
        runner = runners.DaskRunner(client, None)  # type: ignore[arg-type]
        start = time.perf_counter()
        for i in range(tasks):
            runner.submit(i, full=False, priority=0)
        distributed.wait(list(runner._futures), timeout=60)  # type: ignore[no-untyped-call]
        settled = time.perf_counter()
        got = 0
        while runner.busy:
            got += len(runner.wait(10))
        end = time.perf_counter()
        assert got == tasks, got
        return {"collect_s": end - settled, "total_s": end - start}
    finally:
        close(client)


def run_tree(tree: Path, tasks: int) -> dict[str, float]:
    code = (
        f"import sys; sys.path.insert(0, {str(tree)!r}); sys.argv = ['dask_gather', '--child', '{tasks}'];"
        f" import runpy; runpy.run_path({str(Path(__file__).resolve())!r}, run_name='__main__')"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=tree, capture_output=True, text=True, check=True)
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--tasks", type=int, default=83)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--tree", type=Path, action="append", help="a checkout to measure (repeatable)")
    p.add_argument("--child", type=int, help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.child is not None:
        print(json.dumps(child(a.child)))
        return
    trees = a.tree or [HERE]
    samples: dict[str, list[dict[str, float]]] = {str(t): [] for t in trees}
    for _ in range(a.rounds):
        for t in trees:
            samples[str(t)].append(run_tree(t, a.tasks))
    result = {
        "bench": "dask_gather",
        "tasks": a.tasks,
        "rounds": a.rounds,
        "trees": {
            t: {k: round(statistics.median(s[k] for s in runs), 4) for k in ("collect_s", "total_s")}
            for t, runs in samples.items()
        },
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
