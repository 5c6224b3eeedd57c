"""The HTTP side of the gateway: `create_app()` builds the Flask application."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from types import FunctionType
from typing import Any

from flask import Flask, Response, g, request
from flask_cors import CORS
from werkzeug.middleware.proxy_fix import ProxyFix

from app import observability
from app.errors import UnsupportedMediaType, UriTooLong
from core import logs, metrics
from core.config import Config
from core.store.health import check_redis
from core.tracing import Tracing

REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
BODY_METHODS = {"POST", "PUT", "PATCH"}
MAX_URL_BYTES = 32 * 1024
FORM_PATHS = {"/ibm/identity/token"}  # IAM's token exchange is a form, as IBM Cloud's is


class GatewayFlask(Flask):
    """Flask, with `ensure_sync`'s inspection of a plain function made once: Flask asks it of
    every hook and view at every request (a dozen inspections a status read)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._ensured: dict[Callable[..., Any], Callable[..., Any]] = {}

    def ensure_sync(self, func: Callable[..., Any]) -> Callable[..., Any]:
        if not isinstance(func, FunctionType):  # a bound method is new at each request
            return super().ensure_sync(func)
        found = self._ensured.get(func)
        if found is None:
            found = self._ensured[func] = super().ensure_sync(func)
        return found


def create_app(config: Config | None = None) -> Flask:
    from app import errors
    from app.api import GatewayApi
    from app.backends import backends
    from app.cli import register_cli
    from app.console import console
    from app.docs import ASSETS_URL, docs_assets
    from app.events import events
    from app.facade.routes import ibm
    from app.gateway import SERVICE, Gateway
    from app.jobs import JobIdConverter, jobs
    from app.ops import ops
    from app.sessions import sessions
    from app.webhooks import EndpointIdConverter, webhooks

    config = config or Config()
    # app/static is the console's, served with its CSP
    app = GatewayFlask(__name__, static_folder=None)
    app.config.update(flask_settings(config, ASSETS_URL))
    tracing = Tracing.start(config, SERVICE)
    logs.configure(config, observability.log_fields, tracing.log_fields)
    metrics.configure(config)
    api = GatewayApi(app)
    app.url_map.converters["job_id"] = JobIdConverter
    app.url_map.converters["endpoint_id"] = EndpointIdConverter
    for converter in (JobIdConverter, EndpointIdConverter):
        api.register_converter(converter, lambda _converter: {"type": "string", "minLength": 1})
    app.extensions["gateway_api"] = api
    api.describe()
    for blueprint in (jobs, events, backends, webhooks, sessions, ops, ibm):
        api.register_blueprint(blueprint)
    app.register_blueprint(console)  # a page, not part of the API: kept out of openapi.yaml
    app.register_blueprint(docs_assets)
    errors.init_app(app)
    if config.CORS_ORIGINS:
        CORS(app, origins=config.CORS_ORIGINS, expose_headers=["Location", "X-Request-ID"])
    app.extensions["gateway"] = gw = Gateway.from_config(config, tracing)
    check_redis(gw.store.redis, gw.store.durable.replicas)
    observability.init_app(app, tracing)  # first: a request refused by `_before` counts too
    app.before_request(_before)
    app.after_request(_after)
    register_cli(app)
    if config.TRUSTED_PROXIES > 0:  # the client's address and scheme, as the proxies saw them
        n = config.TRUSTED_PROXIES
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n)  # type: ignore[method-assign]
    return app


def flask_settings(config: Config, docs_assets_url: str) -> dict[str, Any]:
    return {
        "MAX_CONTENT_LENGTH": config.MAX_BODY_BYTES,
        "API_TITLE": "Quantum Jobs Gateway",
        "API_VERSION": "1.0.0",
        "OPENAPI_VERSION": "3.0.3",  # what every client generator supports fully
        "OPENAPI_URL_PREFIX": "/",
        "OPENAPI_JSON_PATH": "openapi.json",
        "OPENAPI_SWAGGER_UI_PATH": "/docs",
        "OPENAPI_SWAGGER_UI_URL": docs_assets_url,
        "OPENAPI_SWAGGER_UI_CONFIG": {"validatorUrl": None},  # no badge from an outside host
        "API_SPEC_OPTIONS": {
            "security": [{"bearerAuth": []}],
            "servers": [{"url": "/", "description": "the gateway serving this document"},
                        {"url": "{origin}", "description": "a gateway elsewhere",
                         "variables": {"origin": {"default": "http://localhost:8000",
                                                  "description": "`make run` listens here"}}}],
            "info": {"description": "Everything qiskit_ibm_runtime.RuntimeJob offers, over HTTP. "
                                    "Errors are RFC 9457 application/problem+json."},
        },
    }


def _before() -> None:
    sent = request.headers.get("X-Request-ID", "")
    g.request_id = sent if REQUEST_ID.match(sent) else uuid.uuid4().hex
    if len(request.full_path) > MAX_URL_BYTES:
        raise UriTooLong(f"The URL is over {MAX_URL_BYTES} bytes.")
    if request.method in BODY_METHODS and (request.content_length or request.headers.get(
            "Transfer-Encoding")) and not request.is_json and request.path not in FORM_PATHS:
        sent = f"'{request.mimetype}'" if request.mimetype else "no content type"
        raise UnsupportedMediaType(f"Send JSON with 'Content-Type: application/json', not "
                                   f"{sent}.")


def _after(response: Response) -> Response:
    response.headers["X-Request-ID"] = g.get("request_id") or uuid.uuid4().hex
    return response
