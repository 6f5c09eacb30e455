"""Commands imported only when invoked: `headwater --help` and every command start fast.

A command module pulls in what its command needs (SQLAlchemy and the models, the pipelines,
Dask, FastAPI, Celery, every connector's pydantic models): ~1 s of imports on the 2-core box.
The root group lists each lazy command by name and one-line help (``LazyCommand``) and imports
its module only when that command is resolved to run (or to show its own help). A test checks
that the listed help equals the loaded command's, so the table cannot drift.
"""

from __future__ import annotations

import functools
import importlib
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import typer
import typer.main
from typer.core import TyperCommand, TyperGroup


@dataclass(frozen=True)
class LazyCommand:
    name: str
    target: str  # "module:attr": a command function, a typer.Typer, or a function returning one
    help: str
    # Given the command's arguments: will it run tasks on a local Dask cluster? Then the fork
    # server its workers come from starts before the command's imports (pipelines.cluster).
    local_workers: Callable[[list[str]], bool] | None = None


def _worker_processes(env: Mapping[str, str]) -> bool:
    """``Settings.local_dask_processes`` from the environment alone (Settings would import pydantic
    before the fork server could start); tests/cli/test_lazy_commands.py keeps the two equal."""
    chosen = env.get("HEADWATER_DASK_PROCESSES", "").strip().lower()
    if chosen:
        return chosen in ("1", "true", "yes", "on")
    return not env.get("HEADWATER_DATABASE_URL", "sqlite").startswith("sqlite")


def _prestart_workers(c: LazyCommand, args: list[str]) -> None:
    # Only when workers will be local processes (settings come from the environment).
    if c.local_workers is None or not c.local_workers(args):
        return
    if os.environ.get("HEADWATER_DASK_ADDRESS") or os.environ.get("HEADWATER_BROKER_URL"):
        return
    if not _worker_processes(os.environ):
        return  # workers are threads of this process: no fork server
    from pipelines.cluster import prestart

    prestart()


def _load(target: str) -> Any:
    module, _, attr = target.partition(":")
    return getattr(importlib.import_module(module), attr)


@functools.cache
def loaded(target: str) -> Any:
    """The command function or typer.Typer behind ``target``, imported (and built) once."""
    obj = _load(target)
    if callable(obj) and not isinstance(obj, typer.Typer) and getattr(obj, "__lazy_builder__", False):
        obj = obj()
    return obj


def click_command(name: str, target: str) -> Any:
    obj = loaded(target)
    if isinstance(obj, typer.Typer):
        group = typer.main.get_group(obj)
        group.name = name
        return group
    single = typer.Typer()
    single.command(name)(obj)
    return typer.main.get_command(single)


def builder(fn: Callable[[], typer.Typer]) -> Callable[[], typer.Typer]:
    """Marks a function that assembles a typer.Typer when its command is first loaded."""
    fn.__lazy_builder__ = True  # type: ignore[attr-defined]
    return fn


class LazyGroup(TyperGroup):
    """A TyperGroup whose ``lazy`` commands are placeholders until resolved."""

    lazy: tuple[LazyCommand, ...] = ()
    order: tuple[str, ...] = ()  # names, the eager ones among them, in listing order

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        eager = dict(self.commands)
        by_name = {c.name: c for c in self.lazy}
        ordered: dict[str, Any] = {}
        for name in (*self.order, *eager, *by_name):
            if name in ordered:
                continue
            if name in eager:
                ordered[name] = eager[name]
            elif name in by_name:
                c = by_name[name]
                ordered[name] = TyperCommand(name=name, help=c.help, short_help=c.help)
        self.commands = ordered
        self._pending = set(by_name) - set(eager)
        self._targets = {c.name: c.target for c in self.lazy}
        self._by_name = by_name

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        return self.commands.get(cmd_name)

    def resolve_command(self, ctx: Any, args: list[str]) -> Any:
        if args and args[0] in self._pending:
            _prestart_workers(self._by_name[args[0]], args[1:])
            self.commands[args[0]] = click_command(args[0], self._targets[args[0]])
            self._pending.discard(args[0])
        return super().resolve_command(ctx, args)

    def load_all(self) -> dict[str, Any]:
        """Every command loaded (tests compare them with the listed help)."""
        for name in list(self._pending):
            self.commands[name] = click_command(name, self._targets[name])
        self._pending.clear()
        return dict(self.commands)
