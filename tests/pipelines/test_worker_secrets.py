"""The master key never travels with a task: what DaskRunner.submit sends pickles without key
material, and a Dask worker reads the key from its own settings (HEADWATER_SECRET_KEY, or the
key file in HEADWATER_HOME), failing the task with one clear line when it has none."""

from __future__ import annotations

import pickle
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cloudpickle
import pytest
from distributed import Client
from distributed.protocol import pickle as dask_pickle

from connectors.errors import ConfigError
from headwater.app import App, worker_config
from headwater.settings import Settings
from linking import STREAM as DERIVED
from pipelines import DaskRunner, Driver, request_run, run_document
from pipelines.worker import WorkerConfig, resources
from storage import Database
from tenancy import Vault, load_or_create_key
from tests.integration.services import Proc, clean_env, start_dask
from tests.pipelines.conftest import KEY, make_app, onboard

NO_KEY = (
    "the worker has no secret key: set HEADWATER_SECRET_KEY (or HEADWATER_HOME with the key file) on the Dask workers"
)
DB_PASSWORD = "db-pa55word-xyz"


class RecordingClient:
    """Stands in for a distributed.Client: keeps what DaskRunner.submit hands to Dask."""

    def __init__(self) -> None:
        self.calls: list[tuple[Any, tuple[Any, ...], dict[str, Any]]] = []

    def submit(self, fn: Any, *args: Any, **kwargs: Any) -> object:
        self.calls.append((fn, args, kwargs))
        return PendingFuture()


class PendingFuture:
    """A future that never ends (DaskRunner asks to hear when it does)."""

    def add_done_callback(self, fn: Any) -> None:
        pass


def submitted(app: App) -> tuple[Any, tuple[Any, ...], dict[str, Any]]:
    client = RecordingClient()
    DaskRunner(client, worker_config(app)).submit(42, full=True, priority=0)
    [call] = client.calls
    return call


def task_bytes(app: App) -> list[bytes]:
    fn, args, kwargs = submitted(app)
    payload = (fn, args, kwargs)
    return [pickle.dumps(payload), cloudpickle.dumps(payload), dask_pickle.dumps(payload)]


def test_a_task_message_carries_no_key_from_the_environment(tmp_path: Path) -> None:
    url = f"postgresql+psycopg://hw:{DB_PASSWORD}@db.example:5432/hw"
    app = App(settings=Settings(home=tmp_path, secret_key=KEY, database_url=url), db=Database(url), vault=Vault(KEY))
    assert worker_config(app).secret_key == KEY  # the key is there, in this process
    for blob in task_bytes(app):
        assert KEY.get_secret_value().encode() not in blob
        assert DB_PASSWORD.encode() not in blob
        assert b"db.example" in blob  # the database is named, only its password is left out


def test_a_task_message_carries_no_key_from_the_key_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HEADWATER_SECRET_KEY", raising=False)
    app = App.create(Settings(home=tmp_path, database_url=None))
    key = load_or_create_key(tmp_path)  # the file App.create made
    assert worker_config(app).secret_key == key
    for blob in task_bytes(app):
        assert key.get_secret_value().encode() not in blob
    app.close()


def unpickled_on_a_worker(app: App) -> Any:
    _, args, _ = submitted(app)
    return pickle.loads(pickle.dumps(args[0]))


def test_a_worker_reads_the_key_from_its_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    app = make_app(tmp_path / "driver")
    monkeypatch.setenv("HEADWATER_SECRET_KEY", KEY.get_secret_value())
    monkeypatch.setenv("HEADWATER_HOME", str(tmp_path / "worker"))
    cfg = unpickled_on_a_worker(app)
    assert cfg.secret_key is None
    token = app.vault.encrypt({"token": "t0p"})
    assert resources(cfg).vault.decrypt(token) == {"token": "t0p"}


def test_a_worker_reads_the_key_file_in_its_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    app = make_app(tmp_path / "driver")
    home = tmp_path / "worker"
    home.mkdir()
    (home / "secret.key").write_text(KEY.get_secret_value())
    monkeypatch.delenv("HEADWATER_SECRET_KEY", raising=False)
    monkeypatch.setenv("HEADWATER_HOME", str(home))
    token = app.vault.encrypt({"token": "t0p"})
    assert resources(unpickled_on_a_worker(app)).vault.decrypt(token) == {"token": "t0p"}


def test_a_worker_without_a_key_fails_clearly_and_makes_none(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    app = make_app(tmp_path / "driver")
    home = tmp_path / "worker"
    monkeypatch.delenv("HEADWATER_SECRET_KEY", raising=False)
    monkeypatch.setenv("HEADWATER_HOME", str(home))
    res = resources(unpickled_on_a_worker(app))
    with pytest.raises(ConfigError) as err:
        res.vault  # noqa: B018
    assert str(err.value) == NO_KEY
    assert not (home / "secret.key").exists()  # a new key would make every stored secret unreadable


# -- a real Dask scheduler and worker, as separate processes --------------------------------
@pytest.fixture
def remote_dask(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Client, Path]]:
    """A scheduler and a worker whose environment has the key (param True) or not (False)."""
    worker_home = tmp_path / "worker-home"
    env = clean_env(HEADWATER_HOME=str(worker_home))
    if request.param:
        env["HEADWATER_SECRET_KEY"] = KEY.get_secret_value()
    address, procs = start_dask(env, tmp_path / "logs", threads=4)
    client = Client(address, timeout=30)
    try:
        yield client, worker_home
    finally:
        client.close()
        _stop(procs)


def _stop(procs: list[Proc]) -> None:
    for p in reversed(procs):
        p.stop()


@pytest.mark.parametrize("remote_dask", [True], indirect=True)
def test_a_remote_worker_with_the_key_in_its_environment_runs_tasks(
    tmp_path: Path, remote_dask: tuple[Client, Path], github: Any
) -> None:
    client, _ = remote_dask
    app = make_app(tmp_path / "driver")
    tenant = onboard(app, *github)
    run, _ = request_run(app.db, tenant)
    assert Driver(app.db, app.vault, DaskRunner(client, worker_config(app))).execute(run.id) == "COMPLETED"
    with app.db.read() as s:
        doc = run_document(s, run.id)
    assert doc is not None and doc["tasks"]
    assert all(t["state"] == "COMPLETED" for t in doc["tasks"])


@pytest.mark.parametrize("remote_dask", [False], indirect=True)
def test_a_remote_worker_without_a_key_fails_the_task_with_one_clear_line(
    tmp_path: Path, remote_dask: tuple[Client, Path], github: Any
) -> None:
    client, worker_home = remote_dask
    app = make_app(tmp_path / "driver")
    tenant = onboard(app, *github)
    run, _ = request_run(app.db, tenant)
    assert Driver(app.db, app.vault, DaskRunner(client, worker_config(app))).execute(run.id) == "FAILED"
    with app.db.read() as s:
        doc = run_document(s, run.id)
    assert doc is not None
    # The run's derived task (linking) has no partition either; it needs no key and derives from nothing.
    [discovery] = [t for t in doc["tasks"] if t["partition"] is None and t["stream"] != DERIVED]
    assert discovery["state"] == "FAILED"
    assert discovery["error_kind"] == "CONFIG"
    assert discovery["message"] == NO_KEY
    assert not (worker_home / "secret.key").exists()


def test_a_worker_puts_back_the_database_password_from_its_own_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"postgresql+psycopg://hw:{DB_PASSWORD}@db.example:5432/hw"
    cfg = pickle.loads(pickle.dumps(WorkerConfig(database_url=url, settings_source="headwater.app:worker_settings")))
    assert DB_PASSWORD not in cfg.database_url and cfg.password_left_out
    # The worker reaches the same database under its own host name, with its password.
    monkeypatch.setenv("HEADWATER_DATABASE_URL", f"postgresql+psycopg://hw:{DB_PASSWORD}@postgres:5432/hw")
    assert resources(cfg).db.url == url


def test_a_worker_without_the_database_password_fails_clearly(monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"postgresql+psycopg://hw:{DB_PASSWORD}@db.example:5433/hw"
    cfg = pickle.loads(pickle.dumps(WorkerConfig(database_url=url, settings_source="headwater.app:worker_settings")))
    monkeypatch.delenv("HEADWATER_DATABASE_URL", raising=False)
    with pytest.raises(ConfigError, match="the worker has no password for the database: set HEADWATER_DATABASE_URL"):
        resources(cfg)
