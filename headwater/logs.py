"""Logging: plain text or one JSON object per line, carrying tenant/run/task ids.

Ids come from context variables (:func:`log_context`), so every line logged inside a run or
task carries them without passing them around. A redaction filter masks anything that looks
like a token, as a last line of defence (secrets are SecretStr and never formatted anyway).
"""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime
from typing import Any

from pipelines.logcontext import current_context, log_context
from pipelines.tasklogs import install as install_task_logs
from pipelines.tasklogs import installed as task_logs_installed

SECRET_PATTERNS = [
    re.compile(r"(?i)(authorization:\s*)(bearer|basic|token)\s+\S+"),
    re.compile(r"\b(gh[pousr]_[A-Za-z0-9]{20,})\b"),
    re.compile(r"\b(xox[abposr]-[A-Za-z0-9-]{10,})\b"),
    re.compile(r"\b(hwt_[A-Za-z0-9_-]{20,})\b"),
    re.compile(r"https://hooks\.slack\.com/\S+"),  # webhook URLs are credentials
    re.compile(r"(?i)((?:token|secret|password|api_token|api_key)[\"']?\s*[:=]\s*[\"']?)([^\s\"',}]+)"),
]


def redact(text: str) -> str:
    for pat in SECRET_PATTERNS:
        if pat.groups >= 2:
            text = pat.sub(lambda m: m.group(1) + "***", text)
        else:
            text = pat.sub("***", text)
    return text


class ContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        for k, v in current_context().items():
            setattr(record, k, v)
        record.msg = redact(record.getMessage())
        record.args = None
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        doc: dict[str, Any] = {
            "at": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key in ("tenant", "source_id", "run_id", "task_id", "stream", "partition"):
            if hasattr(record, key):
                doc[key] = getattr(record, key)
        if record.exc_info:
            doc["traceback"] = redact(self.formatException(record.exc_info))
        return json.dumps(doc, default=str)


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        ids = " ".join(f"{k}={getattr(record, k)}" for k in ("tenant", "run_id", "task_id") if hasattr(record, k))
        base = f"{datetime.fromtimestamp(record.created, UTC):%H:%M:%S} {record.levelname:<7} {record.name}: {record.getMessage()}"
        out = f"{base} [{ids}]" if ids else base
        if record.exc_info:
            out += "\n" + redact(self.formatException(record.exc_info))
        return out


OWN_HANDLERS = ("distributed", "distributed.client", "distributed.gc", "tornado", "tornado.application", "bokeh")


def configure_logging(settings: Any) -> None:
    """Idempotent: one stderr handler on the root logger, in the configured format."""
    root = logging.getLogger()
    for h in list(root.handlers):
        if getattr(h, "_headwater", False):
            root.removeHandler(h)
    handler = logging.StreamHandler(sys.stderr)
    handler._headwater = True  # type: ignore[attr-defined]
    handler.setFormatter(JsonFormatter() if settings.log_format == "json" else TextFormatter())
    handler.addFilter(ContextFilter())
    root.addHandler(handler)
    # The last lines of each task, redacted, kept with its run (`headwater run logs`).
    install_task_logs(redact=redact)
    root.setLevel(settings.log_level.upper())
    for noisy in ("httpx", "httpcore", "distributed", "asyncio", "alembic", "uvicorn.access"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    # A cancelled run cancels its futures on purpose; the worker's "Async instruction for <Task
    # cancelled …>" warning about each one is not news (the run's history says who cancelled).
    logging.getLogger("distributed.worker.state_machine").setLevel(logging.ERROR)
    # Libraries that print to stderr with their own handler (Dask adds one when imported before
    # this ran, as in its worker processes) go through ours instead: one format on stderr.
    for name in OWN_HANDLERS:
        lib = logging.getLogger(name)
        for h in list(lib.handlers):
            if isinstance(h, logging.StreamHandler) and h.stream in (sys.stderr, sys.stdout):
                lib.removeHandler(h)
        lib.propagate = True


def ensure_logging() -> None:
    """Configure logging from the environment when nothing configured this process yet: Dask
    worker processes run tasks without going through a CLI entry point."""
    if logging.getLogger().handlers:
        if task_logs_installed() is None:
            install_task_logs(redact=redact)
        return
    from headwater.settings import Settings

    try:
        settings = Settings()
    except ValueError:  # a bad HEADWATER_* variable: the entry point reports it, keep defaults here
        return
    configure_logging(settings)


__all__ = [
    "ContextFilter",
    "JsonFormatter",
    "TextFormatter",
    "configure_logging",
    "current_context",
    "ensure_logging",
    "log_context",
    "redact",
]
