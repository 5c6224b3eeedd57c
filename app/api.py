"""flask-smorest, set up for this API: problem+json errors in the spec, strict query strings,
one named `JobStatus`, the event payloads as schemas, and ETags on reads."""

from __future__ import annotations

import http
from collections.abc import Callable
from copy import deepcopy
from functools import wraps
from typing import Any

import flask
from flask import Response, current_app, request
from flask_smorest import Api, Blueprint
from flask_smorest.utils import prepare_response
from marshmallow import RAISE, fields
from webargs import core
from webargs.flaskparser import FlaskParser, is_json_request

from app.errors import PROBLEM_JSON
from app.json_guard import load_json
from app.schemas import STATUSES, ProblemSchema, Status
from app.schemas_options import EstimatorOptionsSchema, SamplerOptionsSchema
from app.schemas_results import EVENT_DATA_SCHEMAS, RESULT_SCHEMAS, SAMPLER_PUB_DATA, ref
from app.schemas_webhooks import TestEventDataSchema

View = Callable[..., Any]


class StrictParser(FlaskParser):
    """Unknown query parameters are refused (422), like unknown body fields; bodies are read
    by `app/json_guard.py` (no NaN, no lone surrogates, no deeper than the limit), whose
    refusals go to `app/errors.py` as they are (they say where the JSON breaks)."""

    DEFAULT_UNKNOWN_BY_LOCATION = {**FlaskParser.DEFAULT_UNKNOWN_BY_LOCATION,
                                   "query": RAISE, "querystring": RAISE}

    def _raw_load_json(self, req: flask.Request) -> Any:
        if not is_json_request(req):
            return core.missing
        depth = current_app.extensions["gateway"].config.MAX_JSON_DEPTH
        return load_json(req.get_data(cache=True), depth)


class GatewayBlueprint(Blueprint):
    ARGUMENTS_PARSER = StrictParser()

    def arguments(self, schema: Any, *args: Any, **kwargs: Any) -> Callable[[View], View]:
        """A schema class is made once, here: webargs would make one, and its nested schemas,
        on every request, a visible part of a submission's CPU."""
        return super().arguments(schema() if isinstance(schema, type) else schema, *args,
                                 **kwargs)


class GatewayApi(Api):
    """flask-smorest's Api, documenting every error response as problem+json."""

    ERROR_SCHEMA = ProblemSchema

    def _register_responses(self) -> None:
        # first: flask-smorest converts the problem schema right here
        self.ma_plugin.converter.add_attribute_function(status_reference)
        self.ma_plugin.converter.add_attribute_function(own_description)
        self.spec.components.response("NOT_MODIFIED", {"description": "Not modified: "
                                      "If-None-Match names the current ETag"}, lazy=True)
        for status in http.HTTPStatus:
            if status >= 400:
                response = {"description": status.phrase, "schema": ProblemSchema}
                prepare_response(response, self.spec, PROBLEM_JSON)
                self.spec.components.response(status.name, response, lazy=True)
        response = {"description": "Any other problem (e.g. 503 while Redis is unreachable)",
                    "schema": ProblemSchema}
        prepare_response(response, self.spec, PROBLEM_JSON)
        self.spec.components.response("DEFAULT_ERROR", response, lazy=True)

    def _register_pagination_header(self) -> None:
        """Not used: paging is by cursor (`next_cursor` and a `Link` header)."""

    def describe(self) -> None:
        """What the views' decorators cannot say: auth schemes, named schemas, statuses."""
        spec = self.spec
        spec.components.security_scheme("bearerAuth", {"type": "http", "scheme": "bearer"})
        spec.components.security_scheme("streamToken", {"type": "apiKey", "in": "query",
                                                        "name": "token"})
        spec.components.schema("JobStatus", {
            "type": "string", "enum": STATUSES,
            "description": "as qiskit_ibm_runtime's; DONE, ERROR and CANCELLED are final"})
        spec.components.schema("SamplerPubData", SAMPLER_PUB_DATA)
        for name, schema in {**RESULT_SCHEMAS, **EVENT_DATA_SCHEMAS}.items():
            spec.components.schema(name, schema=schema)
        spec.components.schema("TestEventData", schema=TestEventDataSchema)
        spec.components.schema("SamplerOptions", schema=SamplerOptionsSchema)
        spec.components.schema("EstimatorOptions", schema=EstimatorOptionsSchema)


def status_reference(converter: Any, field: fields.Field, **kwargs: Any) -> dict[str, Any]:
    """A `Status` field is the `JobStatus` schema, written once and referenced everywhere."""
    return ref("JobStatus") if isinstance(field, Status) else {}


def own_description(converter: Any, field: fields.Field, **kwargs: Any) -> dict[str, Any]:
    """A field marshmallow has no type for says how OpenAPI describes it (`openapi`)."""
    return dict(getattr(field, "openapi", {}))


def problems(blueprint: Blueprint, *statuses: int) -> Callable[[View], View]:
    """Document that a view answers these problem+json statuses (an authenticated one may also
    answer 429: a rate, a quota, or a burst of wrong keys)."""
    if 401 in statuses:
        statuses = (*statuses, 429)

    def decorate(view: View) -> View:
        for status in statuses:
            view = blueprint.alt_response(status, response=http.HTTPStatus(status).name)(view)
        return view

    return decorate




def conditional(view: View) -> View:
    """An ETag on a read, and 304 without a body when If-None-Match names it: a poller pays for
    one Redis read and a few bytes. Goes above the `response` decorator (it needs a Response)."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        response: Response = view(*args, **kwargs)
        if response.status_code == 200:
            response.add_etag()
            response.make_conditional(request)
        return response

    # documented as flask-smorest documents its own ETags: If-None-Match, 304, an ETag header
    wrapper._apidoc = {**deepcopy(getattr(view, "_apidoc", {})), "etag": True}  # type: ignore[attr-defined]
    return wrapper
