"""The pack's declared pulumi-policy floor provides every feature the pack uses.

When each feature arrived, from pulumi-policy's CHANGELOG: `Severity` and the `severity`
argument of policies with "Python: Add support for new metadata fields for policy packs and
policies" (1.18.0, pull 410); `PolicyResourceOptions.parent` in 1.14.0 (pull 368); stack
validation with URNs and `disabled` in 0.3.0. The Pulumi CLI installs the pack from
policy/requirements.txt; the project's `pack` extra must say the same.
"""

from __future__ import annotations

import ast
import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[2]
PACK_SOURCES = [ROOT / "policy" / "__main__.py", *sorted((ROOT / "policy" / "failure_guards").glob("*.py"))]
# pulumi_policy name (imported or passed as a keyword to a policy) -> the release that added it.
SINCE = {
    "Severity": Version("1.18.0"),
    "severity": Version("1.18.0"),
    "framework": Version("1.18.0"),
    "display_name": Version("1.18.0"),
    "not_applicable": Version("1.18.0"),
    "stack_tags": Version("1.19.0"),
}


def _floor(requirement: str) -> Version:
    (floor,) = [s.version for s in Requirement(requirement).specifier if s.operator == ">="]
    return Version(floor)


def _declared() -> dict[str, Version]:
    extra = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]["pack"]
    lines = (ROOT / "policy" / "requirements.txt").read_text().splitlines()
    found = {}
    for where, requirements in (("pyproject.toml [pack]", extra), ("policy/requirements.txt", lines)):
        (line,) = [r for r in requirements if re.match(r"\s*pulumi-policy\b", r)]
        found[where] = _floor(line)
    return found


def _features_used() -> dict[str, str]:
    used = {}
    for path in PACK_SOURCES:
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("pulumi_policy"):
                used.update({alias.name: path.name for alias in node.names})
            elif isinstance(node, ast.keyword) and node.arg:
                used.setdefault(node.arg, path.name)
            elif isinstance(node, ast.Attribute):
                used.setdefault(node.attr, path.name)
    return {name: where for name, where in used.items() if name in SINCE}


def test_both_declarations_agree_and_cover_every_feature_the_pack_uses():
    declared = _declared()
    assert len(set(declared.values())) == 1, declared
    floor = next(iter(declared.values()))
    used = _features_used()
    assert "Severity" in used  # the reading of the sources works
    too_new = {name: f"{SINCE[name]} ({where})" for name, where in used.items() if SINCE[name] > floor}
    assert not too_new, f"pulumi-policy>={floor} lacks {too_new}"


def test_the_installed_release_meets_the_floor():
    from importlib.metadata import version

    assert Version(version("pulumi-policy")) >= next(iter(_declared().values()))
