# WARNING: generated from matrx_orm/_model.py by tools/unasync.py -- do not edit.
# Change the async source, then run: python tools/unasync.py
"""``Model``: the async I/O half of every model (CRUD classmethods, save/delete/refresh).

Everything that does no I/O lives in ``matrx_orm.core.model_meta.ModelBase``;
this class only builds statements with the pure compiler and runs them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar, TypeVar

from matrx_orm_sync._cache_hooks import cache_fill, cache_fill_source, cache_read, cache_writing, pk_keys
from matrx_orm_sync._executor import execute, fetch_all, fetch_one, run_statements
from matrx_orm_sync._model_extras import ModelExtras, send_signal
from matrx_orm_sync._queryset import QuerySet
from matrx_orm_sync._relations import RelationsMixin
from matrx_orm.core.bulk_sql import (
    array_batches,
    column_arrays,
    compile_unnest_insert,
    compile_unnest_update,
    mixed_timezones,
    unnest_columns_ok,
)
from matrx_orm.core.compat_sync import MODE
from matrx_orm.core.compiler import (
    compile_bulk_delete,
    compile_bulk_update,
    compile_get_by_pk,
    compile_insert,
    compile_update,
    compile_upsert,
)
from matrx_orm.core.exceptions import DoesNotExist, ParameterError, StaleObjectError, StateError
from matrx_orm.core.hydrate import hydrate_row, hydrate_rows
from matrx_orm.core.model_hooks import has_save_hooks
from matrx_orm.core.model_meta import (
    ModelBase,
    assign_written,
    field_values_for_insert,
    remember_related_instances,
)
from matrx_orm.core.query_state import QueryState, build_where
from matrx_orm.core.registry import register_mode_base
from matrx_orm.core.signals import post_delete, post_save, pre_delete, pre_save
from matrx_orm.core.write_prep import (
    batch_size_for,
    check_field_names,
    group_rows_by_columns,
    instance_insert_data,
    instance_update_values,
    pk_values_of,
    prepare_insert_rows,
)

__all__ = ["Model"]

M = TypeVar("M", bound="Model")


class Model(ModelExtras, RelationsMixin, ModelBase):
    """Base class of async models: subclass it and declare fields as class attributes."""

    __matrx_mode__: ClassVar[str] = MODE
    __matrx_root__: ClassVar[bool] = True

    # -- querysets --------------------------------------------------------
    @classmethod
    def query(cls: type[M]) -> QuerySet[M]:
        """Return a queryset over every row of the table."""
        return QuerySet(cls)

    @classmethod
    def filter(cls: type[M], *args: Any, **kwargs: Any) -> QuerySet[M]:
        """Return a queryset of the rows matching the filters."""
        return QuerySet(cls).filter(*args, **kwargs)

    @classmethod
    def exclude(cls: type[M], *args: Any, **kwargs: Any) -> QuerySet[M]:
        """Return a queryset of the rows not matching the filters."""
        return QuerySet(cls).exclude(*args, **kwargs)

    @classmethod
    def order_by(cls: type[M], *names: str) -> QuerySet[M]:
        """Return a queryset of every row, ordered."""
        return QuerySet(cls).order_by(*names)

    @classmethod
    def all(cls: type[M]) -> list[M]:
        """Return every row of the table."""
        return QuerySet(cls).all()

    # -- reading ----------------------------------------------------------
    @classmethod
    def get(cls: type[M], *args: Any, use_cache: bool = True, **kwargs: Any) -> M:
        """Return the one row matching the filters; raise DoesNotExist when there is none."""
        obj = cls.get_or_none(*args, use_cache=use_cache, **kwargs)
        if obj is None:
            meta = cls._meta
            raise DoesNotExist(
                f"No {meta.name} matches the given filters",
                model=meta.name,
                operation=f"{meta.name}.get()",
                filters=kwargs,
            )
        return obj

    @classmethod
    def get_or_none(cls: type[M], *args: Any, use_cache: bool = True, **kwargs: Any) -> M | None:
        """Return the one row matching the filters, or None."""
        meta = cls._meta
        if not args and kwargs and kwargs.keys() == meta.pk_name_set:
            # Fast path: lookup by primary key, served from the state cache when it can be.
            cached, ticket = cache_read(cls, kwargs, use_cache)
            if cached is not None:
                return cached  # type: ignore[no-any-return]
            params = [f.get_db_prep_value(kwargs[f.name]) for f in meta.pk_fields]
            with cache_fill_source(ticket):
                row = fetch_one(
                    meta.database, compile_get_by_pk(meta), params, model=meta.name, operation=meta.get_operation,
                    filters=kwargs,
                )
            if row is None:
                return None
            obj = hydrate_row(cls, meta.field_names, row)
            cache_fill(ticket, obj)
            return obj  # type: ignore[no-any-return]
        rows = QuerySet(cls).filter(*args, **kwargs).limit(2).all()
        if len(rows) > 1:
            from matrx_orm.core.exceptions import MultipleObjectsReturned

            raise MultipleObjectsReturned(
                f"More than one {meta.name} matches the given filters",
                model=meta.name,
                operation=f"{meta.name}.get()",
                filters=kwargs,
            )
        return rows[0] if rows else None

    @classmethod
    def count(cls, *args: Any, **filters: Any) -> int:
        """Return the number of rows matching the filters (all rows without filters)."""
        return QuerySet(cls).filter(*args, **filters).count()

    @classmethod
    def exists(cls, *args: Any, **filters: Any) -> bool:
        """Return True when a row matches the filters."""
        return QuerySet(cls).filter(*args, **filters).exists()

    # -- creating ---------------------------------------------------------
    @classmethod
    def create(cls: type[M], **kwargs: Any) -> M:
        """Insert one row and return it as read back from the database (defaults included)."""
        meta = cls._meta
        if has_save_hooks(cls, (pre_save, post_save)):
            # clean() and save signals need an instance: go through save().
            obj = cls(**kwargs)
            obj.save()
            return obj
        values = field_values_for_insert(meta, kwargs)
        names = tuple(values)
        query = compile_insert(meta, names, 1)
        row = fetch_one(
            meta.database, query, list(values.values()), model=meta.name, operation=f"{meta.name}.create()"
        )
        assert row is not None
        created: M = hydrate_row(cls, meta.field_names, row)
        remember_related_instances(created, kwargs)
        return created

    @classmethod
    def bulk_create(
        cls: type[M],
        objects: Sequence[dict[str, Any] | M],
        *,
        batch_size: int | None = None,
        ignore_conflicts: bool = False,
    ) -> list[M]:
        """Insert many rows atomically, one statement per batch; return the inserted rows.

        With ``ignore_conflicts=True`` rows that violate a unique constraint are
        skipped and only the inserted rows are returned.
        """
        meta = cls._meta
        if not objects:
            return []
        rows = prepare_insert_rows(meta, objects)
        statements: list[tuple[str, list[Any]]] = []
        for names, indexes in group_rows_by_columns(rows):
            if unnest_columns_ok(meta, names):
                # One array per column: the SQL text does not depend on the row count.
                arrays = column_arrays([tuple(rows[i].values()) for i in indexes], len(names))
                if not mixed_timezones(meta, names, arrays):
                    query = compile_unnest_insert(meta, names, ignore_conflicts=ignore_conflicts)
                    statements.extend((query, batch) for batch in array_batches(arrays, batch_size))
                    continue
            size = batch_size_for(len(names), batch_size)
            for start in range(0, len(indexes), size):
                chunk = indexes[start : start + size]
                params = [value for i in chunk for value in rows[i].values()]
                statements.append((compile_insert(meta, names, len(chunk), ignore_conflicts=ignore_conflicts), params))
        results = cls._run_fetch(statements, f"{meta.name}.bulk_create()")
        return hydrate_rows(cls, meta.field_names, [row for rows_ in results for row in rows_])

    @classmethod
    def _run_fetch(cls, statements: list[tuple[str, list[Any]]], operation: str) -> list[list[tuple[Any, ...]]]:
        meta = cls._meta
        if len(statements) == 1:
            # One statement is atomic on its own: no BEGIN/COMMIT round trips.
            query, params = statements[0]
            return [fetch_all(meta.database, query, params, model=meta.name, operation=operation)]
        return run_statements(meta.database, statements, model=meta.name, operation=operation, fetch=True)  # type: ignore[return-value]

    @classmethod
    def upsert(
        cls: type[M],
        data: dict[str, Any],
        conflict_fields: Sequence[str],
        update_fields: Sequence[str] | None = None,
    ) -> M:
        """Insert a row, or update the existing one on conflict; return the row."""
        rows = cls.bulk_upsert([data], conflict_fields, update_fields)
        return rows[0]

    @classmethod
    def bulk_upsert(
        cls: type[M],
        objects_data: Sequence[dict[str, Any]],
        conflict_fields: Sequence[str],
        update_fields: Sequence[str] | None = None,
        *,
        batch_size: int | None = None,
    ) -> list[M]:
        """Upsert many rows atomically (``INSERT ... ON CONFLICT DO UPDATE``); return them."""
        meta = cls._meta
        if not objects_data:
            return []
        if not conflict_fields:
            raise ParameterError(f"{meta.name}.upsert() needs conflict_fields", model=meta.name)
        conflict = check_field_names(meta, conflict_fields, "upsert(conflict_fields=)")
        rows = prepare_insert_rows(meta, objects_data)
        # By default a conflict updates the fields the caller gave, never ones
        # filled from Python defaults (that would reset existing values).
        given = [
            frozenset(meta.write_field(k).name for k in item) if isinstance(item, dict) else frozenset(meta.field_names)
            for item in objects_data
        ]
        statements: list[tuple[str, list[Any]]] = []
        for names, indexes in group_rows_by_columns(rows):
            missing = [c for c in conflict if c not in names]
            if missing:
                raise ParameterError(
                    f"{meta.name}.upsert(): every row needs the conflict fields; missing {missing}",
                    model=meta.name,
                )
            plans: list[tuple[tuple[str, ...], list[int]]]
            if update_fields is None:
                by_given: dict[frozenset[str], list[int]] = {}
                for i in indexes:
                    by_given.setdefault(given[i], []).append(i)
                plans = [
                    (tuple(n for n in names if n in keys and n not in conflict and n not in meta.pk_names), group)
                    for keys, group in by_given.items()
                ]
            else:
                updates = check_field_names(meta, update_fields, "upsert(update_fields=)", written=True)
                absent = [u for u in updates if u not in names]
                if absent:
                    raise ParameterError(
                        f"{meta.name}.upsert(): update_fields {absent} are not in the data", model=meta.name
                    )
                plans = [(updates, list(indexes))]
            size = batch_size_for(len(names), batch_size)
            for updates, group in plans:
                for start in range(0, len(group), size):
                    chunk = group[start : start + size]
                    _reject_duplicate_conflicts(meta.name, [rows[i] for i in chunk], conflict)
                    params = [value for i in chunk for value in rows[i].values()]
                    statements.append((compile_upsert(meta, names, len(chunk), conflict, updates), params))
        with cache_writing(meta) as written:
            results = cls._run_fetch(statements, f"{meta.name}.upsert()")
            upserted = hydrate_rows(cls, meta.field_names, [row for rows_ in results for row in rows_])
            written.rows(upserted)
        return upserted

    # -- bulk writes ------------------------------------------------------
    @classmethod
    def bulk_update(cls: type[M], objects: Sequence[M], fields: Sequence[str], *, batch_size: int | None = None) -> int:
        """Write ``fields`` of each instance to its row in one statement per batch; return rows updated."""
        meta = cls._meta
        if not objects:
            return 0
        meta.require_pk("bulk_update()")
        names = check_field_names(meta, fields, "bulk_update(fields=)", written=True)
        if not names:
            raise ParameterError(f"{meta.name}.bulk_update() needs at least one field", model=meta.name)
        rows: list[list[Any]] = []
        for obj in objects:
            if not isinstance(obj, ModelBase) or obj._meta.key != meta.key:
                raise ParameterError(f"{meta.name}.bulk_update() takes {meta.name} instances, got {obj!r}", model=meta.name)
            pk_values = [meta.fields[n].get_db_prep_value(obj.__dict__.get(n)) for n in meta.pk_names]
            values = [meta.fields[n].get_db_prep_value(obj.__dict__.get(n)) for n in names]
            rows.append(pk_values + values)
        statements: list[tuple[Any, list[Any]]] = []
        columns = meta.pk_names + names
        arrays = column_arrays(rows, len(columns)) if unnest_columns_ok(meta, columns) else None
        if arrays is not None and not mixed_timezones(meta, columns, arrays):
            # One array per column: the SQL text does not depend on the row count.
            query = compile_unnest_update(meta, names)
            statements.extend((query, batch) for batch in array_batches(arrays, batch_size))
        else:
            size = batch_size_for(len(names) + len(meta.pk_names), batch_size)
            for start in range(0, len(rows), size):
                chunk = rows[start : start + size]
                statements.append((compile_bulk_update(meta, names, len(chunk)), [v for row in chunk for v in row]))
        with cache_writing(meta, pk_keys(meta, objects)):
            if len(statements) == 1:
                total = execute(
                    meta.database, statements[0][0], statements[0][1], model=meta.name, operation=f"{meta.name}.bulk_update()"
                )
            else:
                counts = run_statements(meta.database, statements, model=meta.name, operation=f"{meta.name}.bulk_update()")
                total = sum(counts)  # type: ignore[arg-type]
        return total

    @classmethod
    def bulk_delete(cls, objects: Sequence[Any]) -> int:
        """Delete rows by instance or primary key in one statement; return rows deleted."""
        meta = cls._meta
        if not objects:
            return 0
        keys = pk_values_of(meta, objects, "bulk_delete()")
        if len(meta.pk_fields) == 1:
            query = compile_bulk_delete(meta, len(keys))
            params: list[Any] = [keys]
        else:
            query = compile_bulk_delete(meta, len(keys))
            params = [v for key in keys for v in key]
        with cache_writing(meta, pk_keys(meta, keys), deleted=True) as written:
            count = execute(meta.database, query, params, model=meta.name, operation=f"{meta.name}.bulk_delete()")
            if not count:
                written.nothing()
        return count

    @classmethod
    def update_where(cls, filters: dict[str, Any], **updates: Any) -> dict[str, Any]:
        """Update the rows matching ``filters`` without fetching them first.

        Return ``{"rows_affected": n, "updated_rows": [row dicts]}``.
        """
        meta = cls._meta
        if not isinstance(filters, dict):
            raise ParameterError(f"{meta.name}.update_where() takes a dict of filters first", model=meta.name)
        qs = QuerySet(cls).filter(**filters)
        updated = qs.update_returning(**updates)
        return {"rows_affected": len(updated), "updated_rows": [obj.to_dict() for obj in updated]}

    @classmethod
    def delete_where(cls, *args: Any, **filters: Any) -> int:
        """Delete the rows matching the filters; return the row count."""
        meta = cls._meta
        if not args and not filters:
            raise ParameterError(
                f"{meta.name}.delete_where() needs filters; use {meta.name}.query().delete() to empty the table",
                model=meta.name,
            )
        return QuerySet(cls).filter(*args, **filters).delete()

    # -- instances --------------------------------------------------------
    def save(self, *, update_fields: Sequence[str] | None = None) -> Any:
        """Insert the instance (first save) or write its fields to its row.

        Calls ``clean()`` first, and sends ``pre_save``/``post_save``
        (``created=True`` for an insert) to connected receivers.
        """
        created = not self._persisted
        self.clean()
        send_signal(pre_save, self, created=created, update_fields=update_fields)
        self._save_row(update_fields)
        send_signal(post_save, self, created=created, update_fields=update_fields)
        return self

    def _save_row(self, update_fields: Sequence[str] | None) -> Any:
        meta = self._meta
        if not self._persisted:
            values = field_values_for_insert(meta, instance_insert_data(self))
            row = fetch_one(
                meta.database, compile_insert(meta, tuple(values), 1), list(values.values()),
                model=meta.name, operation=f"{meta.name}.save()",
            )
            assert row is not None
            self.__dict__.update(hydrate_row(type(self), meta.field_names, row).__dict__)
            self._persisted = True
            return self
        values = instance_update_values(self, list(update_fields) if update_fields is not None else None)
        where = self.pk_filter()
        version = meta.version_field
        if version is not None:
            current = self.__dict__.get(version.name) or 0
            where[version.name] = current
            values[version.name] = current + 1
        if not values:
            return self
        state = QueryState(meta).add_where(build_where(meta, (), where))
        # Generated columns may depend on what changed: read them back in the same statement.
        computed = meta.computed_fields
        query, params = compile_update(state, values, returning=bool(computed))
        # A failed save (count 0: the row changed or vanished behind our back) invalidates too.
        with cache_writing(meta, pk_keys(meta, [self])):
            if computed:
                rows = fetch_all(meta.database, query, params, model=meta.name, operation=f"{meta.name}.save()",
                                       filters=where)
                count = len(rows)
            else:
                count = execute(
                    meta.database, query, params, model=meta.name, operation=f"{meta.name}.save()", filters=where
                )
        if computed and count:
            fresh = hydrate_row(type(self), meta.field_names, rows[0]).__dict__
            for field in computed:
                self.__dict__[field.name] = fresh[field.name]
        if count == 0:
            if version is not None:
                raise StaleObjectError(
                    f"{meta.name} {self.pk!r} was changed by someone else (version {where[version.name]} is stale)",
                    model=meta.name,
                    operation=f"{meta.name}.save()",
                    filters=where,
                )
            raise DoesNotExist(
                f"{meta.name} {self.pk!r} no longer exists", model=meta.name, operation=f"{meta.name}.save()",
                filters=where,
            )
        if version is not None:
            self.__dict__[version.name] = values[version.name]
        return self

    def delete(self) -> int:
        """Delete the instance's row; return 1 (or 0 when it was already gone)."""
        meta = self._meta
        if not self._persisted:
            raise StateError(f"{meta.name} instance was never saved", model=meta.name, operation=f"{meta.name}.delete()")
        send_signal(pre_delete, self)
        count = QuerySet(type(self)).filter(**self.pk_filter()).delete()
        self._persisted = False
        send_signal(post_delete, self)
        return count

    def refresh(self) -> Any:
        """Reload every field from the database."""
        meta = self._meta
        fresh = type(self).get_or_none(use_cache=False, **self.pk_filter())
        if fresh is None:
            raise DoesNotExist(
                f"{meta.name} {self.pk!r} no longer exists", model=meta.name, operation=f"{meta.name}.refresh()",
                filters=self.pk_filter(),
            )
        self.__dict__.update(fresh.__dict__)
        return self

    def update(self, **values: Any) -> Any:
        """Set ``values`` on the instance and write just those fields."""
        # Fields, columns or relation names (author=user); two keywords for one field are refused.
        self.save(update_fields=assign_written(self, values, {}))
        return self


def _reject_duplicate_conflicts(model: str, rows: list[dict[str, Any]], conflict: tuple[str, ...]) -> None:
    seen: set[Any] = set()
    for row in rows:
        key = tuple(repr(row[c]) for c in conflict)
        if key in seen:
            raise ParameterError(
                f"{model}.bulk_upsert(): two rows share the conflict key {dict(zip(conflict, key))}; "
                "PostgreSQL cannot update one row twice in a statement",
                model=model,
            )
        seen.add(key)


register_mode_base(MODE, Model)
