"""Per-tenant pipeline graphs on Dask: planning, execution, run/task state machine."""

from pipelines.driver import Driver
from pipelines.liveness import recover_crashed_runs
from pipelines.runners import DaskRunner, SerialRunner, TaskRunner
from pipelines.service import dask_runner, execute_run, request_retry, request_run
from pipelines.state import IllegalTransition, create_run, set_run_state, set_task_state
from pipelines.views import list_runs, run_document, run_summary
from pipelines.worker import WorkerConfig, execute_task

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
