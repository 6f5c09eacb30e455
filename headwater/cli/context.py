"""Building the App for a CLI command, and turning known errors into one-line failures.

Infrastructure errors (database, broker, Dask unreachable; a driver not installed) are left to
``headwater.cli.main``, which describes any error in one line (``headwater.errors.describe``)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import pydantic

from headwater.app import App
from headwater.cli.output import fail
from headwater.logs import configure_logging
from headwater.settings import Settings
from pipelines.service import RunRefused
from tenancy import TenancyError, VaultError


@contextlib.contextmanager
def app_context(*, migrate: bool = True) -> Iterator[App]:
    try:
        settings = Settings()
    except pydantic.ValidationError as exc:
        fail(f"bad HEADWATER_* setting: {exc.errors()[0]['loc'][0]}: {exc.errors()[0]['msg']}")
    configure_logging(settings)
    try:
        app = App.create(settings, migrate=migrate)
    except VaultError as exc:
        fail(str(exc))
    try:
        yield app
    except (TenancyError, VaultError, LookupError, RunRefused) as exc:
        fail(str(exc.args[0]) if exc.args else str(exc))
    finally:
        app.close()
