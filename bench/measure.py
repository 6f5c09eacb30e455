"""Wall and CPU time of a command and of every process it starts, however they end.

    python bench/measure.py OUT.json -- COMMAND [ARGS...]

Runs COMMAND (its stdout and stderr pass through) as a child subreaper (Linux
``PR_SET_CHILD_SUBREAPER``): processes its descendants leave behind (a fork server and the Dask
workers it forked outlive the command; nobody waits for them) are re-parented to this process,
which waits for every one, so ``RUSAGE_CHILDREN`` counts the CPU of all of them, not only of
those their parents waited for. Writes ``{"returncode", "wall_s", "cpu_s", "processes"}`` to
OUT.json. Benchmarks call :func:`run` instead of running the command themselves.
"""

from __future__ import annotations

import ctypes
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

PR_SET_CHILD_SUBREAPER = 36


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main(out: str, cmd: list[str]) -> int:
    if sys.platform == "linux":
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    started, cpu_before = time.perf_counter(), _cpu()
    proc = subprocess.Popen(cmd)
    returncode = proc.wait()
    wall = time.perf_counter() - started
    reaped = 1
    while True:  # what it left behind ends when it sees its parent gone (the fork server does)
        try:
            pid, _ = os.wait()
        except ChildProcessError:
            break
        reaped += pid > 0
    doc = {"returncode": returncode, "wall_s": wall, "cpu_s": _cpu() - cpu_before, "processes": reaped}
    Path(out).write_text(json.dumps(doc))
    return returncode


def run(cmd: list[str], **popen: Any) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    """``cmd`` under this script: (its captured output, {"wall_s", "cpu_s", "processes"})."""
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        done = subprocess.run([sys.executable, __file__, out.name, "--", *cmd], capture_output=True, text=True, **popen)
        text = Path(out.name).read_text()
    doc: dict[str, Any] = json.loads(text) if text else {"returncode": done.returncode}
    return done, doc


if __name__ == "__main__":
    args = sys.argv[1:]
    sys.exit(main(args[0], args[args.index("--") + 1 :]))
