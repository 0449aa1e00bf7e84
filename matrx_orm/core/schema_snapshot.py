"""Plain, comparable descriptions of a database schema.

Both sides of a schema diff are expressed with these dataclasses: the *model*
side (built from model metadata by :mod:`matrx_orm.core.ddl`) and the *live*
side (read from ``pg_catalog`` by the introspection module). Types and
defaults are normalised on construction so that ``VARCHAR(100)`` and
``character varying(100)``, or ``'x'::text`` and ``'x'``, compare equal: a
model that matches the database must produce no operation.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

__all__ = [
    "ColumnSnapshot",
    "ForeignKeySnapshot",
    "UniqueSnapshot",
    "IndexSnapshot",
    "CheckSnapshot",
    "TableSnapshot",
    "SchemaSnapshot",
    "normalize_type",
    "normalize_default",
    "DEFAULT_SCHEMA",
]

#: Schema used for models without ``_db_schema``.
DEFAULT_SCHEMA = "public"

# Spellings PostgreSQL accepts, mapped to what ``format_type()`` prints.
_TYPE_ALIASES: dict[str, str] = {
    "int": "integer",
    "int4": "integer",
    "integer": "integer",
    "serial": "integer",
    "serial4": "integer",
    "int8": "bigint",
    "bigint": "bigint",
    "bigserial": "bigint",
    "serial8": "bigint",
    "int2": "smallint",
    "smallint": "smallint",
    "smallserial": "smallint",
    "serial2": "smallint",
    "float": "double precision",
    "float8": "double precision",
    "double": "double precision",
    "double precision": "double precision",
    "float4": "real",
    "real": "real",
    "bool": "boolean",
    "boolean": "boolean",
    "decimal": "numeric",
    "numeric": "numeric",
    "varchar": "character varying",
    "character varying": "character varying",
    "char": "character",
    "character": "character",
    "bpchar": "character",
    "timestamptz": "timestamp with time zone",
    "timestamp with time zone": "timestamp with time zone",
    "timestamp": "timestamp without time zone",
    "timestamp without time zone": "timestamp without time zone",
    "timetz": "time with time zone",
    "time with time zone": "time with time zone",
    "time": "time without time zone",
    "time without time zone": "time without time zone",
    "varbit": "bit varying",
}

_SPACES = re.compile(r"\s+")
_MODIFIER = re.compile(r"^(?P<base>[a-z_][a-z0-9_ .\"]*?)\s*(?:\((?P<mod>[^)]*)\))?(?P<rest>(?:\s+with(?:out)?\s+time\s+zone)?)$")


def normalize_type(type_text: str) -> str:
    """Return ``type_text`` spelled the way PostgreSQL's ``format_type()`` prints it.

    Handles aliases (``INT4``, ``TIMESTAMPTZ``, ``VARCHAR(100)``), array
    spellings (``INTEGER[]``, ``_int4``, ``INTEGER ARRAY``), modifier spacing
    (``NUMERIC(10, 2)``) and the ``public.`` prefix of extension types.
    """
    text = _SPACES.sub(" ", type_text.strip().lower())
    array = False
    if text.startswith("_") and not text.startswith("__"):
        text, array = text[1:], True
    while text.endswith("[]"):
        text, array = text[:-2].rstrip(), True
    if text.endswith(" array"):
        text, array = text[: -len(" array")].rstrip(), True
    text = re.sub(r"\[\d*\]$", "", text)
    if text.startswith("public."):
        text = text[len("public.") :]
    text = text.replace('"', "")
    match = _MODIFIER.match(text)
    if match:
        base = match.group("base").strip()
        mod = match.group("mod")
        rest = match.group("rest").strip()
        if rest:  # "time(3) with time zone" / "timestamp with time zone"
            base = f"{base} {rest}"
        base = _TYPE_ALIASES.get(base, base)
        if mod is not None:
            mod = ",".join(part.strip() for part in mod.split(","))
            if base.startswith(("timestamp ", "time ")):
                head, _, zone = base.partition(" ")
                text = f"{head}({mod}) {zone}"
            else:
                text = f"{base}({mod})"
        else:
            text = base
    return text + ("[]" if array else "")


_CAST_SUFFIX = re.compile(r"::(?:\"?[a-z_][a-z0-9_ ]*\"?(?:\([0-9, ]*\))?(?:\[\])*)$")
_NUMBER = re.compile(r"^-?(?:\d+\.?\d*|\.\d+)(?:e[-+]?\d+)?$")


def _strip_outer_parens(text: str) -> str:
    while text.startswith("(") and text.endswith(")"):
        depth = 0
        for index, char in enumerate(text):
            depth += char == "("
            depth -= char == ")"
            if depth == 0 and index < len(text) - 1:
                return text
        text = text[1:-1].strip()
    return text


def normalize_default(default: str | None) -> str | None:
    """Return a SQL default expression in a canonical form for comparison.

    PostgreSQL stores ``DEFAULT 'x'`` as ``'x'::character varying`` and
    ``DEFAULT -1`` as ``'-1'::integer``; both sides are reduced to the bare
    literal so a default that did not change compares equal.
    """
    if default is None:
        return None
    text = default.strip()
    if not text or text.upper() == "NULL":
        return None
    for _ in range(4):
        text = _strip_outer_parens(text.strip())
        stripped = _CAST_SUFFIX.sub("", text) if text.startswith(("'", "(")) or _NUMBER.match(text.split("::")[0]) else text
        if stripped == text:
            break
        text = stripped.strip()
    if text.startswith("'") and text.endswith("'") and len(text) >= 2:
        inner = text[1:-1]
        if _NUMBER.match(inner):
            text = inner
    lowered = text.lower()
    if lowered in ("true", "false"):
        return lowered
    if lowered in ("now()", "current_timestamp", "transaction_timestamp()"):
        return "now()"
    if lowered in ("gen_random_uuid()", "uuid_generate_v4()", "public.uuid_generate_v4()"):
        return lowered.replace("public.", "")
    if _NUMBER.match(lowered):
        return lowered
    return text


@dataclass
class ColumnSnapshot:
    """One column: name, normalised type, nullability, default and identity.

    ``identity`` is ``"d"`` (BY DEFAULT), ``"a"`` (ALWAYS) or ``""``; a
    ``serial`` column (``nextval`` default) reports ``"s"``.
    """

    name: str
    type: str
    nullable: bool = True
    default: str | None = None
    identity: str = ""
    #: The type as PostgreSQL or the model spelled it, used when writing DDL.
    type_sql: str = ""
    comment: str = ""
    #: Expression of a ``GENERATED ALWAYS AS (...) STORED`` column.
    generated: str | None = None

    def __post_init__(self) -> None:
        if not self.type_sql:
            self.type_sql = self.type
        self.type = normalize_type(self.type)
        if self.default is not None and self.default.strip().lower().startswith("nextval("):
            self.identity = self.identity or "s"
        self.default = self.default.strip() if self.default is not None else None

    @property
    def normalized_default(self) -> str | None:
        """Return the default in canonical form (None for identity/serial columns)."""
        if self.identity or self.generated:
            return None
        return normalize_default(self.default)


@dataclass
class ForeignKeySnapshot:
    """A foreign-key constraint with its actions."""

    name: str
    columns: tuple[str, ...]
    ref_schema: str
    ref_table: str
    ref_columns: tuple[str, ...]
    on_delete: str = "NO ACTION"
    on_update: str = "NO ACTION"
    deferrable: bool = False

    def key(self) -> tuple[object, ...]:
        """Return what identifies this constraint regardless of its name."""
        return (self.columns, self.ref_schema, self.ref_table, self.ref_columns)


@dataclass
class UniqueSnapshot:
    """A UNIQUE constraint."""

    name: str
    columns: tuple[str, ...]


@dataclass
class IndexSnapshot:
    """A (non-constraint) index; ``columns`` may hold expressions."""

    name: str
    columns: tuple[str, ...]
    unique: bool = False
    method: str = "btree"
    where: str | None = None
    #: Full ``CREATE INDEX`` statement when read from the database.
    definition: str = ""

    def key(self) -> tuple[object, ...]:
        """Return what identifies this index regardless of its name."""
        return (self.columns, self.unique, self.method.lower(), _squash(self.where))


def _squash(text: str | None) -> str | None:
    if text is None:
        return None
    return re.sub(r"[\s()]", "", text.lower()) or None


@dataclass
class CheckSnapshot:
    """A CHECK constraint (reported by introspection; never dropped by the diff)."""

    name: str
    expression: str


@dataclass
class TableSnapshot:
    """A table: columns in order, keys, constraints and indexes."""

    schema: str
    name: str
    columns: dict[str, ColumnSnapshot] = field(default_factory=dict)
    primary_key: tuple[str, ...] = ()
    primary_key_name: str = ""
    uniques: list[UniqueSnapshot] = field(default_factory=list)
    indexes: list[IndexSnapshot] = field(default_factory=list)
    foreign_keys: list[ForeignKeySnapshot] = field(default_factory=list)
    checks: list[CheckSnapshot] = field(default_factory=list)
    comment: str = ""
    #: The model class name the table comes from (model side only).
    model: str = ""

    @property
    def key(self) -> tuple[str, str]:
        """Return ``(schema, table)``."""
        return (self.schema, self.name)

    @property
    def label(self) -> str:
        """Return ``table`` for the default schema, ``schema.table`` otherwise."""
        return self.name if self.schema == DEFAULT_SCHEMA else f"{self.schema}.{self.name}"

    def add_column(self, column: ColumnSnapshot) -> None:
        """Append ``column``."""
        self.columns[column.name] = column


@dataclass
class SchemaSnapshot:
    """Tables by ``(schema, name)``, plus the schemas and extensions that exist or are needed."""

    tables: dict[tuple[str, str], TableSnapshot] = field(default_factory=dict)
    schemas: set[str] = field(default_factory=set)
    extensions: set[str] = field(default_factory=set)

    def add_table(self, table: TableSnapshot) -> None:
        """Add (or replace) ``table``."""
        self.tables[table.key] = table

    def table(self, schema: str, name: str) -> TableSnapshot | None:
        """Return the table ``schema.name`` or None."""
        return self.tables.get((schema, name))
