"""The layers hold: imports point down (domain <- model <- execution <- api), grpc and scikit-learn stay where
they belong, there are no import cycles, modules stay small, and the README's path table matches the tree."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
# What each package of service/ may import of service (besides itself and service.config for the top).
ALLOWED = {
    "service.domain": set(),
    "service.model": {"service.domain"},
    "service.execution": {"service.domain", "service.model"},
    "service.observability": {"service.domain", "service.model"},
    "service.api": {
        "service.domain",
        "service.model",
        "service.execution",
        "service.observability",
        "service.config",
        "service.gen",
    },
    "service.cli": {"service.config", "service.gen"},
    "service.archive": {"service.domain", "service.model", "service.config"},
    "training": {"service.domain", "service.model", "service.config"},
}
GRPC = ("grpc", "grpc_health", "grpc_reflection", "grpc_status", "google.rpc", "service.gen")


def modules() -> dict[str, Path]:
    found = {}
    for folder in ("service", "training"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            if "gen" not in path.parts:
                name = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
                found[name] = path
    return found


def imports(path: Path) -> set[str]:
    """Every module `path` imports, at the top or inside a function."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names |= {f"{node.module}.{alias.name}" for alias in node.names}
    return names


def inside(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


@pytest.mark.parametrize("module", sorted(modules()))
def test_imports_point_down_the_layers(module):
    package = next((p for p in ALLOWED if inside(module, p)), None)
    if package is None:
        return  # service/__main__.py and service/config.py: the top and the settings
    names = imports(modules()[module]) - {"service"}
    ours = {name for name in names if inside(name, "service") and not inside(name, package)}
    wrong = {name for name in ours if not any(inside(name, allowed) for allowed in ALLOWED[package])}
    assert not wrong, f"{module} may not import {sorted(wrong)}"


def test_only_the_api_and_the_client_import_grpc_and_only_the_bundle_imports_scikit_learn():
    grpc_users, sklearn_users = set(), set()
    for module, path in modules().items():
        names = imports(path)
        if any(inside(name, library) for name in names for library in GRPC):
            grpc_users.add(module)
        if any(inside(name, library) for name in names for library in ("sklearn", "joblib")):
            sklearn_users.add(module)
    assert grpc_users and all(inside(m, "service.api") or inside(m, "service.cli") for m in grpc_users)
    assert {m for m in sklearn_users if inside(m, "service")} == {"service.model.bundle"}


def test_there_are_no_import_cycles():
    known = modules()
    graph = {m: {n for n in imports(p) if n in known and n != m} for m, p in known.items()}
    state: dict[str, int] = {}

    def visit(module: str, trail: list[str]) -> None:
        state[module] = 1
        for target in graph[module]:
            assert state.get(target) != 1, f"import cycle: {' -> '.join([*trail, module, target])}"
            if target not in state:
                visit(target, [*trail, module])
        state[module] = 2

    for module in graph:
        if module not in state:
            visit(module, [])


def test_no_hand_written_module_is_over_200_lines():
    long = {m: n for m, p in modules().items() if (n := len(p.read_text(encoding="utf-8").splitlines())) > 200}
    assert not long


def test_the_readme_path_table_lists_every_module_of_each_package():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    rows = dict(re.findall(r"^\| `([\w/.]+)` \| (.*) \|$", readme, flags=re.MULTILINE))
    packages = sorted(p for p in (ROOT / "service").iterdir() if (p / "__init__.py").exists())
    for folder in [*packages, ROOT / "training", ROOT / "deploy"]:
        if folder.name == "gen":
            continue
        key = f"{folder.relative_to(ROOT)}/"
        assert key in rows, f"the README's path table has no row for {key}"
        listed = set(re.findall(r"`(\w+)`", rows[key]))
        present = {p.stem for p in folder.glob("*.py") if not p.stem.startswith("__")}
        assert listed >= present, f"{key}: the README does not list {sorted(present - listed)}"
        assert present >= listed, f"{key}: the README lists {sorted(listed - present)}"


def test_only_the_archive_job_imports_dask():
    users = {
        m for m, p in modules().items() if any(inside(n, lib) for n in imports(p) for lib in ("dask", "distributed"))
    }
    assert users and all(inside(m, "service.archive") for m in users)
