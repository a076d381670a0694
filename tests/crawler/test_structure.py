"""The crawler's shape: no import circle among its modules, the crawl context a leaf, and no
function too long to read (the tidy-up's acceptance checks, kept so they stay true)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MAX_FUNCTION_LINES = 60


def _modules() -> dict[str, Path]:
    out = {}
    for path in sorted((ROOT / "crawler").rglob("*.py")):
        name = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        out[name] = path
    return out


def _imports(path: Path, known: set[str]) -> set[str]:
    """Crawler modules ``path`` imports anywhere: at the top, in functions, for type checks."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
        found |= {n for n in names if n in known}
    return found


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    return {m: _imports(p, set(modules)) - {m} for m, p in modules.items()}


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import circle, as the path around it, or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(m: str) -> list[str] | None:
        state[m] = 1
        path.append(m)
        for n in sorted(graph[m]):
            if state.get(n) == 1:
                return [*path[path.index(n) :], n]
            if n not in state and (found := visit(n)):
                return found
        path.pop()
        state[m] = 2
        return None

    for m in sorted(graph):
        if m not in state and (found := visit(m)):
            return found
    return None


def test_no_import_circle_among_crawler_modules() -> None:
    assert _cycle(_graph()) is None


def test_the_crawl_context_names_no_component() -> None:
    graph = _graph()
    reachable, todo = set(), ["crawler.context"]
    while todo:
        for n in graph[todo.pop()] - reachable:
            reachable.add(n)
            todo.append(n)
    assert not reachable & {"crawler.evidence", "crawler.pipeline", "crawler.safety"}


def test_no_function_over_60_lines() -> None:
    paths = [*sorted((ROOT / "crawler").rglob("*.py")), ROOT / "office" / "cli_crawl.py"]
    long = []
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                lines = (node.end_lineno or node.lineno) - node.lineno + 1
                if lines > MAX_FUNCTION_LINES:
                    long.append(f"{path.relative_to(ROOT)}::{node.name} ({lines})")
    assert long == []
