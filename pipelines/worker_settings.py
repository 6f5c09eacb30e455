"""What a Dask worker process reads from its own settings, never from a task message.

A :class:`~pipelines.worker.WorkerConfig` travels in every task, and a worker that cannot
deserialize a task logs its bytes. So the config carries no key material: the Fernet key and
the database password are left out when it is pickled, and the worker process asks the
composition root's hook (``WorkerConfig.settings_source``, "module:function", the same way as
``process_setup``) for its own: its environment or key file. ``pipelines`` does not know where
those live; the hook does, and says what to set when something is missing.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass

from pydantic import SecretStr
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from connectors.errors import BugError, ConfigError


@dataclass(frozen=True)
class WorkerSettings:
    """The secrets of this worker process, as the composition root's hook found them."""

    secret_key: SecretStr | None
    database_url: str | None = None  # the worker's own database URL, with its password if any
    missing_key: str = "the worker has no secret key"  # the task's one-line failure without one
    missing_password: str = "the worker has no password for the database"


def load_worker_settings(source: str | None) -> WorkerSettings:
    if not source:
        raise BugError("this WorkerConfig has neither a secret key nor a settings_source to read one from")
    module, _, func = source.partition(":")
    hook: Callable[[], WorkerSettings] = getattr(importlib.import_module(module), func)
    return hook()


def secret_key(in_process: SecretStr | None, source: str | None) -> SecretStr:
    """The key of the process that built the config, else this worker's own (never a new one)."""
    if in_process is not None:
        return in_process
    own = load_worker_settings(source)
    if own.secret_key is None:
        raise ConfigError(own.missing_key)
    return own.secret_key


def without_password(url: str) -> tuple[str, bool]:
    """``url`` without its password, and whether it had one."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        return url, False
    if not parsed.password:
        return url, False
    return parsed._replace(password=None).render_as_string(hide_password=False), True


def with_own_password(url: str, source: str | None) -> str:
    """``url`` (its password left out of the task) with the password this worker has for the
    same user in its own database URL."""
    wanted = make_url(url)
    own_url = load_worker_settings(source)
    own = make_url(own_url.database_url) if own_url.database_url else None
    if own is None or not own.password or own.username != wanted.username:
        raise ConfigError(own_url.missing_password)
    return wanted.set(password=own.password).render_as_string(hide_password=False)
