"""The model registry: models by class name, lazy relation targets, and twins.

A model declared once is usable from both packages: its metadata is shared and
each mode (``"async"`` / ``"sync"``) gets its own class built on that mode's
``Model`` base, created on demand by :func:`twin`.
"""

from __future__ import annotations

import importlib
import threading
import types
from typing import TYPE_CHECKING, Any

from matrx_orm.core.exceptions import ConfigurationError

if TYPE_CHECKING:
    from matrx_orm.core.model_meta import ModelMeta

__all__ = [
    "register_mode_base",
    "register_meta",
    "resolve_meta",
    "twin",
    "all_metas",
    "get_meta",
    "registry_generation",
    "forget_models",
]

_MODE_PACKAGES = {"async": "matrx_orm", "sync": "matrx_orm_sync"}
_mode_bases: dict[str, type] = {}
_metas_by_name: dict[str, list[ModelMeta]] = {}
_lock = threading.RLock()
# Bumped on every registration so derived data (the relation graph) knows when to rebuild.
_generation = 0


def register_mode_base(mode: str, base: type) -> None:
    """Record the root ``Model`` class of a mode (called by each package)."""
    _mode_bases[mode] = base


def mode_base(mode: str) -> type:
    """Return the root ``Model`` class of ``mode``, importing its package if needed."""
    base = _mode_bases.get(mode)
    if base is None:
        importlib.import_module(_MODE_PACKAGES[mode])
        base = _mode_bases[mode]
    return base


def register_meta(meta: ModelMeta) -> None:
    """Register a concrete model's metadata under its class name."""
    with _lock:
        bucket = _metas_by_name.setdefault(meta.name, [])
        # Re-declaring the same table (e.g. reloading a module) replaces the old entry.
        bucket[:] = [m for m in bucket if m.key != meta.key or m.module != meta.module]
        bucket.append(meta)
        global _generation
        _generation += 1


def forget_models(module_prefix: str) -> int:
    """Unregister the models declared in modules whose name starts with ``module_prefix``; return how many.

    For code that declares throwaway models (examples run one after another, a notebook
    re-run in a fresh namespace): left registered, they would keep resolving relations by
    name and deriving inverse relation names on their targets.
    """
    global _generation
    with _lock:
        forgotten = 0
        for name, bucket in list(_metas_by_name.items()):
            kept = [m for m in bucket if not m.module.startswith(module_prefix)]
            forgotten += len(bucket) - len(kept)
            if kept:
                bucket[:] = kept
            else:
                del _metas_by_name[name]
        if forgotten:
            _generation += 1
    return forgotten


def registry_generation() -> int:
    """Return a number that changes whenever a model is registered."""
    return _generation


def all_metas() -> list[ModelMeta]:
    """Return every registered model's metadata, in declaration order."""
    with _lock:
        return [m for bucket in _metas_by_name.values() for m in bucket]


def get_meta(name: str, database: str | None = None) -> ModelMeta | None:
    """Return the metadata of the model called ``name`` (preferring ``database``)."""
    with _lock:
        bucket = _metas_by_name.get(name) or []
        if not bucket:
            return None
        if database is not None:
            for meta in reversed(bucket):
                if meta.database == database:
                    return meta
        return bucket[-1]


def resolve_meta(target: Any, from_meta: ModelMeta, where: str) -> ModelMeta:
    """Return the metadata a relation points at, or raise naming the missing model."""
    meta = getattr(target, "_meta", None)
    if meta is not None:
        return meta  # type: ignore[no-any-return]
    if not isinstance(target, str):
        raise ConfigurationError(f"{where}: relation target {target!r} is not a model", model=from_meta.name)
    name = target.rsplit(".", 1)[-1]
    found = get_meta(name, from_meta.database)
    if found is None:
        raise ConfigurationError(
            f"{where} references model {name!r}, which is not defined (is its module imported?)",
            model=from_meta.name,
            target=name,
        )
    return found


def twin(cls: type, mode: str) -> type:
    """Return the class of ``cls``'s model for ``mode``, creating it on first use.

    The twin shares ``cls._meta`` (fields, table, relations, cache) and copies the
    class body, so plain methods and properties work in both modes. Model bases
    in the MRO are twinned too, other mixins are kept as they are.
    """
    meta: ModelMeta | None = cls.__dict__.get("_meta")
    if meta is None:
        if cls.__dict__.get("__matrx_root__"):
            return mode_base(mode)
        raise ConfigurationError(f"{cls!r} is not a model")
    existing = meta.classes.get(mode)
    if existing is not None:
        return existing
    with _lock:
        existing = meta.classes.get(mode)
        if existing is not None:
            return existing
        from matrx_orm.core.model_meta import ModelBase

        bases = tuple(
            twin(base, mode) if isinstance(base, type) and issubclass(base, ModelBase) and base is not ModelBase else base
            for base in cls.__bases__
        )
        namespace = {
            key: value
            for key, value in cls.__dict__.items()
            if key not in ("__dict__", "__weakref__", "_meta")
        }
        namespace["__matrx_meta__"] = meta
        namespace["__qualname__"] = cls.__qualname__
        new_cls = type(cls)(cls.__name__, bases, namespace)
        _rebind_class_cells(new_cls, cls)
        return new_cls


def _rebind(func: Any, old: type, new: type) -> Any:
    """Return ``func`` with its ``__class__`` cell (zero-argument ``super()``) pointing at ``new``."""
    code = getattr(func, "__code__", None)
    if code is None or "__class__" not in code.co_freevars or func.__closure__ is None:
        return func
    cells = list(func.__closure__)
    index = code.co_freevars.index("__class__")
    if cells[index].cell_contents is not old:
        return func
    cells[index] = types.CellType(new)
    clone = types.FunctionType(code, func.__globals__, func.__name__, func.__defaults__, tuple(cells))
    clone.__kwdefaults__ = func.__kwdefaults__
    clone.__dict__.update(func.__dict__)
    for attr in ("__qualname__", "__doc__", "__module__", "__annotations__"):
        setattr(clone, attr, getattr(func, attr))
    return clone


def _rebind_class_cells(new: type, old: type) -> None:
    # Methods copied from ``old`` that call super() would otherwise run
    # super(old, self) on an instance of ``new`` and raise TypeError.
    for key, value in list(vars(new).items()):
        if isinstance(value, (staticmethod, classmethod)):
            inner = _rebind(value.__func__, old, new)
            if inner is not value.__func__:
                setattr(new, key, type(value)(inner))
        elif isinstance(value, property):
            parts = [None if f is None else _rebind(f, old, new) for f in (value.fget, value.fset, value.fdel)]
            if parts != [value.fget, value.fset, value.fdel]:
                setattr(new, key, property(parts[0], parts[1], parts[2], value.__doc__))
        elif isinstance(value, types.FunctionType):
            rebound = _rebind(value, old, new)
            if rebound is not value:
                setattr(new, key, rebound)
