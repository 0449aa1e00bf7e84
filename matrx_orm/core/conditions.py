"""Filter trees that know about annotations and boolean expressions.

``query_state.build_where`` parses filters on model fields. Querysets with
annotations also filter on them (``annotate(n=Count(...)).filter(n__gt=2)``)
and accept boolean expressions as positional filters
(``filter(Exists(...))``, ``Q(Exists(...)) | Q(age__gt=3)``). This module
builds those trees; the conditions it adds render themselves (``render``),
so the compiler needs no special case for them.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

from matrx_orm.core.exceptions import ParameterError
from matrx_orm.core.fields import BooleanField, Field
from matrx_orm.core.lookups import LOOKUPS
from matrx_orm.core.model_meta import ModelMeta
from matrx_orm.core.query_state import AND, Condition, Q, WhereNode, build_condition
from matrx_orm.core.transforms import render_condition_sql, resolve_transforms, transforms_shape

__all__ = [
    "AnnotationCondition",
    "ExpressionCondition",
    "build_filter_node",
    "iter_conditions",
]


class AnnotationCondition(Condition):
    """A filter on an annotation (``n__gt=2``): the annotation's SQL is the column."""

    __slots__ = ("annotation",)

    def __init__(self, name: str, annotation: Any, field: Field, lookup: Any, value: Any, key: str) -> None:
        super().__init__((name,), field, lookup, value, key)
        self.annotation = annotation

    def render(self, compiler: Any, params: list[Any] | None) -> str:
        """Render against ``compiler``'s SQL for the annotation."""
        annotation_sql = getattr(compiler, "annotation_sql", None)
        if annotation_sql is None:
            raise ParameterError(
                f"{compiler.meta.name}: filter {self.key!r} refers to an annotation this query does not have",
                model=compiler.meta.name,
            )
        lhs_sql, lhs_params = annotation_sql(self.path[0])
        return render_condition_sql(compiler, lhs_sql, lhs_params, self, params)

    def shape(self) -> Hashable:
        value = self.value
        if getattr(value, "as_sql", None) is not None:
            value_shape: Hashable = ("expr", value.shape())
        else:
            value_shape = self.lookup.shape(value)
        return ("ann", self.path, transforms_shape(self.field), self.lookup.name, value_shape)


class ExpressionCondition(Condition):
    """A boolean expression used as a filter (``Exists(...)``, ``~Exists(...)``)."""

    __slots__ = ()

    def __init__(self, expression: Any) -> None:
        field = getattr(expression, "output_field", None) or BooleanField()
        super().__init__((), field, LOOKUPS["exact"], expression, repr(expression))

    def render(self, compiler: Any, params: list[Any] | None) -> str:
        """Render the expression itself."""
        sql, expr_params = self.value.as_sql(compiler)
        if params is not None:
            params.extend(expr_params)
        return sql  # type: ignore[no-any-return]

    def shape(self) -> Hashable:
        return ("bool", self.value.shape())


def _annotation_condition(meta: ModelMeta, annotations: dict[str, Any], key: str, value: Any) -> Condition:
    parts = key.split("__")
    name = parts[0]
    annotation = annotations[name]
    lookup_name = "exact"
    if len(parts) > 1 and parts[-1] in LOOKUPS:
        lookup_name = parts.pop()
    base = getattr(annotation, "output_field", None) or Field()
    if not base.name:
        # Name the output field after the annotation so errors say what was filtered.
        import copy

        base = copy.copy(base)
        base.name = name
        base.model_name = meta.name
    field, lookup = resolve_transforms(meta.name, base, parts[1:], lookup_name, key)
    if not parts[1:]:
        field = base
    from matrx_orm.core.pg_fields import SearchVectorField

    if lookup.name == "exact" and isinstance(field, SearchVectorField):
        from matrx_orm.core.pg_lookups import SEARCH_VECTOR_EXACT

        lookup = SEARCH_VECTOR_EXACT
    if getattr(value, "as_sql", None) is not None:
        resolve = getattr(value, "resolve_expression", None)
        prepared = resolve(meta, annotations) if resolve is not None else value
    else:
        prepared = lookup.prepare(field, value)
    return AnnotationCondition(name, annotation, field, lookup, prepared, key)


def _condition(meta: ModelMeta, annotations: dict[str, Any], key: str, value: Any) -> Condition:
    if not isinstance(key, str):
        raise ParameterError(f"{meta.name}: filter keys must be strings, got {key!r}", model=meta.name)
    if annotations and key.split("__", 1)[0] in annotations:
        return _annotation_condition(meta, annotations, key, value)
    if annotations and getattr(value, "as_sql", None) is not None:
        # Resolve against the annotations too (``views__gt=F("avg_views")``).
        resolve = getattr(value, "resolve_expression", None)
        if resolve is not None:
            value = resolve(meta, annotations)
    return build_condition(meta, key, value)


def _expression_condition(meta: ModelMeta, annotations: dict[str, Any], expr: Any) -> Condition:
    resolve = getattr(expr, "resolve_expression", None)
    resolved = resolve(meta, annotations) if resolve is not None else expr
    return ExpressionCondition(resolved)


def _children(meta: ModelMeta, annotations: dict[str, Any], items: Any) -> list[Condition | WhereNode]:
    children: list[Condition | WhereNode] = []
    for item in items:
        if isinstance(item, Q):
            node = _build_q(meta, annotations, item)
            if node is not None:
                children.append(node)
        elif isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], str):
            children.append(_condition(meta, annotations, item[0], item[1]))
        elif isinstance(item, dict):
            for k, v in item.items():
                children.append(_condition(meta, annotations, k, v))
        elif getattr(item, "conditional", False):
            children.append(_expression_condition(meta, annotations, item))
        else:
            raise ParameterError(
                f"{meta.name}: filter() takes Q objects, boolean expressions (Exists...) and keyword arguments, "
                f"got {type(item).__name__}",
                model=meta.name,
            )
    return children


def _build_q(meta: ModelMeta, annotations: dict[str, Any], q: Q) -> WhereNode | None:
    children = _children(meta, annotations, q.children)
    if not children:
        return None
    return WhereNode(q.connector, q.negated, tuple(children))


def build_filter_node(
    meta: ModelMeta,
    annotations: dict[str, Any],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    negated: bool = False,
) -> WhereNode | None:
    """Return the WhereNode for ``filter(*args, **kwargs)`` (None when empty).

    Keys naming an annotation filter on it; other keys are model filters as in
    ``build_where``; positional boolean expressions are conditions themselves.
    """
    children = _children(meta, annotations, args)
    for key, value in kwargs.items():
        children.append(_condition(meta, annotations, key, value))
    if not children:
        return None
    return WhereNode(AND, negated, tuple(children))


def iter_conditions(node: Any) -> Any:
    """Yield every Condition of a where tree."""
    if isinstance(node, Condition):
        yield node
    elif node is not None:
        for child in node.children:
            yield from iter_conditions(child)

