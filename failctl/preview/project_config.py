"""What the Pulumi engine accepts as `Pulumi.yaml`, carried offline for the preview.

The real CLI refuses to run a project whose file breaks a rule; the offline preview has no CLI, so it
applies the same rules, in the engine's order (sdk/go/common/workspace/): loaders.go `LoadProject`
reads the file (engine_yaml), project.go `ValidateProject` checks the name and then the JSON schema
(project_schema), `RewriteConfigPathIntoStackConfigDir` and `RewriteShorthandConfigValues` normalise
`config:`, and `Project.Validate` checks each declaration. Unlike the engine, every broken rule is
listed at once, not the first. The stack file and the merge are stack_config's.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from failctl.preview.engine_yaml import ProjectFileError, go_parse_int, is_go_int, kind, read_yaml
from failctl.preview.project_schema import schema_problems

__all__ = ["PROJECT_FILE", "ConfigDeclaration", "ItemsType", "Project", "ProjectFileError", "load_project"]

PROJECT_FILE = "Pulumi.yaml"
# tokens.IsName / ValidateProjectName and tokens.ParseStackName: the same character set, at most 100.
NAME_RE = re.compile(r"[A-Za-z0-9_.-]{1,100}")


@dataclass(frozen=True)
class ItemsType:
    """An `items:` declaration (project.go `ProjectConfigItemsType`)."""

    type: str
    items: ItemsType | None = None


@dataclass(frozen=True)
class ConfigDeclaration:
    """One entry of the project's `config:` block, after shorthand rewriting (project.go `ProjectConfigType`).

    `key` is the key as written in Pulumi.yaml, `qualified` is `namespace:name`. `default` and `value`
    are None when absent (the engine treats a YAML null the same way).
    """

    key: str
    qualified: str
    type: str | None = None
    items: ItemsType | None = None
    description: str = ""
    default: Any = None
    value: Any = None
    secret: bool = False

    @property
    def namespace(self) -> str:
        return self.qualified.split(":", 1)[0]

    @property
    def name(self) -> str:
        return self.qualified.split(":", 1)[1]

    def type_name(self) -> str:
        """project.go `InferFullTypeName`: `array<string>` for an array of strings, else the type."""
        return full_type_name(self.type or "", self.items)


@dataclass(frozen=True)
class Project:
    """A validated `Pulumi.yaml`."""

    name: str
    runtime: str
    path: Path
    stack_config_dir: str = ""
    config: Mapping[str, ConfigDeclaration] = field(default_factory=dict)

    def declared_keys(self) -> frozenset[str]:
        """Qualified keys (`<project>:<name>`) the project declares in its own namespace."""
        return frozenset(d.qualified for d in self.config.values() if d.namespace == self.name)

    def declared_names(self) -> frozenset[str]:
        """Bare names the program reads with `pulumi.Config().get(name)`."""
        return frozenset(d.name for d in self.config.values() if d.namespace == self.name)

    def stack_file(self, project_dir: Path, stack: str) -> Path:
        """paths.go `ProjectStackPath`: `Pulumi.<stack>.yaml` next to Pulumi.yaml, or under `stackConfigDir`."""
        base = project_dir / self.stack_config_dir if self.stack_config_dir else project_dir
        return base / f"Pulumi.{stack}.yaml"


def load_project(project_dir: Path) -> Project:
    """Read and validate `Pulumi.yaml`; raise ProjectFileError listing every problem.

    `runtime` is required here, though the engine's loader lets it be absent: no program runs
    without a language host.
    """
    source = PROJECT_FILE
    document = read_yaml(project_dir / source, source, required=True)
    if not isinstance(document, dict):
        raise ProjectFileError(
            [f"{source}: expected project to be an object, was {kind(document)} [project.go SimplifyMarshalledProject]"]
        )
    found = schema_problems(document)
    name_problem = _name_problem(document)
    problems = [] if name_problem is None else [f"{source}: {name_problem}"]
    name, runtime = document.get("name"), document.get("runtime")
    if runtime is None:
        problems.append(f"{source}: project is missing a 'runtime' attribute (no language host can run it)")
    elif isinstance(runtime, dict) and ("runtime",) not in found and not runtime.get("name"):
        problems.append(f"{source}: runtime: 'name' must be a non-empty string [project.go ProjectRuntimeInfo]")
    problems += [f"{source}: {p}" for owner, lines in found.items() if owner[:1] not in ((), ("name",)) for p in lines]

    raw_config = document.get("config")
    stack_config_dir = document.get("stackConfigDir") or ""
    if isinstance(raw_config, str):
        if "stackConfigDir" in document:
            problems.append(
                f"{source}: Should not use both config and stackConfigDir to define the stack directory. "
                "Use only stackConfigDir instead. [project.go RewriteConfigPathIntoStackConfigDir]"
            )
        stack_config_dir = raw_config
    if isinstance(stack_config_dir, str) and (
        Path(stack_config_dir).is_absolute() or ".." in Path(stack_config_dir).parts
    ):
        problems.append(f"{source}: 'stackConfigDir' must be a folder inside the project [not an engine rule]")
    declarations: dict[str, ConfigDeclaration] = {}
    if isinstance(raw_config, dict) and isinstance(name, str) and name_problem is None:
        valid = {key: raw for key, raw in raw_config.items() if ("config", key) not in found}
        declarations = _declarations(valid, name, source, problems)
    if problems:
        raise ProjectFileError(problems)
    assert isinstance(name, str) and runtime is not None
    return Project(
        name=name,
        runtime=runtime if isinstance(runtime, str) else runtime["name"],
        path=project_dir / source,
        stack_config_dir=stack_config_dir,
        config=declarations,
    )


def _name_problem(document: dict[str, Any]) -> str | None:
    """project.go `ValidateProject` (presence, non-empty text) and tokens/project.go `ValidateProjectName`."""
    name = document.get("name")
    if "name" not in document:
        return "project is missing a 'name' attribute [project.go ValidateProject]"
    if not isinstance(name, str) or name == "":
        return "project is missing a non-empty string 'name' attribute [project.go ValidateProject]"
    if not NAME_RE.fullmatch(name):
        return (
            "'name': project names may only contain alphanumerics, hyphens, underscores, and periods, "
            "at most 100 characters [tokens/project.go ValidateProjectName]"
        )
    return None


def _declarations(
    raw_config: dict[str, Any], project: str, source: str, problems: list[str]
) -> dict[str, ConfigDeclaration]:
    declarations: dict[str, ConfigDeclaration] = {}
    seen: dict[str, str] = {}
    for key, raw in raw_config.items():
        where = f"{source}: config key '{key}'"
        before = len(problems)
        declaration = _declaration(key, raw, project, where, problems)
        if declaration is None or len(problems) > before:
            continue
        if declaration.qualified in seen:
            problems.append(
                f"{where}: declares '{declaration.qualified}' a second time (also as '{seen[declaration.qualified]}') "
                "[not an engine error; only one of the two would apply]"
            )
            continue
        seen[declaration.qualified] = key
        declarations[key] = declaration
    return declarations


def _declaration(key: str, raw: Any, project: str, where: str, problems: list[str]) -> ConfigDeclaration | None:
    """One schema-valid entry, rewritten from shorthand and checked as project.go `Project.Validate` does."""
    qualified = parse_key(project, key)
    if qualified is None:
        problems.append(
            f"{where}: could not parse it as a configuration key (configuration keys should be of the form "
            "`<namespace>:<name>`) [config.go parseConfigKey, config/key.go ParseKey]"
        )
        return None
    # configKeyIsNamespacedByProject: no colon, or the project's own prefix.
    namespaced = ":" not in key or key.startswith(project + ":")
    if not isinstance(raw, dict):
        # RewriteShorthandConfigValues: a bare value is a default in the project namespace, a value outside it.
        raw = {"default": raw} if namespaced else {"value": raw}
    type_name, default, value = raw.get("type"), raw.get("default"), raw.get("value")
    items = _items(raw["items"]) if "items" in raw else None
    typed_default = namespaced and None not in (type_name, default) and (type_name != "array" or items is not None)
    for broken, rule in (
        (
            default is not None and value is not None,
            "project config cannot have both a 'default' and 'value' attribute",
        ),
        (
            namespaced and type_name == "array" and items is None,
            "declares an array but does not specify the underlying type via the 'items' attribute",
        ),
        (
            typed_default and not value_matches(type_name, items, default),
            f"the default value is not of the expected type '{full_type_name(type_name, items)}'",
        ),
        (not namespaced and type_name is not None, "is not namespaced by the project and should not define a type"),
        (
            not namespaced and default is not None,
            "is not namespaced by the project and should not define a default value (did you mean 'value'?)",
        ),
        (not namespaced and value is None, "is not namespaced by the project and must provide an attribute 'value'"),
    ):
        if broken:
            problems.append(f"{where}: {rule} [project.go Project.Validate]")
    return ConfigDeclaration(
        key=key,
        qualified=qualified,
        type=type_name,
        items=items,
        description=raw.get("description", ""),
        default=default,
        value=value,
        secret=raw.get("secret", False),
    )


def _items(raw: dict[str, Any]) -> ItemsType:
    """A schema-valid `configItemsType`."""
    return ItemsType(type=raw["type"], items=_items(raw["items"]) if "items" in raw else None)


def parse_key(project: str, key: str) -> str | None:
    """config.go `parseConfigKey` with config/key.go `ParseKey`; the qualified `namespace:name`, or None."""
    if ":" not in key:
        return f"{project}:{key}" if key else None
    parts = key.split(":")
    if len(parts) == 2 and parts[1]:
        return key
    if len(parts) == 3 and parts[1] == "config" and parts[0] and parts[2]:
        return f"{parts[0]}:{parts[2]}"  # the old `<namespace>:config:<name>` spelling
    return None


def full_type_name(type_name: str, items: ItemsType | None) -> str:
    """project.go `InferFullTypeName`."""
    return f"array<{full_type_name(items.type, items.items)}>" if items is not None else type_name


def value_matches(type_name: str, items: ItemsType | None, value: Any) -> bool:
    """project.go `ValidateConfigValue`, over values as Go decodes them (Go ints are int64)."""
    if type_name == "string":
        return isinstance(value, str)
    if type_name == "integer":
        if isinstance(value, float):
            return math.isinf(value) or value.is_integer()  # f == math.Trunc(f): NaN never
        return is_go_int(value) or (isinstance(value, str) and go_parse_int(value) is not None)  # strconv.Atoi
    if type_name == "boolean":
        return value in ("true", "false") if isinstance(value, str) else isinstance(value, bool)
    if type_name == "object":
        return isinstance(value, dict)
    return (
        isinstance(value, list) and items is not None and all(value_matches(items.type, items.items, v) for v in value)
    )
