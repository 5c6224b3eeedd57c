"""/console: the browser console, static files shipped in app/static/console (no build step);
`/` redirects there.

Registered on the Flask app, not on the API, so it stays out of the OpenAPI document (it is a
page, not part of the HTTP contract). Its Content-Security-Policy lets the page talk to this
gateway only: no script, style, font, image or connection can come from anywhere else."""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, Response, redirect, send_from_directory
from werkzeug.wrappers import Response as BaseResponse

STATIC = Path(__file__).resolve().parent / "static" / "console"
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
       "form-action 'self'; frame-ancestors 'none'")
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}

console = Blueprint("console", __name__, static_folder=STATIC, static_url_path="/console")


@console.get("/console")
@console.get("/console/")
def index() -> Response:
    """The console's one page; its views are chosen by the URL's #fragment."""
    response = send_from_directory(STATIC, "index.html", max_age=0)
    response.cache_control.no_cache = True  # a new release is seen at once
    return response


@console.get("/")
def root() -> BaseResponse:
    """The gateway's address opens the console (302: the root may serve more one day)."""
    return redirect("/console", 302)


@console.after_request
def _secure(response: Response) -> Response:
    response.headers.update(HEADERS)
    return response
