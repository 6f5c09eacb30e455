"""The README's tour works as written: its block (between the tour markers) runs with bash -e in a
fresh HEADWATER_HOME, against a sandbox GitHub, every command exiting 0."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

from headwater.cli.sandboxes import start

ROOT = Path(__file__).resolve().parents[2]


def tour() -> str:
    text = (ROOT / "README.md").read_text()
    block = re.search(r"<!-- tour:start -->\s*```sh\n(.*?)```\s*<!-- tour:end -->", text, re.S)
    assert block, "README.md has no tour block between <!-- tour:start --> and <!-- tour:end -->"
    return block.group(1)


def test_the_readme_tour_runs_as_written(tmp_path: Path) -> None:
    script = tour()
    assert "RUN=$(" in script and "SOURCE=$(" in script  # ids come from --json, not guessed
    _sandbox, server = start("github", seed=7)  # what `headwater sandbox --port 8700` serves
    try:
        port = server.url.rsplit(":", 1)[1].strip("/")
        env = {k: v for k, v in os.environ.items() if not k.startswith("HEADWATER_")}
        env.update(HEADWATER_HOME=str(tmp_path / "hw"), HEADWATER_DASK_WORKERS="1", COLUMNS="100")
        done = subprocess.run(
            ["bash", "-e", "-o", "pipefail", "-c", script.replace("8700", port)],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=400,
        )
        assert done.returncode == 0, f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
        assert "pull_request" in done.stdout and "COMPLETED" in done.stdout
    finally:
        server.stop()
