"""`make lint`: openapi-generator (the jar in the openapi-generator-cli wheel) makes a client in
each language given from the spec without a single warning, but the ones accepted below."""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

# Java's generator leaves an object example of a request body out of its generated docs, on
# purpose (openapi-generator PR 8887: it would not be valid Java), and says so. The examples are
# for readers of openapi.yaml (every request body has them: tests/test_examples.py); the client
# it generates is the same with or without them.
#
# The runtime options take the library's own unions, a number or "auto" (e.g.
# `twirling.num_randomizations`): a `oneOf` of a primitive and a string enum. Go's generator
# names the wrapper's members after their types and, `int32`, `float32` and `string` being
# reserved words, renames them `model_int32`, ... and says so; the wrapper type is the same.
ACCEPTED = ("Ignoring complex example on request body",
            "(reserved word) cannot be used as model name")


def warnings_of(spec: str, language: str, out: Path) -> list[str]:
    generator = Path(sys.executable).parent / "openapi-generator-cli"
    done = subprocess.run([str(generator), "generate", "-i", spec, "-g", language,
                           "-o", str(out / language)], capture_output=True, text=True)
    lines = (done.stdout + done.stderr).splitlines()
    if done.returncode != 0:
        return lines
    return [line for line in lines if (" WARN " in line or " ERROR " in line)
            and not any(accepted in line for accepted in ACCEPTED)]


def main(spec: str, *languages: str) -> int:
    failed = False
    with tempfile.TemporaryDirectory() as out:
        for language in languages:
            found = warnings_of(spec, language, Path(out))
            print(f"openapi-generator {language}: {len(found)} warnings")
            if found:
                print("\n".join(found))
            failed = failed or bool(found)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
