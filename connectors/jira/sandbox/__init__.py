"""The Jira sandbox (a fake Jira Cloud site) for demos, tests and benchmarks."""

from connectors.jira.sandbox.app import JiraSandbox, make_sandbox
from connectors.jira.sandbox.world import World

__all__ = ["JiraSandbox", "World", "make_sandbox"]
