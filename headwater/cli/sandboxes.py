"""Starting the built-in sandbox APIs (for `headwater sandbox` and `headwater demo`)."""

from __future__ import annotations

import importlib
from typing import Any

from connectors.registry import get_connector
from connectors.sandbox import RunningServer, Sandbox


def make_sandbox(kind: str, **kwargs: Any) -> Sandbox:
    connector = get_connector(kind)
    if not connector.sandbox:
        raise LookupError(f"the {kind} connector has no sandbox")
    module, _, factory = connector.sandbox.partition(":")
    sandbox: Sandbox = getattr(importlib.import_module(module), factory)(**kwargs)
    return sandbox


def source_settings(sandbox: Sandbox, url: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Options (with base_url) and secrets that read ``sandbox`` served at ``url``."""
    truth = sandbox.truth()
    options = dict(truth.get("options", {}))
    suffix = options.pop("base_url", "") or ""
    options["base_url"] = url + suffix if suffix.startswith("/") or not suffix else suffix
    return options, dict(truth.get("secrets", {}))


def start(kind: str, **kwargs: Any) -> tuple[Sandbox, RunningServer]:
    sandbox = make_sandbox(kind, **kwargs)
    server = RunningServer(sandbox.app()).start()
    return sandbox, server
