"""`headwater connectors new NAME` in a copy of the checkout: the generated tests pass as
generated, the registry, declarations, CLI and dashboard take the new kind with no edit, and
an invalid or taken name is refused with one line."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from headwater.cli import app

ROOT = Path(__file__).resolve().parents[2]
# Besides its own tests: a rule every registered connector must keep (its cases, by kind).
RULES = (
    "tests/connectors/test_partition_check.py::test_every_partitioned_connector_declares_a_check_by_partition_key",
)


def checkout(at: Path) -> Path:
    """A copy of what scaffolding writes into (connectors/, tests/, pyproject.toml); the other
    packages are linked, read only."""
    for folder in ("connectors", "tests"):
        shutil.copytree(ROOT / folder, at / folder, ignore=shutil.ignore_patterns("__pycache__", ".pytest_cache"))
    shutil.copy(ROOT / "pyproject.toml", at / "pyproject.toml")
    for package in ("storage", "tenancy", "pipelines", "headwater"):
        (at / package).symlink_to(ROOT / package, target_is_directory=True)
    return at


PROBE = """
import json, sys
import pytest
from typer.testing import CliRunner
code = pytest.main(["-v", "-n", "0", "-p", "no:randomly", "-p", "no:cacheprovider", "tests/gizmo_cloud", *sys.argv[1:]])
from connectors.declarations import problems
from connectors.registry import available_kinds, get_connector
from headwater.cli import app
from headwater.dashboard.render import badge_color, provider
described = CliRunner().invoke(app, ["connectors", "describe", "gizmo_cloud", "--json"]).stdout
c = get_connector("gizmo_cloud")
with open("probe.json", "w") as f:
    json.dump([available_kinds(), problems(c), provider(c.kind), badge_color(c.kind), described], f)
sys.exit(code)
"""


def run(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run(
        [sys.executable, *args], cwd=root, env=env, capture_output=True, text=True, timeout=240, check=False
    )


def new(root: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["connectors", "new", *args, "--root", str(root)])
    return result.exit_code, result.stdout, result.stderr


def test_a_scaffolded_connector_passes_its_tests_and_shows_up_everywhere(tmp_path: Path) -> None:
    root = checkout(tmp_path / "checkout")

    code, out, err = new(root, "gizmo_cloud", "--json")

    assert code == 0, err
    doc = json.loads(out)
    assert doc["kind"] == "gizmo_cloud" and doc["registered_in"] == "connectors/registry.py"
    for part in ("options", "streams", "normalize", "classify", "check", "sandbox"):
        assert f"connectors/gizmo_cloud/{part}.py" in doc["files"]
    assert "tests/gizmo_cloud/test_gizmo_cloud.py" in doc["files"]
    assert not (ROOT / "connectors" / "gizmo_cloud").exists()  # the real checkout is untouched

    # One interpreter: the generated tests, then what the registry, the declaration checks, the
    # dashboard and `headwater connectors describe` make of the new kind.
    result = run(root, "-c", PROBE, *RULES)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    passed = [line for line in result.stdout.splitlines() if "gizmo_cloud" in line and "PASSED" in line]
    assert len(passed) == 4 + 1, result.stdout[-3000:]  # its own four, and the rule's case for it
    assert "SKIPPED" not in result.stdout and "FAILED" not in result.stdout
    kinds, found, title, color, described = json.loads((root / "probe.json").read_text())
    assert kinds[-1] == "gizmo_cloud" and found == [] and title == "Gizmo Cloud" and color.startswith("#")
    assert [s["name"] for s in json.loads(described)["streams"]] == ["projects", "items"]


@pytest.mark.parametrize(
    ("name", "says"),
    [
        ("github", "already registered"),
        ("http", "connectors/http already exists"),
        ("registry", "connectors/registry.py already exists"),
        ("Gizmo", "not a valid connector name"),
        ("giz-mo", "not a valid connector name"),
        ("class", "not a valid connector name"),
        ("x", "not a valid connector name"),
    ],
)
def test_an_invalid_or_taken_name_is_refused_with_one_line(tmp_path: Path, name: str, says: str) -> None:
    (tmp_path / "connectors" / "http").mkdir(parents=True)
    shutil.copy(ROOT / "connectors" / "registry.py", tmp_path / "connectors" / "registry.py")
    (tmp_path / "connectors" / "registry.py").touch()
    before = sorted(p.name for p in (tmp_path / "connectors").iterdir())

    code, out, err = new(tmp_path, name)

    assert code != 0 and out == ""
    assert err.count("\n") == 1 and err.startswith("error: ") and says in err, err
    assert sorted(p.name for p in (tmp_path / "connectors").iterdir()) == before
    assert not (tmp_path / "tests").exists()


def test_outside_a_checkout_nothing_is_written(tmp_path: Path) -> None:
    code, _, err = new(tmp_path, "gizmo")
    assert code != 0 and "not a Headwater checkout" in err
    assert list(tmp_path.iterdir()) == []
