"""What a program run on a stack receives as config: `Pulumi.<stack>.yaml` merged with the project's declarations.

Mirrors pkg/workspace/config.go `ValidateStackConfigAndApplyProjectConfig` -> `mergeConfig`, with the
stack file read as loaders.go `LoadProjectStack` reads it and each value turned into the text the
program reads as sdk/go/common/resource/config/object.go does (`unmarshalObject`, `MarshalString`).

Not carried: ESC `environment:` blocks (a stack file with one is refused, since its values cannot be
known offline), decryption (a `secure:` value is never decrypted, so its type is not checked), and
config key paths (`a.b` / `a[0]` names are treated literally).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from failctl.preview.engine_yaml import ProjectFileError, is_go_int, kind, read_yaml
from failctl.preview.project_config import NAME_RE, PROJECT_FILE, ConfigDeclaration, Project, parse_key, value_matches

__all__ = ["SECRET_PLACEHOLDER", "StackConfig", "load_stack_config"]

# What `values` holds for a key whose stack value is `secure:` (the engine shows the same text in
# `pulumi config`); the ciphertext is never decrypted here, and never copied anywhere.
SECRET_PLACEHOLDER = "[secret]"


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


@dataclass(frozen=True)
class _Value:
    """config.Value: the text, whether it holds ciphertext, whether the text is JSON."""

    text: str
    secure: bool = False
    is_object: bool = False


def load_stack_config(
    project: Project, project_dir: Path, stack: str, overrides: Mapping[str, str] | None = None
) -> StackConfig:
    """The stack's config after the engine's merge, or ProjectFileError naming each broken rule.

    Stack keys without a namespace get the project's (loaders.go `stackConfigNamespacedWithProject`);
    a declared key the stack does not set takes its `value` or `default` (`createConfigValue`); a key in
    the project namespace with neither, and no stack value, is missing; every explicitly typed key is
    then checked (`validateStackConfigValue`). A missing stack file is a fresh stack with no config
    (what `pulumi stack init` leaves). `overrides` act as `pulumi config set` on top of the file.
    """
    if not isinstance(stack, str) or not NAME_RE.fullmatch(stack):
        raise ProjectFileError(
            [
                f"stack name {stack!r}: may only contain alphanumerics, hyphens, underscores and periods, "
                "1 to 100 characters [tokens/stack_name.go ParseStackName]"
            ]
        )
    path = project.stack_file(project_dir, stack)
    source = str(path.relative_to(project_dir)) if path.is_relative_to(project_dir) else path.name
    stack_values, empty = _stack_values(project.name, read_yaml(path, source, required=False), source, overrides)
    merged = {**_declared_values(project, stack_values), **stack_values}
    problems = _missing_problems(project, merged, stack, source)
    for key, declaration in sorted(project.config.items()):
        value = merged.get(declaration.qualified)
        problem = None if declaration.type is None or value is None else _type_problem(stack, key, declaration, value)
        if problem is not None:
            problems.append(f"{source if declaration.qualified in stack_values else PROJECT_FILE}: {problem}")
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


def _stack_values(
    project: str, document: Any, source: str, overrides: Mapping[str, str] | None
) -> tuple[dict[str, _Value], set[str]]:
    """The stack file's `config:` and the overrides, qualified; the keys set to a YAML null."""
    problems: list[str] = []
    values: dict[str, _Value] = {}
    empty: set[str] = set()
    for key, raw in _config_block(document, source, problems).items():
        qualified = _qualify(project, key, source, problems)
        if qualified is None:
            continue
        if qualified in values:
            problems.append(
                f"{source}: config key '{key}' is set twice (as '{qualified}' and without its namespace); "
                "the engine would keep one of them at random [not an engine error]"
            )
            continue
        value = _stack_value(raw, f"{source}: config key '{key}'", problems)
        if value is not None:
            values[qualified] = value
            if raw is None:
                empty.add(qualified)
    for key, text in (overrides or {}).items():
        qualified = _qualify(project, key, "overrides", problems)
        if qualified is not None and not isinstance(text, str):
            problems.append(f"overrides: config key '{key}' must be given as text")
        elif qualified is not None:
            values[qualified] = _Value(text)
            empty.discard(qualified)
    if problems:
        raise ProjectFileError(problems)
    return values, empty


def _config_block(document: Any, source: str, problems: list[str]) -> dict[str, Any]:
    if document is None:
        return {}  # LoadProjectStackBytes: an empty file is a stack with no config.
    if not isinstance(document, dict):
        problems.append(f"{source}: expected the stack file to be an object, was {kind(document)} [loaders.go]")
        return {}
    if document.get("environment") is not None:
        problems.append(
            f"{source}: 'environment' imports ESC environments whose values cannot be known offline "
            "[config.go mergeConfig merges them; not carried here]"
        )
    config = document.get("config")
    if config is not None and not isinstance(config, dict):
        problems.append(f"{source}: 'config' must be a mapping of keys to values [config/map.go Map.UnmarshalYAML]")
        return {}
    return config or {}


def _qualify(project: str, key: Any, source: str, problems: list[str]) -> str | None:
    """loaders.go `stackConfigNamespacedWithProject`, then config/key.go `ParseKey`."""
    qualified = parse_key(project, key) if isinstance(key, str) else None
    if qualified is None:
        problems.append(
            f"{source}: config key '{key}': could not parse it as a configuration key (configuration keys should "
            "be of the form `<namespace>:<name>`) [config/key.go ParseKey]"
        )
    return qualified


def _declared_values(project: Project, stack_values: Mapping[str, _Value]) -> dict[str, _Value]:
    """config.go `createConfigValue` for each declared key the stack leaves to the project."""
    values: dict[str, _Value] = {}
    problems: list[str] = []
    for key, declaration in sorted(project.config.items()):
        provided = declaration.default if declaration.default is not None else declaration.value
        if declaration.qualified in stack_values or provided is None:
            continue
        if isinstance(provided, bool):
            values[declaration.qualified] = _Value("true" if provided else "false")
        elif isinstance(provided, str) or is_go_int(provided):  # Go's `%v`
            values[declaration.qualified] = _Value(str(provided))
        elif (text := go_json(provided)) is not None:
            values[declaration.qualified] = _Value(text, is_object=True)
        else:
            problems.append(
                f"{PROJECT_FILE}: config key '{key}': its default cannot be represented as JSON "
                "(NaN or infinity) [config.go createConfigValue]"
            )
    if problems:
        raise ProjectFileError(problems)
    return values


def _missing_problems(project: Project, merged: Mapping[str, _Value], stack: str, source: str) -> list[str]:
    """config.go `missingStackConfigurationKeysError` with `formatMissingKeys`: only project keys are required."""
    keys = sorted(
        key
        for key, d in project.config.items()
        if d.qualified not in merged and d.namespace == project.name and d.default is None and d.value is None
    )
    if not keys:
        return []
    if len(keys) == 1:
        message = f"Stack '{stack}' is missing configuration value '{keys[0]}'"
    else:
        listed = ", ".join(f"'{k}'" for k in keys[:-1]) + f" and '{keys[-1]}'"
        message = f"Stack '{stack}' is missing configuration values {listed}"
    return [
        f"{source}: {message}: set them in {source}, or give them a default in {PROJECT_FILE} "
        "[config.go missingStackConfigurationKeysError]"
    ]


def _stack_value(raw: Any, where: str, problems: list[str]) -> _Value | None:
    """config/object.go `unmarshalObject` then `MarshalString`: what the program will read."""
    if raw is None:
        return _Value("")
    if isinstance(raw, dict) and _is_secure(raw):
        return _Value(raw["secure"], secure=True)
    if isinstance(raw, str):
        return _Value(raw)
    text = go_json(raw)
    if text is None:
        problems.append(f"{where}: NaN and infinity cannot be config values [config/object.go MarshalString]")
        return None
    return _Value(text, secure=_contains_secure(raw), is_object=True) if isinstance(raw, (list, dict)) else _Value(text)


def _is_secure(raw: dict[str, Any]) -> bool:
    """config/object.go `isSecureValue`: a mapping whose only key is `secure`, holding text."""
    return len(raw) == 1 and isinstance(raw.get("secure"), str)


def _contains_secure(raw: Any) -> bool:
    if isinstance(raw, dict):
        return _is_secure(raw) or any(_contains_secure(v) for v in raw.values())
    return isinstance(raw, list) and any(_contains_secure(v) for v in raw)


def _type_problem(stack: str, key: str, declaration: ConfigDeclaration, value: _Value) -> str | None:
    """config.go `validateStackConfigValue`. Never quotes the value."""
    if declaration.secret and not value.secure:
        return f"Stack '{stack}' with configuration key '{key}' must be encrypted as it's secret [config.go]"
    if value.secure:
        return None  # the engine checks the decrypted text; nothing here can decrypt it
    # Go decodes every JSON number as float64.
    content = json.loads(value.text, parse_int=float) if value.is_object else value.text
    if declaration.type is None or value_matches(declaration.type, declaration.items, content):
        return None
    return (
        f"Stack '{stack}' with configuration key '{key}' must be of type '{declaration.type_name()}' "
        "[config.go validateStackConfigValue]"
    )


# encoding/json.Marshal's HTML-safe escapes, which json.dumps does not make.
_GO_ESCAPES = str.maketrans({"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"})


def go_json(value: Any) -> str | None:
    """encoding/json.Marshal as the engine calls it (sorted keys, no spaces, HTML-safe); None on NaN or infinity.

    Only the number text is Go's own where it changes what a program reads: a whole float64 below
    1e21 is written as an integer (`2`, not `2.0`; `1e16` in full), which `json.loads` and `int()`
    read as an integer. Other floats keep Python's spelling (`1e-07` for Go's `1e-7`), the same number.
    """

    def go_numbers(item: Any) -> Any:
        if isinstance(item, float) and math.isfinite(item) and item.is_integer() and abs(item) < 1e21:
            return int(Decimal(repr(item)))  # Go's shortest digits, padded with zeros
        if isinstance(item, list):
            return [go_numbers(v) for v in item]
        return {k: go_numbers(v) for k, v in item.items()} if isinstance(item, dict) else item

    try:
        text = json.dumps(go_numbers(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except ValueError:
        return None
    return text.translate(_GO_ESCAPES)
