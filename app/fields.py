"""The request schemas' fields, whose messages name the type they expect.

Each message is said after the field's path ("pubs.0.shots: must be an integer"): marshmallow's
own ("Not a valid integer.", "Invalid input type.") never say what was expected. A schema's own
`type` message (the whole object of the wrong type) is set in `app/schemas.py`, where an example
of the object can be given.
"""

from __future__ import annotations

from typing import Any

from marshmallow import fields

from core.documents import FIELD_MESSAGES

Messages = dict[str, Any]


class Said(fields.Field):
    """What every field says when it is missing, null, or fails a validator."""

    default_error_messages: Messages = FIELD_MESSAGES


class Integer(Said, fields.Integer):
    default_error_messages: Messages = {"invalid": "must be an integer",
                                        "too_large": "is too large"}


class Float(Said, fields.Float):
    """A number; `strict`: a JSON number, not a string of digits (query strings are strings)."""

    default_error_messages: Messages = {"invalid": "must be a number",
                                        "too_large": "is too large",
                                        "special": "must be a finite number"}

    def __init__(self, *, strict: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.strict = strict

    def _validated(self, value: Any) -> float:
        if self.strict and not isinstance(value, int | float):
            raise self.make_error("invalid")
        return super()._validated(value)


class String(Said, fields.String):
    default_error_messages: Messages = {"invalid": "must be a string"}


class List(Said, fields.List):
    default_error_messages: Messages = {"invalid": "must be a list"}


class Dict(Said, fields.Dict):
    default_error_messages: Messages = {"invalid": "must be an object"}


class Nested(Said, fields.Nested):
    pass


class Raw(Said, fields.Raw):
    pass


class AwareDateTime(Said, fields.AwareDateTime):
    default_error_messages: Messages = {
        "invalid": "must be an RFC 3339 date-time, e.g. 2026-11-24T09:15:02Z",
        "invalid_awareness": "must be an RFC 3339 date-time with its offset, "
                             "e.g. 2026-11-24T09:15:02Z"}
