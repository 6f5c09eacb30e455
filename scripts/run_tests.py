"""Run the test suite; "no tests collected" (pytest exit code 5) counts as a failure."""

from __future__ import annotations

import subprocess
import sys

args = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *sys.argv[1:]]
code = subprocess.call(args)
if code == 5:
    print("error: no tests were collected", file=sys.stderr)
    sys.exit(1)
sys.exit(code)
