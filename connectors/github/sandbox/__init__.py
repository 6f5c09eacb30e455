"""The GitHub sandbox (fake GitHub REST API) for demos, tests and benchmarks."""

from connectors.github.sandbox.app import GitHubSandbox, make_sandbox
from connectors.github.sandbox.world import World

__all__ = ["GitHubSandbox", "World", "make_sandbox"]
