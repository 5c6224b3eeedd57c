"""flask-smorest, set up for this API: problem+json errors in the spec, strict query strings."""

from __future__ import annotations

import http
from collections.abc import Callable
from typing import Any

import flask
from flask import current_app
from flask_smorest import Api, Blueprint
from flask_smorest.utils import prepare_response
from marshmallow import RAISE
from webargs import core
from webargs.flaskparser import FlaskParser, abort, is_json_request

from app.errors import PROBLEM_JSON
from app.json_guard import MalformedJson, load_json
from app.schemas import ProblemSchema


class StrictParser(FlaskParser):
    """Unknown query parameters are refused (422), like unknown body fields; bodies are read
    by `app/json_guard.py` (no NaN, no lone surrogates, no deeper than the limit)."""

    DEFAULT_UNKNOWN_BY_LOCATION = {**FlaskParser.DEFAULT_UNKNOWN_BY_LOCATION,
                                   "query": RAISE, "querystring": RAISE}

    def _raw_load_json(self, req: flask.Request) -> Any:
        if not is_json_request(req):
            return core.missing
        depth = current_app.extensions["gateway"].config.MAX_JSON_DEPTH
        try:
            return load_json(req.get_data(cache=True), depth)
        except MalformedJson as exc:
            abort(400, exc=exc, messages={"json": [str(exc)]})


class GatewayBlueprint(Blueprint):
    ARGUMENTS_PARSER = StrictParser()


class GatewayApi(Api):
    """flask-smorest's Api, documenting every error response as problem+json."""

    ERROR_SCHEMA = ProblemSchema

    def _register_responses(self) -> None:
        for status in http.HTTPStatus:
            if status >= 400:
                response = {"description": status.phrase, "schema": ProblemSchema}
                prepare_response(response, self.spec, PROBLEM_JSON)
                self.spec.components.response(status.name, response, lazy=True)
        response = {"description": "Any other problem (e.g. 503 while Redis is unreachable)",
                    "schema": ProblemSchema}
        prepare_response(response, self.spec, PROBLEM_JSON)
        self.spec.components.response("DEFAULT_ERROR", response, lazy=True)


View = Callable[..., Any]


def problems(blueprint: Blueprint, *statuses: int) -> Callable[[View], View]:
    """Document that a view answers these problem+json statuses."""

    def decorate(view: View) -> View:
        for status in statuses:
            view = blueprint.alt_response(status, response=http.HTTPStatus(status).name)(view)
        return view

    return decorate
