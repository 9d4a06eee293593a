"""`PulumiPlugin.yaml` as the engine and the Python language host read it: the provider folder's contract.

Only the tests load a plugin folder (the CLI does it for users), so the loader lives here, over the
project file's own reader and schema.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from failctl.preview.engine_yaml import ProjectFileError, read_yaml
from failctl.preview.project_schema import schema_problems

PLUGIN_FILE = "PulumiPlugin.yaml"
# pulumi-language-python `parseOptions`: the options a Python plugin's runtime may carry.
PYTHON_TOOLCHAINS = ("pip", "poetry", "uv")
PYTHON_TYPECHECKERS = ("mypy", "pyright")


@dataclass(frozen=True)
class PluginProject:
    """A validated `PulumiPlugin.yaml` (workspace `PluginProject`)."""

    runtime: str
    options: Mapping[str, Any]
    path: Path


def load_plugin_project(plugin_dir: Path) -> PluginProject:
    """Read `PulumiPlugin.yaml` as loaders.go `LoadPluginProject` does and check what the Python host will do with it.

    The engine: the file's `runtime` as in a project (project.json `runtime`), `PluginProject.Validate` (a
    runtime name). pulumi-language-python `parseOptions`: `virtualenv` a string, `toolchain`
    pip|poetry|uv, `typechecker` mypy|pyright. `RunPlugin`: a `__main__.py` in the folder.
    """
    path = plugin_dir / PLUGIN_FILE
    document = read_yaml(path, PLUGIN_FILE, required=True)
    if not isinstance(document, dict):
        raise ProjectFileError([f"{PLUGIN_FILE}: expected an object"])
    raw = document.get("runtime")
    if raw is None:
        raise ProjectFileError([f"{PLUGIN_FILE}: project is missing a 'runtime' attribute"])
    problems = [
        f"{PLUGIN_FILE}: {p}" for p in schema_problems({"name": "plugin", "runtime": raw}).get(("runtime",), [])
    ]
    runtime = raw if isinstance(raw, str) else raw.get("name") if isinstance(raw, dict) else None
    if not problems and not runtime:
        problems.append(f"{PLUGIN_FILE}: runtime: 'name' must be a non-empty string")
    options = (raw.get("options") or {}) if isinstance(raw, dict) and not problems else {}
    if "virtualenv" in options and not isinstance(options["virtualenv"], str):
        problems.append(f"{PLUGIN_FILE}: virtualenv option must be a string")
    for option, allowed in (("toolchain", PYTHON_TOOLCHAINS), ("typechecker", PYTHON_TYPECHECKERS)):
        if option in options and options[option] not in allowed:
            problems.append(f"{PLUGIN_FILE}: unsupported {option} option: {options[option]}")
    if runtime == "python" and not (plugin_dir / "__main__.py").is_file():
        problems.append(f"{PLUGIN_FILE}: the Python host runs the folder's __main__.py, and there is none")
    if problems:
        raise ProjectFileError(problems)
    return PluginProject(runtime, options, path)
