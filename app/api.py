"""flask-smorest, set up for this API: problem+json errors in the spec, strict query strings."""

from __future__ import annotations

import http
from collections.abc import Callable
from typing import Any

from flask_smorest import Api, Blueprint
from flask_smorest.utils import prepare_response
from marshmallow import RAISE
from webargs.flaskparser import FlaskParser

from app.errors import PROBLEM_JSON
from app.schemas import ProblemSchema


class StrictParser(FlaskParser):
    """Unknown query parameters are refused (422), like unknown body fields."""

    DEFAULT_UNKNOWN_BY_LOCATION = {**FlaskParser.DEFAULT_UNKNOWN_BY_LOCATION,
                                   "query": RAISE, "querystring": RAISE}


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
    """Document that a view answers these problem+json statuses (an authenticated one may also
    answer 429: a rate, a quota, or a burst of wrong keys)."""
    if 401 in statuses:
        statuses = (*statuses, 429)

    def decorate(view: View) -> View:
        for status in statuses:
            view = blueprint.alt_response(status, response=http.HTTPStatus(status).name)(view)
        return view

    return decorate
