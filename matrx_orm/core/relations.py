"""The relation graph: foreign keys, inverse foreign keys and many-to-many, as plain data.

Both packages share it. It answers "what does ``Post.author`` / ``User.posts`` /
``Post.tags`` mean" (tables, columns, target model), resolving target models
lazily so models may reference each other in any order, across modules. It
also installs the compiler hooks that make relation-spanning filters
(``Post.filter(author__username="alice")``), relation ordering and
``select_related`` joins work, and it holds the per-instance cache of fetched
related objects (``post.author`` after ``select_related``/``prefetch_related``).

Naming rules (documented in the README):

- a foreign-key field ``author_id`` defines the relation ``author`` (the field
  name without its ``_id`` suffix; a field without the suffix names both);
- an inverse relation is derived for every foreign key and many-to-many field
  that no ``_inverse_foreign_keys`` entry already covers: its name is the
  field's ``related_name`` when given, else ``<model>_set`` (``Comment`` ->
  ``comment_set``), or ``<model>_<relation>_set`` when one model has several
  relations to the same target (``message_sender_set``). A derived name never
  replaces a field or a declared relation of the target.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence
from functools import cached_property
from typing import Any

from matrx_orm.core.compiler import SQLCompiler, _cached
from matrx_orm.core.exceptions import (
    ConfigurationError,
    FieldError,
    ParameterError,
    RelationNotLoaded,
    RelationshipError,
)
from matrx_orm.core.fields import Field, ForeignKey, ManyToManyField
from matrx_orm.core.hydrate import hydrate_rows, row_names
from matrx_orm.core.lookups import LOOKUPS
from matrx_orm.core.model_meta import RELATED_KEY, ModelMeta
from matrx_orm.core.naming import qualified_name, quote_ident, snake_case
from matrx_orm.core.query_state import AND, Condition, QueryState, WhereNode, _path_resolvers
from matrx_orm.core.registry import all_metas, registry_generation, resolve_meta, twin

__all__ = [
    "FK",
    "IFK",
    "M2M",
    "Relation",
    "RelationSet",
    "relations_of",
    "get_relation",
    "relation_chain",
    "model_class",
    "RelatedCacheMixin",
    "RELATED_KEY",
    "set_related",
    "forget_related",
    "cached_related",
    "NOT_LOADED",
    "prefetch_tree",
    "parse_select_related",
    "parse_prefetch_related",
    "hydrate_select_related",
    "compile_m2m_fetch",
    "compile_m2m_add",
    "compile_m2m_remove",
    "compile_m2m_clear",
    "compile_m2m_keep_only",
    "key_values",
    "relation_key",
    "table_ref",
    "prefetch_source_fields",
    "loaded_keys_condition",
    "loaded_value",
    "render_relation_condition",
    "render_relation_value",
]

FK = "fk"
IFK = "ifk"
M2M = "m2m"


class Relation:
    """One named relation of a model, seen from its ``source`` model.

    Every kind reduces to the same join: ``target.target_field = source.source_field``,
    through a junction table for many-to-many
    (``junction.junction_source = source.source_field`` and
    ``target.target_field = junction.junction_target``).
    """

    def __init__(
        self,
        kind: str,
        name: str,
        source: ModelMeta,
        *,
        declared: bool = True,
        fk_field: ForeignKey | None = None,
        m2m_field: ManyToManyField | None = None,
        config: dict[str, Any] | None = None,
        reverse_of: Relation | None = None,
    ) -> None:
        self.kind = kind
        self.name = name
        self.source = source
        self.declared = declared
        self.fk_field = fk_field
        self.m2m_field = m2m_field
        self.config = dict(config or {})
        self.reverse_of = reverse_of
        self.many = kind != FK

    @property
    def where(self) -> str:
        """Return ``Model.relation`` for messages."""
        return f"{self.source.name}.{self.name}"

    @property
    def target_name(self) -> str:
        """Return the target model's name without resolving it (for messages)."""
        if self.fk_field is not None:
            return self.fk_field.target_name
        if self.reverse_of is not None:
            return self.reverse_of.source.name
        if self.m2m_field is not None:
            return self.m2m_field.target_name
        target = self.config.get("from_model" if self.kind == IFK else "target_model")
        return target if isinstance(target, str) else getattr(target, "__name__", repr(target))

    @property
    def result_key(self) -> str:
        """Return the key of this relation in ``fetch_fks()``-style dicts (the FK field name for FKs)."""
        return self.fk_field.name if self.fk_field is not None else self.name

    # -- lazily resolved ends ---------------------------------------------
    @cached_property
    def target(self) -> ModelMeta:
        """Return the metadata of the related model (raises ConfigurationError when undefined)."""
        if self.fk_field is not None:
            return self.fk_field.target_meta()
        if self.reverse_of is not None:
            return self.reverse_of.source
        if self.m2m_field is not None:
            return self.m2m_field.target_meta()
        key = "from_model" if self.kind == IFK else "target_model"
        target = self.config.get(key)
        if target is None:
            raise ConfigurationError(f"{self.where}: the relation config needs {key!r}", model=self.source.name)
        return resolve_meta(target, self.source, self.where)

    @cached_property
    def m2m_config(self) -> dict[str, Any]:
        """Return the junction config of a many-to-many relation (``_many_to_many`` form)."""
        if self.reverse_of is not None:
            return self.reverse_of.m2m_config
        if self.m2m_field is not None:
            return self.m2m_field.junction_config()
        return self.config

    @cached_property
    def source_field(self) -> Field:
        """Return the field of the source model the join starts from."""
        if self.fk_field is not None:
            return self.fk_field
        if self.reverse_of is not None:
            reverse_target: Field = self.reverse_of.target_field
            return reverse_target
        if self.kind == IFK:
            return _named_field(self.source, self.config.get("referenced_field"), self.where)
        return _named_field(self.source, self.m2m_config.get("source_field"), self.where)

    @cached_property
    def target_field(self) -> Field:
        """Return the field of the target model the join ends on."""
        if self.fk_field is not None:
            return self.fk_field.target_field()
        if self.reverse_of is not None:
            reverse_source: Field = self.reverse_of.source_field
            return reverse_source
        if self.kind == IFK:
            name = self.config.get("from_field")
            if not name:
                raise ConfigurationError(f"{self.where}: the relation config needs 'from_field'", model=self.source.name)
            return _named_field(self.target, name, self.where)
        return _named_field(self.target, self.m2m_config.get("target_field"), self.where)

    @cached_property
    def junction(self) -> str:
        """Return the quoted junction table of a many-to-many relation."""
        config = self.m2m_config
        table = config.get("junction_table")
        if not table:
            raise ConfigurationError(f"{self.where}: the relation config needs 'junction_table'", model=self.source.name)
        owner = self.reverse_of.source if self.reverse_of is not None else self.source
        return qualified_name(config.get("junction_schema") or owner.db_schema, table)

    @cached_property
    def junction_source(self) -> str:
        """Return the junction column holding the source key (unquoted)."""
        return self._junction_column("target_column" if self.reverse_of is not None else "source_column")

    @cached_property
    def junction_target(self) -> str:
        """Return the junction column holding the target key (unquoted)."""
        return self._junction_column("source_column" if self.reverse_of is not None else "target_column")

    def _junction_column(self, key: str) -> str:
        column = self.m2m_config.get(key)
        if not column:
            raise ConfigurationError(f"{self.where}: the relation config needs {key!r}", model=self.source.name)
        return str(column)

    def check_fetchable(self, operation: str) -> None:
        """Raise RelationshipError when the target model is ``_unfetchable``."""
        if self.target.unfetchable:
            raise RelationshipError(
                f"{self.where} points to {self.target.name} ({self.target.label}), which is _unfetchable; "
                f"{operation} cannot load it",
                model=self.source.name,
                operation=operation,
                relation=self.name,
            )

    def __repr__(self) -> str:
        return f"<Relation {self.kind} {self.where}>"


def _named_field(meta: ModelMeta, name: Any, where: str) -> Field:
    if name:
        try:
            return meta.fields[name]
        except KeyError:
            raise ConfigurationError(
                f"{where} names {meta.name}.{name}, which is not a field; fields are: {', '.join(meta.fields)}",
                model=meta.name,
                field=name,
            ) from None
    if len(meta.pk_fields) != 1:
        raise ConfigurationError(
            f"{where} needs a single-column key on {meta.name}, which has "
            f"{'a composite' if meta.pk_fields else 'no'} primary key; name the key field in the relation config",
            model=meta.name,
        )
    return meta.pk_fields[0]


class RelationSet:
    """Every relation of one model, by name."""

    def __init__(self, meta: ModelMeta) -> None:
        self.meta = meta
        self.fks: dict[str, Relation] = {}
        self.ifks: dict[str, Relation] = {}
        self.m2ms: dict[str, Relation] = {}
        self.by_name: dict[str, Relation] = {}
        self.aliases: dict[str, Relation] = {}

    def add(self, relation: Relation) -> None:
        """Add ``relation`` under its name (FKs also under their field name)."""
        bucket = {FK: self.fks, IFK: self.ifks, M2M: self.m2ms}[relation.kind]
        bucket[relation.name] = relation
        self.by_name[relation.name] = relation
        if relation.fk_field is not None:
            self.aliases[relation.fk_field.name] = relation

    def get(self, name: str) -> Relation | None:
        """Return the relation called ``name`` (or whose FK field is ``name``)."""
        return self.by_name.get(name) or self.aliases.get(name)

    def names(self) -> list[str]:
        """Return every relation name."""
        return list(self.by_name)


def relations_of(meta: ModelMeta) -> RelationSet:
    """Return ``meta``'s relations (rebuilt when models are registered, cached otherwise)."""
    generation = registry_generation()
    cached = meta.__dict__.get("_matrx_relations")
    if cached is not None and cached[0] == generation:
        return cached[1]  # type: ignore[no-any-return]
    rels = _build_relations(meta)
    meta.__dict__["_matrx_relations"] = (generation, rels)
    return rels


def _build_relations(meta: ModelMeta) -> RelationSet:
    rels = RelationSet(meta)
    for field in meta.fk_fields.values():
        rels.add(Relation(FK, field.relation_name, meta, fk_field=field))
    for name, config in meta.inverse_fk_config.items():
        rels.add(Relation(IFK, name, meta, config=config))
    for name, config in meta.m2m_config.items():
        rels.add(Relation(M2M, name, meta, config=config))
    for name, m2m in meta.m2m_fields.items():
        rels.add(Relation(M2M, name, meta, m2m_field=m2m))
    _add_derived(meta, rels)
    return rels


def _points_at(target: Any, meta: ModelMeta, from_meta: ModelMeta, where: str) -> bool:
    """Return True when a relation target (name or class) resolves to ``meta``."""
    name = target if isinstance(target, str) else getattr(target, "__name__", None)
    if not isinstance(name, str) or name.rsplit(".", 1)[-1] != meta.name:
        return False
    try:
        return resolve_meta(target, from_meta, where) is meta
    except ConfigurationError:
        return False


def _add_derived(meta: ModelMeta, rels: RelationSet) -> None:
    """Add the inverse relations other models' FKs and M2Ms imply, unless declared."""
    covered = {
        (str(c.get("from_model", "")).rsplit(".", 1)[-1], c.get("from_field")) for c in meta.inverse_fk_config.values()
    }
    candidates: list[tuple[ModelMeta, str, Relation, str | None]] = []
    for other in all_metas():
        if other.abstract:
            continue
        for field in other.fk_fields.values():
            if (other.name, field.name) in covered:
                continue
            if _points_at(field.to, meta, other, f"{other.name}.{field.name}"):
                forward = Relation(FK, field.relation_name, other, fk_field=field)
                candidates.append((other, field.relation_name, forward, field.related_name))
        for rel_name, config in other.m2m_config.items():
            if _points_at(config.get("target_model"), meta, other, f"{other.name}.{rel_name}"):
                forward = Relation(M2M, rel_name, other, config=config)
                candidates.append((other, rel_name, forward, config.get("related_name")))
        for rel_name, m2m in other.m2m_fields.items():
            if _points_at(m2m.to, meta, other, f"{other.name}.{rel_name}"):
                forward = Relation(M2M, rel_name, other, m2m_field=m2m)
                candidates.append((other, rel_name, forward, m2m.related_name))
    per_model: dict[str, int] = {}
    for other, _rel_name, _forward, related_name in candidates:
        if not related_name:
            per_model[other.name] = per_model.get(other.name, 0) + 1
    taken = set(meta.fields) | set(meta.m2m_fields) | set(rels.by_name)
    for other, rel_name, forward, related_name in candidates:
        if related_name:
            name = related_name
        elif per_model[other.name] > 1:
            name = f"{snake_case(other.name)}_{rel_name}_set"
        else:
            name = f"{snake_case(other.name)}_set"
        if name in taken:
            continue
        taken.add(name)
        kind = IFK if forward.kind == FK else M2M
        rels.add(Relation(kind, name, meta, declared=False, reverse_of=forward))


def get_relation(meta: ModelMeta, name: str, *, kinds: Iterable[str] | None = None, operation: str = "") -> Relation:
    """Return ``meta``'s relation ``name``, or raise naming the model and its relations."""
    rel = relations_of(meta).get(name) if isinstance(name, str) else None
    allowed = tuple(kinds) if kinds is not None else (FK, IFK, M2M)
    if rel is None or rel.kind not in allowed:
        rels = relations_of(meta)
        choices = [r.result_key for r in rels.by_name.values() if r.kind in allowed]
        what = {FK: "foreign key", IFK: "inverse foreign key", M2M: "many-to-many relation"}
        kinds_text = " or ".join(what[k] for k in allowed)
        if len(allowed) == 3:
            kinds_text = "relation"
        article = "an" if kinds_text[0] in "aeiou" else "a"
        prefix = f"{meta.name}.{operation}: " if operation else f"{meta.name}: "
        raise FieldError(
            f"{prefix}{name!r} is not {article} {kinds_text} of {meta.name}; "
            f"{'choices are: ' + ', '.join(choices) if choices else 'it has none'}",
            model=meta.name,
            field=name,
        )
    return rel


def relation_chain(meta: ModelMeta, names: Sequence[str]) -> list[Relation]:
    """Return the relations a ``__``-path walks through, from ``meta``."""
    chain: list[Relation] = []
    current = meta
    for name in names:
        rel = get_relation(current, name)
        chain.append(rel)
        current = rel.target
    return chain


def loaded_keys_condition(field: Field, keys: Sequence[Any]) -> WhereNode:
    """Return ``WHERE field = ANY(keys)`` for keys read from loaded rows.

    Relation loaders match on key values that psycopg already returned in the
    column's Python type (or that ``Model(...)`` validated): they are bound with
    the field's ``prep`` only, not validated again one by one as a user's
    ``__in`` list is. The SQL is the same as ``filter(<field>__in=keys)``.
    """
    prep = field.prep
    prepared = ([prep(k) for k in keys], False)
    return WhereNode(AND, False, (Condition((field.name,), field, LOOKUPS["in"], prepared, f"{field.name}__in"),))


def model_class(meta: ModelMeta, mode: str) -> Any:
    """Return the model class of ``meta`` for ``mode`` (``"async"``/``"sync"``)."""
    cls = meta.classes.get(mode)
    if cls is None:
        cls = twin(next(iter(meta.classes.values())), mode)
    return cls


# -- filters across relations ------------------------------------------------
def resolve_relation_path(meta: ModelMeta, parts: list[str]) -> tuple[tuple[str, ...], Field] | None:
    """Resolve ``["author", "username"]`` to ``(("author", "username"), User.username)``.

    Installed in ``query_state._path_resolvers``. A path ending on a foreign key
    means its column (``author=user`` filters ``author_id``); one ending on a
    multi-valued relation means the related key (``tags__in=[...]``,
    ``tags__isnull=True``). Returns None for a plain field.
    """
    first = parts[0]
    if len(parts) == 1 and first in meta.fields:
        return None
    if first not in relations_of(meta).by_name:
        return None
    key = "__".join(parts)
    path: list[str] = []
    current = meta
    for index, part in enumerate(parts):
        last = index == len(parts) - 1
        if last and part in current.fields:
            path.append(part)
            return tuple(path), current.fields[part]
        rel = relations_of(current).by_name.get(part)
        if rel is not None:
            if not last:
                path.append(rel.name)
                current = rel.target
                continue
            if rel.fk_field is not None:
                path.append(rel.fk_field.name)
                return tuple(path), rel.fk_field
            end = relation_key(rel)
            path += [rel.name, end.name]
            return tuple(path), end
        if last and part == "pk" and len(current.pk_fields) == 1:
            field = current.pk_fields[0]
            path.append(field.name)
            return tuple(path), field
        if part in current.fields or part == "pk":
            raise ParameterError(
                f"{current.name}: unknown lookup {'__'.join(parts[index + 1:])!r} in filter {key!r} on {meta.name}; "
                f"lookups are: {', '.join(sorted(LOOKUPS))}",
                model=meta.name,
                field=part,
            )
        names = list(current.fields) + relations_of(current).names()
        raise FieldError(
            f"{current.name} has no field or relation {part!r} (in filter {key!r} on {meta.name}); "
            f"choices are: {', '.join(names)}",
            model=meta.name,
            field=part,
        )
    raise AssertionError("unreachable")  # pragma: no cover


def relation_key(rel: Relation) -> Field:
    """Return the field a path ending on multi-valued ``rel`` compares: the related row's identity.

    ``Post.filter(tags=tag)`` compares the tag key the junction holds;
    ``User.filter(posts=post)`` compares the post's primary key (not the
    foreign key pointing back, which would only ever equal the user's own key).
    """
    if rel.kind == IFK and len(rel.target.pk_fields) == 1:
        return rel.target.pk_fields[0]
    target: Field = rel.target_field
    return target


def table_ref(compiler: Any) -> str:
    """Return how ``compiler``'s FROM clause names its model's rows (table, subquery alias, CTE, wrapper).

    Relation subqueries correlate with this name, so a filter inside a
    subquery that aliases the same table (``"rel_post" AS "_s1"``) refers to
    the subquery's row, not to the enclosing query's.
    """
    ref = getattr(compiler, "table_ref", None)
    return ref() if ref is not None else compiler.meta.quoted_table  # type: ignore[no-any-return]


def _col(alias: str, column: str) -> str:
    return f"{alias}.{quote_ident(column)}"


def _subquery(outer: str, chain: list[Relation], field: Field) -> tuple[str, str, str]:
    """Return (FROM ... JOINs, correlation with ``outer``, column SQL of ``field``).

    The subquery walks ``chain`` from the outer table; ``field`` is read on
    the last hop's target. When ``field`` is the key a many-to-many junction
    already holds, the target table is not joined at all.
    """
    from_sql = ""
    link = ""
    current = outer
    for index, rel in enumerate(chain, start=1):
        source_ref = _col(current, rel.source_field.column)
        target_alias = quote_ident(f"_r{index}")
        target_on = f"{_col(target_alias, rel.target_field.column)} = "
        if rel.kind == M2M:
            junction_alias = quote_ident(f"_j{index}")
            on = f"{_col(junction_alias, rel.junction_source)} = {source_ref}"
            if index == 1:
                from_sql, link = f"{rel.junction} AS {junction_alias}", on
            else:
                from_sql += f" JOIN {rel.junction} AS {junction_alias} ON {on}"
            if index == len(chain) and field is rel.target_field:
                return from_sql, link, _col(junction_alias, rel.junction_target)
            target_on += _col(junction_alias, rel.junction_target)
            from_sql += f" JOIN {rel.target.quoted_table} AS {target_alias} ON {target_on}"
        else:
            on = target_on + source_ref
            if index == 1:
                from_sql, link = f"{rel.target.quoted_table} AS {target_alias}", on
            else:
                from_sql += f" JOIN {rel.target.quoted_table} AS {target_alias} ON {on}"
        current = target_alias
    return from_sql, link, _col(current, field.column)


def _shortcut_fk(chain: list[Relation], field: Field) -> Field:
    """Drop a last FK hop whose referenced field is ``field``; return the field to read.

    ``author__id=x`` then reads ``author_id`` without visiting the user table.
    """
    last = chain[-1]
    if last.kind == FK and field is last.target_field:
        chain.pop()
        source: Field = last.source_field
        return source
    return field


class _RelationConditions:
    """Compiler hook: render conditions and ordering that span relations as correlated subqueries.

    ``EXISTS`` keeps one row per row whatever the relation's cardinality, and
    works unchanged in SELECT, COUNT, UPDATE and DELETE.
    """

    def __call__(self, compiler: SQLCompiler, cond: Condition, params: list[Any] | None) -> str | None:
        return render_relation_condition(compiler, compiler.meta, table_ref(compiler), cond, params)

    def order_sql(self, compiler: SQLCompiler, path: str) -> str | None:
        return render_relation_value(compiler, compiler.meta, table_ref(compiler), path, ordering=True)

    def expression_sql(self, compiler: SQLCompiler, path: str) -> str | None:
        """Render a relation path used as a value (``F("author__username")``): one value per row.

        A path through a multi-valued relation has no single value: refuse it
        rather than pick one silently.
        """
        return render_relation_value(compiler, compiler.meta, table_ref(compiler), path, ordering=False)


def render_relation_condition(compiler: Any, meta: ModelMeta, origin: str, cond: Condition, params: list[Any] | None) -> str:
    """Render ``cond`` (whose path starts at ``meta``, reached as ``origin``) as a column test or ``EXISTS``."""
    chain = relation_chain(meta, cond.path[:-1])
    field = _shortcut_fk(chain, cond.field)
    if not chain:
        return compiler.render_lookup(_col(origin, field.column), _retarget(cond, field), params)  # type: ignore[no-any-return]
    from_sql, link, column = _subquery(origin, chain, field)
    if chain[-1].many and cond.lookup.name == "isnull" and field is relation_key(chain[-1]):
        # ``tags__isnull=True``: the row has no related rows at all.
        exists = f"EXISTS (SELECT 1 FROM {from_sql} WHERE {link})"
        return f"NOT {exists}" if cond.value else exists
    test = compiler.render_lookup(column, _retarget(cond, field), params)
    return f"EXISTS (SELECT 1 FROM {from_sql} WHERE {link} AND {test})"


def render_relation_value(compiler: Any, meta: ModelMeta, origin: str, path: str, *, ordering: bool) -> str:
    """Render the ``__`` path ``path`` (from ``meta``, reached as ``origin``) as one value per row.

    For ordering, a multi-valued relation orders by its smallest related
    value, so every row still appears once (no join fan-out); as a value it
    is refused, naming the relation.
    """
    names = path.split("__")
    chain = relation_chain(meta, names[:-1])
    if not ordering:
        many = [rel for rel in chain if rel.many]
        if many:
            raise ParameterError(
                f"{meta.name}: {path!r} crosses the multi-valued relation {many[0].where}, which has no single "
                "value per row; filter or order by it, aggregate it (Count, Sum, ArrayAgg...), "
                "or compute it in a subquery",
                model=meta.name,
                field=path,
            )
    target = chain[-1].target if chain else meta
    field = _shortcut_fk(chain, target.field(names[-1]))
    if not chain:
        return _col(origin, field.column)
    from_sql, link, column = _subquery(origin, chain, field)
    if any(rel.many for rel in chain):
        column = f"MIN({column})"
    return f"(SELECT {column} FROM {from_sql} WHERE {link})"


def _retarget(cond: Condition, field: Field) -> Condition:
    if field is cond.field:
        return cond
    return Condition(cond.path, field, cond.lookup, cond.value, cond.key)


# -- select_related ------------------------------------------------------------
def parse_select_related(meta: ModelMeta, names: Sequence[str]) -> tuple[str, ...]:
    """Validate ``select_related`` paths; return them normalized, parents before children.

    Only foreign keys can be joined (one row per row); with no names every
    fetchable foreign key of the model is selected.
    """
    if not names:
        return tuple(
            rel.name for rel in relations_of(meta).fks.values() if not rel.target.unfetchable
        )
    out: list[str] = []
    for path in names:
        if not isinstance(path, str) or not path:
            raise ParameterError(f"{meta.name}.select_related() expects relation names, got {path!r}", model=meta.name)
        current = meta
        normalized: list[str] = []
        for part in path.split("__"):
            rel = relations_of(current).get(part)
            if rel is not None and rel.kind != FK:
                raise ParameterError(
                    f"{current.name}.{rel.name} is a {'many-to-many' if rel.kind == M2M else 'inverse foreign key'} "
                    f"relation; select_related() follows foreign keys only, use prefetch_related({path!r})",
                    model=meta.name,
                    relation=path,
                )
            rel = get_relation(current, part, kinds=(FK,), operation="select_related()")
            rel.check_fetchable("select_related()")
            normalized.append(rel.name)
            key = "__".join(normalized)
            if key not in out:
                out.append(key)
            current = rel.target
    return tuple(out)


class _SelectRelatedJoins:
    """Compiler hook: LEFT JOIN the select_related tables and select their columns."""

    def __call__(self, compiler: SQLCompiler) -> str:
        state = compiler.state
        if not state.select_related:
            return ""
        joins = []
        for alias, parent, rel in _joined(compiler.meta, state.select_related, table_ref(compiler)):
            on = f"{_col(alias, rel.target_field.column)} = {_col(parent, rel.source_field.column)}"
            joins.append(f" LEFT JOIN {rel.target.quoted_table} AS {alias} ON {on}")
        return "".join(joins)

    def columns(self, compiler: SQLCompiler) -> str:
        state = compiler.state
        if not state.select_related:
            return ""
        parts: list[str] = []
        for alias, _parent, rel in _joined(compiler.meta, state.select_related):
            parts.extend(_col(alias, f.column) for f in rel.target.fields.values())
        return ", ".join(parts)

    def group_columns(self, compiler: SQLCompiler) -> list[str]:
        """Return the joined tables' key columns, so a query grouped by its own key may select their columns."""
        state = compiler.state
        if not state.select_related:
            return []
        out: list[str] = []
        for alias, _parent, rel in _joined(compiler.meta, state.select_related):
            keys = rel.target.pk_fields or tuple(rel.target.fields.values())
            out.extend(_col(alias, f.column) for f in keys)
        return out


def _joined(meta: ModelMeta, paths: Sequence[str], origin: str | None = None) -> list[tuple[str, str, Relation]]:
    """Return (alias, parent alias, relation) per select_related path, in join order."""
    aliases: dict[str, str] = {"": origin or meta.quoted_table}
    out = []
    for index, path in enumerate(paths):
        parent_path, _, name = path.rpartition("__")
        parent_meta = meta if not parent_path else relation_chain(meta, parent_path.split("__"))[-1].target
        rel = get_relation(parent_meta, name, kinds=(FK,))
        alias = quote_ident(f"_s{index}")
        aliases[path] = alias
        out.append((alias, aliases[parent_path], rel))
    return out


def hydrate_select_related(cls: type, state: QueryState, rows: Sequence[Sequence[Any]]) -> list[Any]:
    """Return instances for joined rows, with each selected related object cached on its parent."""
    meta: ModelMeta = cls._meta  # type: ignore[attr-defined]
    names = row_names(meta, state.fields)
    width = len(names)
    objs = hydrate_rows(cls, names, [row[:width] for row in rows])
    mode = cls.__matrx_mode__  # type: ignore[attr-defined]
    by_path: dict[str, list[Any]] = {"": objs}
    offset = width
    for path in state.select_related:
        parent_path, _, name = path.rpartition("__")
        parent_meta = meta if not parent_path else relation_chain(meta, parent_path.split("__"))[-1].target
        rel = get_relation(parent_meta, name, kinds=(FK,))
        target = rel.target
        target_names = target.field_names
        size = len(target_names)
        key_index = target_names.index(rel.target_field.name)
        chunk = [row[offset : offset + size] for row in rows]
        present = [i for i, part in enumerate(chunk) if part[key_index] is not None]
        related = hydrate_rows(model_class(target, mode), target_names, [chunk[i] for i in present])
        column: list[Any] = [None] * len(rows)
        for i, obj in zip(present, related, strict=True):
            column[i] = obj
        for parent, obj in zip(by_path[parent_path], column, strict=True):
            if parent is not None:
                set_related(parent, rel, obj)
        by_path[path] = column
        offset += size
    return objs


# -- prefetch_related ------------------------------------------------------------
def parse_prefetch_related(meta: ModelMeta, names: Sequence[str]) -> tuple[str, ...]:
    """Validate ``prefetch_related`` paths; return them normalized to relation names."""
    out: list[str] = []
    for path in names:
        if not isinstance(path, str) or not path:
            raise ParameterError(f"{meta.name}.prefetch_related() expects relation names, got {path!r}", model=meta.name)
        current = meta
        normalized = []
        for part in path.split("__"):
            rel = get_relation(current, part, operation="prefetch_related()")
            rel.check_fetchable("prefetch_related()")
            normalized.append(rel.name)
            current = rel.target
        key = "__".join(normalized)
        if key not in out:
            out.append(key)
    return tuple(out)


def prefetch_tree(meta: ModelMeta, paths: Sequence[str]) -> dict[Relation, Any]:
    """Return ``{relation: subtree}`` so shared prefixes are fetched once."""
    tree: dict[Relation, Any] = {}
    for path in parse_prefetch_related(meta, paths):
        node = tree
        current = meta
        for part in path.split("__"):
            rel = get_relation(current, part)
            node = node.setdefault(rel, {})
            current = rel.target
    return tree


def prefetch_source_fields(meta: ModelMeta, fields: tuple[str, ...], paths: Sequence[str]) -> tuple[str, ...]:
    """Return ``fields`` plus the fields ``prefetch_related(*paths)`` matches related rows on.

    ``Post.only("title").prefetch_related("author")`` still loads ``author_id``:
    without it every post would look authorless.
    """
    needed: list[str] = []
    for path in paths:
        name = get_relation(meta, path.split("__", 1)[0]).source_field.name
        if name not in fields and name not in needed:
            needed.append(name)
    return fields + tuple(needed) if needed else fields


def loaded_value(obj: Any, name: str) -> Any:
    """Return the value of field ``name`` on ``obj``; raise the deferred-field AttributeError if it was not loaded."""
    try:
        return obj.__dict__[name]
    except KeyError:
        return getattr(obj, name)  # raises, naming the model and the deferred field


# -- per-instance cache of related objects ------------------------------------------
def set_related(obj: Any, rel: Relation, value: Any) -> None:
    """Cache ``value`` as ``obj``'s related object(s) for ``rel``."""
    cache = obj.__dict__.get(RELATED_KEY)
    if cache is None:
        cache = obj.__dict__[RELATED_KEY] = {}
    cache[rel.name] = value


def forget_related(obj: Any, rel: Relation) -> None:
    """Drop ``obj``'s cached value for ``rel`` (after writes that change it)."""
    cache = obj.__dict__.get(RELATED_KEY)
    if cache is not None:
        cache.pop(rel.name, None)


#: What ``cached_related`` returns for a relation that is not loaded.
NOT_LOADED: Any = object()


def cached_related(obj: Any, rel: Relation) -> Any:
    """Return ``obj``'s cached value for ``rel``, or ``NOT_LOADED`` (stale FK values count as missing)."""
    cache = obj.__dict__.get(RELATED_KEY)
    if cache is None:
        return NOT_LOADED
    value = cache.get(rel.name, NOT_LOADED)
    if value is NOT_LOADED or rel.kind != FK:
        return value
    # The FK column may have been reassigned since the object was loaded.
    source = rel.source_field.name
    if source not in obj.__dict__:
        return value  # deferred by only()/defer(): select_related loaded the row through the join
    current = obj.__dict__[source]
    if value is None:
        return None if current is None else NOT_LOADED
    if value.__dict__.get(rel.target_field.name) != current:
        return NOT_LOADED
    return value


class RelatedCacheMixin:
    """Read access to related objects loaded by select_related/prefetch_related/fetch_*.

    ``post.author`` (relation name) returns the cached ``User`` (or None),
    ``user.posts`` / ``post.tags`` the cached list. An unloaded relation raises
    ``RelationNotLoaded`` (an ``AttributeError``), never a hidden query.
    """

    __slots__ = ()

    def get_related(self, name: str) -> Any:
        """Return the loaded related object(s) of relation ``name``; raise RelationNotLoaded if not loaded."""
        meta: ModelMeta = self._meta
        rel = get_relation(meta, name)
        value = cached_related(self, rel)
        if value is NOT_LOADED:
            raise RelationNotLoaded(
                f"{meta.name}.{rel.name} is not loaded; use select_related({rel.name!r}), "
                f"prefetch_related({rel.name!r}) or await {_fetch_hint(rel)}",
                model=meta.name,
                relation=rel.name,
            )
        return value

    def is_related_loaded(self, name: str) -> bool:
        """Return True when relation ``name`` has been loaded on this instance."""
        return cached_related(self, get_relation(self._meta, name)) is not NOT_LOADED

    def __getattr__(self, name: str) -> Any:
        # Only reached when normal lookup fails: plain fields never pay for this.
        if name.startswith("__") or name == RELATED_KEY:
            raise AttributeError(name)
        meta = getattr(type(self), "_meta", None)
        if meta is not None:
            if name in meta.fields:
                # A field missing from the instance was left out by only()/defer()/select().
                loaded = [n for n in meta.field_names if n in self.__dict__]
                raise AttributeError(
                    f"{meta.name}.{name} was deferred: this instance was loaded without it "
                    f"(only()/defer()/select() loaded {', '.join(loaded) or 'no fields'}); "
                    "reload it with refresh(), or leave it out of defer()"
                )
            rel = relations_of(meta).by_name.get(name)
            if rel is not None:
                return self.get_related(name)
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")


def _fetch_hint(rel: Relation) -> str:
    if rel.kind == FK:
        return f"obj.fetch_fk({rel.result_key!r})"
    if rel.kind == IFK:
        return f"obj.fetch_ifk({rel.name!r})"
    return f"obj.fetch_m2m({rel.name!r})"


# -- many-to-many statements ------------------------------------------------------------
def compile_m2m_fetch(rel: Relation) -> str:
    """Return ``SELECT junction.source, <target columns>`` for the targets of many sources.

    One parameter: an array of source keys. One query whatever their number.
    """

    def build() -> str:
        target = rel.target
        t = quote_ident("_t")
        j = quote_ident("_j")
        cols = ", ".join(_col(t, f.column) for f in target.fields.values())
        order = ", ".join(_col(t, f.column) for f in target.pk_fields) or _col(t, rel.target_field.column)
        return (
            f"SELECT {_col(j, rel.junction_source)}, {cols} FROM {rel.junction} AS {j} "
            f"JOIN {target.quoted_table} AS {t} ON {_col(t, rel.target_field.column)} = {_col(j, rel.junction_target)} "
            f"WHERE {_col(j, rel.junction_source)} = ANY(%s::{rel.source_field.cast_type}[]) "
            f"ORDER BY {_col(j, rel.junction_source)}, {order}"
        )

    return _cached(("m2m_fetch", id(rel.source), rel.name), build)


def compile_m2m_add(rel: Relation) -> str:
    """Return one idempotent INSERT of many junction rows (params: source key, target-key array, source key).

    ``ON CONFLICT DO NOTHING`` covers a unique constraint on the pair; the
    ``NOT EXISTS`` keeps it idempotent on junction tables that have none.
    """

    def build() -> str:
        src = quote_ident(rel.junction_source)
        tgt = quote_ident(rel.junction_target)
        v = quote_ident("_v")
        return (
            f"INSERT INTO {rel.junction} ({src}, {tgt}) "
            f"SELECT DISTINCT %s::{rel.source_field.cast_type}, {v} "
            f"FROM unnest(%s::{rel.target_field.cast_type}[]) AS {v} "
            f"WHERE NOT EXISTS (SELECT 1 FROM {rel.junction} AS {quote_ident('_e')} "
            f"WHERE {_col(quote_ident('_e'), rel.junction_source)} = %s "
            f"AND {_col(quote_ident('_e'), rel.junction_target)} = {v}) "
            f"ON CONFLICT DO NOTHING"
        )

    return _cached(("m2m_add", id(rel.source), rel.name), build)


def compile_m2m_remove(rel: Relation) -> str:
    """Return a DELETE of the junction rows linking one source to an array of targets."""

    def build() -> str:
        return (
            f"DELETE FROM {rel.junction} WHERE {quote_ident(rel.junction_source)} = %s "
            f"AND {quote_ident(rel.junction_target)} = ANY(%s::{rel.target_field.cast_type}[])"
        )

    return _cached(("m2m_remove", id(rel.source), rel.name), build)


def compile_m2m_keep_only(rel: Relation) -> str:
    """Return a DELETE of one source's junction rows whose target is not in an array."""

    def build() -> str:
        return (
            f"DELETE FROM {rel.junction} WHERE {quote_ident(rel.junction_source)} = %s "
            f"AND {quote_ident(rel.junction_target)} <> ALL(%s::{rel.target_field.cast_type}[])"
        )

    return _cached(("m2m_keep_only", id(rel.source), rel.name), build)


def compile_m2m_clear(rel: Relation) -> str:
    """Return a DELETE of every junction row of one source."""

    def build() -> str:
        return f"DELETE FROM {rel.junction} WHERE {quote_ident(rel.junction_source)} = %s"

    return _cached(("m2m_clear", id(rel.source), rel.name), build)


def key_values(rel: Relation, items: Iterable[Any], operation: str) -> list[Any]:
    """Return the bound target keys of instances or raw keys (flattening lists), deduplicated.

    Bad values fail here, before SQL, with the model, field and value named.
    """
    from matrx_orm.core.model_meta import ModelBase

    field = rel.target_field
    target = rel.target
    out: list[Any] = []
    seen: set[Hashable] = set()
    for item in _flatten(items):
        if isinstance(item, ModelBase):
            if item._meta is not target:
                raise ParameterError(
                    f"{rel.where}.{operation} takes {target.name} instances or keys, got a {type(item).__name__}",
                    model=rel.source.name,
                    relation=rel.name,
                )
            item = item.__dict__.get(field.name)
        if item is None:
            raise ParameterError(
                f"{rel.where}.{operation}: None is not a {target.name} key", model=rel.source.name, relation=rel.name
            )
        value = field.get_db_prep_value(item)
        marker = value if isinstance(value, Hashable) else repr(value)
        if marker not in seen:
            seen.add(marker)
            out.append(value)
    return out


def _flatten(items: Iterable[Any]) -> Iterable[Any]:
    for item in items:
        if isinstance(item, (list, tuple, set, frozenset)):
            yield from item
        else:
            yield item


# -- installation ---------------------------------------------------------------
_condition_hook = _RelationConditions()
_join_hook = _SelectRelatedJoins()


def _install() -> None:
    if not any(isinstance(h, _RelationConditions) for h in SQLCompiler.relation_condition_hooks):
        SQLCompiler.relation_condition_hooks.append(_condition_hook)
    if not any(isinstance(h, _SelectRelatedJoins) for h in SQLCompiler.select_related_hooks):
        SQLCompiler.select_related_hooks.append(_join_hook)
    if not any(getattr(r, "__name__", "") == "resolve_relation_path" for r in _path_resolvers):
        _path_resolvers.append(resolve_relation_path)


_install()
