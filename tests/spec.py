"""Documents checked against a schema of the committed openapi.yaml, as a generated client
reads them: a test shows that what the gateway sends fits the types it publishes."""

from __future__ import annotations

import functools
from typing import Any

import jsonschema_rs
import yaml

from tests.conftest import ROOT


def assert_fits(document: Any, schema_name: str) -> None:
    schema = {"$ref": f"#/components/schemas/{schema_name}",
              "components": {"schemas": _schemas()}}
    errors = [error.message for error in
              jsonschema_rs.Draft7Validator(schema).iter_errors(document)]
    assert not errors, errors


@functools.cache
def _schemas() -> dict[str, Any]:
    spec = yaml.safe_load((ROOT / "openapi.yaml").read_text())
    return _as_json_schema(spec["components"]["schemas"])


def _as_json_schema(node: Any) -> Any:
    """OpenAPI 3.0's `nullable: true` as JSON Schema says it: `null` among the types."""
    if isinstance(node, list):
        return [_as_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    converted = {key: _as_json_schema(value) for key, value in node.items() if key != "nullable"}
    if node.get("nullable"):
        converted["type"] = [node["type"], "null"]
    return converted
