"""The API fixtures (an App on a temporary database, tokens, a recording dispatcher) and the CLI's."""

from tests.api.conftest import client, dispatcher, hw, tenants
from tests.cli.conftest import cli, home

__all__ = ["cli", "client", "dispatcher", "home", "hw", "tenants"]
