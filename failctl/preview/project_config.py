"""What the Pulumi engine does with `Pulumi.yaml` and `Pulumi.<stack>.yaml`, carried offline.

The real CLI reads the project file, validates it, reads the stack file, merges the project's
config declarations into the stack's values and refuses to run when a rule is broken. The offline
preview has no CLI, so this module applies the same rules, written from the engine's own source
(pulumi/pulumi). Each rule's docstring or comment names the engine file and function it mirrors:

- `sdk/go/common/workspace/loaders.go`: `LoadProject`, `LoadProjectBytes`, `LoadProjectStack`,
  `LoadProjectStackBytes`, `stackConfigNamespacedWithProject`, `readFileStripUTF8BOM`.
- `sdk/go/common/workspace/project.go`: `ValidateProject` (with the JSON schema `project.json`),
  `RewriteConfigPathIntoStackConfigDir`, `RewriteShorthandConfigValues`, `Project.Validate`,
  `configKeyIsNamespacedByProject`, `ValidateConfigValue`, `InferFullTypeName`.
- `pkg/workspace/config.go`: `mergeConfig` (behind `ValidateStackConfigAndApplyProjectConfig`),
  `missingStackConfigurationKeysError`, `formatMissingKeys`, `validateStackConfigValues`,
  `validateStackConfigValue`, `parseConfigKey`, `createConfigValue`.
- `sdk/go/common/resource/config/`: `key.go` `ParseKey`; `object.go` `unmarshalObject`,
  `MarshalString`, `isSecureValue` (how a stack value becomes the string a program reads).
- `sdk/go/common/tokens/`: `project.go` `ValidateProjectName`, `stack_name.go` `ParseStackName`.
- `sdk/go/common/encoding/marshal.go`: YAML is decoded with gopkg.in/yaml.v3, so scalars here are
  resolved as yaml.v3's `resolve` does (YAML 1.2 booleans, no sexagesimal numbers, dates stay text),
  not as PyYAML's YAML 1.1 defaults would.

Not carried: ESC `environment:` blocks (a stack file with one is refused, since its values cannot be
known offline), decryption (a `secure:` value is never decrypted, so its type is not checked), config
key paths (`a.b` / `a[0]` names are treated literally), and the project schema's `template`,
`packages`, `plugins`, `backend` and `options` sections (not checked).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml

__all__ = [
    "CONFIG_TYPES",
    "PROJECT_FILE",
    "SECRET_PLACEHOLDER",
    "ConfigDeclaration",
    "ItemsType",
    "Project",
    "ProjectFileError",
    "StackConfig",
    "declared_names",
    "load_project",
    "load_stack_config",
]

PROJECT_FILE = "Pulumi.yaml"
# project.json `$defs/simpleConfigType`: the only values `type:` (and `items.type:`) may take.
CONFIG_TYPES = ("string", "integer", "boolean", "array", "object")
# What `values` holds for a key whose stack value is `secure:` (the engine shows the same text in
# `pulumi config`); the ciphertext is never decrypted here, and never copied anywhere.
SECRET_PLACEHOLDER = "[secret]"

_INT64_MIN = -(2**63)
_INT64_MAX = 2**63 - 1
_UINT64_MAX = 2**64 - 1
# tokens.IsName / ValidateProjectName and tokens.ParseStackName: the same character set, at most 100.
_NAME_RE = re.compile(r"[A-Za-z0-9_.-]{1,100}")
# The attributes project.json's `configTypeDeclaration` allows (additionalProperties: false).
_DECLARATION_KEYS = ("type", "items", "description", "secret", "default", "value")
# A guard for hostile files (alias bombs, runaway nesting); yaml.v3 has its own aliasing limit.
_MAX_NODES = 100_000
_MAX_DEPTH = 100


class ProjectFileError(Exception):
    """A rule the engine enforces on `Pulumi.yaml` or `Pulumi.<stack>.yaml` is broken.

    `problems` lists every broken rule found, one line each, naming the file and the key; the
    message is those lines joined. No message ever contains a config value.
    """

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems: tuple[str, ...] = tuple(problems)
        super().__init__("\n".join(self.problems))


@dataclass(frozen=True)
class ItemsType:
    """An `items:` declaration (project.go `ProjectConfigItemsType`)."""

    type: str
    items: ItemsType | None = None

    def type_name(self) -> str:
        return _full_type_name(self.type, self.items)


@dataclass(frozen=True)
class ConfigDeclaration:
    """One entry of the project's `config:` block, after shorthand rewriting (project.go `ProjectConfigType`).

    `key` is the key as written in Pulumi.yaml, `qualified` is `namespace:name`. `default` and `value`
    are None when absent (the engine treats a YAML null the same way).
    """

    key: str
    qualified: str
    project_namespaced: bool
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
        return _full_type_name(self.type or "", self.items)


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


@dataclass(frozen=True)
class StackConfig:
    """The config a program run on `stack` receives, as the engine hands it over.

    `values` maps qualified keys to the text the program reads (booleans `true`/`false`, numbers as
    text, arrays and objects as JSON); `secrets` are the keys whose stack value is `secure:` (their
    `values` entry is SECRET_PLACEHOLDER); `undeclared` are keys in the project namespace that
    Pulumi.yaml does not declare (the engine accepts them silently); `empty` are keys whose stack
    value is a YAML null, which the engine reads as "" and warns about (loaders.go `checkForEmptyConfig`).
    """

    stack: str
    path: Path
    values: dict[str, str]
    secrets: frozenset[str]
    undeclared: tuple[str, ...]
    empty: tuple[str, ...] = ()


def declared_names(project: Project) -> frozenset[str]:
    """Bare names of the keys the project declares in its own namespace."""
    return project.declared_names()


# --------------------------------------------------------------------------------------------
# Loading


def load_project(project_dir: Path) -> Project:
    """Read and validate `Pulumi.yaml` as loaders.go `LoadProject` does; raise ProjectFileError listing every problem.

    Checked: the file is a mapping with string keys (project.go `SimplifyMarshalledProject`); `name`
    (project.go `ValidateProject`, tokens/project.go `ValidateProjectName`); `runtime` (project.json
    `runtime`; the engine's loader lets it be absent, but no program runs without a language host, so
    here it is required); the optional text attributes; `config:` as a stack-config-dir string
    (`RewriteConfigPathIntoStackConfigDir`) or as declarations (project.json, `RewriteShorthandConfigValues`,
    `Project.Validate`).
    """
    path = project_dir / PROJECT_FILE
    document = _read_yaml(path, PROJECT_FILE, required=True)
    return _project_from_document(document, path, PROJECT_FILE)


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

    The engine: the file's `runtime` as in a project (ProjectRuntimeInfo), `PluginProject.Validate` (a
    runtime name); other attributes are not its concern here. pulumi-language-python `parseOptions`:
    `virtualenv` a string, `toolchain` pip|poetry|uv, `typechecker` mypy|pyright. `RunPlugin`:
    a `__main__.py` in the folder (or a buildable pyproject.toml, which this loader does not accept).
    """
    path = plugin_dir / PLUGIN_FILE
    document = _read_yaml(path, PLUGIN_FILE, required=True)
    if not isinstance(document, dict):
        raise ProjectFileError([f"{PLUGIN_FILE}: expected an object, was {_kind(document)}"])
    problems: list[str] = []
    runtime = _runtime(document, PLUGIN_FILE, problems)
    raw = document.get("runtime")
    options = raw.get("options") if isinstance(raw, dict) and isinstance(raw.get("options"), dict) else {}
    if runtime == "python":
        problems += _python_option_problems(options)
        if not (plugin_dir / "__main__.py").is_file():
            problems.append(f"{PLUGIN_FILE}: the Python host runs the folder's __main__.py, and there is none")
    if problems or runtime is None:
        raise ProjectFileError(problems)
    return PluginProject(runtime, options, path)


def _python_option_problems(options: Mapping[str, Any]) -> list[str]:
    problems = []
    if "virtualenv" in options and not isinstance(options["virtualenv"], str):
        problems.append(f"{PLUGIN_FILE}: virtualenv option must be a string")
    for option, allowed in (("toolchain", PYTHON_TOOLCHAINS), ("typechecker", PYTHON_TYPECHECKERS)):
        if option in options and options[option] not in allowed:
            problems.append(f"{PLUGIN_FILE}: unsupported {option} option: {options[option]}")
    return problems


def load_stack_config(
    project: Project,
    project_dir: Path,
    stack: str,
    overrides: Mapping[str, str] | None = None,
) -> StackConfig:
    """The stack's config after the engine's merge, or ProjectFileError naming each broken rule.

    Mirrors pkg/workspace/config.go `ValidateStackConfigAndApplyProjectConfig` -> `mergeConfig`:
    stack keys without a namespace get the project's (loaders.go `stackConfigNamespacedWithProject`);
    a declared key the stack does not set takes its `value` or `default` (`createConfigValue`); a key in
    the project namespace with neither, and no stack value, is missing (`missingStackConfigurationKeysError`);
    every explicitly typed key is then checked: `secret: true` needs a `secure:` stack value, and the value
    must match the type (`validateStackConfigValue`, project.go `ValidateConfigValue`).

    A missing stack file is a fresh stack with no config (loaders.go `LoadProjectStack` on a missing file;
    what `pulumi stack init` leaves). `overrides` act as `pulumi config set` on top of the file.
    """
    if not isinstance(stack, str) or not _NAME_RE.fullmatch(stack):
        raise ProjectFileError(
            [
                f"stack name {stack!r}: may only contain alphanumerics, hyphens, underscores and periods, "
                "1 to 100 characters [tokens/stack_name.go ParseStackName]"
            ]
        )
    path = project.stack_file(project_dir, stack)
    source = _display(path, project_dir)
    document = _read_yaml(path, source, required=False)
    problems: list[str] = []
    raw_config = _stack_config_block(document, source, problems)

    stack_values: dict[str, _Value] = {}
    empty: list[str] = []
    for key, raw in raw_config.items():
        qualified = _qualify_stack_key(project.name, key, source, problems)
        if qualified is None:
            continue
        if qualified in stack_values:
            problems.append(
                f"{source}: config key '{key}' is set twice (as '{qualified}' and without its namespace); "
                "the engine would keep one of them at random [not an engine error]"
            )
            continue
        value = _stack_value(raw, f"{source}: config key '{key}'", problems)
        if value is None:
            continue
        stack_values[qualified] = value
        if raw is None:
            empty.append(qualified)

    for key, text in (overrides or {}).items():
        qualified = _qualify_stack_key(project.name, key, "overrides", problems)
        if qualified is None:
            continue
        if not isinstance(text, str):
            problems.append(f"overrides: config key '{key}' must be given as text")
            continue
        stack_values[qualified] = _Value(text)
        if qualified in empty:
            empty.remove(qualified)

    if problems:
        raise ProjectFileError(problems)

    merged = dict(stack_values)
    missing: list[str] = []
    for key in sorted(project.config):
        declaration = project.config[key]
        if declaration.qualified in merged:
            continue
        provided = declaration.default if declaration.default is not None else declaration.value
        if provided is None:
            # mergeConfig: only keys in the project namespace are required.
            if declaration.namespace == project.name:
                missing.append(key)
            continue
        value = _config_value(provided)
        if value is None:
            problems.append(
                f"{PROJECT_FILE}: config key '{key}': its default cannot be represented as JSON "
                "(NaN or infinity) [config.go createConfigValue]"
            )
            continue
        merged[declaration.qualified] = value

    if missing:
        problems.append(
            f"{source}: {_missing_keys_message(missing, stack)}: set them in {source}, or give them a "
            f"default in {PROJECT_FILE} [config.go missingStackConfigurationKeysError]"
        )
    for key in sorted(project.config):
        declaration = project.config[key]
        value = merged.get(declaration.qualified)
        if declaration.type is None or value is None:
            continue
        problem = _type_problem(stack, key, declaration, value)
        if problem is not None:
            where = source if declaration.qualified in stack_values else PROJECT_FILE
            problems.append(f"{where}: {problem}")
    if problems:
        raise ProjectFileError(problems)

    declared = {d.qualified for d in project.config.values()}
    return StackConfig(
        stack=stack,
        path=path,
        values={k: SECRET_PLACEHOLDER if v.secure else v.text for k, v in sorted(merged.items())},
        secrets=frozenset(k for k, v in merged.items() if v.secure),
        undeclared=tuple(sorted(k for k in stack_values if k.split(":", 1)[0] == project.name and k not in declared)),
        empty=tuple(sorted(empty)),
    )


# --------------------------------------------------------------------------------------------
# The project file


def _project_from_document(document: Any, path: Path, source: str) -> Project:
    problems: list[str] = []
    if not isinstance(document, dict):
        raise ProjectFileError(
            [
                f"{source}: expected project to be an object, was {_kind(document)} "
                "[project.go SimplifyMarshalledProject]"
            ]
        )

    name = _project_name(document, source, problems)
    runtime = _runtime(document, source, problems)
    for attribute in ("description", "author", "website", "license", "main", "stackConfigDir"):
        if document.get(attribute) is not None and not isinstance(document[attribute], str):
            problems.append(f"{source}: '{attribute}' must be a string [project.json]")

    stack_config_dir = document.get("stackConfigDir") if isinstance(document.get("stackConfigDir"), str) else ""
    raw_config = document.get("config")
    declarations: dict[str, ConfigDeclaration] = {}
    if isinstance(raw_config, str):
        # RewriteConfigPathIntoStackConfigDir: `config: <dir>` is the old spelling of stackConfigDir.
        if "stackConfigDir" in document:
            problems.append(
                f"{source}: Should not use both config and stackConfigDir to define the stack directory. "
                "Use only stackConfigDir instead. [project.go RewriteConfigPathIntoStackConfigDir]"
            )
        else:
            stack_config_dir = raw_config
    elif isinstance(raw_config, dict):
        declarations = _declarations(raw_config, name, source, problems)
    elif raw_config is not None:
        problems.append(f"{source}: 'config' must be a mapping of configuration keys [project.json]")

    if stack_config_dir and (Path(stack_config_dir).is_absolute() or ".." in Path(stack_config_dir).parts):
        problems.append(f"{source}: 'stackConfigDir' must be a folder inside the project [not an engine rule]")

    if problems or name is None or runtime is None:
        raise ProjectFileError(problems)
    return Project(
        name=name,
        runtime=runtime,
        path=path,
        stack_config_dir=stack_config_dir or "",
        config=declarations,
    )


def _project_name(document: dict[str, Any], source: str, problems: list[str]) -> str | None:
    """project.go `ValidateProject` (presence, non-empty text) and tokens/project.go `ValidateProjectName`."""
    if "name" not in document:
        problems.append(f"{source}: project is missing a 'name' attribute [project.go ValidateProject]")
        return None
    name = document["name"]
    if not isinstance(name, str) or name == "":
        problems.append(
            f"{source}: project is missing a non-empty string 'name' attribute [project.go ValidateProject]"
        )
        return None
    if not _NAME_RE.fullmatch(name):
        problems.append(
            f"{source}: 'name': project names may only contain alphanumerics, hyphens, underscores, and periods, "
            "at most 100 characters [tokens/project.go ValidateProjectName]"
        )
        return None
    return name


def _runtime(document: dict[str, Any], source: str, problems: list[str]) -> str | None:
    """project.json `runtime`: a non-empty string, or {name, options} and nothing else."""
    runtime = document.get("runtime")
    if runtime is None:
        problems.append(f"{source}: project is missing a 'runtime' attribute (no language host can run it)")
        return None
    if isinstance(runtime, str):
        if runtime == "":
            problems.append(f"{source}: 'runtime' must not be empty [project.json]")
            return None
        return runtime
    if not isinstance(runtime, dict):
        problems.append(
            f"{source}: runtime section must be a string or an object with name and options attributes "
            "[project.go ProjectRuntimeInfo.UnmarshalYAML]"
        )
        return None
    ok = True
    for extra in sorted(set(runtime) - {"name", "options"}):
        problems.append(f"{source}: runtime: '{extra}' not allowed; the allowed attributes are 'name' and 'options'")
        ok = False
    if runtime.get("options") is not None and not isinstance(runtime.get("options"), dict):
        problems.append(f"{source}: runtime: 'options' must be a mapping [project.json]")
        ok = False
    name = runtime.get("name")
    if not isinstance(name, str) or name == "":
        problems.append(f"{source}: runtime: 'name' must be a non-empty string [project.json]")
        return None
    return name if ok else None


def _declarations(
    raw_config: dict[str, Any], project: str | None, source: str, problems: list[str]
) -> dict[str, ConfigDeclaration]:
    declarations: dict[str, ConfigDeclaration] = {}
    seen: dict[str, str] = {}
    for key, raw in raw_config.items():
        where = f"{source}: config key '{key}'"
        declaration = _declaration(key, raw, project, where, problems)
        if declaration is None:
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


def _declaration(key: str, raw: Any, project: str | None, where: str, problems: list[str]) -> ConfigDeclaration | None:
    before = len(problems)
    qualified = _parse_key(project, key) if project is not None else None
    if project is not None and qualified is None:
        problems.append(
            f"{where}: could not parse it as a configuration key (configuration keys should be of the form "
            "`<namespace>:<name>`) [config.go parseConfigKey, config/key.go ParseKey]"
        )
    # configKeyIsNamespacedByProject: no colon, or the project's own prefix.
    namespaced = ":" not in key or (project is not None and key.startswith(project + ":"))

    if key == "secret" and not isinstance(raw, bool):
        # project.json lists `secret` as a property of the config block itself, typed boolean.
        problems.append(f"{where}: must be a boolean [project.json config.properties.secret]")
        return None
    if raw is None or (isinstance(raw, float)) or (isinstance(raw, int) and not _is_go_int(raw)):
        problems.append(
            f"{where}: must be a declaration (type, description, default, ...) or a short-hand string, integer, "
            "boolean or array [project.json config.additionalProperties, project.go RewriteShorthandConfigValues]"
        )
        return None
    if not isinstance(raw, dict):
        # RewriteShorthandConfigValues: a bare value is a default in the project namespace, a value outside it.
        raw = {"default": raw} if namespaced else {"value": raw}

    for extra in sorted(set(raw) - set(_DECLARATION_KEYS)):
        problems.append(
            f"{where}: '{extra}' not allowed; the allowed attributes are "
            + ", ".join(f"'{k}'" for k in sorted(_DECLARATION_KEYS))
            + " [project.json configTypeDeclaration]"
        )
    type_name = raw.get("type")
    if "type" in raw and type_name not in CONFIG_TYPES:
        problems.append(f"{where}: 'type' must be one of {', '.join(CONFIG_TYPES)} [project.json simpleConfigType]")
        type_name = None
    items = _items(raw["items"], f"{where}: items", problems) if "items" in raw else None
    description = raw.get("description", "")
    if not isinstance(description, str):
        problems.append(f"{where}: 'description' must be a string [project.json configTypeDeclaration]")
        description = ""
    secret = raw.get("secret", False)
    if not isinstance(secret, bool):
        problems.append(f"{where}: 'secret' must be a boolean [project.json configTypeDeclaration]")
        secret = False
    default, value = raw.get("default"), raw.get("value")

    # Project.Validate
    if default is not None and value is not None:
        problems.append(
            f"{where}: project config cannot have both a 'default' and 'value' attribute [Project.Validate]"
        )
    if project is not None:
        if namespaced:
            if type_name == "array" and items is None and "items" not in raw:
                problems.append(
                    f"{where}: declares an array but does not specify the underlying type via the 'items' attribute "
                    "[Project.Validate]"
                )
            elif type_name is not None and default is not None and not _value_matches(type_name, items, default):
                problems.append(
                    f"{where}: the default value is not of the expected type '{_full_type_name(type_name, items)}' "
                    "[Project.Validate, project.go ValidateConfigValue]"
                )
        else:
            if "type" in raw:
                problems.append(
                    f"{where}: is not namespaced by the project and should not define a type; "
                    "set it per stack instead [Project.Validate]"
                )
            if default is not None:
                problems.append(
                    f"{where}: is not namespaced by the project and should not define a default value "
                    "(did you mean 'value'?) [Project.Validate]"
                )
            if value is None:
                problems.append(
                    f"{where}: is not namespaced by the project and must provide an attribute 'value'; "
                    "set it per stack instead [Project.Validate]"
                )

    if len(problems) > before or qualified is None:
        return None
    return ConfigDeclaration(
        key=key,
        qualified=qualified,
        project_namespaced=namespaced,
        type=type_name,
        items=items,
        description=description,
        default=default,
        value=value,
        secret=secret,
    )


def _items(raw: Any, where: str, problems: list[str], depth: int = 0) -> ItemsType | None:
    """project.json `configItemsType`: a mapping with a simple `type`, and `items` when that type is array."""
    if not isinstance(raw, dict):
        problems.append(f"{where}: must be a mapping with a 'type' [project.json configItemsType]")
        return None
    type_name = raw.get("type")
    if type_name not in CONFIG_TYPES:
        problems.append(f"{where}: 'type' must be one of {', '.join(CONFIG_TYPES)} [project.json configItemsType]")
        return None
    nested = None
    if "items" in raw:
        nested = _items(raw["items"], f"{where}.items", problems, depth + 1)
        if nested is None:
            return None
    elif type_name == "array":
        problems.append(f"{where}: an array needs 'items' [project.json configItemsType if/then]")
        return None
    return ItemsType(type=type_name, items=nested)


def _parse_key(project: str, key: str) -> str | None:
    """config.go `parseConfigKey` with config/key.go `ParseKey`; the qualified `namespace:name`, or None."""
    if ":" not in key:
        return f"{project}:{key}" if key else None
    parts = key.split(":")
    if len(parts) == 2 and parts[1]:
        return key
    if len(parts) == 3 and parts[1] == "config" and parts[0] and parts[2]:
        # The old `<namespace>:config:<name>` spelling.
        return f"{parts[0]}:{parts[2]}"
    return None


def _full_type_name(type_name: str, items: ItemsType | None) -> str:
    """project.go `InferFullTypeName`."""
    if items is not None:
        return f"array<{_full_type_name(items.type, items.items)}>"
    return type_name


def _value_matches(type_name: str, items: ItemsType | None, value: Any) -> bool:
    """project.go `ValidateConfigValue`, over values as Go decodes them (Go ints are int64)."""
    if type_name == "string":
        return isinstance(value, str)
    if type_name == "integer":
        if _is_go_int(value):
            return True
        if isinstance(value, float):
            # f == math.Trunc(f): whole numbers, and the infinities (NaN never).
            return math.isinf(value) or value.is_integer()
        if isinstance(value, str):
            return _go_parse_int(value, 10) is not None  # strconv.Atoi
        return False
    if type_name == "boolean":
        return value in ("true", "false") if isinstance(value, str) else isinstance(value, bool)
    if type_name == "object":
        return isinstance(value, dict)
    if not isinstance(value, list) or items is None:
        return False
    return all(_value_matches(items.type, items.items, item) for item in value)


# --------------------------------------------------------------------------------------------
# The stack file and the merge


@dataclass(frozen=True)
class _Value:
    """config.Value: the text, whether it holds ciphertext, whether the text is JSON."""

    text: str
    secure: bool = False
    is_object: bool = False


def _stack_config_block(document: Any, source: str, problems: list[str]) -> dict[str, Any]:
    if document is None:
        return {}  # LoadProjectStackBytes: an empty file is a stack with no config.
    if not isinstance(document, dict):
        problems.append(f"{source}: expected the stack file to be an object, was {_kind(document)} [loaders.go]")
        return {}
    if document.get("environment") is not None:
        problems.append(
            f"{source}: 'environment' imports ESC environments whose values cannot be known offline "
            "[config.go mergeConfig merges them; not carried here]"
        )
    config = document.get("config")
    if config is None:
        return {}
    if not isinstance(config, dict):
        problems.append(f"{source}: 'config' must be a mapping of keys to values [config/map.go Map.UnmarshalYAML]")
        return {}
    return config


def _qualify_stack_key(project: str, key: str, source: str, problems: list[str]) -> str | None:
    """loaders.go `stackConfigNamespacedWithProject`, then config/key.go `ParseKey`."""
    qualified = _parse_key(project, key) if isinstance(key, str) else None
    if qualified is None:
        problems.append(
            f"{source}: config key '{key}': could not parse it as a configuration key (configuration keys should "
            "be of the form `<namespace>:<name>`) [config/key.go ParseKey]"
        )
    return qualified


def _stack_value(raw: Any, where: str, problems: list[str]) -> _Value | None:
    """config/object.go `unmarshalObject` then `MarshalString`: what the program will read."""
    if raw is None:
        return _Value("")
    if isinstance(raw, dict) and _is_secure(raw):
        return _Value(raw["secure"], secure=True)
    if isinstance(raw, str):
        return _Value(raw)
    text = _go_json(raw)
    if text is None:
        problems.append(f"{where}: NaN and infinity cannot be config values [config/object.go MarshalString]")
        return None
    if isinstance(raw, (list, dict)):
        return _Value(text, secure=_contains_secure(raw), is_object=True)
    return _Value(text)


def _config_value(raw: Any) -> _Value | None:
    """config.go `createConfigValue`: strings, Go ints and booleans as `%v` text, anything else as JSON."""
    if isinstance(raw, bool):
        return _Value("true" if raw else "false")
    if isinstance(raw, str):
        return _Value(raw)
    if _is_go_int(raw):
        return _Value(str(raw))
    text = _go_json(raw)
    return None if text is None else _Value(text, is_object=True)


def _is_secure(raw: dict[str, Any]) -> bool:
    """config/object.go `isSecureValue`: a mapping whose only key is `secure`, holding text."""
    return len(raw) == 1 and isinstance(raw.get("secure"), str)


def _contains_secure(raw: Any) -> bool:
    if isinstance(raw, dict):
        return _is_secure(raw) or any(_contains_secure(v) for v in raw.values())
    if isinstance(raw, list):
        return any(_contains_secure(v) for v in raw)
    return False


def _type_problem(stack: str, key: str, declaration: ConfigDeclaration, value: _Value) -> str | None:
    """config.go `validateStackConfigValue`. Never quotes the value."""
    if declaration.secret and not value.secure:
        return f"Stack '{stack}' with configuration key '{key}' must be encrypted as it's secret [config.go]"
    if value.secure:
        return None  # the engine checks the decrypted text; nothing here can decrypt it
    content: Any = value.text
    if value.is_object:
        content = json.loads(value.text, parse_int=float)  # Go decodes every JSON number as float64
    assert declaration.type is not None
    if _value_matches(declaration.type, declaration.items, content):
        return None
    return (
        f"Stack '{stack}' with configuration key '{key}' must be of type '{declaration.type_name()}' "
        "[config.go validateStackConfigValue]"
    )


def _missing_keys_message(keys: list[str], stack: str) -> str:
    """config.go `missingStackConfigurationKeysError` with `formatMissingKeys`."""
    keys = sorted(keys)
    if len(keys) == 1:
        return f"Stack '{stack}' is missing configuration value '{keys[0]}'"
    listed = ", ".join(f"'{k}'" for k in keys[:-1]) + f" and '{keys[-1]}'"
    return f"Stack '{stack}' is missing configuration values {listed}"


# --------------------------------------------------------------------------------------------
# YAML as the engine's decoder (gopkg.in/yaml.v3) reads it


_PLAIN_TAG = "tag:lambda-failures,2024:plain"
_YAML_FLOAT = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?")
_DOT_FLOAT = re.compile(r"\.[0-9]+([eE][-+]?[0-9]+)?")
_RESOLVED: dict[str, Any] = {
    **dict.fromkeys(("true", "True", "TRUE"), True),
    **dict.fromkeys(("false", "False", "FALSE"), False),
    **dict.fromkeys(("", "~", "null", "Null", "NULL"), None),
    **dict.fromkeys((".nan", ".NaN", ".NAN"), math.nan),
    **dict.fromkeys((".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF"), math.inf),
    **dict.fromkeys(("-.inf", "-.Inf", "-.INF"), -math.inf),
}
_DIGITS = {c: i for i, c in enumerate("0123456789abcdefghijklmnopqrstuvwxyz")}


class _GoYamlLoader(yaml.SafeLoader):
    """PyYAML's safe loader with yaml.v3's scalar resolution (its `resolve` function) for plain scalars,
    and yaml.v3's refusal of a key defined twice in one mapping."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        if isinstance(node, yaml.MappingNode):
            seen: set[tuple[str, Any]] = set()
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge" or not isinstance(key_node, yaml.ScalarNode):
                    continue
                key = self.construct_object(key_node)
                marker = (type(key).__name__, key)
                if marker in seen:
                    raise yaml.constructor.ConstructorError(
                        "while constructing a mapping",
                        node.start_mark,
                        "mapping key already defined",
                        key_node.start_mark,
                    )
                seen.add(marker)
        return super().construct_mapping(node, deep=deep)


_GoYamlLoader.yaml_implicit_resolvers = {}
_GoYamlLoader.add_implicit_resolver("tag:yaml.org,2002:merge", re.compile(r"^(?:<<)$"), ["<"])
_GoYamlLoader.add_implicit_resolver(_PLAIN_TAG, re.compile(r".*", re.DOTALL), None)


def _construct_plain(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> Any:
    return _go_resolve(loader.construct_scalar(node))


def _construct_timestamp(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> Any:
    # yaml.v3 decodes a timestamp into an untyped value as its text.
    return loader.construct_scalar(node)


_GoYamlLoader.add_constructor(_PLAIN_TAG, _construct_plain)
_GoYamlLoader.add_constructor("tag:yaml.org,2002:timestamp", _construct_timestamp)


def _go_resolve(text: str) -> Any:
    """yaml.v3 `resolve` for an untagged plain scalar: null, bool, int, float or the text itself."""
    if text in _RESOLVED:
        return _RESOLVED[text]
    first = text[0]
    if first == ".":
        if _DOT_FLOAT.fullmatch(text):
            return _finite_float(text) or text
        return text
    if first in "+-0123456789":
        plain = text.replace("_", "")
        number = _go_parse_int(plain, 0)
        if number is None:
            number = _go_parse_uint(plain, 0)
        if number is not None:
            return number
        if _YAML_FLOAT.fullmatch(plain):
            value = _finite_float(plain)
            if value is not None:
                return value
        for prefix, base in (("0b", 2), ("-0b", 2), ("0o", 8), ("-0o", 8)):
            if plain.startswith(prefix):
                sign = "-" if prefix.startswith("-") else ""
                number = _go_parse_int(sign + plain[len(prefix) :], base)
                if number is not None:
                    return number
                break
    return text


def _finite_float(text: str) -> float | None:
    """strconv.ParseFloat for decimal text: an overflow is an error, not infinity."""
    try:
        value = float(text)
    except ValueError:
        return None
    return None if math.isinf(value) else value


def _go_parse_uint(text: str, base: int) -> int | None:
    """strconv.ParseUint(text, base, 64); base 0 reads the 0b/0o/0x/0 prefixes."""
    if not text:
        return None
    if base == 0:
        base = 10
        if text[0] == "0":
            if len(text) >= 3 and text[1].lower() in ("b", "o", "x"):
                base = {"b": 2, "o": 8, "x": 16}[text[1].lower()]
                text = text[2:]
            else:
                base = 8
                text = text[1:]
    number = 0
    for char in text:
        digit = _DIGITS.get(char.lower() if char.isascii() else char)
        if digit is None or digit >= base:
            return None
        number = number * base + digit
    return number if number <= _UINT64_MAX else None


def _go_parse_int(text: str, base: int) -> int | None:
    """strconv.ParseInt(text, base, 64); with base 10 this is strconv.Atoi on a 64-bit host."""
    if not text:
        return None
    negative = text[0] == "-"
    body = text[1:] if text[0] in "+-" else text
    magnitude = _go_parse_uint(body, base)
    if magnitude is None:
        return None
    if negative:
        return -magnitude if magnitude <= -_INT64_MIN else None
    return magnitude if magnitude <= _INT64_MAX else None


def _is_go_int(value: Any) -> bool:
    """A Go `int` as yaml.v3 decodes it (larger integers become uint64, which the engine treats apart)."""
    return isinstance(value, int) and not isinstance(value, bool) and _INT64_MIN <= value <= _INT64_MAX


def _go_json(value: Any) -> str | None:
    """encoding/json.Marshal as the engine calls it: sorted keys, no spaces, HTML-safe; None on NaN/Inf."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _go_float(value)
    if isinstance(value, str):
        return _go_json_string(value)
    if isinstance(value, list):
        parts = [_go_json(v) for v in value]
        return None if any(p is None for p in parts) else "[" + ",".join(p for p in parts if p is not None) + "]"
    if isinstance(value, dict):
        pairs = []
        for key in sorted(value):
            text = _go_json(value[key])
            if text is None:
                return None
            pairs.append(f"{_go_json_string(key)}:{text}")
        return "{" + ",".join(pairs) + "}"
    return None


def _go_json_string(text: str) -> str:
    encoded = json.dumps(text, ensure_ascii=False)
    for char, escape in (
        ("<", "\\u003c"),
        (">", "\\u003e"),
        ("&", "\\u0026"),
        ("\u2028", "\\u2028"),
        ("\u2029", "\\u2029"),
    ):
        encoded = encoded.replace(char, escape)
    return encoded


def _go_float(value: float) -> str | None:
    """encoding/json's float64 encoder: shortest digits, 'f' form unless < 1e-6 or >= 1e21, `e-7` not `e-07`."""
    if math.isnan(value) or math.isinf(value):
        return None
    if value == 0:
        return "-0" if math.copysign(1.0, value) < 0 else "0"
    if 1e-6 <= abs(value) < 1e21:
        return format(Decimal(repr(value)).normalize(), "f")
    text = repr(value)  # Python's repr switches to exponent form in both ranges, with Go's digits
    if len(text) >= 4 and text[-4] == "e" and text[-3] == "-" and text[-2] == "0":
        text = text[:-2] + text[-1]  # e-07 -> e-7, as encoding/json cleans it
    return text


def _read_yaml(path: Path, source: str, required: bool) -> Any:
    """loaders.go `readFileStripUTF8BOM` and the YAML marshaler: the first document, plain data only."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        if required:
            raise ProjectFileError([f"{source}: no such file in {path.parent}"]) from None
        return None
    except OSError as error:
        raise ProjectFileError([f"{source}: could not read it ({error.strerror})"]) from None
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ProjectFileError([f"{source}: invalid YAML file: not UTF-8"]) from None
    try:
        document = next(iter(yaml.load_all(text, Loader=_GoYamlLoader)), None)  # a SafeLoader subclass
    except yaml.MarkedYAMLError as error:
        # Only the position and the parser's reason: the file's text (ciphertext included) stays out.
        mark = error.problem_mark or error.context_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        raise ProjectFileError([f"{source}: invalid YAML file{where}: {error.problem or error.context}"]) from None
    except (yaml.YAMLError, ValueError, TypeError, OverflowError, RecursionError) as error:
        raise ProjectFileError([f"{source}: invalid YAML file ({type(error).__name__})"]) from None
    problems: list[str] = []
    _check_plain(document, source, problems, set(), [0], 0)
    if problems:
        raise ProjectFileError(problems[:1])
    return document


def _check_plain(value: Any, source: str, problems: list[str], path: set[int], count: list[int], depth: int) -> None:
    """project.go `SimplifyMarshalledValue`: string keys only; and nothing but plain data, finitely nested."""
    count[0] += 1
    if problems:
        return
    if count[0] > _MAX_NODES:
        problems.append(f"{source}: document contains excessive aliasing")
        return
    if depth > _MAX_DEPTH:
        problems.append(f"{source}: document is nested too deeply")
        return
    if value is None or isinstance(value, (bool, int, float, str)):
        return
    if isinstance(value, (list, dict)):
        if id(value) in path:
            problems.append(f"{source}: document contains a recursive alias")
            return
        path.add(id(value))
        if isinstance(value, dict):
            for key, item in value.items():
                if not isinstance(key, str):
                    problems.append(
                        f"{source}: expected only string keys, got {_kind(key)} [project.go SimplifyMarshalledValue]"
                    )
                    return
                _check_plain(item, source, problems, path, count, depth + 1)
        else:
            for item in value:
                _check_plain(item, source, problems, path, count, depth + 1)
        path.discard(id(value))
        return
    problems.append(f"{source}: unsupported YAML value of type {_kind(value)}")


def _kind(value: Any) -> str:
    return {
        type(None): "null",
        bool: "a boolean",
        int: "an integer",
        float: "a number",
        str: "a string",
        list: "a list",
        dict: "a mapping",
    }.get(type(value), type(value).__name__)


def _display(path: Path, project_dir: Path) -> str:
    try:
        return str(path.relative_to(project_dir))
    except ValueError:
        return path.name
