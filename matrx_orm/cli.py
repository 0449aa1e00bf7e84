"""The ``matrx-orm`` command line (typer), built on the sync package.

Migration commands: ``makemigrations``, ``migrate``, ``rollback``, ``status``,
``create_empty`` and ``sql``; ``inspect`` generates models and managers from
the live schema. They find the database and the models the way a project
expects:

* ``--database NAME`` names a registered database (``DatabaseProjectConfig``);
* ``--dsn URL`` (or ``DATABASE_URL``) registers that URL under ``--database``
  (or ``default``) when it is not registered already;
* ``--config MODULE`` (or ``config = "..."`` under ``[tool.matrx-orm]`` in
  ``pyproject.toml``) is imported first: it registers databases and imports
  models; ``--models MODULE`` (or ``models = [...]``) imports more model modules.

User mistakes print one ``Error: ...`` line and exit with status 1; no
password is ever printed (targets are shown with a masked DSN).
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Optional

import typer

from matrx_orm.core.config import get_database_config, register_database_url, registered_databases
from matrx_orm.core.exceptions import ORMException

__all__ = ["app", "main"]

app = typer.Typer(
    name="matrx-orm",
    help="matrx-orm: PostgreSQL ORM tooling (demo, doctor, migrations, schema introspection).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


# ---------------------------------------------------------------- project settings
def _pyproject_settings(start: Path | None = None) -> dict[str, Any]:
    """Return ``[tool.matrx-orm]`` of the nearest ``pyproject.toml`` (empty when there is none)."""
    folder = (start or Path.cwd()).resolve()
    for candidate in [folder, *folder.parents]:
        path = candidate / "pyproject.toml"
        if path.is_file():
            try:
                import tomllib
            except ImportError:  # Python 3.10
                try:
                    import tomli as tomllib  # type: ignore[no-redef, unused-ignore]
                except ImportError:
                    return {}
            try:
                data = tomllib.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                return {}
            settings = data.get("tool", {}).get("matrx-orm", {})
            return settings if isinstance(settings, dict) else {}
    return {}


class _UserError(Exception):
    """A mistake the user can fix: printed as one line, exit status 1."""


def _import_module(name: str, what: str) -> None:
    if str(Path.cwd()) not in sys.path:
        sys.path.insert(0, str(Path.cwd()))
    try:
        importlib.import_module(name)
    except ImportError as exc:
        raise _UserError(f"cannot import {what} module {name!r}: {exc}") from exc


def _setup(database: str | None, dsn: str | None, config: str | None, models: list[str] | None) -> str:
    """Import the project's config and models, register ``--dsn``; return the database name to use."""
    settings = _pyproject_settings()
    config = config or settings.get("config")
    if config:
        _import_module(config, "config")
    model_modules = list(models or []) or list(settings.get("models") or [])
    for module in model_modules:
        _import_module(module, "models")
    database = database or settings.get("database")
    if dsn:
        database = database or "default"
        register_database_url(database, dsn)
    elif os.environ.get("DATABASE_URL") and (database or "default") not in registered_databases():
        database = database or "default"
        register_database_url(database, os.environ["DATABASE_URL"])
    if database is None:
        known = registered_databases()
        if len(known) == 1:
            database = known[0]
        elif not known:
            raise _UserError(
                "no database: pass --database with --config/--dsn, set DATABASE_URL, or set config under "
                "[tool.matrx-orm] in pyproject.toml"
            )
        else:
            raise _UserError(f"several databases are registered ({', '.join(sorted(known))}); pass --database")
    try:
        get_database_config(database)
    except ORMException as exc:
        raise _UserError(exc.message) from None
    return database


def _migrations_dir(directory: str | None) -> str:
    return directory or _pyproject_settings().get("migrations_dir") or "migrations"


def _target(database: str) -> str:
    config = get_database_config(database)
    return f"{database} ({config.masked_dsn()})"


@contextmanager
def _errors() -> Iterator[None]:
    """Turn user-facing errors into one line on stderr and exit status 1."""
    try:
        yield
    except _UserError as exc:
        typer.secho(f"Error: {exc}", err=True, fg=typer.colors.RED)
        raise typer.Exit(1) from None
    except ORMException as exc:
        message = exc.message
        typer.secho(f"Error: {message}", err=True, fg=typer.colors.RED)
        raise typer.Exit(1) from None


def _progress(verb: str) -> Callable[[str, str, float], None]:
    def report(event: str, name: str, seconds: float) -> None:
        if event == "waiting":
            typer.echo("Waiting for another migrate/rollback run to release the migrations lock...")
        elif event == "locked" and seconds:
            typer.echo(f"Lock acquired after {seconds:.1f}s.")
        elif event == "start":
            typer.echo(f"  {verb} {name} ...", nl=False)
        elif event == "done":
            typer.echo(f" done ({seconds:.2f}s)")

    return report


def _split(values: list[str] | None) -> list[str]:
    out: list[str] = []
    for value in values or []:
        out += [part for part in value.replace(",", " ").split() if part]
    return out


def _table_scope(
    include_tables: list[str] | None, exclude_tables: list[str] | None, extra_args: list[str]
) -> tuple[list[str] | None, list[str] | None]:
    """Return the (include, exclude) table lists of a command, refusing both at once.

    ``--include-tables user post comment``: click keeps the first value and the
    rest arrive as extra arguments, which belong to whichever list was given.
    """
    include = _split(include_tables) if include_tables else None
    exclude = _split(exclude_tables) if exclude_tables else None
    if include is not None and exclude is not None:
        raise _UserError("--include-tables and --exclude-tables are mutually exclusive")
    extra = _split(list(extra_args))
    if extra:
        if include is not None:
            include += extra
        elif exclude is not None:
            exclude += extra
        else:
            raise _UserError(f"unexpected argument(s): {' '.join(extra)}")
    return include, exclude


# ---------------------------------------------------------------- demo
@app.command("demo")
def demo_command(
    embedded: bool = typer.Option(
        False, "--embedded", help="Use a throwaway embedded PostgreSQL even when a server is configured."
    ),
) -> None:
    """Tour matrx-orm on a throwaway database: models, tables, async and sync CRUD and queries."""
    from matrx_orm.demo import run_demo

    with _errors():
        try:
            run_demo(typer.echo, embedded=embedded)
        except RuntimeError as exc:  # no server and no embedded fallback installed
            raise _UserError(str(exc)) from None


# ---------------------------------------------------------------- options
DatabaseOpt = typer.Option(None, "--database", "-d", help="Registered database name (default: the only one).")
DirOpt = typer.Option(None, "--dir", help="Migrations directory (default: migrations).")
DsnOpt = typer.Option(None, "--dsn", help="Connection URL; default: $DATABASE_URL. Registered under --database.")
ConfigOpt = typer.Option(None, "--config", help="Module to import first (registers databases, imports models).")
ModelsOpt = typer.Option(None, "--models", help="Module of models to import (repeatable).")


# ---------------------------------------------------------------- doctor
def _doctor_targets(
    database: str | None, dsn: str | None, config: str | None, models: list[str] | None
) -> tuple[list[str], str]:
    """Return the databases to check (every registered one when several and none is named) and where they came from."""
    configured = database or dsn or config or models or os.environ.get("DATABASE_URL") or registered_databases()
    if not configured and not _pyproject_settings().get("config"):
        # Nothing configured: check the server `matrx-orm demo` would use (localhost, or the embedded one).
        from matrx_orm.core.config import register_database
        from matrx_orm.devdb import find_server

        try:
            info = find_server("default")
        except RuntimeError as exc:
            raise _UserError(str(exc)) from None
        register_database(info.config)
        return ["default"], f"nothing configured; found via {info.source}"
    try:
        return [_setup(database, dsn, config, models)], ""
    except _UserError:
        known = registered_databases()
        if database is None and len(known) > 1:
            return sorted(known), ""
        raise


@app.command("doctor")
def doctor_command(
    database: Optional[str] = DatabaseOpt,
    dsn: Optional[str] = DsnOpt,
    config: Optional[str] = ConfigOpt,
    models: Optional[list[str]] = ModelsOpt,
) -> None:
    """Check a database: reachable, server version, extensions and tables the models need, PgBouncer mode."""
    from matrx_orm.doctor import check_database

    with _errors():
        names, source = _doctor_targets(database, dsn, config, models)
        reports = [check_database(name, source=source) for name in names]
    for report in reports:
        for line in report.lines():
            color = typer.colors.RED if "[FAIL]" in line else typer.colors.YELLOW if "[warn]" in line else None
            typer.secho(line, fg=color)
        typer.echo("")
    failures = sum(r.failures for r in reports)
    warnings = sum(r.warnings for r in reports)
    typer.echo(
        f"{len(reports)} database{'s' if len(reports) != 1 else ''} checked: "
        f"{failures} failure{'s' if failures != 1 else ''}, {warnings} warning{'s' if warnings != 1 else ''}."
    )
    if failures:
        raise typer.Exit(1)


@app.command(
    "makemigrations",
    context_settings={"allow_extra_args": True, "allow_interspersed_args": True},
)
def makemigrations_command(
    ctx: typer.Context,
    database: Optional[str] = DatabaseOpt,
    directory: Optional[str] = DirOpt,
    name: Optional[str] = typer.Option(None, "--name", help="Name for the migration file."),
    include_tables: Optional[list[str]] = typer.Option(
        None, "--include-tables", help="Only diff these tables (space or comma separated)."
    ),
    exclude_tables: Optional[list[str]] = typer.Option(
        None, "--exclude-tables", help="Diff every table except these (space or comma separated)."
    ),
    schema: Optional[str] = typer.Option(None, "--schema", help="Only diff this schema."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Show the operations without writing a file."),
    dsn: Optional[str] = DsnOpt,
    config: Optional[str] = ConfigOpt,
    models: Optional[list[str]] = ModelsOpt,
) -> None:
    """Generate a migration from the differences between the models and the database."""
    from matrx_orm_sync.migrations import MigrationDB, SchemaDiff, TableFilter

    with _errors():
        include, exclude = _table_scope(include_tables, exclude_tables, ctx.args)
        db_name = _setup(database, dsn, config, models)
        folder = _migrations_dir(directory)
        table_filter = TableFilter.from_options(include, exclude)
        diff = SchemaDiff(MigrationDB(db_name), schema=schema, table_filter=table_filter)
        typer.echo(f"Database: {_target(db_name)}")
        if dry_run:
            operations = diff.operations()
            if not operations:
                typer.echo("No changes detected.")
                return
            for op in operations:
                typer.echo(f"  - {op}")
            return
        path = diff.generate_migration_file(folder, name)
        if path is None:
            typer.echo("No changes detected.")
            return
        typer.echo(f"Created {path}")
        from matrx_orm.core.migration_files import load_migration_file

        migration = load_migration_file(path)
        for line in migration.destructive:
            typer.secho(f"  DESTRUCTIVE: {line}", fg=typer.colors.YELLOW)
        if migration.destructive:
            typer.echo("Review it; `migrate` refuses it unless you pass --allow-destructive.")


@app.command("migrate")
def migrate_command(
    database: Optional[str] = DatabaseOpt,
    directory: Optional[str] = DirOpt,
    allow_destructive: bool = typer.Option(
        False, "--allow-destructive", help="Apply migrations marked DESTRUCTIVE (they lose data)."
    ),
    lock_timeout: float = typer.Option(300.0, "--lock-timeout", help="Seconds to wait for another run's lock."),
    dsn: Optional[str] = DsnOpt,
    config: Optional[str] = ConfigOpt,
    models: Optional[list[str]] = ModelsOpt,
) -> None:
    """Apply all pending migrations, each in its own transaction."""
    from matrx_orm_sync.migrations import migrate

    with _errors():
        db_name = _setup(database, dsn, config, models)
        typer.echo(f"Database: {_target(db_name)}")
        applied = migrate(
            db_name,
            _migrations_dir(directory),
            allow_destructive=allow_destructive,
            lock_timeout=lock_timeout,
            progress=_progress("Applying"),
        )
        if applied:
            typer.echo(f"Applied {len(applied)} migration(s).")
        else:
            typer.echo("No migrations to apply.")


@app.command("rollback")
def rollback_command(
    database: Optional[str] = DatabaseOpt,
    directory: Optional[str] = DirOpt,
    steps: int = typer.Option(1, "--steps", min=1, help="How many applied migrations to undo."),
    lock_timeout: float = typer.Option(300.0, "--lock-timeout", help="Seconds to wait for another run's lock."),
    dsn: Optional[str] = DsnOpt,
    config: Optional[str] = ConfigOpt,
    models: Optional[list[str]] = ModelsOpt,
) -> None:
    """Roll back the last N applied migrations (default: 1)."""
    from matrx_orm_sync.migrations import rollback

    with _errors():
        db_name = _setup(database, dsn, config, models)
        typer.echo(f"Database: {_target(db_name)}")
        undone = rollback(
            db_name, _migrations_dir(directory), steps, lock_timeout=lock_timeout, progress=_progress("Rolling back")
        )
        if undone:
            typer.echo(f"Rolled back {len(undone)} migration(s).")
        else:
            typer.echo("Nothing to roll back.")


_MARKS = {"applied": "[X]", "pending": "[ ]", "modified": "[!]", "missing": "[?]"}


@app.command("status")
def status_command(
    database: Optional[str] = DatabaseOpt,
    directory: Optional[str] = DirOpt,
    dsn: Optional[str] = DsnOpt,
    config: Optional[str] = ConfigOpt,
    models: Optional[list[str]] = ModelsOpt,
) -> None:
    """Show every migration and whether it is applied or pending."""
    from matrx_orm_sync.migrations import migration_status

    with _errors():
        db_name = _setup(database, dsn, config, models)
        folder = _migrations_dir(directory)
        typer.echo(f"Database: {_target(db_name)}")
        typer.echo(f"Migrations: {folder}")
        states = migration_status(db_name, folder)
        if not states:
            typer.echo("No migrations.")
            return
        width = max(len(s.name) for s in states)
        for state in states:
            when = f"  {state.applied_at:%Y-%m-%d %H:%M:%S}" if state.applied_at else ""
            extra = ""
            if state.state == "modified":
                extra = "  (file changed after it was applied)"
            elif state.state == "missing":
                extra = "  (applied, but the file is gone)"
            elif state.state == "pending" and state.destructive:
                extra = "  (DESTRUCTIVE)"
            typer.echo(f"{_MARKS[state.state]} {state.name.ljust(width)}  {state.state}{when}{extra}")
        pending = sum(1 for s in states if s.state == "pending")
        applied = sum(1 for s in states if s.applied)
        typer.echo(f"{applied} applied, {pending} pending.")


def _create_empty(
    database: Optional[str], directory: Optional[str], name: str, dsn: Optional[str], config: Optional[str]
) -> None:
    from matrx_orm_sync.migrations import create_empty

    with _errors():
        settings_db = database
        if database or dsn or config:
            settings_db = _setup(database, dsn, config, None)
        path = create_empty(settings_db, _migrations_dir(directory), name=name)
        typer.echo(f"Created {path}")


@app.command("create_empty")
def create_empty_command(
    database: Optional[str] = DatabaseOpt,
    directory: Optional[str] = DirOpt,
    name: str = typer.Option(..., "--name", help="Name for the migration file."),
    dsn: Optional[str] = DsnOpt,
    config: Optional[str] = ConfigOpt,
) -> None:
    """Create a blank migration file for hand-written SQL."""
    _create_empty(database, directory, name, dsn, config)


@app.command("create-empty", hidden=True)
def create_empty_alias(
    database: Optional[str] = DatabaseOpt,
    directory: Optional[str] = DirOpt,
    name: str = typer.Option(..., "--name", help="Name for the migration file."),
    dsn: Optional[str] = DsnOpt,
    config: Optional[str] = ConfigOpt,
) -> None:
    """Create a blank migration file (same as create_empty)."""
    _create_empty(database, directory, name, dsn, config)


@app.command("sql")
def sql_command(
    database: Optional[str] = DatabaseOpt,
    directory: Optional[str] = DirOpt,
    name: Optional[list[str]] = typer.Option(None, "--name", help="Migration to show (repeatable; default: pending)."),
    down: bool = typer.Option(False, "--down", help="Show the rollback SQL (default: the last applied migration)."),
    dsn: Optional[str] = DsnOpt,
    config: Optional[str] = ConfigOpt,
    models: Optional[list[str]] = ModelsOpt,
) -> None:
    """Print the SQL that migrations would run, without running it."""
    from matrx_orm_sync.migrations import migration_sql

    with _errors():
        db_name = _setup(database, dsn, config, models)
        direction = "down" if down else "up"
        plans = migration_sql(db_name, _migrations_dir(directory), name or None, direction=direction)
        if not plans:
            typer.echo("-- nothing to run")
            return
        for migration, statements in plans:
            typer.echo(f"-- {migration} ({direction})")
            for statement in statements:
                typer.echo(statement.rstrip().rstrip(";") + ";")
            typer.echo("")


# ---------------------------------------------------------------- schema introspection
def _inspect(
    ctx: typer.Context,
    database: Optional[str],
    output_dir: Optional[str],
    schema: Optional[list[str]],
    include_tables: Optional[list[str]],
    exclude_tables: Optional[list[str]],
    show: bool,
    dsn: Optional[str],
    config: Optional[str],
) -> None:
    from matrx_orm.core.codegen import render_files
    from matrx_orm_sync.schema_builder.generator import plan_database, write_plan

    with _errors():
        include, exclude = _table_scope(include_tables, exclude_tables, ctx.args)
        db_name = _setup(database, dsn, config, None)
        schemas = _split(schema) or None
        plan = plan_database(db_name, schemas=schemas, include_tables=include, exclude_tables=exclude)
        files = render_files(plan)
        if show:
            typer.echo(files["models.py"], nl=False)
            return
        folder = output_dir or _pyproject_settings().get("models_dir")
        typer.echo(f"Database: {_target(db_name)}")
        paths = write_plan(plan, folder, files)
        stubs = sum(1 for m in plan.models if m.stub)
        typer.echo(
            f"Generated {len(plan.tables)} model(s)"
            + (f" and {stubs} reference-only stub(s)" if stubs else "")
            + f" from schema(s) {', '.join(plan.schemas)} in {paths[0].parent}"
        )
        for path in paths:
            typer.echo(f"  {path}")


_INSPECT_SETTINGS = {"allow_extra_args": True, "allow_interspersed_args": True}
OutOpt = typer.Option(None, "--out", "-o", help="Output package directory (default: database/<alias or name>).")
SchemaOpt = typer.Option(None, "--schema", help="Schema to read (repeatable; default: public).")
IncludeOpt = typer.Option(None, "--include-tables", help="Only these tables (space or comma separated).")
ExcludeOpt = typer.Option(None, "--exclude-tables", help="Every table except these (space or comma separated).")
PrintOpt = typer.Option(False, "--print", help="Print models.py instead of writing files.")


@app.command("inspect", context_settings=_INSPECT_SETTINGS)
def inspect_command(
    ctx: typer.Context,
    database: Optional[str] = DatabaseOpt,
    output_dir: Optional[str] = OutOpt,
    schema: Optional[list[str]] = SchemaOpt,
    include_tables: Optional[list[str]] = IncludeOpt,
    exclude_tables: Optional[list[str]] = ExcludeOpt,
    show: bool = PrintOpt,
    dsn: Optional[str] = DsnOpt,
    config: Optional[str] = ConfigOpt,
) -> None:
    """Generate models.py, models_sync.py and one manager per table from the live database schema."""
    _inspect(ctx, database, output_dir, schema, include_tables, exclude_tables, show, dsn, config)


# The 1.x name of the command, kept working (hidden from --help): the same function, registered twice.
app.command("generate-models", context_settings=_INSPECT_SETTINGS, hidden=True)(inspect_command)


def main() -> None:
    """Run the ``matrx-orm`` command line."""
    app()


if __name__ == "__main__":
    main()
