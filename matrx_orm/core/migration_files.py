"""Migration files on disk: render, load, order by dependencies, checksum.

A migration file is a Python module (SPEC's format)::

    \"\"\"Create posts table.\"\"\"

    dependencies = ["0001_initial"]

    async def up(db):
        await db.execute("CREATE TABLE ...")

    async def down(db):
        await db.execute("DROP TABLE IF EXISTS post")

Its name is the file stem (``0002_create_post``). Optional module attributes:
``lock_timeout`` / ``statement_timeout`` (``"5s"`` or milliseconds) applied
with ``SET LOCAL`` inside the migration's transaction; ``atomic = False`` to run
``up``/``down`` outside a transaction (``CREATE INDEX CONCURRENTLY``). A line starting with
``# DESTRUCTIVE:`` marks a migration that loses data; ``migrate`` refuses it
unless destructive operations are allowed.

The checksum is the SHA-256 of the file text with line endings normalised, so
a checkout with CRLF line endings does not look edited.
"""

from __future__ import annotations

import hashlib
import importlib.util
import inspect
import re
import textwrap
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from matrx_orm.core.exceptions import MigrationError
from matrx_orm.core.schema_diff import Operation

__all__ = [
    "MigrationFile",
    "checksum_text",
    "load_migration_file",
    "load_migrations",
    "order_migrations",
    "leaf_names",
    "next_migration_name",
    "render_migration",
    "render_empty_migration",
    "is_async_callable",
    "DESTRUCTIVE_MARKER",
]

DESTRUCTIVE_MARKER = "# DESTRUCTIVE:"
_DESTRUCTIVE_LINE = re.compile(r"^\s*# DESTRUCTIVE:\s*(.*)$", re.MULTILINE)
_NUMBERED = re.compile(r"^(\d+)_")
_SLUG = re.compile(r"[^a-z0-9]+")


def checksum_text(text: str) -> str:
    """Return the SHA-256 hex digest of a migration file's text (line endings normalised)."""
    normalized = text.replace("\r\n", "\n").replace("\r", "\n")
    return hashlib.sha256(normalized.encode("utf-8")).hexdigest()


def is_async_callable(func: Any) -> bool:
    """Return True for ``async def`` functions (the runner awaits/drives their coroutine)."""
    return inspect.iscoroutinefunction(func)


@dataclass
class MigrationFile:
    """One loaded migration file."""

    name: str
    path: Path
    text: str
    checksum: str
    dependencies: list[str]
    up: Callable[..., Any]
    down: Callable[..., Any] | None
    description: str = ""
    destructive: list[str] = field(default_factory=list)
    lock_timeout: str | None = None
    statement_timeout: str | None = None
    #: False: ``up``/``down`` run statement by statement in autocommit, not in one transaction.
    atomic: bool = True

    @property
    def is_destructive(self) -> bool:
        """Return True when the file carries a ``# DESTRUCTIVE:`` marker."""
        return bool(self.destructive)


def _timeout(value: Any, name: str, path: Path) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise MigrationError(f"{path.name}: {name} must be a string like '5s' or milliseconds, got {value!r}")
    return str(value)


def load_migration_file(path: str | Path) -> MigrationFile:
    """Load one migration file, or raise MigrationError naming it."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise MigrationError(f"cannot read migration file {path}: {exc}") from exc
    digest = checksum_text(text)
    module_name = f"_matrx_migration_{hashlib.sha1(str(path.resolve()).encode()).hexdigest()[:12]}_{path.stem}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise MigrationError(f"cannot import migration file {path}")
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        raise MigrationError(f"migration file {path.name} failed to import: {type(exc).__name__}: {exc}") from exc
    up = getattr(module, "up", None)
    if not callable(up):
        raise MigrationError(f"migration file {path.name} has no up(db) function")
    down = getattr(module, "down", None)
    if down is not None and not callable(down):
        raise MigrationError(f"migration file {path.name}: down must be a function")
    deps = getattr(module, "dependencies", [])
    if isinstance(deps, str) or not isinstance(deps, (list, tuple)) or not all(isinstance(d, str) for d in deps):
        raise MigrationError(f"migration file {path.name}: dependencies must be a list of migration names")
    atomic = getattr(module, "atomic", True)
    if not isinstance(atomic, bool):
        raise MigrationError(f"migration file {path.name}: atomic must be True or False, got {atomic!r}")
    doc = (module.__doc__ or "").strip()
    return MigrationFile(
        name=path.stem,
        path=path,
        text=text,
        checksum=digest,
        dependencies=[d[:-3] if d.endswith(".py") else d for d in deps],
        up=up,
        down=down,
        description=doc.splitlines()[0] if doc else "",
        destructive=[m.strip() for m in _DESTRUCTIVE_LINE.findall(text)],
        lock_timeout=_timeout(getattr(module, "lock_timeout", None), "lock_timeout", path),
        statement_timeout=_timeout(getattr(module, "statement_timeout", None), "statement_timeout", path),
        atomic=atomic,
    )


def migration_paths(directory: str | Path) -> list[Path]:
    """Return the migration files of ``directory`` (``*.py`` not starting with ``_``)."""
    folder = Path(directory)
    if not folder.exists():
        return []
    if not folder.is_dir():
        raise MigrationError(f"migrations directory {folder} is not a directory")
    return sorted(p for p in folder.glob("*.py") if not p.name.startswith(("_", ".")))


def order_migrations(files: Iterable[MigrationFile]) -> list[MigrationFile]:
    """Return ``files`` in dependency order; ties are broken by name, so the order is deterministic.

    A dependency that names no file, or a cycle, raises MigrationError.
    """
    by_name: dict[str, MigrationFile] = {}
    for item in files:
        if item.name in by_name:
            raise MigrationError(f"two migration files are named {item.name!r}")
        by_name[item.name] = item
    for item in by_name.values():
        for dep in item.dependencies:
            if dep not in by_name:
                raise MigrationError(
                    f"migration {item.name} depends on {dep!r}, which is not a migration file in "
                    f"{item.path.parent}"
                )
            if dep == item.name:
                raise MigrationError(f"migration {item.name} depends on itself")
    remaining = {name: set(item.dependencies) for name, item in by_name.items()}
    ordered: list[MigrationFile] = []
    while remaining:
        ready = sorted(name for name, deps in remaining.items() if not deps)
        if not ready:
            raise MigrationError(f"migration dependencies form a cycle: {' -> '.join(_find_cycle(remaining))}")
        name = ready[0]
        ordered.append(by_name[name])
        del remaining[name]
        for deps in remaining.values():
            deps.discard(name)
    return ordered


def _find_cycle(graph: dict[str, set[str]]) -> list[str]:
    start = sorted(graph)[0]
    path: list[str] = []
    seen: dict[str, int] = {}
    node = start
    while node not in seen:
        seen[node] = len(path)
        path.append(node)
        node = sorted(graph[node])[0]
    return path[seen[node]:] + [node]


def load_migrations(directory: str | Path) -> list[MigrationFile]:
    """Load every migration file of ``directory`` in dependency order."""
    return order_migrations(load_migration_file(p) for p in migration_paths(directory))


def leaf_names(files: Sequence[MigrationFile]) -> list[str]:
    """Return the migrations nothing depends on (what a new migration should depend on)."""
    depended = {d for f in files for d in f.dependencies}
    return sorted(f.name for f in files if f.name not in depended)


def slugify(name: str) -> str:
    """Return ``name`` as a file-name slug (``Add posts!`` -> ``add_posts``)."""
    slug = _SLUG.sub("_", name.lower()).strip("_")
    if not slug:
        raise MigrationError(f"migration name {name!r} has no letters or digits")
    return slug[:80]


def next_migration_name(directory: str | Path, name: str) -> str:
    """Return ``NNNN_<slug>`` numbered after the highest migration in ``directory``."""
    highest = 0
    for path in migration_paths(directory):
        match = _NUMBERED.match(path.stem)
        if match:
            highest = max(highest, int(match.group(1)))
    slug = slugify(name)
    if _NUMBERED.match(slug):
        return slug
    return f"{highest + 1:04d}_{slug}"


# ---------------------------------------------------------------- rendering
def _python_string(sql_text: str, indent: str) -> str:
    """Return ``sql_text`` as a Python string literal, triple-quoted when that is safe."""
    text = sql_text.strip("\n")
    if '"""' in text or "\\" in text or text.endswith('"'):
        return repr(text)
    if "\n" not in text and len(text) < 80:
        return f'"{text}"' if '"' not in text else f'"""{text}"""'
    body = textwrap.indent(textwrap.dedent(text), indent + "    ")
    return f'"""\n{body}\n{indent}"""'


def _docstring(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"""', '\\"\\"\\"')


def _statement_lines(statements: Sequence[str], indent: str) -> list[str]:
    return [f"{indent}await db.execute({_python_string(s, indent)})" for s in statements]


def render_migration(
    description: str,
    dependencies: Sequence[str],
    operations: Sequence[Operation],
    *,
    details: Sequence[str] = (),
) -> str:
    """Return the text of a generated migration file (SPEC's format, reversible ``down``)."""
    indent = "    "
    doc_lines = [_docstring(description.strip() or "Generated migration."), ""]
    doc_lines.append("Generated by matrx-orm makemigrations: review it before applying.")
    destructive = [op for op in operations if op.destructive]
    if destructive:
        doc_lines.append("It contains DESTRUCTIVE operations (data is lost); `migrate` refuses it unless")
        doc_lines.append("destructive operations are allowed (--allow-destructive / allow_destructive=True).")
    if len(operations) > 1 or details:
        doc_lines.append("")
        doc_lines.append("Operations:")
        doc_lines.extend(f"- {_docstring(str(op))}" for op in operations)
    for line in details:
        doc_lines.append(_docstring(line))
    out = ['"""' + "\n".join(doc_lines).rstrip() + '\n"""', ""]
    out.append(f"dependencies = {list(dependencies)!r}".replace("'", '"'))
    out += ["", "", "async def up(db):"]
    body: list[str] = []
    for op in operations:
        if op.destructive:
            body.append(f"{indent}{DESTRUCTIVE_MARKER} {op.description}")
        else:
            body.append(f"{indent}# {op.description}")
        if op.note and not op.destructive:
            body.append(f"{indent}# note: {op.note}")
        body += _statement_lines(op.up, indent)
    out += body or [f"{indent}pass"]
    out += ["", "", "async def down(db):"]
    body = []
    for op in reversed(operations):
        body.append(f"{indent}# undo: {op.description}")
        if op.down:
            body += _statement_lines(list(op.down), indent)
        else:
            body.append(f"{indent}# nothing to undo: {op.down_note or 'no statement reverses this'}")
    has_statement = any(op.down for op in operations)
    if not has_statement:
        body.append(f"{indent}pass")
    out += body
    return "\n".join(out) + "\n"


def render_empty_migration(description: str, dependencies: Sequence[str]) -> str:
    """Return the text of a blank migration for hand-written SQL."""
    deps = f"dependencies = {list(dependencies)!r}".replace("'", '"')
    return (
        f'"""{_docstring(description.strip() or "Hand-written migration.")}"""\n'
        "\n"
        f"{deps}\n"
        "\n"
        "\n"
        "async def up(db):\n"
        "    # await db.execute(\"CREATE TABLE ...\")\n"
        "    pass\n"
        "\n"
        "\n"
        "async def down(db):\n"
        "    # await db.execute(\"DROP TABLE IF EXISTS ...\")\n"
        "    pass\n"
    )
