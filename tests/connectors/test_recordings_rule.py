"""Tests that read ../shared/recorded say so when it is absent: they skip with that reason on a
laptop and fail in CI (HEADWATER_REQUIRE_SERVICES=1) — and every such test goes through
``require_recordings``, which this file checks by reading the test sources."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import tests.conftest as conftest
import tests.connectors.recordings as recordings
from tests.conftest import require_recordings
from tests.connectors.recordings import recorded, recorded_params

TESTS = Path(__file__).resolve().parents[1]
# What marks a module as reading the recordings.
READS = ("RECORDED", "recorded(", "index_of(", "recorded_params(", "shared/recorded", "require_recordings(")
HELPERS = {TESTS / "conftest.py", TESTS / "connectors" / "recordings.py", Path(__file__).resolve()}


@pytest.fixture
def absent(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.setattr(conftest, "RECORDED", tmp_path)
    monkeypatch.setattr(recordings, "RECORDED", tmp_path)
    return tmp_path


def test_absent_recordings_skip_with_a_reason_that_says_so(absent: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(conftest, "REQUIRE_SERVICES", False)
    with pytest.raises(pytest.skip.Exception) as skipped:
        require_recordings("github")
    assert "recorded github responses" in str(skipped.value) and str(absent / "github" / "index.json") in str(
        skipped.value
    )


def test_absent_recordings_fail_in_ci(absent: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(conftest, "REQUIRE_SERVICES", True)
    with pytest.raises(pytest.fail.Exception, match="HEADWATER_REQUIRE_SERVICES=1"):
        require_recordings("github")


def test_a_folder_without_its_index_counts_as_absent(absent: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(conftest, "REQUIRE_SERVICES", False)
    (absent / "jira").mkdir()
    with pytest.raises(pytest.skip.Exception):
        require_recordings("jira")
    (absent / "jira" / "index.json").write_text('[{"file": "a.json", "endpoint": "/x", "status": 200}]')
    (absent / "jira" / "a.json").write_text('{"body": {"ok": 1}}')
    assert require_recordings("jira") == absent / "jira"
    assert recorded("jira") == [({"file": "a.json", "endpoint": "/x", "status": 200}, {"body": {"ok": 1}})]


def test_absent_recordings_still_give_one_case_to_say_why(absent: Path) -> None:
    (only,) = recorded_params("slack", [("a", 1)], ["a"], 2)
    assert only.values == (None, None) and only.id == "slack-recordings-absent"
    assert recorded("slack") == []


def test_present_recordings_give_their_cases(absent: Path) -> None:
    (absent / "aha").mkdir()
    (absent / "aha" / "index.json").write_text("[]")
    cases = recorded_params("aha", [("a", 1), ("b", 2)], ["a", "b"], 2)
    assert [(c.values, c.id) for c in cases] == [(("a", 1), "a"), (("b", 2), "b")]


def _reads_recordings(source: str) -> bool:
    return any(marker in source for marker in READS)


def _calls(fn: ast.FunctionDef, name: str) -> bool:
    return any(
        isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == name for node in ast.walk(fn)
    )


def test_every_test_over_recordings_goes_through_require_recordings() -> None:
    modules = [p for p in TESTS.rglob("*.py") if p.resolve() not in HELPERS and _reads_recordings(p.read_text())]
    assert len(modules) >= 10  # the contract and replay tests of the five providers
    missing = []
    for path in modules:
        for node in ast.parse(path.read_text()).body:
            is_test = isinstance(node, ast.FunctionDef) and node.name.startswith("test_")
            if is_test and not _calls(node, "require_recordings"):
                missing.append(f"{path.relative_to(TESTS)}::{node.name}")
    assert missing == [], "these tests read ../shared/recorded without require_recordings: " + ", ".join(missing)
