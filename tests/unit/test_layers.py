"""The layers inside a service (docs/conventions.md): dal/ never imports logic/, logic/ does no
I/O (imports no boto3 and no dal/), and no handler builds its own Logger, Tracer or Metrics."""

import ast
from pathlib import Path

import pytest

FUNCTIONS = Path(__file__).resolve().parents[2] / "functions"
SERVICES = sorted(path.parent.name for path in FUNCTIONS.glob("*/__init__.py"))


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    modules: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            modules.add(node.module)
        elif isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
    return modules


def layer_files(service: str, layer: str) -> list[Path]:
    return sorted((FUNCTIONS / service / layer).glob("*.py"))


@pytest.mark.parametrize("service", SERVICES)
def test_dal_never_imports_logic(service: str) -> None:
    for path in layer_files(service, "dal"):
        offending = {m for m in imported_modules(path) if m.startswith(f"{service}.logic")}
        assert not offending, f"{path.relative_to(FUNCTIONS)} imports {offending}"


@pytest.mark.parametrize("service", SERVICES)
def test_logic_does_no_io(service: str) -> None:
    for path in layer_files(service, "logic"):
        offending = {
            m
            for m in imported_modules(path)
            if m.split(".")[0] in {"boto3", "botocore"} or m.startswith(f"{service}.dal")
        }
        assert not offending, f"{path.relative_to(FUNCTIONS)} imports {offending}"


def test_handlers_take_observability_from_the_shared_kernel() -> None:
    for path in sorted(FUNCTIONS.glob("*/handlers/*.py")):
        source = path.read_text()
        for constructor in ("Logger(", "Tracer(", "Metrics("):
            assert constructor not in source, f"{path.relative_to(FUNCTIONS)} builds {constructor}"
