"""Write the OpenAPI document generated from the code (`make openapi`)."""

from __future__ import annotations

import sys
from pathlib import Path

from app import create_app


def generate() -> str:
    """The document, from an app that needs no reachable Redis to describe itself."""
    return str(create_app().extensions["gateway_api"].spec.to_yaml())


if __name__ == "__main__":
    Path(sys.argv[1] if len(sys.argv) > 1 else "openapi.yaml").write_text(generate())
