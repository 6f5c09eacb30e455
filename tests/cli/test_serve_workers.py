"""`headwater serve --workers N`: N uvicorn worker processes, each with its own App; refused
without a broker (each process would execute runs itself)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
from cryptography.fernet import Fernet

from tests.conftest import require_service


def env_for(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEADWATER_")}
    env.update(HEADWATER_HOME=str(home), HEADWATER_SECRET_KEY=Fernet.generate_key().decode(), **extra)
    return env


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(x) for x in (task / "children").read_text().split()]
    return found


def test_several_workers_without_a_broker_are_refused(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "headwater", "serve", "--workers", "2"],
        env=env_for(tmp_path / "hw"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "HEADWATER_BROKER_URL" in lines[0]


def test_two_worker_processes_serve_the_api(tmp_path: Path) -> None:
    require_service("redis")
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "headwater", "serve", "--workers", "2", "--port", str(port)],
        env=env_for(tmp_path / "hw", HEADWATER_BROKER_URL="redis://127.0.0.1:6379/13"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        ok = False
        while time.monotonic() < deadline and not ok:
            try:
                ok = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200
            except httpx.HTTPError:
                time.sleep(0.3)
        assert ok, "the API did not answer"
        # uvicorn's supervisor spawns its worker processes (multiprocessing spawn)
        spawned = [c for c in children(proc.pid) if b"spawn_main" in Path(f"/proc/{c}/cmdline").read_bytes()]
        assert len(spawned) == 2, spawned
        for _ in range(5):
            assert httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5).json() == {"status": "ok"}
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(30)
