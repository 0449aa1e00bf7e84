"""Pure instance conveniences shared by both modes: ``clean()``, ``full_clean()``, ``get_display()``.

``save()`` calls ``clean()`` (model-level validation: cross-field rules)
before writing; ``full_clean()`` also re-validates every field value, which
plain attribute assignment does not do.
"""

from __future__ import annotations

from typing import Any

from matrx_orm.core.exceptions import ValidationError

__all__ = ["ModelHooksBase", "has_save_hooks"]


class ModelHooksBase:
    """Validation hooks; the async ``Model`` and its sync twin inherit them."""

    __slots__ = ()

    _meta: Any

    def clean(self) -> None:
        """Validate the instance as a whole; raise ``ValidationError``. Called by ``save()``."""

    def full_clean(self, *, exclude: tuple[str, ...] = ()) -> None:
        """Validate every field value (converting it), then call ``clean()``.

        Raise one ``ValidationError`` listing every invalid field in ``details["errors"]``.
        """
        meta = self._meta
        errors: dict[str, str] = {}
        values = self.__dict__
        for name, field in meta.fields.items():
            if name in exclude or name not in values:
                continue
            try:
                values[name] = field.clean(values[name])
            except ValidationError as exc:
                errors[name] = exc.message
        if errors:
            summary = "; ".join(errors.values())
            raise ValidationError(f"{meta.name}: {summary}", model=meta.name, errors=errors)
        self.clean()

    def get_display(self, field_name: str) -> str:
        """Return the label of the field's current value among its ``choices`` (or the value as text)."""
        field = self._meta.field(field_name)
        value = self.__dict__.get(field.name)
        labels = getattr(field, "choice_labels", None)
        if labels and value in labels:
            return labels[value]  # type: ignore[no-any-return]
        return "" if value is None else str(getattr(value, "value", value))


def has_save_hooks(cls: type, signals: tuple[Any, ...]) -> bool:
    """Return True when saving ``cls`` must go through an instance (clean() or receivers)."""
    if getattr(cls, "clean", None) is not ModelHooksBase.clean:
        return True
    meta = cls._meta  # type: ignore[attr-defined]
    return any(s.has_receivers(meta) for s in signals)
