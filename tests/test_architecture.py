"""The import directions of docs/architecture.md, checked on the source (every import, including
those inside functions): a wrong-way import or a cycle fails here, not in a code review."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("crawler", "pipelines", "settings")

# group -> the groups it may import (besides itself and crawler/__init__'s version)
ALLOWED: dict[str, set[str]] = {
    "model": set(),
    "extraction": {"model"},
    "store": {"model"},
    "planning": {"model"},
    "fleet": {"model"},
    "spiders": {"model", "extraction", "store", "planning", "fleet", "components"},
    "components": {"model", "extraction", "store", "planning", "fleet"},
    "pipelines": {"model", "extraction", "store", "planning", "fleet", "components"},
    "settings": set(),
    "web": {"model", "store"},
    "cli": {"model", "extraction", "store", "planning", "fleet", "components", "spiders", "pipelines", "settings",
            "web"},
}


def group_of(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] in ("pipelines", "settings"):
        return parts[0]
    if parts[0] == "crawler" and len(parts) > 1 and parts[1] in ALLOWED:
        return parts[1]
    return None


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def our_modules() -> dict[str, Path]:
    return {module_name(p): p for package in PACKAGES for p in (ROOT / package).rglob("*.py")}


def imports_of(path: Path, module: str, known: set[str]) -> set[str]:
    """Our modules that `module` imports (`from a import b` counts b when b is a module)."""
    found: set[str] = set()
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            names = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base for alias in node.names]
        else:
            continue
        found.update(name for name in names if name in known)
    return found - {module}


def graph() -> dict[str, set[str]]:
    modules = our_modules()
    known = set(modules)
    return {name: imports_of(path, name, known) for name, path in modules.items()}


def test_every_module_belongs_to_a_group() -> None:
    loose = [m for m in graph() if group_of(m) is None and m not in ("crawler", "crawler.__main__")]
    assert not loose, f"modules outside the documented groups: {loose}"


def test_imports_point_only_the_documented_ways() -> None:
    wrong = []
    for module, imported in graph().items():
        source = group_of(module)
        if source is None:
            continue
        for target in imported:
            target_group = group_of(target)
            if target_group not in (None, source) and target_group not in ALLOWED[source]:
                wrong.append(f"{module} -> {target}")
    assert not wrong, "imports against docs/architecture.md:\n" + "\n".join(sorted(wrong))


def test_nothing_imports_the_cli_and_crawler_never_imports_pipelines() -> None:
    edges = graph()
    into_cli = [f"{m} -> {t}" for m, ts in edges.items() for t in ts
                if group_of(t) == "cli" and group_of(m) != "cli" and m != "crawler.__main__"]
    into_pipelines = [f"{m} -> {t}" for m, ts in edges.items() for t in ts
                      if m.startswith("crawler") and t.startswith("pipelines")]
    assert not into_cli and not into_pipelines, into_cli + into_pipelines


def test_no_import_cycles() -> None:
    edges = graph()
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    cycles: list[list[str]] = []

    def visit(module: str, path: list[str]) -> None:
        state[module] = 1
        for target in sorted(edges[module]):
            if state.get(target) == 1:
                cycles.append([*path[path.index(target):], target])
            elif target not in state:
                visit(target, [*path, target])
        state[module] = 2

    for module in sorted(edges):
        if module not in state:
            visit(module, [module])
    assert not cycles, "import cycles: " + "; ".join(" -> ".join(c) for c in cycles)


@pytest.mark.parametrize("rule", ["extraction imports the store", "a cycle"])
def test_the_checks_catch_what_they_are_for(rule: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The checks above fail on a wrong-way import and on a cycle (so they are not vacuous)."""
    real = graph()
    fake = {m: set(ts) for m, ts in real.items()}
    if rule == "extraction imports the store":
        fake["crawler.extraction.decoding"].add("crawler.store.base")
        monkeypatch.setattr(__import__(__name__, fromlist=["graph"]), "graph", lambda: fake)
        with pytest.raises(AssertionError, match=r"decoding -> crawler\.store\.base"):
            test_imports_point_only_the_documented_ways()
    else:
        fake["crawler.model.urls"].add("crawler.model.items")
        fake["crawler.model.items"].add("crawler.model.urls")
        monkeypatch.setattr(__import__(__name__, fromlist=["graph"]), "graph", lambda: fake)
        with pytest.raises(AssertionError, match="import cycles"):
            test_no_import_cycles()
