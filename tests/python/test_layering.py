"""The packages' layering, as the README's layout table states it, read from the source: a
forbidden import fails here with the file and line that makes it.

vcl is the core; oracle and node_api build on it alone; localnet runs them; vcl_cli is the
command line over all of them; benchmarks measure them and nothing at runtime imports them.
Inside node_api, the HTTP layer (node_api/api) sits on top: nothing below it imports it. No
module imports another module's private name.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

from vcl.localchain import REPO_ROOT

PACKAGES = ("vcl", "oracle", "node_api", "localnet", "vcl_cli", "benchmarks")
# What each package may import of the others (itself always).
ALLOWED: dict[str, set[str]] = {
    "vcl": set(),
    "oracle": {"vcl"},
    "node_api": {"vcl"},
    "localnet": {"vcl", "oracle", "node_api"},
    "vcl_cli": {"vcl", "oracle", "node_api", "localnet"},
    "benchmarks": {"vcl", "oracle", "node_api", "localnet"},
}
# The node API's entry points: they assemble the HTTP layer, so they may import it.
NODE_API_ENTRY_POINTS = {"app.py", "serve.py", "__main__.py"}
# Imports the issue 16 projections remove (the score history recomputes contributions with
# the oracle's code): each entry is a file whose import of `oracle` is still tolerated.
KNOWN_EXCEPTIONS: set[tuple[str, str]] = {("node_api/conditions.py", "oracle")}


def imports(path: Path) -> Iterator[tuple[int, str, list[str]]]:
    """(line, imported module, names imported from it) of every absolute import."""
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name, []
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.lineno, node.module, [alias.name for alias in node.names]


def sources(package: str) -> list[Path]:
    return sorted((REPO_ROOT / package).rglob("*.py"))


def test_each_package_imports_only_the_layers_below_it() -> None:
    wrong = []
    for package in PACKAGES:
        for path in sources(package):
            shown = str(path.relative_to(REPO_ROOT))
            for line, module, _ in imports(path):
                top = module.split(".")[0]
                if top not in PACKAGES or top == package or top in ALLOWED[package]:
                    continue
                if (shown, top) not in KNOWN_EXCEPTIONS:
                    wrong.append(f"{shown}:{line} imports {module}")
    assert wrong == []


def test_nothing_below_the_node_api_http_layer_imports_it() -> None:
    wrong = []
    for path in sources("node_api"):
        inside_api = path.parent.name == "api" or "api" in path.relative_to(REPO_ROOT).parts[1:-1]
        if inside_api or (path.parent.name == "node_api" and path.name in NODE_API_ENTRY_POINTS):
            continue
        for line, module, _ in imports(path):
            if module == "node_api.api" or module.startswith("node_api.api."):
                wrong.append(f"{path.relative_to(REPO_ROOT)}:{line} imports {module}")
    assert wrong == []


def test_no_module_imports_a_private_name_of_another() -> None:
    wrong = []
    for package in PACKAGES:
        for path in sources(package):
            for line, module, names in imports(path):
                if module.split(".")[0] not in PACKAGES:
                    continue
                private = [n for n in names if n.startswith("_") and not n.startswith("__")]
                if private:
                    shown = path.relative_to(REPO_ROOT)
                    wrong.append(f"{shown}:{line} imports {', '.join(private)} from {module}")
    assert wrong == []


def test_the_known_exceptions_are_still_needed() -> None:
    """An exception whose import is gone must leave the list, so that it cannot come back."""
    for shown, top in KNOWN_EXCEPTIONS:
        found = {module.split(".")[0] for _, module, _ in imports(REPO_ROOT / shown)}
        assert top in found, f"{shown} no longer imports {top}: remove it from KNOWN_EXCEPTIONS"
