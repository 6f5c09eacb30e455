"""Run the test suite; "no tests collected" (pytest exit code 5) counts as a failure.

With no arguments: everything but the chaos tests on three pytest-xdist workers (most tests
wait on sandboxes, subprocesses and databases, not on the CPU; files are kept whole on one
worker), then the chaos tests alone (they restart PostgreSQL, which every other test uses).
With arguments: pytest with exactly those arguments.
"""

from __future__ import annotations

import subprocess
import sys

BASE = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
PHASES = [
    ["-n", "3", "--dist", "loadfile", "-m", "not chaos"],
    ["-m", "chaos"],
]


def run(args: list[str]) -> int:
    code = subprocess.call(BASE + args)
    if code == 5:
        print("error: no tests were collected", file=sys.stderr)
        return 1
    return code


def main() -> int:
    if sys.argv[1:]:
        return run(sys.argv[1:])
    codes = [run(phase) for phase in PHASES]
    return next((c for c in codes if c), 0)


if __name__ == "__main__":
    sys.exit(main())
