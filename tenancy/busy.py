"""Is a source being read right now? Removing it or resetting its cursors then is refused.

A run that has started (PENDING, RUNNING, RETRYING) with a task of the source not yet finished
would lose its task rows under a removal, or write the source's cursors again after a reset
(so the next run would not re-read). A run still waiting (SCHEDULED) is no obstacle: its tasks
read the cursors when they start.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models import TERMINAL_STATES, Run, Source, State, TaskRun
from tenancy.service import TenancyError

STARTED = (State.PENDING, State.RUNNING, State.RETRYING)


class SourceBusy(TenancyError):
    """The source has tasks in a run that is under way; the message says which and what to do."""


def busy_runs(session: Session, source_id: int) -> list[tuple[int, str]]:
    """(run id, state) of the started runs with an unfinished task of the source, oldest first."""
    rows = session.execute(
        select(Run.id, Run.state)
        .join(TaskRun, TaskRun.run_id == Run.id)
        .where(
            TaskRun.source_id == source_id,
            TaskRun.state.not_in([str(s) for s in TERMINAL_STATES]),
            Run.state.in_([str(s) for s in STARTED]),
        )
        .distinct()
        .order_by(Run.id)
    ).tuples()
    return [(int(rid), str(state)) for rid, state in rows]


def check_idle(session: Session, source: Source, doing: str) -> None:
    """Raise ``SourceBusy`` when a started run still has tasks of ``source``."""
    runs = busy_runs(session, source.id)
    if runs:
        rid, state = runs[0]
        raise SourceBusy(
            f"cannot {doing} source {source.id} while run {rid} ({state}) reads it: "
            f"wait for the run to end or cancel it (`headwater run cancel {rid}`)"
        )
