"""Starting the real services of a deployment as processes, for integration tests and benches:
a Dask scheduler and worker (the `dask` CLI), the API (`headwater serve`) and Celery workers
(`headwater worker`)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import httpx

BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def clean_env(**values: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEADWATER_")}
    env.update(values)
    return env


@dataclass
class Proc:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path
    _out: IO[bytes] | None = field(default=None, repr=False)

    def tail(self, n: int = 40) -> str:
        try:
            lines = self.log.read_text(errors="replace").splitlines()
        except OSError:
            return ""
        return f"--- {self.name} ---\n" + "\n".join(lines[-n:])

    def kill(self) -> None:
        """SIGKILL the whole process group: no warm shutdown, no acks."""
        if self.popen.poll() is None:
            os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait(10)

    def stop(self, timeout: float = 10) -> None:
        if self.popen.poll() is None:
            os.killpg(self.popen.pid, signal.SIGTERM)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        if self._out is not None:
            self._out.close()


def spawn(name: str, argv: list[str], env: dict[str, str], logs: Path) -> Proc:
    logs.mkdir(parents=True, exist_ok=True)
    log = logs / f"{name}.log"
    out = log.open("ab")
    popen = subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    return Proc(name, popen, log, out)


def wait_until(predicate: Callable[[], bool], timeout: float, what: str, procs: Sequence[Proc] = ()) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        for p in procs:
            if p.popen.poll() is not None:
                raise RuntimeError(f"{p.name} exited ({p.popen.returncode}) while waiting for {what}\n{p.tail()}")
        time.sleep(0.1)
    raise TimeoutError(f"timed out waiting for {what}\n" + "\n".join(p.tail() for p in procs))


def start_dask(env: dict[str, str], logs: Path, *, threads: int = 8) -> tuple[str, list[Proc]]:
    """A Dask scheduler on a free port and one worker process; returns the scheduler address."""
    address, scheduler = start_dask_scheduler(env, logs)
    worker = spawn(
        "dask-worker",
        [
            str(BIN / "dask"),
            "worker",
            address,
            "--nworkers",
            "1",
            "--nthreads",
            str(threads),
            "--no-dashboard",
            "--host",
            "127.0.0.1",
        ],
        env,
        logs,
    )
    from distributed import Client

    def has_worker() -> bool:
        with Client(address, timeout=10) as c:
            return len(c.scheduler_info()["workers"]) > 0

    wait_until(has_worker, 30, "a Dask worker", [scheduler, worker])
    return address, [scheduler, worker]


def start_dask_scheduler(env: dict[str, str], logs: Path) -> tuple[str, Proc]:
    """A Dask scheduler (no workers) on a free port; returns its address."""
    sched_file = logs / "dask-scheduler.json"
    sched_file.unlink(missing_ok=True)
    scheduler = spawn(
        "dask-scheduler",
        [
            str(BIN / "dask"),
            "scheduler",
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--no-dashboard",
            "--scheduler-file",
            str(sched_file),
        ],
        env,
        logs,
    )
    wait_until(lambda: sched_file.exists() and sched_file.stat().st_size > 0, 30, "the Dask scheduler", [scheduler])
    return str(json.loads(sched_file.read_text())["address"]), scheduler


def start_api(env: dict[str, str], logs: Path) -> tuple[str, Proc]:
    port = free_port()
    api = spawn("api", [str(BIN / "headwater"), "serve", "--host", "127.0.0.1", "--port", str(port)], env, logs)
    url = f"http://127.0.0.1:{port}"

    def healthy() -> bool:
        try:
            return httpx.get(f"{url}/healthz", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    wait_until(healthy, 30, "the API", [api])
    return url, api


def start_worker(env: dict[str, str], logs: Path, name: str = "worker", concurrency: int = 2) -> Proc:
    return spawn(name, [str(BIN / "headwater"), "worker", "--concurrency", str(concurrency)], env, logs)
