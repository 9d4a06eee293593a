"""A module executed afresh, apart from the imported one, with one of its owner's facts changed:
what a module derives from an owner follows it, what it spells out itself does not."""

from __future__ import annotations

import ast
import importlib.util
from types import ModuleType
from typing import Any


def reexecuted(module_name: str, **assignments: Any) -> ModuleType:
    """`module_name` run again into a module of its own (sys.modules keeps the imported one), each
    top-level `NAME = ...` named in `assignments` given that value instead; the modules it imports
    are the imported ones, so a test may change their constants first (monkeypatch)."""
    spec = importlib.util.find_spec(module_name)
    assert spec is not None and spec.origin is not None and spec.loader is not None, module_name
    with open(spec.origin, encoding="utf-8") as source:
        tree = ast.parse(source.read(), spec.origin)
    replaced = set()
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            name = node.targets[0].id
            if name in assignments:
                node.value = ast.copy_location(ast.Constant(assignments[name]), node.value)
                replaced.add(name)
    assert replaced == set(assignments), f"{module_name} assigns none of {set(assignments) - replaced}"
    module = importlib.util.module_from_spec(spec)
    exec(compile(ast.fix_missing_locations(tree), spec.origin, "exec"), module.__dict__)
    return module
