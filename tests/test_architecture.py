"""The architecture holds: every module has a layer, modules stay small, tasks published by name exist.

import-linter (``lint-imports`` in CI, contracts in pyproject.toml) checks that imports follow the layers
and that no package has a cycle; it cannot check that a new module was given a layer, nor the size of
modules, nor the task names services publish as strings. These tests do.
"""

from __future__ import annotations

import ast
import re
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("care", "incidents", "vouchers", "config")
# Not in a layer on purpose: package roots hold nothing, and ``care.models`` only gathers the models of the
# care app for Django's registry (a lower module importing it would import every layer: import-linter's
# layers contract refuses that chain).
UNLAYERED = frozenset({"care", "incidents", "vouchers", "care.models"})
MAX_LINES = 500
# Data, not logic: the default letter templates and the demo's story and translations.
DATA_MODULES = frozenset({"care.correspondence.default_templates"})
DATA_PACKAGES = ("incidents.demo_data",)


def _modules() -> list[str]:
    found = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            relative = path.relative_to(ROOT).with_suffix("")
            parts = list(relative.parts)
            if "migrations" in parts:
                continue
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found.append(".".join(parts))
    return found


def _layers() -> list[list[str]]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    (contract,) = [c for c in config["contracts"] if c["type"] == "layers"]
    return [[m.strip() for m in re.split(r"[|:]", layer)] for layer in contract["layers"]]


def _in(module: str, layer_module: str) -> bool:
    return module == layer_module or module.startswith(layer_module + ".")


def test_every_module_belongs_to_exactly_one_layer() -> None:
    layers = _layers()
    homeless, doubled = [], []
    for module in _modules():
        if module in UNLAYERED:
            continue
        homes = [i for i, layer in enumerate(layers) for m in layer if _in(module, m)]
        if not homes:
            homeless.append(module)
        elif len(set(homes)) > 1:
            doubled.append(module)
    assert not homeless, f"give these modules a layer in pyproject.toml [tool.importlinter]: {homeless}"
    assert not doubled, f"these modules are in two layers: {doubled}"


def test_every_layer_names_modules_that_exist() -> None:
    modules = set(_modules())
    missing = [m for layer in _layers() for m in layer if m not in modules]
    assert not missing, f"the layers name modules that do not exist (moved or renamed?): {missing}"


def test_no_module_is_over_the_size_limit() -> None:
    too_long = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            dotted = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            if "migrations" in path.parts or dotted in DATA_MODULES or dotted.startswith(DATA_PACKAGES):
                continue
            lines = len(path.read_text().splitlines())
            if lines > MAX_LINES:
                too_long[dotted] = lines
    assert not too_long, f"split these modules by what they hold (limit {MAX_LINES} lines): {too_long}"


def _published_task_names() -> set[str]:
    names = set()
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                if (
                    isinstance(node, ast.Call)
                    and getattr(node.func, "id", getattr(node.func, "attr", None)) == "enqueue_on_commit"
                ):
                    first = node.args[0] if node.args else None
                    assert isinstance(first, ast.Constant), f"{path}: publish a task by a literal name"
                    assert isinstance(first.value, str), f"{path}: a task name is a string"
                    names.add(first.value)
    return names


def test_every_task_published_by_name_is_registered() -> None:
    from celery import current_app

    names = _published_task_names()
    assert names, "no enqueue_on_commit call found: has the helper moved?"
    current_app.loader.import_default_modules()
    unknown = sorted(name for name in names if name not in current_app.tasks)
    assert not unknown, f"services publish tasks that no worker knows: {unknown}"


@pytest.mark.parametrize("name", ["care.tasks.send_letters", "incidents.tasks.notify_affected"])
def test_task_names_are_those_stored_in_beat_and_queues(name: str) -> None:
    """Task names are data (beat's schedule rows, messages in the broker): moving code must not rename them."""
    from celery import current_app

    assert name in current_app.tasks
