"""Database configuration: ``DatabaseProjectConfig`` and the registry of databases.

Secrets never leave this module in clear text: ``repr`` and ``masked_dsn`` hide
the password, and errors built from a config only ever see the masked form.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field, fields, replace
from typing import Any
from urllib.parse import parse_qsl, unquote, urlparse

from psycopg.conninfo import conninfo_to_dict, make_conninfo

from matrx_orm.core.exceptions import ConfigurationError

__all__ = [
    "DatabaseProjectConfig",
    "register_database",
    "register_database_url",
    "unregister_database",
    "get_database_config",
    "resolve_database_name",
    "registered_databases",
    "config_from_url",
]


@dataclass
class DatabaseProjectConfig:
    """How to reach one PostgreSQL database, and how to pool connections to it.

    ``name`` is what models put in ``_database``. ``prepare_threshold=None``
    disables server-side prepared statements. ``statement_timeout`` is in
    milliseconds. ``pgbouncer=True`` says the host is a PgBouncer in
    transaction pooling mode: no server-side prepared statements and no
    session state; ``direct`` then names the server itself (``"host:port"``,
    a URL or a dict), for the work that needs a session (the migrations lock,
    LISTEN). ``replicas`` lists read replicas (same forms; unspecified parts
    come from this config): reads outside a transaction go to them.
    """

    name: str
    host: str = "localhost"
    port: str | int = "5432"
    database_name: str = "postgres"
    user: str = "postgres"
    password: str = field(default="", repr=False)
    alias: str = ""
    min_pool_size: int = 1
    max_pool_size: int = 10
    pool_timeout: float = 30.0
    max_idle: float = 600.0
    max_lifetime: float = 3600.0
    connect_timeout: int = 10
    prepare_threshold: int | None = 5
    statement_timeout: int | None = None
    sslmode: str | None = None
    application_name: str = "matrx-orm"
    check_connections: bool = False
    options: dict[str, Any] = field(default_factory=dict)
    pgbouncer: bool = False
    replicas: list[Any] = field(default_factory=list, repr=False)
    direct: Any = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if not self.name:
            raise ConfigurationError("DatabaseProjectConfig needs a name")
        if self.pgbouncer:
            # Transaction pooling hands each transaction to any server
            # connection: prepared statements and startup/session settings
            # would land on the wrong one.
            self.prepare_threshold = None
            if self.statement_timeout is not None or "options" in self.options:
                raise ConfigurationError(
                    f"database {self.name!r}: PgBouncer (transaction pooling) rejects per-connection settings, "
                    "so statement_timeout cannot be set here; set it on the role "
                    "(ALTER ROLE ... SET statement_timeout = ...) or per call with statement_timeout(ms)"
                )
        self.replicas = list(self.replicas or [])
        if self.replicas:
            self.replica_configs()  # validate now: fail at registration, not at the first read
        if self.direct:
            self.session_config()
        if self.min_pool_size < 0 or self.max_pool_size < max(1, self.min_pool_size):
            raise ConfigurationError(
                f"database {self.name!r}: pool sizes must satisfy 0 <= min_pool_size <= max_pool_size, max >= 1 "
                f"(got {self.min_pool_size}, {self.max_pool_size})"
            )

    def conninfo(self) -> str:
        """Return the libpq connection string (with the password: never log it)."""
        params: dict[str, Any] = {
            "host": self.host,
            "port": str(self.port),
            "dbname": self.database_name,
            "user": self.user,
            "connect_timeout": self.connect_timeout,
            "application_name": self.application_name,
        }
        if self.password:
            params["password"] = self.password
        if self.sslmode:
            params["sslmode"] = self.sslmode
        if self.statement_timeout is not None:
            params["options"] = f"-c statement_timeout={int(self.statement_timeout)}"
        params.update(self.options)
        return make_conninfo("", **params)

    def session_config(self) -> DatabaseProjectConfig | None:
        """Return where session-level work connects (migration lock, LISTEN): ``direct``, else this server.

        None behind PgBouncer without ``direct``: transaction pooling has no
        session to hold an advisory lock or a LISTEN.
        """
        if self.direct:
            changes = _server_changes(self, "direct", self.direct)
            changes.update(name=f"{self.name}@direct", pgbouncer=False)
            return replace(self, **changes)
        return None if self.pgbouncer else self

    def replica_configs(self) -> list[DatabaseProjectConfig]:
        """Return one config per replica (password, user, database and pool settings inherited)."""
        return [_replica_config(self, index, spec) for index, spec in enumerate(self.replicas)]

    def masked_dsn(self) -> str:
        """Return a ``postgresql://`` URL describing the target, password masked."""
        auth = self.user + (":***" if self.password else "")
        return f"postgresql://{auth}@{self.host}:{self.port}/{self.database_name}"

    def __repr__(self) -> str:
        shown = ", ".join(
            f"{f.name}={'***' if f.name == 'password' and self.password else repr(getattr(self, f.name))}"
            for f in fields(self)
            if f.name in ("name", "host", "port", "database_name", "user", "password", "alias", "max_pool_size")
        )
        return f"DatabaseProjectConfig({shown})"

    __str__ = __repr__


#: Seconds a read waits for a replica connection before the primary serves it instead.
REPLICA_POOL_TIMEOUT = 2.0


def _server_changes(primary: DatabaseProjectConfig, what: str, spec: Any) -> dict[str, Any]:
    """Parse a server spec ('host:port', URL, dict, config) into changes to apply to ``primary``."""
    changes: dict[str, Any]
    if isinstance(spec, DatabaseProjectConfig):
        changes = {f.name: getattr(spec, f.name) for f in fields(spec) if f.name not in ("name", "replicas", "direct")}
    elif isinstance(spec, dict):
        changes = dict(spec)
    elif isinstance(spec, str) and "://" in spec:
        parsed = urlparse(spec)
        if parsed.scheme not in ("postgres", "postgresql"):
            raise ConfigurationError(f"database {primary.name!r}: {what} has scheme {parsed.scheme!r}")
        changes = {"host": unquote(parsed.hostname or "") or primary.host}
        if parsed.port:
            changes["port"] = str(parsed.port)
        if parsed.username:
            changes["user"] = unquote(parsed.username)
        if parsed.password:
            changes["password"] = unquote(parsed.password)
        if parsed.path.strip("/"):
            changes["database_name"] = unquote(parsed.path.lstrip("/"))
    elif isinstance(spec, str) and spec:
        host, _, port = spec.rpartition(":") if spec.count(":") == 1 else (spec, "", "")
        changes = {"host": host or spec}
        if port:
            changes["port"] = port
    else:
        raise ConfigurationError(
            f"database {primary.name!r}: {what} must be 'host:port', a postgresql:// URL, a dict "
            f"or a DatabaseProjectConfig, got {type(spec).__name__}"
        )
    unknown = set(changes) - {f.name for f in fields(primary)}
    if unknown:
        raise ConfigurationError(f"database {primary.name!r}: {what} has unknown settings {sorted(unknown)}")
    changes["replicas"] = []
    changes["direct"] = None
    changes["alias"] = ""
    return changes


def _replica_config(primary: DatabaseProjectConfig, index: int, spec: Any) -> DatabaseProjectConfig:
    changes = _server_changes(primary, f"replica {index}", spec)
    # A replica that does not answer quickly is skipped: its reads go to the primary.
    changes.setdefault("pool_timeout", min(primary.pool_timeout, REPLICA_POOL_TIMEOUT))
    changes["name"] = f"{primary.name}@replica{index}"
    return replace(primary, **changes)


_configs: dict[str, DatabaseProjectConfig] = {}
_aliases: dict[str, str] = {}
_lock = threading.Lock()


def register_database(config: DatabaseProjectConfig) -> DatabaseProjectConfig:
    """Register (or replace) a database under ``config.name`` (and its alias)."""
    if not isinstance(config, DatabaseProjectConfig):
        raise ConfigurationError(f"register_database() takes a DatabaseProjectConfig, got {type(config).__name__}")
    with _lock:
        _configs[config.name] = config
        if config.alias:
            _aliases[config.alias] = config.name
    if config.replicas:
        from matrx_orm.core.routing import routing

        routing.enabled = True  # the executor starts looking for replicas (one flag check per read)
    return config


def config_from_url(name: str, url: str, **overrides: Any) -> DatabaseProjectConfig:
    """Build a config from a ``postgresql://`` URL or a libpq ``key=value`` string."""
    if "://" in url:
        parsed = urlparse(url)
        if parsed.scheme not in ("postgres", "postgresql"):
            raise ConfigurationError(f"database {name!r}: unsupported URL scheme {parsed.scheme!r}")
        query = dict(parse_qsl(parsed.query))
        values: dict[str, Any] = {
            "host": unquote(parsed.hostname or "") or query.pop("host", "localhost"),
            "port": str(parsed.port or query.pop("port", 5432)),
            "database_name": unquote(parsed.path.lstrip("/")) or "postgres",
            "user": unquote(parsed.username or "") or "postgres",
            "password": unquote(parsed.password or ""),
        }
        if "password" in query:  # ?password=... must not end up in the (unmasked) options
            values["password"] = query.pop("password")
        if "sslmode" in query:
            values["sslmode"] = query.pop("sslmode")
        if query:
            values["options"] = query
    else:
        try:
            info = conninfo_to_dict(url)
        except Exception as exc:
            raise ConfigurationError(f"database {name!r}: cannot parse the connection string") from exc
        values = {
            "host": str(info.pop("host", "localhost")),
            "port": str(info.pop("port", "5432")),
            "database_name": str(info.pop("dbname", "postgres")),
            "user": str(info.pop("user", "postgres")),
            "password": str(info.pop("password", "")),
        }
        if info:
            values["options"] = {k: v for k, v in info.items() if v is not None}
    values.update(overrides)
    return DatabaseProjectConfig(name=name, **values)


def register_database_url(name: str, url: str, **overrides: Any) -> DatabaseProjectConfig:
    """Register a database from a URL/DSN (``postgresql://user:pw@host:5432/db``)."""
    return register_database(config_from_url(name, url, **overrides))


def unregister_database(name: str) -> None:
    """Forget a registered database (its pools are not closed by this call)."""
    with _lock:
        _configs.pop(name, None)
        for alias, target in list(_aliases.items()):
            if target == name:
                del _aliases[alias]


def registered_databases() -> list[str]:
    """Return the names of the registered databases."""
    return list(_configs)


def resolve_database_name(name: str | None) -> str:
    """Return the registered name for ``name`` (an alias or None = the only one)."""
    if name is None:
        if len(_configs) == 1:
            return next(iter(_configs))
        if "default" in _configs:
            return "default"
        url = os.environ.get("DATABASE_URL")
        if not _configs and url:
            return register_database_url("default", url).name
        if not _configs:
            raise ConfigurationError(
                "no database is registered: call register_database(DatabaseProjectConfig(...)) "
                "or set DATABASE_URL"
            )
        raise ConfigurationError(
            f"several databases are registered ({', '.join(sorted(_configs))}); "
            "set _database on the model or pass database="
        )
    if name in _configs:
        return name
    if name in _aliases:
        return _aliases[name]
    raise ConfigurationError(
        f"database {name!r} is not registered (registered: {', '.join(sorted(_configs)) or 'none'})",
        database=name,
    )


def get_database_config(name: str | None = None) -> DatabaseProjectConfig:
    """Return the config registered under ``name`` (or its alias)."""
    return _configs[resolve_database_name(name)]


def with_overrides(config: DatabaseProjectConfig, **changes: Any) -> DatabaseProjectConfig:
    """Return a copy of ``config`` with ``changes`` applied."""
    return replace(config, **changes)
