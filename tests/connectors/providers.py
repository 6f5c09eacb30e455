"""The registered connectors for the tests shared by every provider: each kind's
``tests/<kind>/cases.py`` says (``CASE``, a :class:`~tests.connectors.case.Provider`) how to start
a small sandbox of it, point a runtime at it, and what it says when it refuses a credential.

Adding a connector = its ``tests/<kind>/cases.py`` (``headwater connectors new`` writes one);
``test_providers_common.py``, ``test_partition_check.py`` and ``http/test_auth.py`` then run their
cases against it, and fail for a registered kind that has none (:data:`MISSING`).
"""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import Iterable, Iterator
from typing import Any

from connectors.registry import KINDS
from connectors.runtime import SourceRuntime, run_source_sequentially
from connectors.sandbox import RunningServer, serve_in_thread
from storage import Database
from tests.conftest import MakeRuntime
from tests.connectors.case import AuthForm, PartitionCase, Provider, Rejected
from tests.ingest_support import FastClock, ServedSandbox, live_counts


def discover(kinds: Iterable[str]) -> tuple[list[Provider], list[str]]:
    """Each kind's ``CASE`` from ``tests/<kind>/cases.py``, and the kinds that have none."""
    found: list[Provider] = []
    missing: list[str] = []
    for kind in kinds:
        module_name = f"tests.{kind}.cases"
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name not in (f"tests.{kind}", module_name):
                raise  # the module is there but imports something that is not
            missing.append(kind)
            continue
        case = getattr(module, "CASE", None)
        if not isinstance(case, Provider) or case.kind != kind:
            raise TypeError(f"{module_name}.CASE must be a tests.connectors.case.Provider of kind {kind!r}")
        found.append(case)
    return found, missing


PROVIDERS, MISSING = discover(KINDS)
BY_KIND = {p.kind: p for p in PROVIDERS}
REJECTED = [(p, r) for p in PROVIDERS for r in p.rejected]  # every refused credential form


def no_case_for(kinds: Iterable[str]) -> str:
    """What a failing coverage test says: which kinds lack their file, and what goes in it."""
    return ", ".join(f"tests/{k}/cases.py" for k in kinds) + " missing: give each CASE = Provider(...)"


def served_sandbox(provider: Provider) -> Iterator[ServedSandbox]:
    """The provider's sandbox served in a thread (a fixture body: stopped at teardown)."""
    sandbox = provider.sandbox()
    server: RunningServer = serve_in_thread(sandbox)
    yield ServedSandbox(sandbox, server)
    server.stop()


def runtime_on(
    provider: Provider,
    served: ServedSandbox,
    make_runtime: MakeRuntime,
    *,
    secrets: dict[str, Any] | None = None,
    db: Database | None = None,
    tenant: str = "acme",
    **options: Any,
) -> SourceRuntime:
    """A source of ``provider`` reading ``served`` with the sandbox's own options and secrets."""
    truth = served.truth()
    settings: dict[str, Any] = {**truth["options"]}
    settings.pop("base_url", None)  # Slack's is a suffix, given by the table
    settings = {"base_url": served.url + provider.base_suffix, **settings, **options}
    return make_runtime(provider.kind, settings, secrets or truth["secrets"], db=db, tenant=tenant)


def run_sequentially(rt: SourceRuntime, db: Database, clock: FastClock | None = None, **kwargs: Any) -> Any:
    """A refresh of the source, one stream after another, with waits that take no time."""
    return asyncio.run(run_source_sequentially(rt, db, budget=(clock or FastClock()).budget(), **kwargs))


def first_refresh(
    kind: str, make_runtime: MakeRuntime, sb: Any, server: RunningServer, db: Database, entities: list[str]
) -> tuple[SourceRuntime, Any]:
    """A source of ``kind`` on the sandbox and its first refresh, which loaded exactly the
    sandbox's truth of ``entities`` and quarantined nothing."""
    rt = runtime_of(kind, make_runtime, sb, server, db=db)
    first = run_sequentially(rt, db)
    assert live_counts(db, rt.source_id, entities) == sb.truth()["counts"]
    assert sum(r.quarantined for r in first.results.values()) == 0
    return rt, first


def sandbox_and_server(kind: str) -> Iterator[tuple[Any, RunningServer]]:
    """A fixture body for provider test folders that hold the sandbox and its server apart."""
    for served in served_sandbox(BY_KIND[kind]):
        yield served.sandbox, served.server


def runtime_of(
    kind: str, make_runtime: MakeRuntime, sb: Any, server: RunningServer, db: Database | None = None, **options: Any
) -> SourceRuntime:
    """:func:`runtime_on` for a sandbox and server held apart."""
    return runtime_on(BY_KIND[kind], ServedSandbox(sb, server), make_runtime, db=db, **options)


__all__ = [
    "BY_KIND",
    "MISSING",
    "PROVIDERS",
    "REJECTED",
    "AuthForm",
    "PartitionCase",
    "Provider",
    "Rejected",
    "first_refresh",
    "no_case_for",
    "run_sequentially",
    "runtime_of",
    "runtime_on",
    "sandbox_and_server",
    "served_sandbox",
]
