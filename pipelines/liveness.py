"""Is a run still being driven? Driver identity, heartbeats (a thread per driver) and the
recovery of runs whose driver died."""

from __future__ import annotations

import logging
import os
import socket
import threading
from datetime import UTC, datetime, timedelta

from pipelines.state import mark_stale_runs_crashed
from storage import Database
from storage.models import TERMINAL_STATES, Run, State, utcnow

log = logging.getLogger(__name__)

HEARTBEAT_S = 2.0
# A driver on another host that has not beaten for this long is gone: its run is resumed by the
# next worker (the scheduler re-queues it), well within two minutes of the crash. Long enough
# that a database outage of 30 s (no beats get written) does not look like a dead driver.
STALE_AFTER = timedelta(seconds=45)


def driver_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


# The driver name of a run the scheduler put back on the queue after its driver died: no host,
# so it counts as alive while the heartbeat the scheduler wrote is fresh (no second re-queue),
# and the next worker to take the run resumes it at once.
REQUEUED = "queue:requeued"

# Runs driven by this process right now (a re-delivered message must not start a second driver
# for a run another thread of this process is driving).
_DRIVING: set[int] = set()
_DRIVING_LOCK = threading.Lock()


def driver_alive(run: Run, stale_after: timedelta = STALE_AFTER) -> bool:
    """Is someone still driving ``run``? Same host: is the driver's process still there (this
    process: is a thread driving it)? A process that is there but has not beaten for four times
    ``stale_after`` is hung: no. Other hosts: a heartbeat within ``stale_after`` (drivers beat
    every HEARTBEAT_S from a thread of their own, whatever their loop is doing)."""
    if not run.driver:
        return False
    beat = run.heartbeat_at or run.started_at or run.created_at
    age = utcnow() - _aware(beat) if beat is not None else timedelta(0)
    host, _, pid = run.driver.rpartition(":")
    if host != socket.gethostname():
        return age < stale_after
    if age > stale_after * 4:
        return False
    if pid == str(os.getpid()):
        with _DRIVING_LOCK:
            return run.id in _DRIVING
    try:
        os.kill(int(pid), 0)
    except (ProcessLookupError, ValueError):
        return False
    except PermissionError:
        return True
    return True


def _aware(dt: datetime) -> datetime:
    return dt if dt.tzinfo is not None else dt.replace(tzinfo=UTC)


def recover_crashed_runs(db: Database, *, exclude: int | None = None, older_than: timedelta = STALE_AFTER) -> list[int]:
    """Runs whose driver died are marked CRASHED (called whenever a driver starts, and by the
    scheduler). ``exclude``: the run about to be resumed by the caller."""

    def alive(run: Run) -> bool:
        return run.id == exclude or driver_alive(run, older_than)

    with db.session() as s:
        return mark_stale_runs_crashed(s, older_than=older_than, driver_alive=alive)


class Heartbeat:
    """Beats a run's ``heartbeat_at`` every HEARTBEAT_S from its own thread while its driver
    works (so a long database wait or a busy loop never looks like a dead driver), and notices
    when the run was cancelled. A database away for a moment costs a few beats, nothing more."""

    def __init__(self, db: Database, run_id: int, every: float = HEARTBEAT_S) -> None:
        self.db, self.run_id, self.every = db, run_id, every
        self.cancelled = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat_until_stopped, name=f"heartbeat-run-{run_id}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _beat_until_stopped(self) -> None:
        while not self._stop.wait(self.every):
            try:
                self.beat()
            except Exception as exc:
                log.debug("run %s: heartbeat not written (%s)", self.run_id, type(exc).__name__)

    def beat(self) -> None:
        with self.db.session() as s:
            run = s.get(Run, self.run_id)
            if run is None or run.state == State.CANCELLED:
                self.cancelled.set()
            elif State(run.state) not in TERMINAL_STATES:
                run.heartbeat_at = utcnow()
