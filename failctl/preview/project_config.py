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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from failctl.preview.engine_yaml import ProjectFileError, go_parse_int, is_go_int, kind, read_yaml
from failctl.preview.project_schema import schema_problems

__all__ = ["PROJECT_FILE", "ConfigDeclaration", "Project", "ProjectFileError", "load_project"]

PROJECT_FILE = "Pulumi.yaml"
# tokens.IsName / ValidateProjectName and tokens.ParseStackName: the same character set, at most 100.
NAME_RE = re.compile(r"[A-Za-z0-9_.-]{1,100}")
# config.go parseConfigKey / loaders.go stackConfigNamespacedWithProject, then config/key.go ParseKey.
UNPARSED_KEY = (
    "could not parse it as a configuration key (configuration keys should be of the form `<namespace>:<name>`)"
)


@dataclass(frozen=True)
class ConfigDeclaration:
    """One entry of the project's `config:` block, after shorthand rewriting (project.go `ProjectConfigType`).

    `items` holds the `items:` chain's types, outermost first; a YAML null `default` or `value` is absent.
    """

    qualified: str
    type: str | None = None
    items: tuple[str, ...] = ()
    description: str = ""
    default: Any = None
    value: Any = None
    secret: bool = False

    def type_name(self) -> str:
        """project.go `InferFullTypeName`: `array<string>` for an array of strings, else the type."""
        inner = self.items[-1] if self.items else self.type or ""
        return "array<" * len(self.items) + inner + ">" * len(self.items)

    def accepts(self, value: Any) -> bool:
        return value_matches((self.type or "", *self.items), value)


@dataclass(frozen=True)
class Project:
    """A validated `Pulumi.yaml`; `config` is keyed as each key is written there."""

    name: str
    runtime: str
    stack_config_dir: str = ""
    config: dict[str, ConfigDeclaration] = field(default_factory=dict)


def load_project(project_dir: Path) -> Project:
    """Read and validate `Pulumi.yaml`; raise ProjectFileError listing every problem.

    `runtime` is required here, though the engine's loader lets it be absent: no program runs
    without a language host. A missing, empty or non-text `name` is the schema's to report.
    """
    document = read_yaml(project_dir / PROJECT_FILE, PROJECT_FILE, required=True)
    if not isinstance(document, dict):
        shape = f"expected project to be an object, was {kind(document)} [project.go SimplifyMarshalledProject]"
        raise ProjectFileError([f"{PROJECT_FILE}: {shape}"])
    found = schema_problems(document)
    name, runtime, raw_config = document.get("name"), document.get("runtime"), document.get("config")
    project = name if isinstance(name, str) and NAME_RE.fullmatch(name) else ""
    problems = [line for lines in found.values() for line in lines]
    if isinstance(name, str) and name and not project:
        problems.append(
            "'name': project names may only contain alphanumerics, hyphens, underscores, and periods, "
            "at most 100 characters [tokens/project.go ValidateProjectName]"
        )
    if runtime is None:
        problems.append("project is missing a 'runtime' attribute (no language host can run it)")
    elif isinstance(runtime, dict) and ("runtime",) not in found and not runtime.get("name"):
        problems.append("runtime: 'name' must be a non-empty string [project.go ProjectRuntimeInfo]")
    stack_config_dir = raw_config if isinstance(raw_config, str) else document.get("stackConfigDir") or ""
    if isinstance(raw_config, str) and "stackConfigDir" in document:
        problems.append(
            "Should not use both config and stackConfigDir to define the stack directory. "
            "Use only stackConfigDir instead. [project.go RewriteConfigPathIntoStackConfigDir]"
        )
    folder = Path(stack_config_dir if isinstance(stack_config_dir, str) else "")
    if folder.is_absolute() or ".." in folder.parts:
        problems.append("'stackConfigDir' must be a folder inside the project [not an engine rule]")
    declarations: dict[str, ConfigDeclaration] = {}
    for key, raw in raw_config.items() if isinstance(raw_config, dict) and project else ():
        checked = [] if ("config", key) in found else _declaration(project, key, raw)
        if isinstance(checked, list):
            problems += [f"config key '{key}': {rule}" for rule in checked]
        elif (twin := next((k for k, d in declarations.items() if d.qualified == checked.qualified), None)) is not None:
            problems.append(
                f"config key '{key}': declares '{checked.qualified}' a second time (also as '{twin}') "
                "[not an engine error; only one of the two would apply]"
            )
        else:
            declarations[key] = checked
    if problems:
        raise ProjectFileError([f"{PROJECT_FILE}: {problem}" for problem in problems])
    assert runtime is not None
    return Project(project, runtime if isinstance(runtime, str) else runtime["name"], stack_config_dir, declarations)


def _declaration(project: str, key: str, raw: Any) -> ConfigDeclaration | list[str]:
    """A schema-valid entry rewritten from shorthand, or the rules of project.go `Project.Validate` it breaks."""
    qualified = parse_key(project, key)
    if qualified is None:
        return [f"{UNPARSED_KEY} [config.go parseConfigKey]"]
    namespaced = ":" not in key or key.startswith(project + ":")  # configKeyIsNamespacedByProject
    if not isinstance(raw, dict):
        # RewriteShorthandConfigValues: a bare value is a default in the project namespace, a value outside it.
        raw = {"default": raw} if namespaced else {"value": raw}
    items: list[str] = []
    node = raw.get("items")
    while node is not None:
        items, node = [*items, node["type"]], node.get("items")
    declaration = ConfigDeclaration(qualified, **{**raw, "items": tuple(items)})  # the schema allows no other keys
    type_name, default, value = declaration.type, declaration.default, declaration.value
    typed_default = namespaced and None not in (type_name, default) and (type_name != "array" or items)
    outer = "is not namespaced by the project and"
    rules = (
        (None not in (default, value), "project config cannot have both a 'default' and 'value' attribute"),
        (
            namespaced and type_name == "array" and not items,
            "declares an array but does not specify the underlying type via the 'items' attribute",
        ),
        (
            typed_default and not declaration.accepts(default),
            f"the default value is not of the expected type '{declaration.type_name()}'",
        ),
        (not namespaced and type_name is not None, f"{outer} should not define a type"),
        (not namespaced and default is not None, f"{outer} should not define a default value (did you mean 'value'?)"),
        (not namespaced and value is None, f"{outer} must provide an attribute 'value'"),
    )
    return [f"{rule} [project.go Project.Validate]" for broken, rule in rules if broken] or declaration


def parse_key(project: str, key: str) -> str | None:
    """config.go `parseConfigKey` with config/key.go `ParseKey`; the qualified `namespace:name`, or None."""
    parts = key.split(":") if ":" in key else [project, key]
    if len(parts) == 3 and parts[1] == "config":  # the old `<namespace>:config:<name>` spelling
        parts = [parts[0], parts[2]]
    return ":".join(parts) if len(parts) == 2 else None  # either side may be empty, as ParseKey allows


def value_matches(types: tuple[str, ...], value: Any) -> bool:
    """project.go `ValidateConfigValue` for `types[0]`, its `items:` chain after it, over values as Go decodes them."""
    if types[0] == "string":
        return isinstance(value, str)
    if types[0] == "integer":
        if isinstance(value, float):
            return math.isinf(value) or value.is_integer()  # f == math.Trunc(f): NaN never
        return is_go_int(value) or (isinstance(value, str) and go_parse_int(value) is not None)  # strconv.Atoi
    if types[0] == "boolean":
        return value in ("true", "false") if isinstance(value, str) else isinstance(value, bool)
    if types[0] == "object":
        return isinstance(value, dict)
    return isinstance(value, list) and len(types) > 1 and all(value_matches(types[1:], v) for v in value)
