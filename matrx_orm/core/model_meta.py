"""Model metadata and the pure half of every model instance.

``ModelMeta`` holds what is true of a table whatever the mode: fields, keys,
names, relation configuration, cache policy. ``ModelBase`` holds instance
behaviour that does no I/O (construction, ``repr``, ``to_dict``, equality).
The async ``Model`` and its generated sync twin add the I/O on top.
"""

from __future__ import annotations

import copy
from typing import Any, ClassVar, cast

from matrx_orm.core.exceptions import ConfigurationError, FieldError, ParameterError
from matrx_orm.core.fields import (
    NOT_PROVIDED,
    AutoField,
    DateTimeField,
    Field,
    ForeignKey,
    ManyToManyField,
    VersionField,
)
from matrx_orm.core.naming import qualified_name, quote_ident, snake_case
from matrx_orm.core.registry import register_meta, twin

__all__ = ["ModelMeta", "ModelMetaclass", "ModelBase"]

_RESERVED = {"pk", "_meta", "_persisted"}


class ModelMeta:
    """Everything the ORM knows about one model's table, shared by both modes."""

    def __init__(self, name: str, module: str, options: dict[str, Any], fields: dict[str, Field], abstract: bool) -> None:
        self.name = name
        self.module = module
        self.abstract = abstract
        self.table_name: str = options.get("_table_name") or snake_case(name)
        self.db_schema: str | None = options.get("_db_schema")
        self.database: str | None = options.get("_database")
        self.unfetchable: bool = bool(options.get("_unfetchable", False))
        self.cache_policy: Any = options.get("_cache_policy")
        self.cache_timeout: int | None = options.get("_cache_timeout")
        self.cache_max_entries: int | None = options.get("_cache_max_entries")
        self.inverse_fk_config: dict[str, dict[str, Any]] = dict(options.get("_inverse_foreign_keys") or {})
        self.m2m_config: dict[str, dict[str, Any]] = dict(options.get("_many_to_many") or {})
        self.indexes: list[Any] = list(options.get("_indexes") or [])
        self.unique_together: list[tuple[str, ...]] = [tuple(u) for u in options.get("_unique_together") or []]
        self.classes: dict[str, type] = {}

        self.fields: dict[str, Field] = {}
        self.m2m_fields: dict[str, ManyToManyField] = {}
        for field_name, field in fields.items():
            if field_name in _RESERVED:
                raise ConfigurationError(f"{name}.{field_name}: {field_name!r} is a reserved name", model=name)
            field.bind(field_name, self)
            if isinstance(field, ManyToManyField):
                self.m2m_fields[field_name] = field
            else:
                self.fields[field_name] = field

        pk_names = list(options.get("_primary_keys") or [])
        if pk_names:
            for pk in pk_names:
                if pk not in self.fields:
                    raise ConfigurationError(f"{name}._primary_keys names {pk!r}, which is not a field", model=name)
                self.fields[pk].primary_key = True
                self.fields[pk].null = False
        else:
            pk_names = [n for n, f in self.fields.items() if f.primary_key]
        self.pk_names: tuple[str, ...] = tuple(pk_names)
        self.pk_fields: tuple[Field, ...] = tuple(self.fields[n] for n in pk_names)
        #: For the get-by-primary-key fast path: its keywords, and its operation label for errors.
        self.pk_name_set: frozenset[str] = frozenset(pk_names)
        self.get_operation = f"{name}.get()"
        self.fk_fields: dict[str, ForeignKey] = {n: f for n, f in self.fields.items() if isinstance(f, ForeignKey)}
        self.version_field: VersionField | None = next(
            (f for f in self.fields.values() if isinstance(f, VersionField)), None
        )
        self.auto_now_fields = tuple(f for f in self.fields.values() if isinstance(f, DateTimeField) and f.auto_now)
        self.auto_now_add_fields = tuple(
            f for f in self.fields.values() if isinstance(f, DateTimeField) and (f.auto_now_add or f.auto_now)
        )
        #: ``db_generated`` columns: read like any column, never written.
        self.computed_fields = tuple(f for f in self.fields.values() if f.db_generated is not None)

        columns = [f.column for f in self.fields.values()]
        self.columns: tuple[str, ...] = tuple(columns)
        self.field_names: tuple[str, ...] = tuple(self.fields)
        self.column_to_field: dict[str, Field] = {f.column: f for f in self.fields.values()}
        self.quoted_table: str = qualified_name(self.db_schema, self.table_name)
        self.quoted_columns: dict[str, str] = {n: quote_ident(f.column) for n, f in self.fields.items()}
        self.select_list: str = ", ".join(self.quoted_columns.values())
        self._convert_cache: tuple[tuple[int, Field], ...] | None = None

    # -- identity ---------------------------------------------------------
    @property
    def key(self) -> tuple[str | None, str | None, str]:
        """Return ``(database, schema, table)``: what two twins of a table share."""
        return (self.database, self.db_schema, self.table_name)

    @property
    def label(self) -> str:
        """Return ``schema.table`` for messages."""
        return f"{self.db_schema}.{self.table_name}" if self.db_schema else self.table_name

    def field(self, name: str) -> Field:
        """Return the field called ``name`` or raise FieldError naming the model."""
        try:
            return self.fields[name]
        except KeyError:
            pass
        if name == "pk" and len(self.pk_fields) == 1:
            return self.pk_fields[0]
        for field in self.fields.values():
            if field.column == name:
                return field
        raise FieldError(
            f"{self.name} has no field {name!r}; fields are: {', '.join(self.fields)}",
            model=self.name,
            field=name,
        )

    def write_field(self, name: str) -> Field:
        """Return the field a write keyword names: a field, ``pk``, a column or a relation.

        ``Post.create(author=user)`` writes ``author_id``: the relation name of a
        foreign key (the field name without ``_id``) stands for the key column, as
        in Django. Anything else raises FieldError naming the model and the field.
        """
        try:
            return self.field(name)
        except FieldError:
            for fk in self.fk_fields.values():
                if fk.relation_name == name:
                    return fk
            raise

    def require_pk(self, operation: str) -> tuple[Field, ...]:
        """Return the primary-key fields, or raise when the model has none."""
        if not self.pk_fields:
            raise ConfigurationError(f"{self.name} has no primary key; {operation} needs one", model=self.name)
        return self.pk_fields

    def converting_fields(self) -> tuple[tuple[int, Field], ...]:
        """Return (index, field) for fields whose database values need conversion."""
        if self._convert_cache is None:
            self._convert_cache = tuple(
                (i, f) for i, f in enumerate(self.fields.values()) if f.needs_conversion
            )
        return self._convert_cache

    def __repr__(self) -> str:
        return f"<ModelMeta {self.name} table={self.label}>"


class ModelMetaclass(type):
    """Build ``ModelMeta`` for each model class (or attach the shared one to a twin)."""

    def __new__(mcs, name: str, bases: tuple[type, ...], namespace: dict[str, Any], **kwargs: Any) -> type:
        shared: ModelMeta | None = namespace.pop("__matrx_meta__", None)
        cls = super().__new__(mcs, name, bases, namespace, **kwargs)
        if namespace.get("__matrx_root__") or name == "ModelBase" and not bases:
            return cls
        if shared is not None:
            cls._meta = shared  # type: ignore[attr-defined]
            shared.classes[cls.__matrx_mode__] = cls  # type: ignore[attr-defined]
            return cls

        fields: dict[str, Field] = {}
        for base in reversed(cls.__mro__[1:]):
            base_meta = base.__dict__.get("_meta")
            if base_meta is not None:
                for field_name, field in {**base_meta.fields, **base_meta.m2m_fields}.items():
                    fields[field_name] = copy.deepcopy(field)
        own = sorted(
            ((k, v) for k, v in namespace.items() if isinstance(v, Field)),
            key=lambda item: item[1]._order,
        )
        for field_name, field in own:
            fields[field_name] = field
        for field_name, field in fields.items():
            if field_name not in namespace:
                setattr(cls, field_name, field)

        abstract = bool(namespace.get("_abstract", False))
        options = {
            "_table_name": namespace.get("_table_name"),
            "_primary_keys": namespace.get("_primary_keys", getattr(cls, "_primary_keys", None)),
            "_db_schema": getattr(cls, "_db_schema", None),
            "_database": getattr(cls, "_database", None),
            "_unfetchable": namespace.get("_unfetchable", False),
            "_cache_policy": getattr(cls, "_cache_policy", None),
            "_cache_timeout": getattr(cls, "_cache_timeout", None),
            "_cache_max_entries": getattr(cls, "_cache_max_entries", None),
            "_inverse_foreign_keys": namespace.get("_inverse_foreign_keys"),
            "_many_to_many": namespace.get("_many_to_many"),
            "_indexes": namespace.get("_indexes"),
            "_unique_together": namespace.get("_unique_together"),
        }
        meta = ModelMeta(name, namespace.get("__module__", "?"), options, fields, abstract)
        cls._meta = meta  # type: ignore[attr-defined]
        meta.classes[cls.__matrx_mode__] = cls  # type: ignore[attr-defined]
        if not abstract:
            register_meta(meta)
        return cls

    @property
    def sync(cls) -> Any:
        """Return this model's class in the sync package (``matrx_orm_sync``)."""
        return twin(cls, "sync")

    @property
    def aio(cls) -> Any:
        """Return this model's class in the async package (``matrx_orm``)."""
        return twin(cls, "async")


class ModelBase(metaclass=ModelMetaclass):
    """Instance behaviour shared by both modes: construction, repr, dict, equality."""

    _meta: ClassVar[ModelMeta]
    __matrx_mode__: ClassVar[str] = ""
    # Hydrated rows skip __init__ and so read this class default: they came
    # from the database. Instances built by __init__ set it to False.
    _persisted: bool = True

    def __init__(self, **kwargs: Any) -> None:
        meta = self._meta
        if meta.abstract:
            raise ConfigurationError(f"{meta.name} is abstract and cannot be instantiated", model=meta.name)
        values = self.__dict__
        matched = 0
        for field_name, field in meta.fields.items():
            if field_name in kwargs:
                matched += 1
                value = kwargs[field_name]
                values[field_name] = field.clean(value)
                if isinstance(value, ModelBase):
                    remember_related_instance(self, field, value)
            elif field.has_default():
                values[field_name] = field.clean(field.get_default())
            else:
                values[field_name] = None
        if matched != len(kwargs):
            # "pk", a column name or a relation name (author=user for author_id).
            assign_written(self, {k: v for k, v in kwargs.items() if k not in meta.fields}, kwargs)
        self._persisted = False

    @property
    def pk(self) -> Any:
        """Return the primary-key value (a tuple for composite keys)."""
        names = self._meta.pk_names
        if len(names) == 1:
            return self.__dict__.get(names[0])
        return tuple(self.__dict__.get(n) for n in names)

    def pk_filter(self) -> dict[str, Any]:
        """Return ``{pk_name: value, ...}`` identifying this row."""
        meta = self._meta
        meta.require_pk("this operation")
        return {n: self.__dict__.get(n) for n in meta.pk_names}

    def to_dict(self, *, fields: list[str] | None = None) -> dict[str, Any]:
        """Return the field values as a dict (only ``fields`` when given)."""
        names = fields or self._meta.field_names
        return {name: self.__dict__.get(name) for name in names}

    def __repr__(self) -> str:
        meta = self._meta
        shown: list[str] = []
        for name in meta.pk_names:
            shown.append(f"{name}={self.__dict__.get(name)!r}")
        for name in meta.field_names:
            if name in meta.pk_names or len(shown) >= 4:
                continue
            value = self.__dict__.get(name)
            if isinstance(value, str) and len(value) > 40:
                value = value[:37] + "..."
            shown.append(f"{name}={value!r}")
        return f"<{type(self).__name__} {' '.join(shown)}>"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ModelBase) or other._meta.key != self._meta.key:
            return NotImplemented
        if not self._meta.pk_names:
            return self is other
        pk = self.pk
        return pk is not None and pk == other.pk

    def __hash__(self) -> int:
        return hash((self._meta.key, self.pk))


#: Instance attribute holding related objects already loaded (see core.relations).
RELATED_KEY = "_matrx_related"


def remember_related_instance(obj: ModelBase, field: Field, value: ModelBase) -> None:
    """Cache ``value`` as ``obj``'s related object when it was given for foreign key ``field``.

    ``Post(author=user)`` / ``Post.create(author=user)`` then answer ``post.author``
    without a query. ``field.clean()`` has already checked that ``value`` is an
    instance of the target model.
    """
    if isinstance(field, ForeignKey):
        cache = obj.__dict__.get(RELATED_KEY)
        if cache is None:
            cache = obj.__dict__[RELATED_KEY] = {}
        cache[field.relation_name] = value


def remember_related_instances(obj: ModelBase, given: dict[str, Any]) -> None:
    """Apply ``remember_related_instance`` to every model instance among the keywords of a write."""
    meta = obj._meta
    for key, value in given.items():
        if isinstance(value, ModelBase):
            remember_related_instance(obj, meta.write_field(key), value)


def assign_written(obj: ModelBase, data: dict[str, Any], given: dict[str, Any]) -> list[str]:
    """Set ``data`` on ``obj``, cleaned, and return the field names it set.

    Keys may be fields, ``pk``, columns or relation names (``author=user`` sets
    ``author_id`` and remembers the user); ``given`` as for ``_rename_write_keys``.
    """
    meta = obj._meta
    renamed = _rename_write_keys(meta, data, given)
    for name, value in renamed.items():
        field = meta.fields[name]
        obj.__dict__[name] = field.clean(value)
        if isinstance(value, ModelBase):
            remember_related_instance(obj, field, value)
    return list(renamed)


def _rename_write_keys(meta: ModelMeta, data: dict[str, Any], given: dict[str, Any]) -> dict[str, Any]:
    """Return ``data`` keyed by field names (``pk``, columns and relation names mapped).

    Two keywords naming one field (``author=`` and ``author_id=``, or ``pk=`` and ``id=``)
    contradict each other: ParameterError, rather than keeping whichever came last.
    ``given`` holds keywords already taken as field names.
    """
    out: dict[str, Any] = {}
    seen: dict[str, str] = {}
    for key, value in data.items():
        try:
            name = meta.write_field(key).name
        except FieldError as exc:
            raise exc.with_value(value) from None
        other = seen.get(name) or (name if name != key and name in given else None)
        if other is not None:
            raise ParameterError(
                f"{meta.name}: {other}= and {key}= both set {meta.name}.{name}; pass one of them",
                model=meta.name,
                field=name,
            )
        seen[name] = key
        out[name] = value
    return out


def field_values_for_insert(meta: ModelMeta, data: dict[str, Any]) -> dict[str, Any]:
    """Return cleaned values for an INSERT: given ones, then Python defaults.

    Fields that are neither given nor have a Python default are left out so
    PostgreSQL's own defaults (identity, ``now()``) apply.
    """
    out: dict[str, Any] = {}
    if not data.keys() <= meta.fields.keys():
        # Accept "pk", column and relation names; anything else raises naming model, field and value.
        data = _rename_write_keys(meta, data, {})
    for name, field, is_auto, missing in _insert_plan(meta):
        if name in data:
            value = data[name]
            if missing is _COMPUTED:
                if value is not None:
                    raise computed_field_error(field, value)
                continue
            if value is None and (is_auto or field.primary_key):
                # A NULL key means "generate it" (Python default, identity, SQL default);
                # a key nothing generates is refused before SQL, not by PostgreSQL.
                if missing is _DEFAULT:
                    out[name] = field.get_db_prep_value(field.get_default())
                elif missing is _NOW:
                    out[name] = cast(DateTimeField, field).now()
                elif missing is _REQUIRED:
                    raise field.fail(None, "a primary key cannot be NULL")
                continue
            out[name] = field.get_db_prep_value(value)
        elif missing is _SKIP or missing is _COMPUTED:
            continue
        elif missing is _DEFAULT:
            out[name] = field.get_db_prep_value(field.get_default())
        elif missing is _NOW:
            out[name] = cast(DateTimeField, field).now()
        else:
            raise field.fail(None, "a value is required (NOT NULL, no default)")
    return out


_SKIP, _DEFAULT, _NOW, _REQUIRED, _COMPUTED = "skip", "default", "now", "required", "computed"


def computed_field_error(field: Field, value: Any) -> FieldError:
    """Return the error for a write to a ``db_generated`` column (PostgreSQL would refuse it)."""
    error = FieldError(
        f"{field.model_name}.{field.name} is GENERATED ALWAYS AS ({field.db_generated}): PostgreSQL computes it, "
        "it cannot be written",
        model=field.model_name,
        field=field.name,
    )
    error.with_value(value)
    return error


def _insert_plan(meta: ModelMeta) -> tuple[tuple[str, Field, bool, str], ...]:
    # What an INSERT does with each field when the row leaves it out, decided
    # once per model instead of per row (bulk_create validates every row).
    plan = meta.__dict__.get("_insert_plan")
    if plan is None or plan[0] is not meta.fields:
        steps = []
        for name, field in meta.fields.items():
            is_auto = isinstance(field, AutoField)
            if field.db_generated is not None:
                missing = _COMPUTED
            elif field.has_default():
                missing = _DEFAULT
            elif isinstance(field, DateTimeField) and (field.auto_now or field.auto_now_add):
                missing = _NOW
            elif not field.null and field.db_default is None and not is_auto:
                missing = _REQUIRED
            else:
                missing = _SKIP
            steps.append((name, field, is_auto, missing))
        plan = (meta.fields, tuple(steps))
        meta.__dict__["_insert_plan"] = plan
    return plan[1]


NOT_SET = NOT_PROVIDED
