"""The assets of the /docs page (Swagger UI), served by the gateway itself from a pinned package
(swagger-ui-bundle-v2), so that the page works offline: it asks no other host for anything."""

from __future__ import annotations

from flask import Blueprint, Response, send_from_directory
from swagger_ui_bundle import swagger_ui_path
from werkzeug.exceptions import NotFound

ASSETS_URL = "/docs/assets/"
ASSETS = {"swagger-ui.css", "swagger-ui-bundle.js", "swagger-ui-standalone-preset.js"}

docs_assets = Blueprint("docs_assets", __name__)


@docs_assets.get(f"{ASSETS_URL}<name>")
def asset(name: str) -> Response:
    """One of the few files the page loads; anything else in the package stays unserved."""
    if name not in ASSETS:
        raise NotFound()
    return send_from_directory(str(swagger_ui_path), name, max_age=86400)
