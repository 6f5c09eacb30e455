"""DaskRunner.wait gathers the summaries of every finished task in one round trip (not one
``Future.result()`` each), and still reports a crashed task and a summary it cannot gather."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import distributed
import pytest

import pipelines.runners as runners
from pipelines.cluster import close, connect
from pipelines.runners import DaskRunner


def fake_task(cfg: Any, task_id: int, full: bool) -> dict[str, Any]:
    if task_id == 13:
        raise RuntimeError("boom")
    return {"state": "COMPLETED", "task": task_id, "full": full}


@pytest.fixture(scope="module")
def client() -> Iterator[Any]:
    c = connect(None, workers=1, threads=4, processes=False)
    yield c
    close(c)


@pytest.fixture
def runner(client: Any, monkeypatch: pytest.MonkeyPatch) -> DaskRunner:
    monkeypatch.setattr(runners, "execute_task", fake_task)
    return DaskRunner(client, None)  # type: ignore[arg-type]  # the fake task ignores its config


@pytest.fixture
def result_calls(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    calls: list[Any] = []
    original = distributed.Future.result

    def counted(self: Any, *args: Any, **kwargs: Any) -> Any:
        calls.append(self.key)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(distributed.Future, "result", counted)
    return calls


def submit_and_settle(runner: DaskRunner, task_ids: list[int]) -> None:
    for task_id in task_ids:
        runner.submit(task_id, full=task_id % 2 == 0, priority=0)
    distributed.wait(list(runner._futures), timeout=30)  # type: ignore[no-untyped-call]


def test_finished_summaries_come_back_in_one_gather(runner: DaskRunner, result_calls: list[Any]) -> None:
    ids = list(range(20))
    submit_and_settle(runner, ids)
    out = dict(runner.wait(5))
    assert sorted(out) == ids
    assert all(out[i] == {"state": "COMPLETED", "task": i, "full": i % 2 == 0} for i in ids if i != 13)
    assert out[13]["state"] == "CRASHED" and "boom" in out[13]["error"]
    assert result_calls == []  # one gather for the 19 summaries, no result() each
    assert not runner.busy


def test_when_the_batch_cannot_be_gathered_each_is_asked_and_only_the_lost_one_is_lost(
    runner: DaskRunner, result_calls: list[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    submit_and_settle(runner, [1, 2, 3])
    lost = next(f for f, tid in runner._futures.items() if tid == 2)

    one_at_a_time = runner.client._gather

    async def gather_fails(futures: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(futures, list) and len(futures) > 1:  # the batch, not result()'s own gather
            raise TimeoutError("a worker holding one summary died")
        return await one_at_a_time(futures, *args, **kwargs)

    original = runner._result

    def result(fut: Any) -> dict[str, Any]:
        if fut is lost:  # as when its worker died after finishing it
            return {"state": "LOST", "error": "its Dask worker was lost before reporting: TimeoutError"}
        return original(fut)

    monkeypatch.setattr(runner.client, "_gather", gather_fails)
    monkeypatch.setattr(runner, "_result", result)
    out = dict(runner.wait(5))
    assert out[1]["state"] == "COMPLETED" and out[3]["state"] == "COMPLETED"
    assert out[2]["state"] == "LOST"
    assert len(result_calls) == 2
