"""The options schemas (`app/schemas_options.py`, written by hand) against the library's own
models (`qiskit_ibm_runtime.options_models`): the same names, nesting, types, nullability,
defaults, ranges and choices, option by option. A library upgrade that adds, drops or changes
an option fails here."""

from __future__ import annotations

import types
import typing
from collections.abc import Sequence
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import annotated_types
import pytest
from marshmallow import Schema, fields, validate
from pydantic import BaseModel
from qiskit_ibm_runtime.options_models import EstimatorOptions, SamplerOptions

from app.fields_options import LEFT_OUT, NumberOrAuto, NumbersOrAuto, OneOrMany, Refused
from app.schemas_options import EstimatorOptionsSchema, SamplerOptionsSchema

# where the gateway is stricter than the library, on purpose: (path, what differs)
STRICTER = {
    ("max_execution_time", "minimum"): 1,  # a job runs at least a second
    ("default_shots", "minimum"): 1,  # sampler: a PUB has at least one shot
}
GATEWAY_ONLY = {"seed", "optimization_level"}
DEFAULT_FROM_CONFIG = {"default_shots"}  # sampler: GATEWAY_DEFAULT_SHOTS fills a PUB in


def from_library(annotation: Any, bounds: dict[str, Any] | None = None) -> dict[str, Any]:
    """{kind, nullable, choices, minimum, exclusive} of a pydantic field's annotation."""
    bounds = dict(bounds or {})
    origin, args = get_origin(annotation), get_args(annotation)
    if origin is Annotated:
        return from_library(args[0], {**bounds, **bounds_of(annotation.__metadata__)})
    if origin in (Union, types.UnionType):
        parts = [from_library(arg) for arg in args if arg is not type(None)]
        auto = [p for p in parts if p.get("choices") == ("auto",)]
        rest = [p for p in parts if p not in auto]
        found: dict[str, Any] = dict(rest[0]) if len(rest) == 1 else {
            "kind": "|".join(p["kind"] for p in rest), "choices": rest[0].get("choices")}
        if auto:
            found["kind"] += "|auto"
        return {**found, "nullable": type(None) in args}
    if origin is Literal:
        return {"kind": "enum", "choices": tuple(args), **bounds}
    if origin in (list, Sequence, typing.Sequence):
        inner = from_library(args[0])  # the items' bounds and choices are the list's
        return {**inner, **bounds, "kind": f"list[{inner['kind']}]", "item": True}
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return {"kind": "object"}
    return {"kind": annotation.__name__, **bounds}


def bounds_of(metadata: Sequence[Any]) -> dict[str, Any]:
    """A lower bound among pydantic's constraints (`Field(ge=...)` is a FieldInfo of them)."""
    bounds: dict[str, Any] = {}
    for meta in metadata:
        for item in [meta, *getattr(meta, "metadata", [])]:
            if isinstance(item, annotated_types.Ge):
                bounds.update(minimum=item.ge, exclusive=False)
            if isinstance(item, annotated_types.Gt):
                bounds.update(minimum=item.gt, exclusive=True)
    return bounds


def from_schema(field: fields.Field) -> dict[str, Any]:
    """The same, of a marshmallow field of the gateway's."""
    ranges = [v for v in field.validators if isinstance(v, validate.Range)]
    choices = [v for v in field.validators if isinstance(v, validate.OneOf)]
    found: dict[str, Any] = {"nullable": field.allow_none}
    if ranges:
        found.update(minimum=ranges[0].min, exclusive=not ranges[0].min_inclusive)
    if isinstance(field, fields.Nested):
        return {"kind": "object"}
    if isinstance(field, NumberOrAuto):
        return {**found, "kind": ("int" if field.integer else "float") + "|auto",
                "minimum": field.minimum, "exclusive": field.exclusive}
    if isinstance(field, NumbersOrAuto):
        return {**found, "kind": "list[float]|auto", "minimum": field.minimum,
                "exclusive": False, "item": True}
    if isinstance(field, OneOrMany):
        return {**found, "kind": "enum|list[enum]", "choices": tuple(field.choices)}
    if isinstance(field, fields.List):
        return {**found, "kind": f"list[{from_schema(field.inner)['kind']}]", "item": True}
    if choices:
        return {**found, "kind": "enum", "choices": tuple(choices[0].choices)}
    kinds = {fields.Integer: "int", fields.Float: "float", fields.String: "str"}
    kind = next((name for cls, name in kinds.items() if isinstance(field, cls)), "bool")
    return {**found, "kind": kind}


def walk(model: type[BaseModel], schema: Schema, prefix: str = "") -> list[tuple]:
    """(path, library's, gateway's, library default, gateway default) of every option."""
    rows = []
    for name, info in model.model_fields.items():
        path = f"{prefix}{name}"
        field = schema.fields.get(name)
        assert field is not None, f"{path}: the library's option is missing here"
        if path in LEFT_OUT:
            assert isinstance(field, Refused), path
            continue
        assert not isinstance(field, Refused), path
        library = from_library(info.annotation, bounds_of(info.metadata))
        rows.append((path, library, from_schema(field), info.default,
                     field.metadata.get("x-default", "absent")))
        if isinstance(field, fields.Nested):
            rows += walk(typing.cast(type[BaseModel], info.annotation), field.schema, f"{path}.")
    extra = set(schema.fields) - set(model.model_fields) - GATEWAY_ONLY
    assert not extra, f"{prefix}: not the library's: {extra}"
    return rows


def plain(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


@pytest.mark.parametrize(("model", "schema"), [(SamplerOptions, SamplerOptionsSchema()),
                                               (EstimatorOptions, EstimatorOptionsSchema())])
def test_the_options_are_the_librarys(model: type[BaseModel], schema: Schema) -> None:
    rows = walk(model, schema)
    assert len(rows) > 20
    for path, library, gateway, library_default, gateway_default in rows:
        for key, value in STRICTER.items():
            if key[0] == path and library.get(key[1]) is None:
                library = {**library, key[1]: value, "exclusive": False}
        assert gateway["kind"] == library["kind"], (path, library, gateway)
        if gateway["kind"] == "object":
            continue
        assert gateway["nullable"] == library.get("nullable", False), (path, library, gateway)
        assert gateway.get("choices") == library.get("choices"), (path, library, gateway)
        assert (gateway.get("minimum"), gateway.get("exclusive")) == (
            library.get("minimum"), library.get("exclusive")), (path, library, gateway)
        if not (path in DEFAULT_FROM_CONFIG and model is SamplerOptions):
            assert plain(gateway_default) == plain(library_default), path


def test_every_option_is_described() -> None:
    for schema in (SamplerOptionsSchema(), EstimatorOptionsSchema()):
        for path, field in flat(schema):
            assert field.metadata.get("description"), path


def flat(schema: Schema, prefix: str = "") -> list[tuple[str, fields.Field]]:
    found = []
    for name, field in schema.fields.items():
        if isinstance(field, fields.Nested):
            found += flat(field.schema, f"{prefix}{name}.")
        else:
            found.append((f"{prefix}{name}", field))
    return found


def test_the_comparison_sees_a_difference() -> None:
    """The walk would fail on a changed range or a missing option."""
    class Changed(BaseModel):
        level: Annotated[int, annotated_types.Ge(2)] = 1

    class Schema_(Schema):
        level = fields.Integer(validate=validate.Range(min=1), metadata={"default": 1})

    ((_, library, gateway, _, _),) = walk(Changed, Schema_())
    assert library["minimum"] != gateway["minimum"]
    with pytest.raises(AssertionError, match="missing"):
        walk(EstimatorOptions, SamplerOptionsSchema())
