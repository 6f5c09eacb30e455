"""Infrastructure errors in words: what is down or missing, and what to fix.

:func:`describe` turns an exception into one line that names the part that failed (the
database, the broker, Redis, the Dask scheduler) by its ``HEADWATER_*`` variable and its
host:port, never with a password. The CLI's last line of defence (``headwater.cli.main``) prints
it; the run service uses it as the reason of a run that could not be dispatched.

Exceptions are recognized by class, looking through their ``__cause__``/``__context__`` chain
(kombu wraps redis' error, SQLAlchemy wraps the driver's), so a wrapper does not hide what is
down. Modules that are not loaded are not imported: an exception cannot come from them.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from urllib.parse import unquote, urlsplit

from sqlalchemy import exc as sa_exc

from headwater.settings import Settings

__all__ = ["describe", "host_port", "redact_url"]

# Import names of database drivers SQLAlchemy dialects load -> what to do about a missing one.
DB_DRIVERS = {
    "psycopg": "pip install 'headwater[postgres]'",
    "psycopg2": "use postgresql+psycopg://… (pip install 'headwater[postgres]')",
    "pg8000": "use postgresql+psycopg://… (pip install 'headwater[postgres]')",
    "asyncpg": "use postgresql+psycopg://… (pip install 'headwater[postgres]')",
    "MySQLdb": "Headwater supports SQLite and PostgreSQL: use postgresql+psycopg://…",
    "pymysql": "Headwater supports SQLite and PostgreSQL: use postgresql+psycopg://…",
    "mysql": "Headwater supports SQLite and PostgreSQL: use postgresql+psycopg://…",
    "oracledb": "Headwater supports SQLite and PostgreSQL: use postgresql+psycopg://…",
    "cx_Oracle": "Headwater supports SQLite and PostgreSQL: use postgresql+psycopg://…",
    "pyodbc": "Headwater supports SQLite and PostgreSQL: use postgresql+psycopg://…",
}
DEFAULT_PORTS = {"postgresql": 5432, "postgres": 5432, "mysql": 3306, "redis": 6379, "rediss": 6379, "amqp": 5672}
DEFAULT_PORTS |= {"tcp": 8786, "tls": 8786}


def redact_url(url: str) -> str:
    """``url`` with its password replaced by ``***`` (the user name is kept)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparsable URL>"
    userinfo, at, hostport = parts.netloc.rpartition("@")
    if not at or ":" not in userinfo:
        return url
    user = userinfo.split(":", 1)[0]
    return parts._replace(netloc=f"{user}:***@{hostport}").geturl()


def host_port(url: str) -> str:
    """``host:port`` of a server URL (the scheme's default port when none is given); the file
    of a SQLite URL."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparsable URL>"
    scheme = parts.scheme.split("+", 1)[0]
    if scheme == "sqlite":
        return parts.path.removeprefix("/") or ":memory:"
    hostport = parts.netloc.rpartition("@")[2]
    if not hostport:
        return "localhost"
    try:
        port = parts.port
    except ValueError:
        port = None
    if port is None and scheme in DEFAULT_PORTS:
        return f"{hostport}:{DEFAULT_PORTS[scheme]}"
    return hostport


def _passwords(urls: list[str | None]) -> set[str]:
    out: set[str] = set()
    for url in urls:
        if not url:
            continue
        try:
            password = urlsplit(url).password
        except ValueError:
            continue
        if password:
            out |= {password, unquote(password)}
    return out


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """``exc`` and the exceptions it was raised from or during, outermost first."""
    seen: set[int] = set()
    todo = [exc]
    while todo:
        e = todo.pop(0)
        if id(e) in seen:
            continue
        seen.add(id(e))
        yield e
        todo.extend(x for x in (e.__cause__, e.__context__) if x is not None)


def _reason(exc: BaseException) -> str:
    """The first line of what the exception says (a driver's message is often several)."""
    inner = getattr(exc, "orig", None) if isinstance(exc, sa_exc.DBAPIError) else None
    text = str(inner if inner is not None else exc).strip()
    first = next((line.strip() for line in text.splitlines() if line.strip()), "")
    return first or type(inner or exc).__name__


def _loaded(module: str, name: str) -> type[BaseException] | None:
    mod = sys.modules.get(module)
    cls = getattr(mod, name, None) if mod is not None else None
    return cls if isinstance(cls, type) and issubclass(cls, BaseException) else None


def _settings(settings: Settings | None) -> Settings | None:
    if settings is not None:
        return settings
    try:
        return Settings()
    except Exception:  # a bad HEADWATER_* variable: describe the error without settings
        return None


def describe(exc: BaseException, settings: Settings | None = None) -> str:
    """One line saying what failed and what to fix, without credentials.

    ``settings`` names the URLs (database, broker, Redis, Dask) the error is matched against;
    ``None`` reads them from the environment."""
    s = _settings(settings)
    line = _describe(exc, s)
    urls = [s.resolved_database_url, s.broker_url, s.redis_url, s.dask_address, s.alert_webhook_url] if s else []
    for password in _passwords(urls):
        line = line.replace(f":{password}@", ":***@")
        if len(password) >= 4:  # a shorter one would mangle words; in a URL it is caught above
            line = line.replace(password, "***")
    return " ".join(line.split())


def _describe(exc: BaseException, s: Settings | None) -> str:
    chain = list(_chain(exc))
    for describer in (_database, _broker, _dask, _missing_module):
        for e in chain:
            found = describer(e, s)
            if found:
                return found
    for e in chain:
        if isinstance(e, ConnectionError | TimeoutError):
            return f"{type(e).__name__}: {_reason(e)}: a service Headwater needs is unreachable; check HEADWATER_* URLs"
    return f"unexpected {type(exc).__name__}: {_reason(exc)}"


def _database(e: BaseException, s: Settings | None) -> str | None:
    url = s.resolved_database_url if s else "the database URL"
    shown = f"HEADWATER_DATABASE_URL ({redact_url(url)})"
    if isinstance(e, sa_exc.NoSuchModuleError):
        return (
            f"{shown} names a database SQLAlchemy cannot load ({_reason(e)}): use sqlite:///… or "
            "postgresql+psycopg://… (pip install 'headwater[postgres]')"
        )
    if isinstance(e, ModuleNotFoundError) and (e.name or "").split(".")[0] in DB_DRIVERS:
        top = (e.name or "").split(".")[0]
        return f"the database driver {top!r} for {shown} is not installed: {DB_DRIVERS[top]}, or fix the URL"
    if isinstance(e, sa_exc.ArgumentError) and "parse" in str(e):
        return (
            "HEADWATER_DATABASE_URL is not a database URL: use sqlite:///PATH or postgresql+psycopg://USER@HOST:PORT/DB"
        )
    if isinstance(e, sa_exc.OperationalError | sa_exc.InterfaceError):
        reason = _reason(e)
        where = host_port(url)
        if "no such table" in reason or ("relation" in reason and "does not exist" in reason):
            return f"the database at {where} has no Headwater tables ({reason}): run `headwater db upgrade`"
        if url.startswith("sqlite"):
            return f"cannot use the SQLite database {where} ({reason}): check HEADWATER_HOME or {shown}"
        return f"cannot reach the database at {where} ({reason}): start it, or fix {shown}"
    if isinstance(e, sa_exc.ProgrammingError) and "does not exist" in _reason(e):
        return f"the database at {host_port(url)} has no Headwater tables ({_reason(e)}): run `headwater db upgrade`"
    return None


def _redis_errors() -> tuple[type[BaseException], ...]:
    found = (_loaded("redis.exceptions", "ConnectionError"), _loaded("redis.exceptions", "TimeoutError"))
    return tuple(c for c in found if c is not None)


def _broker(e: BaseException, s: Settings | None) -> str | None:
    kombu = _loaded("kombu.exceptions", "OperationalError")
    redis_errors = _redis_errors()
    is_kombu = kombu is not None and isinstance(e, kombu)
    if not (is_kombu or (redis_errors and isinstance(e, redis_errors)) or isinstance(e, ConnectionRefusedError)):
        return None
    reason = _reason(e)
    broker, redis_url = (s.broker_url, s.resolved_redis_url) if s else (None, None)
    # The error names its server ("Error 111 connecting to 127.0.0.1:1."): match it to a setting.
    if broker and (is_kombu or host_port(broker) in reason):
        return f"cannot reach the broker at {host_port(broker)} ({reason}): start it, or fix HEADWATER_BROKER_URL ({redact_url(broker)})"
    if redis_url and (host_port(redis_url) in reason or not isinstance(e, ConnectionRefusedError)):
        return f"cannot reach Redis at {host_port(redis_url)} ({reason}): start it, or fix HEADWATER_REDIS_URL ({redact_url(redis_url)})"
    if is_kombu:
        return f"cannot reach the broker ({reason}): start it, or fix HEADWATER_BROKER_URL"
    return None


def _dask(e: BaseException, s: Settings | None) -> str | None:
    address = s.dask_address if s else None
    if not isinstance(e, OSError | TimeoutError):
        return None
    reason = _reason(e)
    from_dask = type(e).__module__.startswith("distributed") or "trying to connect to" in reason
    if address and (from_dask or host_port(address) in reason or address in reason):
        return (
            f"cannot reach the Dask scheduler at {host_port(address)} ({reason}): start it "
            f"(`dask scheduler`), or fix HEADWATER_DASK_ADDRESS ({redact_url(address)})"
        )
    if from_dask:
        return f"Dask failed ({reason}): check HEADWATER_DASK_ADDRESS, or unset it for a local cluster"
    return None


def _missing_module(e: BaseException, s: Settings | None) -> str | None:
    if isinstance(e, ModuleNotFoundError) and e.name:
        return f"the Python module {e.name!r} is not installed: reinstall Headwater (pip install -e .) or install it"
    return None
