"""The Bitbucket sandbox (a fake Bitbucket Cloud API) for demos, tests and benchmarks."""

from connectors.bitbucket.sandbox.app import BitbucketSandbox, make_sandbox
from connectors.bitbucket.sandbox.world import World

__all__ = ["BitbucketSandbox", "World", "make_sandbox"]
