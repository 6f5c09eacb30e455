"""The ids every log line of a run or task carries (tenant, run, task …), as a context variable.

Pipelines set them (``log_context``); the composition root's log handlers read them
(``current_context``), so pipelines never import the code that configures logging.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator
from typing import Any

_CONTEXT: contextvars.ContextVar[dict[str, Any]] = contextvars.ContextVar("headwater_log_context", default={})  # noqa: B039


@contextlib.contextmanager
def log_context(**ids: Any) -> Iterator[None]:
    token = _CONTEXT.set({**_CONTEXT.get(), **{k: v for k, v in ids.items() if v is not None}})
    try:
        yield
    finally:
        _CONTEXT.reset(token)


def current_context() -> dict[str, Any]:
    return dict(_CONTEXT.get())
