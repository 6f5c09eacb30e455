"""Local Dask workers come from a fork server (pipelines.cluster): started ready, never sharing
the starting process's state.

Each case runs in a fresh interpreter: the fork server lives as long as the process that
started it, and these cases are about what it was started with.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="the fork server is used where the platform has one")


def _python(code: str, tmp_path: Path) -> dict[str, object]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HEADWATER_", "DASK_"))}
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=tmp_path,
        env={**env, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    out: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return out


def test_workers_start_with_the_task_modules_already_imported(tmp_path: Path) -> None:
    out = _python(
        """
        import json
        from pipelines.cluster import close, connect
        client = connect(None, workers=1, threads=1)
        probe = "[m in __import__('sys').modules for m in ('pipelines.worker', 'connectors.github', 'linking.task')]"
        seen = list(client.run(eval, probe).values())
        close(client)
        print(json.dumps({"seen": seen}))
        """,
        tmp_path,
    )
    assert out == {"seen": [[True, True, True]]}  # a spawned worker imports none before its first task


def test_workers_started_while_this_process_writes_to_sqlite_can_write(tmp_path: Path) -> None:
    # A worker forked from a process whose other thread is inside a SQLite write transaction
    # inherits SQLite's in-process lock state: its own connection then waits for a lock nobody
    # will release (60 s busy timeout, then "database is locked"). From the fork server it writes.
    out = _python(
        f"""
        import json, threading
        from sqlalchemy import text
        from storage import Database
        from pipelines.cluster import close, connect

        URL = "sqlite:///{tmp_path}/x.db"
        db = Database(URL)
        with db.session() as s:
            s.execute(text("create table t (x integer)"))
        holding, release = threading.Event(), threading.Event()

        def hold():
            with db.session() as s:
                s.execute(text("insert into t values (1)"))
                holding.set()
                release.wait(30)

        threading.Thread(target=hold).start()
        holding.wait(10)
        client = connect(None, workers=1, threads=1)  # workers start while the transaction is open
        release.set()

        def write():
            from sqlalchemy import text
            from storage import Database
            other = Database(URL, outage_s=0)
            with other.session() as s:
                s.execute(text("insert into t values (2)"))
            return "written"

        result = client.submit(write, pure=False).result(timeout=30)
        close(client)
        with db.read() as s:
            rows = sorted(r[0] for r in s.execute(text("select x from t")))
        print(json.dumps({{"result": result, "rows": rows}}))
        """,
        tmp_path,
    )
    assert out == {"result": "written", "rows": [1, 2]}


def test_a_variable_unset_since_the_server_started_is_not_seen_by_workers(tmp_path: Path) -> None:
    # The server's environment is what it had when it started; workers are given this process's
    # HEADWATER_* values again, but an unset one would survive: then workers are spawned instead.
    out = _python(
        """
        import json, os
        from pipelines.cluster import close, connect, prestart
        os.environ["HEADWATER_PROBE"] = "old"
        os.environ["HEADWATER_KEPT"] = "old"
        prestart()
        del os.environ["HEADWATER_PROBE"]
        os.environ["HEADWATER_KEPT"] = "new"
        client = connect(None, workers=1, threads=1)
        env = "__import__('os').environ.get"  # evaluated in the worker (os.environ.get would travel pickled)
        seen = list(client.run(eval, env + "('HEADWATER_PROBE')").values())
        kept = list(client.run(eval, env + "('HEADWATER_KEPT')").values())
        close(client)
        print(json.dumps({"probe": seen, "kept": kept}))
        """,
        tmp_path,
    )
    assert out == {"probe": [None], "kept": ["new"]}
