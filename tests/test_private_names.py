"""No module, test or benchmark reads another module's private names.

A name with a leading underscore belongs to the module (or class) that defines it. This reads
every Python file of the project and reports, with file and line:

* ``from module import _name`` of anything but a submodule, and outside the package any import
  of a private module of ours (``otel_internal_events._state``, ``...exporters._snowplow``);
* ``module._name`` on a module the file imported;
* ``obj._name`` and ``getattr(obj, "_name")`` where no ``_name`` is defined in the same file
  (by assignment, ``def``, ``class`` or ``__slots__``): a private attribute of someone else's
  object, ours or a library's (the OpenTelemetry SDK's included).
"""

from __future__ import annotations

import ast
import importlib.util
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = "otel_internal_events"
SOURCE = ROOT / "src" / PACKAGE
#: Private names read on purpose, each with its reason.
ALLOWED = {
    # OpenTelemetry's exporters keep their own export calls from being instrumented with this
    # key; the API offers no public name for it (opentelemetry-instrumentation re-uses it too).
    ("opentelemetry.context", "_SUPPRESS_INSTRUMENTATION_KEY"),
}
#: Underscore names that are public API where they live.
PUBLIC_UNDERSCORE = frozenset(
    {
        "_exit",  # os._exit
        "_getframe",  # sys._getframe
        "_asdict",  # namedtuple API
        "_replace",
        "_fields",
        "_make",
        "_value_",  # enum API
        "_missing_",
    }
)


def python_files() -> list[Path]:
    roots = [SOURCE, ROOT / "tests", ROOT / "benchmarks"]
    files = [path for root in roots for path in sorted(root.rglob("*.py"))]
    return [*files, ROOT / "tasks.py"]


def is_private(name: str) -> bool:
    return (
        name.startswith("_") and not (name.startswith("__") and name.endswith("__")) and name not in PUBLIC_UNDERSCORE
    )


def module_of(path: Path) -> str | None:
    """The dotted name of a file of the package, else None."""
    if SOURCE not in path.parents:
        return None
    parts = path.relative_to(SOURCE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def resolve(path: Path, node: ast.ImportFrom) -> str:
    """The absolute module an ``ImportFrom`` imports from."""
    if not node.level:
        return node.module or ""
    own = module_of(path)
    if own is None:  # a test package's own helper modules
        return ""
    package = own.split(".") if path.name == "__init__.py" else own.split(".")[:-1]
    base = package[: len(package) - node.level + 1]
    return ".".join([*base, node.module] if node.module else base)


def is_module(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def defined_private_names(tree: ast.AST) -> set[str]:
    """The private names a file defines: attributes it assigns, functions, classes, slots."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
            names.add(node.attr)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
        elif isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "__slots__" for t in node.targets
        ):
            names.update(
                c.value for c in ast.walk(node.value) if isinstance(c, ast.Constant) and isinstance(c.value, str)
            )
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "setattr":
            if len(node.args) >= 2 and isinstance(node.args[1], ast.Constant) and isinstance(node.args[1].value, str):
                names.add(node.args[1].value)
        elif isinstance(node, ast.alias):
            names.add((node.asname or node.name).split(".")[0])
    return {name for name in names if is_private(name)}


def violations(path: Path) -> Iterator[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    inside = module_of(path) is not None
    own = defined_private_names(tree)
    imported_modules: set[str] = set()
    where = path.relative_to(ROOT) if ROOT in path.parents else path.name
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                imported_modules.add(alias.asname or alias.name.split(".")[0])
                if not inside and alias.name.startswith(PACKAGE) and any(map(is_private, alias.name.split("."))):
                    yield f"{where}:{node.lineno}: imports the private module {alias.name}"
        elif isinstance(node, ast.ImportFrom):
            source = resolve(path, node)
            if not inside and source.startswith(PACKAGE) and any(map(is_private, source.split("."))):
                yield f"{where}:{node.lineno}: imports from the private module {source}"
                continue
            for alias in node.names:
                submodule = is_module(f"{source}.{alias.name}")
                if submodule:
                    imported_modules.add(alias.asname or alias.name)
                if (source, alias.name) in ALLOWED:
                    continue
                if is_private(alias.name) and (not submodule or not inside):
                    yield f"{where}:{node.lineno}: imports the private name {alias.name} from {source}"
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and is_private(node.attr):
            target = node.value
            if isinstance(target, ast.Name) and target.id in ("self", "cls"):
                continue
            if isinstance(target, ast.Name) and target.id in imported_modules:
                yield f"{where}:{node.lineno}: reads {target.id}.{node.attr}, a private name of another module"
            elif node.attr not in own:
                yield f"{where}:{node.lineno}: reads .{node.attr}, a private attribute defined elsewhere"
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in ("getattr", "setattr", "hasattr", "delattr")
            and len(node.args) >= 2
            and isinstance(node.args[1], ast.Constant)
            and isinstance(node.args[1].value, str)
            and is_private(node.args[1].value)
            and node.args[1].value not in own
        ):
            name = node.args[1].value
            yield f"{where}:{node.lineno}: {node.func.id}(..., {name!r}), a private name defined elsewhere"


def test_the_check_sees_private_reads(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        "import otel_internal_events._state\n"
        "from otel_internal_events import _state\n"
        "from otel_internal_events.config import _paths\n"
        "import os\n"
        "os._exit\n"
        "os._Environ\n"
        "record.attributes._items\n"
        "getattr(server, '_cleanup')\n"
        "class Own:\n"
        "    def __init__(self):\n"
        "        self._mine = 1\n"
        "    def peek(self, other):\n"
        "        return other._mine\n"
    )
    found = list(violations(sample))
    lines = [int(line.split(":")[1]) for line in found]
    assert lines == [1, 2, 3, 6, 7, 8], found


@pytest.mark.parametrize("path", python_files(), ids=lambda path: str(path.relative_to(ROOT)))
def test_no_private_name_of_another_module_is_read(path: Path) -> None:
    assert list(violations(path)) == []
