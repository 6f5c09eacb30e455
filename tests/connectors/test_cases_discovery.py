"""The shared connector tests find each kind's ``tests/<kind>/cases.py``, and name a registered
kind that has none (so the coverage tests fail for it rather than leave it untested)."""

from __future__ import annotations

import sys
import types

import pytest

from tests.connectors.providers import BY_KIND, discover, no_case_for


def test_a_kind_with_cases_is_found_and_one_without_is_missing() -> None:
    found, missing = discover(["github", "no_such_kind", "queue"])  # tests/queue has no cases.py
    assert found == [BY_KIND["github"]]
    assert missing == ["no_such_kind", "queue"]
    said = no_case_for(missing)
    assert "tests/no_such_kind/cases.py" in said and "tests/queue/cases.py" in said and "CASE" in said


def test_a_case_of_another_kind_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    module = types.ModuleType("tests.impostor.cases")
    module.CASE = BY_KIND["github"]  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "tests.impostor.cases", module)
    with pytest.raises(TypeError, match="of kind 'impostor'"):
        discover(["impostor"])


def test_a_broken_import_inside_cases_is_not_taken_for_a_missing_file(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(name: str, *args: object, **kw: object) -> types.ModuleType:
        raise ModuleNotFoundError("No module named 'connectors.gone'", name="connectors.gone")

    monkeypatch.setattr("importlib.import_module", broken)
    with pytest.raises(ModuleNotFoundError, match=r"connectors\.gone"):
        discover(["github"])
