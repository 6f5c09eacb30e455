"""Per-tenant pipeline graphs on Dask: planning, execution, run/task state machine.

The names below are imported on first use (PEP 562): importing one module of the package
(``pipelines.cluster.prestart``, early in the CLI) does not import the driver, SQLAlchemy or
the connectors with it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pipelines.driver import Driver
    from pipelines.liveness import recover_crashed_runs
    from pipelines.runners import DaskRunner, SerialRunner, TaskRunner
    from pipelines.service import dask_runner, execute_run, request_retry, request_run
    from pipelines.state import IllegalTransition, create_run, set_run_state, set_task_state
    from pipelines.views import list_runs, run_document, run_summary
    from pipelines.worker import WorkerConfig, execute_task

_HOME = {
    "Driver": "driver",
    "recover_crashed_runs": "liveness",
    "DaskRunner": "runners",
    "SerialRunner": "runners",
    "TaskRunner": "runners",
    "dask_runner": "service",
    "execute_run": "service",
    "request_retry": "service",
    "request_run": "service",
    "IllegalTransition": "state",
    "create_run": "state",
    "set_run_state": "state",
    "set_task_state": "state",
    "list_runs": "views",
    "run_document": "views",
    "run_summary": "views",
    "WorkerConfig": "worker",
    "execute_task": "worker",
}


def __getattr__(name: str) -> Any:
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module 'pipelines' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"pipelines.{home}"), name)
    globals()[name] = value
    return value


__all__ = [
    "DaskRunner",
    "Driver",
    "IllegalTransition",
    "SerialRunner",
    "TaskRunner",
    "WorkerConfig",
    "create_run",
    "dask_runner",
    "execute_run",
    "execute_task",
    "list_runs",
    "recover_crashed_runs",
    "request_retry",
    "request_run",
    "run_document",
    "run_summary",
    "set_run_state",
    "set_task_state",
]
