"""/v1/backends: what jobs can run on."""

from __future__ import annotations

from typing import Any

from app.api import GatewayBlueprint, problems
from app.auth import auth_required
from app.schemas import BackendListSchema, BackendPropertiesSchema, BackendSchema
from workers import catalog

backends = GatewayBlueprint("backends", __name__, url_prefix="/v1/backends", description="Backends")


@backends.get("")
@auth_required
@backends.response(200, BackendListSchema)
@problems(backends, 401)
def list_backends() -> Any:
    """List the backends"""
    return {"backends": list(catalog.local_backends().values())}


@backends.get("/<name>")
@auth_required
@backends.response(200, BackendSchema)
@problems(backends, 401, 404)
def get_backend(name: str) -> Any:
    """Read a backend"""
    return catalog.backend_summary(name)


@backends.get("/<name>/properties")
@auth_required
@backends.response(200, BackendPropertiesSchema)
@problems(backends, 401, 404)
def get_properties(name: str) -> Any:
    """A backend's properties"""
    return {"backend": name, "properties": catalog.backend_properties(name)}
