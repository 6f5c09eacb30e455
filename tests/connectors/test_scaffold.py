"""`headwater connectors new NAME` in a copy of the checkout: the generated tests and the tests
shared by every connector pass as generated, the registry, declarations, CLI and dashboard take
the new kind with no edit, and an invalid or taken name is refused with one line."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from headwater.cli import app

ROOT = Path(__file__).resolve().parents[2]
# Besides its own tests: the tests every registered connector must pass, which find the new
# kind through its tests/NAME/cases.py. Only its cases and the kind-wide ones run (the other
# kinds' sandbox cases are theirs to run), so this stays a matter of seconds.
SHARED = (
    "tests/connectors/test_providers_common.py",
    "tests/connectors/test_partition_check.py",
    "tests/connectors/http/test_auth.py",
    "tests/connectors/test_field_help.py",
)
ONLY_ITS_OWN = "gizmo_cloud or every_registered or cover_every_connector or not (providers_common or partition_check)"
# (test, how many of its cases are the new kind's) in the shared files, all of which must pass
SHARED_CASES = {
    "test_a_full_refresh_loads_exactly_the_truth_and_a_rerun_changes_nothing": 1,
    "test_check_passes_a_good_credential_and_says_whose_it_is": 1,
    "test_check_names_a_rejected_credential_without_repeating_it": 1,
    "test_check_names_a_scope_with_nothing_to_read": 1,
    "test_a_rejected_credential_is_a_config_error_that_keeps_the_secret": 1,
    "test_a_revoked_credential_is_config_and_a_run_after_reconnecting_loses_nothing": 1,
    "test_bursts_of_429s_and_garbled_bodies_are_retried_to_completion": 2,
    "test_endless_garbage_is_transient_loads_nothing_and_a_clean_rerun_is_exact": 1,
    "test_every_partitioned_connector_declares_a_check_by_partition_key": 1,
    "test_a_sub_listing_not_found_keeps_its_partition": 1,
    "test_a_partition_that_answers_not_found_itself_is_tombstoned": 1,
    "test_every_connector_authenticates_through_the_shared_module": 1,
    "test_every_option_and_secret_field_has_a_description": 1,
    "test_describe_and_help_text_show_each_fields_own_help": 1,
}
# the shared tests that check every registered kind has its case (and so fail without cases.py)
COVERAGE = (
    "test_every_registered_connector_is_in_the_table",
    "test_cases_cover_every_connector",
    "test_every_registered_connector_has_a_credential_form_here",
    "test_the_cli_shows_provider_specific_help",
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
    assert {"tests/gizmo_cloud/test_gizmo_cloud.py", "tests/gizmo_cloud/cases.py"} <= set(doc["files"])
    assert not (ROOT / "connectors" / "gizmo_cloud").exists()  # the real checkout is untouched

    # One interpreter: the generated tests and the shared ones for the new kind, then what the
    # registry, the declaration checks, the dashboard and `headwater connectors describe` make of it.
    result = run(root, "-c", PROBE, "-k", ONLY_ITS_OWN, *SHARED)
    out = result.stdout
    assert result.returncode == 0, out[-3000:] + result.stderr[-2000:]
    assert "SKIPPED" not in out and "FAILED" not in out and "ERROR" not in out, out[-3000:]
    passed = [m.groups() for m in re.finditer(r"^(\S+)::(\S+) PASSED", out, re.MULTILINE)]
    assert len([test for path, test in passed if path.startswith("tests/gizmo_cloud/")]) == 4  # its own
    for name, cases in SHARED_CASES.items():
        assert len([t for _, t in passed if t.startswith(f"{name}[") and "gizmo_cloud" in t]) == cases, name
    assert set(COVERAGE) <= {test for _, test in passed}, out[-3000:]
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
