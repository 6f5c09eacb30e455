"""Connector framework: HTTP (one retry layer), rate budgets, paginators, streams, runner.

Each provider lives in its own folder (``connectors.github`` …) and exposes ``CONNECTOR``.
"""

from connectors.connector import CheckResult, Connector, SourceOptions, SourceSecrets, matches
from connectors.errors import ConfigError, ConnectorError, DataError, ErrorKind, NotFoundError, TransientError
from connectors.registry import KINDS, get_connector
from connectors.streams import ParentSpec, Partition, PartitionCheck, Row, StatusAction, StreamContext, StreamSpec

__all__ = [
    "KINDS",
    "CheckResult",
    "ConfigError",
    "Connector",
    "ConnectorError",
    "DataError",
    "ErrorKind",
    "NotFoundError",
    "ParentSpec",
    "Partition",
    "PartitionCheck",
    "Row",
    "SourceOptions",
    "SourceSecrets",
    "StatusAction",
    "StreamContext",
    "StreamSpec",
    "TransientError",
    "get_connector",
    "matches",
]
