"""`make lint`: openapi-generator (the jar in the openapi-generator-cli wheel) makes a client in
each language given from the spec without a single warning."""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path


def warnings_of(spec: str, language: str, out: Path) -> list[str]:
    generator = Path(sys.executable).parent / "openapi-generator-cli"
    done = subprocess.run([str(generator), "generate", "-i", spec, "-g", language,
                           "-o", str(out / language)], capture_output=True, text=True)
    lines = (done.stdout + done.stderr).splitlines()
    if done.returncode != 0:
        return lines
    return [line for line in lines if " WARN " in line or " ERROR " in line]


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
