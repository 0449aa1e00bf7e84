"""Model conveniences beyond CRUD: aggregation shortcuts, get-or-create, atomic increments, signals.

``Model`` inherits ``ModelExtras``. Class-level helpers delegate to a
queryset over every row; ``increment()`` updates a counter in the database
(``SET views = views + 1 ... RETURNING``) so concurrent increments never lose
a write; ``send_signal`` runs the lifecycle receivers of ``core.signals``.
"""

from __future__ import annotations

import decimal
from collections.abc import Iterable
from inspect import isawaitable
from typing import TYPE_CHECKING, Any

from matrx_orm._queryset import QuerySet
from matrx_orm.core.compat_async import MODE
from matrx_orm.core.exceptions import DoesNotExist, ParameterError
from matrx_orm.core.expressions import F
from matrx_orm.core.model_hooks import ModelHooksBase
from matrx_orm.core.signals import Signal

if TYPE_CHECKING:
    from typing_extensions import Self

__all__ = ["ModelExtras", "send_signal"]


async def send_signal(signal: Signal, instance: Any, **extra: Any) -> None:
    """Call ``signal``'s receivers for ``instance`` (awaiting async ones in async mode)."""
    meta = instance._meta
    if not signal.has_receivers(meta):
        return
    sender = type(instance)
    for receiver in signal.receivers_for(meta, MODE):
        result = receiver(sender=sender, instance=instance, **extra)
        if isawaitable(result):
            await result


class ModelExtras(ModelHooksBase):
    """Aggregation and get-or-create shortcuts on the model class; ``increment()`` on instances."""

    __slots__ = ()

    # -- class-level shortcuts (a queryset over every row) ----------------
    @classmethod
    def annotate(cls, *args: Any, **expressions: Any) -> QuerySet[Any]:
        """Return a queryset of every row with computed values (see ``QuerySet.annotate``)."""
        return QuerySet(cls).annotate(*args, **expressions)

    @classmethod
    def group_by(cls, *names: str) -> QuerySet[Any]:
        """Return a queryset of every row grouped by ``names`` (read it with ``values()``)."""
        return QuerySet(cls).group_by(*names)

    @classmethod
    def with_cte(cls, cte: Any) -> QuerySet[Any]:
        """Return a queryset of every row with ``cte`` in its ``WITH`` clause."""
        return QuerySet(cls).with_cte(cte)

    @classmethod
    async def aggregate(cls, *args: Any, **aggregates: Any) -> dict[str, Any]:
        """Return ``{name: value}`` for aggregates over the whole table."""
        return await QuerySet(cls).aggregate(*args, **aggregates)

    @classmethod
    async def in_bulk(cls, ids: Iterable[Any] | None = None, *, field_name: str = "pk") -> dict[Any, Any]:
        """Return ``{key: instance}`` for ``ids`` in one query (every row when None)."""
        return await QuerySet(cls).in_bulk(ids, field_name=field_name)

    @classmethod
    async def get_or_create(cls, defaults: dict[str, Any] | None = None, **kwargs: Any) -> tuple[Any, bool]:
        """Return ``(instance, created)``: the row matching ``kwargs``, created with ``defaults`` when missing."""
        return await QuerySet(cls).get_or_create(defaults, **kwargs)

    @classmethod
    async def update_or_create(cls, defaults: dict[str, Any] | None = None, **kwargs: Any) -> tuple[Any, bool]:
        """Return ``(instance, created)``: the row matching ``kwargs`` updated with ``defaults``, or created."""
        return await QuerySet(cls).update_or_create(defaults, **kwargs)

    @classmethod
    async def earliest(cls, *fields: Any) -> Any:
        """Return the first row ordered by ``fields``; raise DoesNotExist on an empty table."""
        return await QuerySet(cls).earliest(*fields)

    @classmethod
    async def latest(cls, *fields: Any) -> Any:
        """Return the last row ordered by ``fields``; raise DoesNotExist on an empty table."""
        return await QuerySet(cls).latest(*fields)

    # -- instances --------------------------------------------------------
    async def increment(self, field: str | None = None, by: Any = 1, **fields: Any) -> Self:
        """Add ``by`` to ``field`` (or each ``name=amount``) in the database, atomically; return self.

        ``await post.increment("views")`` runs ``UPDATE ... SET views = views + 1
        ... RETURNING`` and stores the new value read back on the instance.
        """
        meta = self._meta
        amounts = dict(fields)
        if field is not None:
            amounts[field] = by
        if not amounts:
            raise ParameterError(f"{meta.name}.increment() needs a field", model=meta.name)
        if not self.__dict__.get("_persisted", True):
            raise ParameterError(f"{meta.name}.increment(): save the instance first", model=meta.name)
        updates = {}
        for name, amount in amounts.items():
            target = meta.field(name)
            if isinstance(amount, bool) or not isinstance(amount, (int, float, decimal.Decimal)):
                raise ParameterError(f"{meta.name}.increment({name}=...): expected a number, got {amount!r}", model=meta.name)
            updates[target.name] = F(target.name) + amount
        rows = await QuerySet(type(self)).filter(**self.pk_filter()).update_returning(**updates)  # type: ignore[attr-defined]
        if not rows:
            raise DoesNotExist(
                f"{meta.name} {self.pk!r} no longer exists",  # type: ignore[attr-defined]
                model=meta.name,
                operation=f"{meta.name}.increment()",
            )
        fresh = rows[0].__dict__
        for name in updates:
            self.__dict__[name] = fresh[name]
        return self

    async def decrement(self, field: str | None = None, by: Any = 1, **fields: Any) -> Self:
        """Subtract ``by`` from ``field`` (or each ``name=amount``) atomically; return self."""
        amounts = {name: -amount for name, amount in fields.items()}
        return await self.increment(field, -by, **amounts)
