"""Fixtures for the code generation tests: a database of their own, a varied schema, imports.

Code generation reads whole schemas and ``makemigrations`` diffs them, so the
tests must not share the database of the other tests. The database is created
once per session; each test resets its schemas and registers a fresh database
project name, so the generated models (``_database = <that name>``) never
collide in the model registry with another test's classes of the same name.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import psycopg
import pytest

from matrx_orm import DatabaseProjectConfig, register_database, unregister_database
from matrx_orm.core.schema_snapshot import SchemaSnapshot, TableSnapshot
from tests.scratch_databases import emptied_and_registered, own_database

__all__ = [
    "CgDatabase",
    "cg_server",
    "new_cg_database",
    "import_generated",
    "forget_generated",
    "table_signature",
    "schema_signature",
    "VARIED_SCHEMA_SQL",
    "GENERATED_SCHEMAS",
]


#: Schemas the round-trip tests generate models for; ``cg_auth`` stays out of scope.
GENERATED_SCHEMAS = ("public", "cg_other")

#: A schema using every supported column type, defaults, keys, a junction table, a
#: self-referential junction, a second schema and a foreign key to an out-of-scope table.
VARIED_SCHEMA_SQL = """
CREATE EXTENSION IF NOT EXISTS hstore;
CREATE SCHEMA cg_other;
CREATE SCHEMA cg_auth;
CREATE TYPE cg_mood AS ENUM ('happy', 'sad', 'meh');

CREATE TABLE cg_auth.users (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    email text NOT NULL
);

COMMENT ON SCHEMA cg_other IS 'analytics';

CREATE TABLE cg_author (
    id serial PRIMARY KEY,
    username varchar(100) NOT NULL UNIQUE,
    bio text,
    auth_user_id uuid REFERENCES cg_auth.users (id) ON DELETE SET NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE cg_author IS 'People who write posts';
COMMENT ON COLUMN cg_author.username IS 'Unique handle';

CREATE TABLE cg_post (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    author_id integer NOT NULL REFERENCES cg_author (id) ON DELETE CASCADE,
    title varchar(200) NOT NULL,
    views integer NOT NULL DEFAULT 0,
    rating numeric(5,2) DEFAULT 1.50,
    published boolean NOT NULL DEFAULT false,
    status varchar(20) NOT NULL DEFAULT 'draft',
    reviewer_id integer REFERENCES cg_author (id) ON DELETE SET NULL
);
CREATE INDEX idx_cg_post_author_id ON cg_post (author_id);
CREATE INDEX cg_post_title_lower ON cg_post (lower(title));
CREATE INDEX cg_post_published_partial ON cg_post (published) WHERE published;

CREATE TABLE cg_tag (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name text NOT NULL UNIQUE
);

CREATE TABLE cg_post_tag (
    post_id uuid NOT NULL REFERENCES cg_post (id) ON DELETE CASCADE,
    tag_id bigint NOT NULL REFERENCES cg_tag (id) ON DELETE CASCADE,
    created_at timestamptz DEFAULT now(),
    PRIMARY KEY (post_id, tag_id)
);

CREATE TABLE cg_follow (
    follower_id integer NOT NULL REFERENCES cg_author (id) ON DELETE CASCADE,
    followee_id integer NOT NULL REFERENCES cg_author (id) ON DELETE CASCADE,
    PRIMARY KEY (follower_id, followee_id)
);

CREATE TABLE cg_membership (
    author_id integer NOT NULL REFERENCES cg_author (id) ON DELETE CASCADE ON UPDATE CASCADE,
    org text NOT NULL,
    role text NOT NULL DEFAULT 'member',
    PRIMARY KEY (author_id, org)
);

CREATE TABLE cg_everything (
    id bigserial PRIMARY KEY,
    c_uuid uuid,
    c_char varchar(50) DEFAULT 'it''s',
    c_varchar varchar,
    c_text text,
    c_int integer CHECK (c_int >= 0),
    c_big bigint DEFAULT 9000000000,
    c_small smallint DEFAULT -1,
    c_float double precision DEFAULT 0.5,
    c_dec numeric(10,3),
    c_numeric numeric,
    c_bool boolean DEFAULT true,
    c_ts timestamptz,
    c_ts_naive timestamp,
    c_date date DEFAULT CURRENT_DATE,
    c_time time,
    c_json jsonb DEFAULT '{"a": 1}',
    c_text_arr text[] DEFAULT '{}',
    c_int_arr integer[] DEFAULT '{1,2}',
    c_bool_arr boolean[],
    c_uuid_arr uuid[],
    c_jsonb_arr jsonb[],
    c_varchar_arr varchar(20)[],
    c_inet inet,
    c_cidr cidr,
    c_mac macaddr,
    c_hstore hstore,
    c_point point,
    c_money money,
    c_bytea bytea,
    c_interval interval DEFAULT '1 day',
    c_int4range int4range,
    c_int8range int8range,
    c_numrange numrange,
    c_daterange daterange,
    c_tstzrange tstzrange,
    c_tsrange tsrange,
    c_tsv tsvector,
    c_real real,
    c_xml xml,
    c_json_plain json,
    c_mood cg_mood DEFAULT 'meh',
    c_char_fixed char(3),
    c_ts3 timestamp(3) with time zone,
    "count" integer,
    "class" text,
    "Mixed Case" text,
    c_total numeric GENERATED ALWAYS AS (c_dec * 2) STORED
);

CREATE TABLE cg_other.cg_event (
    id bigserial PRIMARY KEY,
    author_id integer REFERENCES public.cg_author (id) ON DELETE CASCADE,
    kind cg_mood NOT NULL DEFAULT 'happy',
    payload jsonb NOT NULL DEFAULT '{}',
    region text,
    day date,
    CONSTRAINT cg_event_region_day_key UNIQUE (region, day)
);
CREATE INDEX cg_event_payload_gin ON cg_other.cg_event USING gin (payload);
"""


@dataclass
class CgDatabase:
    """One test's view of the code generation database."""

    name: str
    config: DatabaseProjectConfig
    conn: psycopg.Connection
    dir: Path
    aliases: list[str] = field(default_factory=list)
    packages: list[str] = field(default_factory=list)

    def alias(self, suffix: str) -> str:
        """Register another project name for the same database (generated models use it)."""
        name = f"{self.name}_{suffix}"
        register_database(DatabaseProjectConfig(**{**self.config.__dict__, "name": name, "alias": ""}))
        self.aliases.append(name)
        return name

    def query(self, sql: str, params: Any = None) -> list[tuple[Any, ...]]:
        """Return the rows of ``sql`` (read back what the database holds)."""
        cur = self.conn.execute(sql, params)
        return cur.fetchall() if cur.description is not None else []

    def package(self, label: str) -> tuple[Path, str]:
        """Return ``(output directory, package name)`` for a generated package unique to this test."""
        package = f"cg_generated_{self.name}_{label}"
        self.packages.append(package)
        return self.dir / package, package

    def cleanup(self) -> None:
        """Forget the registered names and the imported generated packages."""
        for name in [self.name, *self.aliases]:
            unregister_database(name)
        for package in self.packages:
            forget_generated(package)
        if str(self.dir) in sys.path:
            sys.path.remove(str(self.dir))


@pytest.fixture(scope="session")
def cg_server(registered_db: DatabaseProjectConfig) -> Iterator[DatabaseProjectConfig]:
    """Create this family of tests' own database (once per process)."""
    yield from own_database(registered_db, "cg")


def new_cg_database(config: DatabaseProjectConfig, tmp_path: Path, mode: str) -> CgDatabase:
    """Empty the code generation database (every schema, type and extension) and register a fresh name."""
    name, conn = emptied_and_registered(config, f"cg_{mode}")
    return CgDatabase(name=name, config=config, conn=conn, dir=tmp_path)


def import_generated(directory: Path, package: str, module: str) -> ModuleType:
    """Import ``package.module`` from the generated package in ``directory`` (its parent goes on sys.path)."""
    parent = str(directory.parent)
    if parent not in sys.path:
        sys.path.insert(0, parent)
    importlib.invalidate_caches()
    return importlib.import_module(f"{package}.{module}")


def forget_generated(package: str) -> None:
    """Drop an imported generated package from ``sys.modules``."""
    for name in [n for n in sys.modules if n == package or n.startswith(package + ".")]:
        del sys.modules[name]


def table_signature(table: TableSnapshot) -> dict[str, Any]:
    """Return what a table *is*, independent of who described it: columns, keys, indexes, FKs."""
    return {
        "columns": [
            (c.name, c.type, c.nullable, c.normalized_default, bool(c.identity)) for c in table.columns.values()
        ],
        "primary_key": table.primary_key,
        "uniques": sorted(u.columns for u in table.uniques),
        "indexes": sorted((i.name, *i.key()) for i in table.indexes),
        "foreign_keys": sorted((*fk.key(), fk.on_delete) for fk in table.foreign_keys),
    }


def schema_signature(snapshot: SchemaSnapshot) -> dict[tuple[str, str], dict[str, Any]]:
    """Return ``table_signature`` of every table of a snapshot, by ``(schema, table)``."""
    return {key: table_signature(table) for key, table in sorted(snapshot.tables.items())}
