"""The tree's promises: `app` -> `core` <- `workers`, an API process without simulators, and
every domain error mapped to HTTP once."""

from __future__ import annotations

import ast
import subprocess
import sys

from tests.conftest import ROOT


def imported_packages(package: str) -> dict[str, set[str]]:
    """For each module of `package`, the top-level packages it imports (inside functions too)."""
    found: dict[str, set[str]] = {}
    for path in sorted((ROOT / package).rglob("*.py")):
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names.add(node.module.split(".")[0])
        found[str(path.relative_to(ROOT))] = names
    return found


def test_core_imports_neither_the_http_side_nor_the_workers() -> None:
    offenders = {path: names & {"app", "workers", "flask"}
                 for path, names in imported_packages("core").items()
                 if names & {"app", "workers", "flask"}}
    assert not offenders


def test_the_http_side_imports_no_worker_code() -> None:
    offenders = [path for path, names in imported_packages("app").items() if "workers" in names]
    assert not offenders


def test_the_workers_import_no_flask() -> None:
    offenders = [path for path, names in imported_packages("workers").items()
                 if names & {"flask", "app"}]
    assert not offenders


def test_building_the_api_imports_no_simulator(redis_url: str) -> None:
    probe = ("import sys\nfrom app import create_app\ncreate_app()\n"
             "print(sorted(m for m in ('qiskit_aer', 'qiskit_ibm_runtime', 'workers') "
             "if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True,
                          text=True, timeout=60, env={"REDIS_URL": redis_url, "PATH": "/usr/bin"})
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_every_domain_error_has_its_problem_type() -> None:
    from app import errors as http_errors
    from core import errors

    def subclasses(cls: type) -> set[type]:
        return {cls} | {s for c in cls.__subclasses__() for s in subclasses(c)}

    unmapped = subclasses(errors.GatewayError) - {errors.GatewayError} - set(http_errors.PROBLEMS)
    assert not unmapped
