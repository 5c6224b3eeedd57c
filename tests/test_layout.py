"""The tree's promises: `app` -> `core` <- `workers` with no import cycle between any two
modules, one module that changes a job's status, Redis keys built only in `core/store` and
passed to every script that touches them, tasks named by paths that exist, an API process
without simulators, and every domain error mapped to HTTP once."""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
from pathlib import Path

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


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path, known: set[str]) -> set[str]:
    """The gateway's modules `path` imports, inside functions too; `TYPE_CHECKING` blocks
    aside. `from a import b` imports `a.b` when that is a module, else `a`."""
    name, found = module_name(path), set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            return
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                package = name.split(".")[:len(name.split(".")) - node.level
                                           + (path.name == "__init__.py")]
                base = ".".join([*package, *([node.module] if node.module else [])])
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(path.read_text()))
    return {module for module in found if module in known and module != name}


def import_graph() -> dict[str, set[str]]:
    paths = [path for package in ("app", "core", "workers")
             for path in sorted((ROOT / package).rglob("*.py"))]
    known = {module_name(path) for path in paths}
    return {module_name(path): imported_modules(path, known) for path in paths}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def connect(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        for other in sorted(graph[module]):
            if other not in index:
                connect(other)
                low[module] = min(low[module], low[other])
            elif other in stack:
                low[module] = min(low[module], index[other])
        if low[module] == index[module]:
            component = []
            while True:
                other = stack.pop()
                component.append(other)
                if other == module:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for module in sorted(graph):
        if module not in index:
            connect(module)
    return found


def test_no_two_modules_import_each_other() -> None:
    graph = import_graph()
    assert len(graph) > 80 and graph["workers.dispatch"] >= {"workers.run"}  # it sees them
    assert not cycles(graph)


def test_the_cycle_check_finds_a_cycle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_only_the_transitions_change_a_jobs_status() -> None:
    callers = {str(path.relative_to(ROOT)) for package in ("app", "core", "workers")
               for path in (ROOT / package).rglob("*.py")
               if ".transition(" in path.read_text()}
    assert callers == {"core/transitions.py"}


def lua_scripts() -> dict[str, str]:
    """Every Lua script of the store: the files in `lua/`, and the ones inline in a module."""
    scripts = {str(path.relative_to(ROOT)): path.read_text()
               for path in (ROOT / "core/store/lua").glob("*.lua")}
    for path in (ROOT / "core/store").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant) \
                    and isinstance(node.value.value, str) and "redis.call" in node.value.value:
                name = ast.unparse(node.targets[0])
                scripts[f"{path.relative_to(ROOT)}:{name}"] = node.value.value
    return scripts


def builds_a_name(script: str) -> bool:
    """Lua builds a string with `..`, `string.format` or `table.concat` (comments aside): the
    only ways a script could spell a key it was not given."""
    code = "\n".join(line.split("--", 1)[0] for line in script.splitlines())
    return any(way in code for way in ("..", "string.format", "table.concat", "string.rep"))


def test_every_script_is_given_every_key_it_touches() -> None:
    scripts = lua_scripts()
    assert {"core/store/lua/dispatch.lua", "core/store/dispatch.py:_POSITION"} <= set(scripts)
    assert [name for name, script in scripts.items() if builds_a_name(script)] == []
    assert builds_a_name("redis.call('ZADD', ARGV[2] .. tenant, 0, id)  -- a key built here")


def test_only_the_store_spells_a_key() -> None:
    """A key is spelled by its family's builder in `core/store/`, never elsewhere."""
    spelled = [f"{path.relative_to(ROOT)}:{number}"
               for package in ("app", "core", "workers", "scripts")
               for path in (ROOT / package).rglob("*.py") if "core/store" not in str(path)
               for number, line in enumerate(path.read_text().splitlines(), 1)
               if "prefix}:" in line or "PREFIX}:" in line]
    assert spelled == []


def test_the_tasks_named_by_path_exist() -> None:
    """RQ runs tasks by dotted path (the API imports no worker code to name them)."""
    from core.ibm.context import ADVANCE, REFRESH
    from core.queueing import TASK

    for path in (TASK, ADVANCE, REFRESH):
        module, function = path.rsplit(".", 1)
        assert callable(getattr(importlib.import_module(module), function)), path


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
