"""Query state: what a queryset has been asked for, as plain immutable data.

Filters are parsed and their values validated here, when the queryset is
built, so an unknown field, an unknown lookup or a badly typed value fails
before any SQL is sent, with the model, field and value in the message.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

from matrx_orm.core.exceptions import FieldError, ParameterError
from matrx_orm.core.fields import Field
from matrx_orm.core.lookups import LOOKUPS, Lookup
from matrx_orm.core.model_meta import ModelBase, ModelMeta
from matrx_orm.core.registry import registry_generation
from matrx_orm.core.transforms import resolve_transforms, transforms_shape

__all__ = ["Q", "Condition", "WhereNode", "QueryState", "build_where", "resolve_filter_key"]

AND = "AND"
OR = "OR"


class Q:
    """A boolean combination of filters: ``Q(a=1) | Q(b=2)``, ``~Q(c=3)``."""

    __slots__ = ("children", "connector", "negated")

    def __init__(self, *args: Q, _connector: str = AND, _negated: bool = False, **kwargs: Any) -> None:
        self.children: list[Q | tuple[str, Any]] = [*args, *sorted(kwargs.items(), key=lambda kv: kv[0])]
        self.connector = _connector
        self.negated = _negated

    def _combine(self, other: Q, connector: str) -> Q:
        if not isinstance(other, Q):
            return NotImplemented
        return Q(self, other, _connector=connector)

    def __and__(self, other: Q) -> Q:
        return self._combine(other, AND)

    def __or__(self, other: Q) -> Q:
        return self._combine(other, OR)

    def __invert__(self) -> Q:
        return Q(self, _negated=True)

    def __repr__(self) -> str:
        inner = f" {self.connector} ".join(repr(c) for c in self.children)
        return f"{'NOT ' if self.negated else ''}Q({inner})"


class Condition:
    """One parsed filter: the field (reached through ``path``), a lookup and a prepared value."""

    __slots__ = ("path", "field", "lookup", "value", "key")

    def __init__(self, path: tuple[str, ...], field: Field, lookup: Lookup, value: Any, key: str) -> None:
        self.path = path
        self.field = field
        self.lookup = lookup
        self.value = value
        self.key = key

    def shape(self) -> Hashable:
        value = self.value
        # A transform chain (``created_at__year``) rides on the field; it changes the SQL.
        path: Hashable = self.path if getattr(self.field, "transforms", None) is None else (self.path, transforms_shape(self.field))
        as_sql = getattr(value, "as_sql", None)
        if as_sql is not None:
            return (path, self.lookup.name, "expr", value.shape())
        return (path, self.lookup.name, self.lookup.shape(value))

    def __repr__(self) -> str:
        return f"Condition({self.key}={self.value!r})"


class WhereNode:
    """An AND/OR group of conditions and nested groups, possibly negated."""

    __slots__ = ("connector", "negated", "children")

    def __init__(self, connector: str, negated: bool, children: tuple[Condition | WhereNode, ...]) -> None:
        self.connector = connector
        self.negated = negated
        self.children = children

    def shape(self) -> Hashable:
        return (self.connector, self.negated, tuple(c.shape() for c in self.children))

    def and_(self, other: WhereNode | None) -> WhereNode:
        """Return this node AND ``other``."""
        if other is None:
            return self
        if self.connector == AND and not self.negated:
            left: tuple[Condition | WhereNode, ...] = self.children
        else:
            left = (self,)
        if other.connector == AND and not other.negated:
            right: tuple[Condition | WhereNode, ...] = other.children
        else:
            right = (other,)
        return WhereNode(AND, False, left + right)


#: Extension point: relation-aware resolution replaces this (see relations).
_path_resolvers: list[Any] = []


#: (meta, filter key, registry generation, resolvers installed) -> resolved (path, field, lookup).
_resolved_keys: dict[tuple[Any, ...], tuple[tuple[str, ...], Field, Lookup]] = {}
_MAX_RESOLVED = 8192


def resolve_filter_key(meta: ModelMeta, key: str) -> tuple[tuple[str, ...], Field, Lookup]:
    """Split ``"field__lookup"`` into (path, field, lookup), raising on unknown names.

    Resolved once per model and key: an application filters on a handful of keys
    thousands of times, and walking relations and transforms for each call costs
    more than the rest of building the condition. A new model (which may add
    relations) starts over; unknown names raise every time and are never kept.
    """
    memo = (meta, key, registry_generation(), len(_path_resolvers))
    found = _resolved_keys.get(memo)
    if found is None:
        found = _resolve_filter_key(meta, key)
        if len(_resolved_keys) >= _MAX_RESOLVED:
            _resolved_keys.clear()
        _resolved_keys[memo] = found
    return found


def _resolve_filter_key(meta: ModelMeta, key: str) -> tuple[tuple[str, ...], Field, Lookup]:
    parts = key.split("__")
    lookup_name = "exact"
    if len(parts) > 1 and parts[-1] in LOOKUPS:
        lookup_name = parts.pop()
    for resolver in _path_resolvers:
        try:
            resolved = resolver(meta, parts)
        except (FieldError, ParameterError):
            # Maybe a relation path followed by transforms (author__created_at__year).
            transformed = _resolve_relation_transforms(meta, resolver, parts, lookup_name, key)
            if transformed is None:
                raise
            return transformed
        if resolved is not None:
            path, field = resolved
            return path, field, LOOKUPS[lookup_name]
    if len(parts) == 1:
        field = meta.field(parts[0])
        return (field.name,), field, LOOKUPS[lookup_name]
    # A field followed by transforms: created_at__year, data__owner__name, tags__0.
    if parts[0] in meta.fields or parts[0] == "pk":
        base = meta.field(parts[0])
        out, lookup = resolve_transforms(meta.name, base, parts[1:], lookup_name, key)
        return (base.name,), out, lookup
    # Either an unknown lookup on a known field, or an unknown relation.
    if parts[0] in meta.fields or parts[0] == "pk":
        raise ParameterError(
            f"{meta.name}: unknown lookup {'__'.join(parts[1:])!r} in filter {key!r}; "
            f"lookups are: {', '.join(sorted(LOOKUPS))}",
            model=meta.name,
            field=parts[0],
            lookup="__".join(parts[1:]),
        )
    raise FieldError(
        f"{meta.name} has no field or relation {parts[0]!r} (in filter {key!r}); fields are: {', '.join(meta.fields)}",
        model=meta.name,
        field=parts[0],
    )


def _resolve_relation_transforms(
    meta: ModelMeta, resolver: Any, parts: list[str], lookup_name: str, key: str
) -> tuple[tuple[str, ...], Field, Lookup] | None:
    """Resolve the longest relation-path prefix of ``parts`` and the rest as transforms, or None."""
    for cut in range(len(parts) - 1, 1, -1):
        try:
            resolved = resolver(meta, parts[:cut])
        except (FieldError, ParameterError):
            continue
        if resolved is None:
            return None
        path, field = resolved
        try:
            out, lookup = resolve_transforms(meta.name, field, parts[cut:], lookup_name, key)
        except ParameterError:
            return None
        return path, out, lookup
    return None


def build_condition(meta: ModelMeta, key: str, value: Any) -> Condition:
    """Parse one ``key=value`` filter into a validated Condition."""
    try:
        path, field, lookup = resolve_filter_key(meta, key)
    except (FieldError, ParameterError) as exc:
        raise exc.with_value(value) from None
    if getattr(value, "as_sql", None) is not None:
        # Expressions (F, Subquery, a queryset...) validate their names against the model now.
        resolve = getattr(value, "resolve_expression", None)
        prepared = resolve(meta) if resolve is not None else value
    else:
        if isinstance(value, ModelBase) or (
            isinstance(value, (list, tuple, set, frozenset)) and any(isinstance(v, ModelBase) for v in value)
        ):
            value = _instance_keys(meta, key, field, value)
        prepared = lookup.prepare(field, value)
    return Condition(path, field, lookup, prepared, key)


def _instance_keys(meta: ModelMeta, key: str, field: Field, value: Any) -> Any:
    """Replace model instances in a filter value by the key the filter compares.

    ``Post.filter(author=user)``, ``filter(tags=tag)``, ``filter(tags__in=[t1, t2])``:
    the instance must be of the model the compared field belongs to (the
    foreign key's target for a foreign key); anything else is refused here,
    before SQL, rather than compared by accident with another model's key.
    """
    target = getattr(field, "target_meta", None)
    expected = target() if target is not None else field.meta
    attr = field.target_field().name if target is not None else field.name  # type: ignore[attr-defined]

    def one(item: Any) -> Any:
        if not isinstance(item, ModelBase):
            return item
        if expected is None or item._meta is not expected:
            wanted = expected.name if expected is not None else "a key"
            raise ParameterError(
                f"{meta.name}: filter {key!r} takes {wanted} instances or keys, got a {type(item).__name__} instance",
                model=meta.name,
                field=key,
            )
        found = item.__dict__.get(attr)
        if found is None:
            raise ParameterError(
                f"{meta.name}: filter {key!r} got a {type(item).__name__} instance without {attr} (save it first)",
                model=meta.name,
                field=key,
            )
        return found

    if isinstance(value, ModelBase):
        return one(value)
    converted = [one(v) for v in value]
    return converted if isinstance(value, (set, frozenset)) else type(value)(converted)


def build_where(meta: ModelMeta, args: tuple[Any, ...], kwargs: dict[str, Any], negated: bool = False) -> WhereNode | None:
    """Return a WhereNode for ``filter(*args, **kwargs)`` (None when empty)."""
    children: list[Condition | WhereNode] = []
    for arg in args:
        if isinstance(arg, Q):
            node = _build_q(meta, arg)
            if node is not None:
                children.append(node)
        elif isinstance(arg, dict):
            for k, v in arg.items():
                children.append(build_condition(meta, k, v))
        else:
            raise ParameterError(
                f"{meta.name}: filter() takes Q objects and keyword arguments, got {type(arg).__name__}",
                model=meta.name,
            )
    for k, v in kwargs.items():
        children.append(build_condition(meta, k, v))
    if not children:
        return None
    return WhereNode(AND, negated, tuple(children))


def _build_q(meta: ModelMeta, q: Q) -> WhereNode | None:
    children: list[Condition | WhereNode] = []
    for child in q.children:
        if isinstance(child, Q):
            node = _build_q(meta, child)
            if node is not None:
                children.append(node)
        else:
            children.append(build_condition(meta, child[0], child[1]))
    if not children:
        return None
    return WhereNode(q.connector, q.negated, tuple(children))


_new_state = object.__new__


class QueryState:
    """Immutable description of a SELECT (and of the rows an UPDATE/DELETE touches)."""

    __slots__ = (
        "meta",
        "where",
        "order_by",
        "limit",
        "offset",
        "fields",
        "distinct",
        "for_update",
        "select_related",
        "prefetch_related",
        "extra",
    )

    def __init__(self, meta: ModelMeta) -> None:
        self.meta = meta
        self.where: WhereNode | None = None
        self.order_by: tuple[tuple[str, bool], ...] = ()
        self.limit: int | None = None
        self.offset: int | None = None
        self.fields: tuple[str, ...] | None = None
        self.distinct: bool = False
        self.for_update: tuple[Any, ...] | None = None
        self.select_related: tuple[str, ...] = ()
        self.prefetch_related: tuple[str, ...] = ()
        # Room for later features (annotations, CTEs...) without new slots.
        self.extra: dict[str, Any] = {}

    def clone(self, **changes: Any) -> QueryState:
        """Return a copy with ``changes`` applied (the original is never mutated)."""
        # Spelled out rather than looped over __slots__: every filter() clones, so this is hot.
        new = _new_state(QueryState)
        new.meta = self.meta
        new.where = self.where
        new.order_by = self.order_by
        new.limit = self.limit
        new.offset = self.offset
        new.fields = self.fields
        new.distinct = self.distinct
        new.for_update = self.for_update
        new.select_related = self.select_related
        new.prefetch_related = self.prefetch_related
        new.extra = dict(self.extra) if self.extra else {}
        for key, value in changes.items():
            setattr(new, key, value)
        return new

    def add_where(self, node: WhereNode | None) -> QueryState:
        """Return a copy with ``node`` ANDed into the WHERE clause."""
        if node is None:
            return self.clone()
        return self.clone(where=node if self.where is None else self.where.and_(node))

    def filters_repr(self) -> dict[str, Any]:
        """Return the filters as ``{key: value}`` for error context."""
        out: dict[str, Any] = {}

        def walk(node: WhereNode | Condition) -> None:
            if isinstance(node, Condition):
                out[node.key] = node.value
            else:
                for child in node.children:
                    walk(child)

        if self.where is not None:
            walk(self.where)
        return out

    def shape(self) -> Hashable:
        """Return everything that changes the SQL text (but not the values)."""
        return (
            id(self.meta),
            self.where.shape() if self.where is not None else None,
            self.order_by,
            self.limit is not None,
            self.offset is not None,
            self.fields,
            self.distinct,
            self.for_update,
            self.select_related,
            tuple(sorted((k, _shape_of(v)) for k, v in self.extra.items())) if self.extra else (),
        )


def _shape_of(value: Any) -> Hashable:
    shape = getattr(value, "shape", None)
    if callable(shape):
        return shape()  # type: ignore[no-any-return]
    try:
        hash(value)
        return value  # type: ignore[no-any-return]
    except TypeError:
        return repr(value)


def parse_order(meta: ModelMeta, names: tuple[str, ...]) -> tuple[tuple[str, bool], ...]:
    """Parse ``("-created_at", "name")`` into ``(("created_at", True), ("name", False))``."""
    out: list[tuple[str, bool]] = []
    for name in names:
        if not isinstance(name, str) or not name:
            raise ParameterError(f"{meta.name}.order_by() expects field names, got {name!r}", model=meta.name)
        desc = name.startswith("-")
        bare = name.lstrip("-+")
        path, _field, _lookup = resolve_filter_key(meta, bare)
        out.append(("__".join(path), desc))
    return tuple(out)
