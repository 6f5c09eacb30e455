"""Fake provider APIs for demos, tests and benchmarks (each provider folder has its own)."""

from connectors.sandbox.kit import Faults, RunningServer, Sandbox, serve_in_thread

__all__ = ["Faults", "RunningServer", "Sandbox", "serve_in_thread"]
