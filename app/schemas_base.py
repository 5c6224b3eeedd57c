"""The base of every request body's schema."""

from __future__ import annotations

from typing import Any

from marshmallow import RAISE, Schema


class StrictSchema(Schema):
    """A request body: an unknown field is refused, and the refusal lists the known ones."""

    class Meta:
        unknown = RAISE

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        known = ", ".join(field.data_key or name for name, field in self.load_fields.items()
                          if not getattr(field, "refuses", False))
        self.error_messages["unknown"] = f"unknown field; this object takes {known}"
