"""`tenant set --cron`: the option's help and its one-line refusal of a bad expression."""

from __future__ import annotations

from headwater.cron import BadCron, check_cron
from tenancy import TenancyError

CRON_HELP = "Cron schedule, five fields in UTC (e.g. '0 * * * *': hourly), beside --refresh-every; '' removes it."


def cron_value(value: str) -> str | None:
    """A checked expression, or None for '' (no cron schedule); a one-line error otherwise."""
    if not value.strip():
        return None
    try:
        return check_cron(value)
    except BadCron as exc:
        raise TenancyError(str(exc)) from None
