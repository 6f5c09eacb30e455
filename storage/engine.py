"""Engine and session factory for one database URL (SQLite embedded or PostgreSQL)."""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.orm import Session, sessionmaker
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_delay, wait_exponential

log = logging.getLogger(__name__)
T = TypeVar("T")

SQLITE_BUSY_TIMEOUT_MS = 60_000


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cur = dbapi_connection.cursor()
    # WAL lets readers proceed while one writer commits; the busy timeout makes concurrent
    # writers (Dask worker threads and processes) wait for the lock instead of failing.
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


def _sqlite_begin(conn: Any) -> None:
    # Writers take the write lock at BEGIN, so two writers never deadlock upgrading read locks;
    # readers (``Database.read``) begin DEFERRED and, with WAL, never wait for writers.
    mode = conn.get_execution_options().get("sqlite_begin", "IMMEDIATE")
    conn.exec_driver_sql(f"BEGIN {mode}")


class WriterLock:
    """One SQLite writer at a time across threads AND processes, without SQLite's busy sleeps.

    Threads of a process queue on a ``threading.RLock``; processes on an ``flock`` of a file
    beside the database, in which the kernel wakes a waiter as soon as the lock is free. With
    SQLite's own busy handler alone, a waiting process polls with sleeps of up to 100 ms and
    starves while another process's threads hand the lock to each other (measured: a driver
    starved past the 60 s busy timeout behind 32 worker threads).
    """

    def __init__(self, path: Path | None) -> None:
        self._threads = threading.RLock()
        self._path = path
        self._fd: int | None = None
        self._pid = 0
        self._depth = 0

    def __enter__(self) -> None:
        self._threads.acquire()
        self._depth += 1
        if self._depth == 1 and self._path is not None:
            if self._fd is None or self._pid != os.getpid():  # a forked child needs its own lock
                self._fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o600)
                self._pid = os.getpid()
            fcntl.flock(self._fd, fcntl.LOCK_EX)

    def __exit__(self, *exc: object) -> None:
        self._depth -= 1
        if self._depth == 0 and self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        self._threads.release()


def _logged_wait(what: str) -> Callable[[RetryCallState], None]:
    def before_sleep(state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        orig = getattr(exc, "orig", exc)
        log.warning(
            "%s: the database is unreachable (%s); retrying in %.1f s",
            what,
            type(orig).__name__,
            state.next_action.sleep if state.next_action else 0.0,
        )

    return before_sleep


class Database:
    """An engine plus a session factory. Create one per process and pass it in.

    ``outage_s``: how long :meth:`retrying` keeps re-running a unit of work while a server
    database is unreachable (restarted, failed over): connections are re-established (pre-ping)
    and the interrupted transaction is run again whole, so an outage shorter than this fails
    nothing."""

    def __init__(self, url: str, *, echo: bool = False, outage_s: float = 60.0) -> None:
        self.url = url
        self.outage_s = outage_s
        parsed = make_url(url)
        kwargs: dict[str, Any] = {"echo": echo, "future": True}
        if parsed.get_backend_name() == "sqlite":
            if parsed.database and parsed.database != ":memory:":
                Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
            kwargs["connect_args"] = {"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000, "check_same_thread": False}
        else:
            kwargs["pool_pre_ping"] = True
            # A connection attempt to a server that is restarting, and a connection whose server
            # vanished without a word, fail within seconds instead of blocking a worker forever
            # (db.retrying then runs the unit of work again).
            kwargs["connect_args"] = {
                "connect_timeout": 10,
                "keepalives": 1,
                "keepalives_idle": 30,
                "keepalives_interval": 10,
                "keepalives_count": 3,
            }
            kwargs["pool_size"] = 10
            kwargs["max_overflow"] = 20
        self.engine: Engine = create_engine(url, **kwargs)
        if self.is_sqlite:
            event.listen(self.engine, "connect", _sqlite_pragmas)
            # pysqlite's own transaction handling is disabled so BEGIN IMMEDIATE is ours.
            event.listen(self.engine, "connect", lambda c, _r: setattr(c, "isolation_level", None))
            event.listen(self.engine, "begin", _sqlite_begin)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._write_lock: contextlib.AbstractContextManager[Any] = contextlib.nullcontext()
        if self.is_sqlite:
            db_file = parsed.database if parsed.database and parsed.database != ":memory:" else None
            self._write_lock = WriterLock(Path(db_file + ".writelock") if db_file else None)
        self.read_sessions = sessionmaker(
            self.engine.execution_options(sqlite_begin="DEFERRED"), expire_on_commit=False
        )

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session in one transaction: committed on success, rolled back on error.

        On SQLite, writers queue for :class:`WriterLock` first: SQLite's own busy handler sleeps in
        growing steps (up to 100 ms), which wastes most of the lock's time when dozens of worker
        threads write small batches, and starves other processes.
        """
        with self._write_lock, self.sessions() as session, session.begin():
            yield session

    def is_unreachable(self, exc: BaseException) -> bool:
        """A lost or refused connection to a server database (not SQLite's own lock errors, not
        a bad statement): worth running the whole transaction again once it is back."""
        if not isinstance(exc, DBAPIError) or self.is_sqlite:
            return False
        return bool(exc.connection_invalidated) or isinstance(exc, OperationalError | InterfaceError)

    def retrying(self, fn: Callable[[], T], *, what: str = "database operation") -> T:
        """Run ``fn`` (one or more whole transactions) again while the database is unreachable,
        for up to ``outage_s`` with capped exponential backoff; then the last error propagates."""
        for attempt in Retrying(
            retry=retry_if_exception(self.is_unreachable),
            stop=stop_after_delay(self.outage_s),
            wait=wait_exponential(multiplier=0.2, max=2.0),
            before_sleep=_logged_wait(what),
            reraise=True,
        ):
            with attempt:
                return fn()
        raise AssertionError("unreachable")  # pragma: no cover (Retrying re-raises)

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A read-only session: on SQLite it does not take the write lock."""
        with self.read_sessions() as session, session.begin():
            yield session

    def dispose(self) -> None:
        self.engine.dispose()

    def __repr__(self) -> str:
        return f"Database({make_url(self.url).render_as_string(hide_password=True)!r})"
