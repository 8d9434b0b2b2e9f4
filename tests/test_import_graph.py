"""vqlab's architecture, read from its import statements (ast; function-level imports included).

Layers, low to high; a module may import its own layer and the layers below, never above:

    0  errors, functional, distributed          plain helpers, no vqlab imports above them
    1  quantizers, topology, nets, regularizers,  the math: nn.Modules and tensor code
       metrics, clustering
    2  data, models                             LightningDataModules, LightningModules
    3  callbacks, loggers                        training-time behaviour around a model
    4  config, runs, report, cli                configs on disk, finished runs, command line
    5  train, tokenize                          entry points
    6  vqlab (the package's __init__)           the public face: re-exports only

Rules on top of the layers: quantizers never import lightning; models never import data or cli;
nothing under vqlab imports experiments; no import cycle between vqlab modules; the package root
holds at most 6 modules.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "vqlab"

LAYERS: dict[str, int] = {
    **dict.fromkeys(["errors", "functional", "distributed"], 0),
    **dict.fromkeys(["quantizers", "topology", "nets", "regularizers", "metrics", "clustering"], 1),
    **dict.fromkeys(["data", "models"], 2),
    **dict.fromkeys(["callbacks", "loggers"], 3),
    **dict.fromkeys(["config", "runs", "report", "cli"], 4),
    **dict.fromkeys(["train", "tokenize"], 5),
    "": 6,  # vqlab/__init__.py
}
MAX_ROOT_MODULES = 6  # __init__ included
FORBIDDEN: dict[str, tuple[str, ...]] = {  # part of vqlab -> imports it must never make
    "quantizers": ("lightning", "pytorch_lightning"),
    "models": ("vqlab.data", "vqlab.cli"),
    "": ("experiments",),  # every vqlab module
}

# Known violations, as (importer, imported) module pairs, each with the reason it is still there.
ALLOWED_EDGES: dict[tuple[str, str], str] = {}
ALLOWED_CYCLES: list[list[str]] = []


@dataclass(frozen=True)
class Edge:
    importer: str  # dotted vqlab module
    imported: str  # dotted module: a vqlab module (the submodule when one is named) or external
    line: int
    module_level: bool  # False: inside a function or method body


def module_name(path: Path) -> str:
    parts = ["vqlab", *path.relative_to(PACKAGE).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def resolve(importer: str, node: ast.ImportFrom) -> str:
    """The absolute module of ``from <module> import ...`` (relative imports resolved)."""
    if not node.level:
        return node.module or ""
    package = importer if MODULES[importer].name == "__init__.py" else importer.rpartition(".")[0]
    base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
    return f"{base}.{node.module}" if node.module else base


def imports(importer: str, tree: ast.Module) -> Iterator[Edge]:
    """Every import in ``tree``: ``from a import b`` names ``a.b`` when that is a vqlab module."""

    def visit(node: ast.AST, module_level: bool) -> Iterator[Edge]:
        for child in ast.iter_child_nodes(node):
            inside = module_level and not isinstance(
                child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda
            )
            if isinstance(child, ast.Import):
                for alias in child.names:
                    yield Edge(importer, alias.name, child.lineno, module_level)
            elif isinstance(child, ast.ImportFrom):
                source = resolve(importer, child)
                for alias in child.names:
                    named = f"{source}.{alias.name}"
                    target = named if named in MODULES else source
                    yield Edge(importer, target, child.lineno, module_level)
            yield from visit(child, inside)

    yield from visit(tree, True)


EDGES = sorted(
    {edge for name, path in MODULES.items() for edge in imports(name, ast.parse(path.read_text()))},
    key=lambda edge: (edge.importer, edge.line, edge.imported),
)


def part(module: str) -> str:
    """The layer key of a vqlab module: its first name under vqlab ("" for vqlab itself)."""
    return module.split(".")[1] if module.count(".") else ""


def internal(edges: list[Edge], module_level_only: bool) -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {name: set() for name in MODULES}
    for edge in edges:
        if edge.imported in MODULES and (edge.module_level or not module_level_only):
            graph[edge.importer].add(edge.imported)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def connect(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for successor in sorted(graph[node]):
            if successor not in index:
                connect(successor)
                low[node] = min(low[node], low[successor])
            elif successor in stack:
                low[node] = min(low[node], index[successor])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1 or node in graph[node]:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            connect(node)
    return sorted(found)


def describe(edges: list[Edge]) -> list[str]:
    kind = {True: "", False: " (function level)"}
    return [f"{e.importer}:{e.line} -> {e.imported}{kind[e.module_level]}" for e in edges]


def test_every_vqlab_module_has_a_layer() -> None:
    assert {part(name) for name in MODULES} <= LAYERS.keys(), (
        sorted({part(name) for name in MODULES} - LAYERS.keys()),
        "add the new package to LAYERS (and the docstring's map)",
    )


def test_no_import_goes_up_a_layer() -> None:
    upward = [
        edge
        for edge in EDGES
        if edge.imported in MODULES
        and LAYERS[part(edge.imported)] > LAYERS[part(edge.importer)]
        and (edge.importer, edge.imported) not in ALLOWED_EDGES
    ]
    assert not upward, describe(upward)


@pytest.mark.parametrize("owner", FORBIDDEN)
def test_forbidden_imports(owner: str) -> None:
    banned = [
        edge
        for edge in EDGES
        if (not owner or part(edge.importer) == owner)
        and any(edge.imported == b or edge.imported.startswith(f"{b}.") for b in FORBIDDEN[owner])
        and (edge.importer, edge.imported) not in ALLOWED_EDGES
    ]
    assert not banned, describe(banned)


def test_no_import_cycle_among_module_level_imports() -> None:
    assert cycles(internal(EDGES, module_level_only=True)) == []


def test_function_level_imports_close_no_cycle_but_the_known_ones() -> None:
    """A function-level import hides a cycle from Python, not from a reader."""
    assert cycles(internal(EDGES, module_level_only=False)) == ALLOWED_CYCLES


def test_allowed_edges_are_still_there() -> None:
    """A fixed violation leaves the allow-list, so the list never hides a new one."""
    present = {(edge.importer, edge.imported) for edge in EDGES}
    assert set(ALLOWED_EDGES) <= present, sorted(set(ALLOWED_EDGES) - present)


def test_the_package_root_holds_few_modules() -> None:
    root = sorted(path.name for path in PACKAGE.glob("*.py"))
    assert len(root) <= MAX_ROOT_MODULES, root


def test_the_checks_can_fail() -> None:
    """The graph tools on a made-up graph: a cycle is found, a relative import is resolved."""
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(graph) == [["a", "b", "c"]]
    tree = ast.parse("from ..errors import ConfigError\nfrom . import ema\n")
    edges = list(imports("vqlab.quantizers.ste", tree))
    assert [edge.imported for edge in edges] == ["vqlab.errors", "vqlab.quantizers.ema"]
