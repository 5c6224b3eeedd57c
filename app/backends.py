"""/v1/backends: what jobs can run on: local simulators, and IBM Quantum devices if configured."""

from __future__ import annotations

from typing import Any

from app.api import GatewayBlueprint, problems
from app.auth import auth_required
from app.gateway import gateway
from app.schemas import (
    BackendConfigurationSchema,
    BackendListSchema,
    BackendPropertiesSchema,
    BackendSchema,
)
from app.services import backends as service
from app.services.limits import backend_with_limits

backends = GatewayBlueprint("backends", __name__, url_prefix="/v1/backends", description="Backends")


@backends.get("")
@auth_required
@backends.doc(operationId="listBackends")
@backends.response(200, BackendListSchema)
@problems(backends, 401)
def list_backends() -> Any:
    """List the backends"""
    return {"backends": service.backends(gateway())}


@backends.get("/<name>")
@auth_required
@backends.doc(operationId="getBackend")
@backends.response(200, BackendSchema)
@problems(backends, 401, 404)
def get_backend(name: str) -> Any:
    """Read a backend, with the limits that apply to jobs on it"""
    return backend_with_limits(gateway(), name)


@backends.get("/<name>/properties")
@auth_required
@backends.doc(operationId="getBackendProperties")
@backends.response(200, BackendPropertiesSchema)
@problems(backends, 401, 404)
def get_properties(name: str) -> Any:
    """A backend's properties"""
    return {"backend": name, "properties": service.backend_document(gateway(), name, "properties")}


@backends.get("/<name>/configuration")
@auth_required
@backends.doc(operationId="getBackendConfiguration")
@backends.response(200, BackendConfigurationSchema)
@problems(backends, 401, 404)
def get_configuration(name: str) -> Any:
    """A backend's configuration"""
    return {"backend": name,
            "configuration": service.backend_document(gateway(), name, "configuration")}
