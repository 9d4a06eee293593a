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
from failctl.preview.project_config import NAME_RE, PROJECT_FILE, UNPARSED_KEY, Project, parse_key

__all__ = ["SECRET_PLACEHOLDER", "StackConfig", "load_stack_config"]

# What `values` holds for a key whose stack value is `secure:` (the engine shows the same text in
# `pulumi config`); the ciphertext is never decrypted here, and never copied anywhere.
SECRET_PLACEHOLDER = "[secret]"
# encoding/json.Marshal's HTML-safe escapes, which json.dumps does not make.
_GO_ESCAPES = str.maketrans({"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"})


@dataclass(frozen=True)
class StackConfig:
    """The config a program run on the stack receives, as the engine hands it over.

    `values` maps qualified keys to the text the program reads (booleans `true`/`false`, numbers as
    text, arrays and objects as JSON); `secrets` are the keys whose stack value is `secure:` (their
    `values` entry is SECRET_PLACEHOLDER); `undeclared` are keys in the project namespace that
    Pulumi.yaml does not declare (the engine accepts them silently); `empty` are keys whose stack
    value is a YAML null, which the engine reads as "" and warns about (loaders.go `checkForEmptyConfig`).
    """

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

    A missing stack file is a fresh stack with no config (what `pulumi stack init` leaves);
    `overrides` act as `pulumi config set` on top of the file.
    """
    if not isinstance(stack, str) or not NAME_RE.fullmatch(stack):
        rule = "alphanumerics, hyphens, underscores and periods, 1 to 100 characters"
        raise ProjectFileError([f"stack name {stack!r}: may only contain {rule} [tokens/stack_name.go ParseStackName]"])
    source = str(Path(project.stack_config_dir, f"Pulumi.{stack}.yaml"))  # paths.go ProjectStackPath
    values, empty = _stack_values(project.name, read_yaml(project_dir / source, source, False), source, overrides)
    from_stack, problems, missing = set(values), [], []
    for key, declaration in sorted(project.config.items()):
        provided = declaration.default if declaration.default is not None else declaration.value
        if declaration.qualified not in values and provided is not None:
            # config.go createConfigValue: text, Go ints and booleans printed with `%v` (their JSON), the rest JSON.
            text = provided if isinstance(provided, str) else go_json(provided)
            if text is None:
                nan = "its default cannot be represented as JSON (NaN or infinity) [config.go createConfigValue]"
                problems.append(f"{PROJECT_FILE}: config key '{key}': {nan}")
                continue
            printed = isinstance(provided, (str, bool)) or is_go_int(provided)
            values[declaration.qualified] = _Value(text, is_object=not printed)
        value = values.get(declaration.qualified)
        if value is None and declaration.qualified.startswith(project.name + ":"):
            missing.append(key)  # config.go mergeConfig: only keys of the project's own namespace are required
        if value is None or declaration.type is None:
            continue
        # config.go validateStackConfigValue, never quoting the value; a secure value is left unchecked, as
        # the engine checks its decrypted text. Go decodes every JSON number as float64.
        where = f"{source if declaration.qualified in from_stack else PROJECT_FILE}: Stack '{stack}' with "
        where += f"configuration key '{key}' must be"
        content = json.loads(value.text, parse_int=float) if value.is_object else value.text
        if declaration.secret and not value.secure:
            problems.append(f"{where} encrypted as it's secret [config.go validateStackConfigValue]")
        elif not value.secure and not declaration.accepts(content):
            problems.append(f"{where} of type '{declaration.type_name()}' [config.go validateStackConfigValue]")
    if missing:  # config.go missingStackConfigurationKeysError, formatMissingKeys
        listed = ", ".join(f"'{k}'" for k in missing[:-1]) + " and " * (len(missing) > 1) + f"'{missing[-1]}'"
        message = f"Stack '{stack}' is missing configuration value{'s' * (len(missing) > 1)} {listed}"
        hint = f"set them in {source}, or give them a default in {PROJECT_FILE}"
        problems.insert(0, f"{source}: {message}: {hint} [config.go missingStackConfigurationKeysError]")
    if problems:
        raise ProjectFileError(problems)
    declared = {d.qualified for d in project.config.values()}
    return StackConfig(
        path=project_dir / source,
        values={k: SECRET_PLACEHOLDER if v.secure else v.text for k, v in sorted(values.items())},
        secrets=frozenset(k for k, v in values.items() if v.secure),
        undeclared=tuple(sorted(k for k in from_stack if k.startswith(project.name + ":") and k not in declared)),
        empty=tuple(sorted(empty)),
    )


def _stack_values(
    project: str, document: Any, source: str, overrides: Mapping[str, str] | None
) -> tuple[dict[str, _Value], set[str]]:
    """The stack file's `config:` and the overrides, qualified; the keys set to a YAML null."""
    problems: list[str] = []
    config = document.get("config") if isinstance(document, dict) else None
    if document is not None and not isinstance(document, dict):  # LoadProjectStackBytes: empty is no config
        problems.append(f"{source}: expected the stack file to be an object, was {kind(document)} [loaders.go]")
    elif isinstance(document, dict) and document.get("environment") is not None:
        problems.append(
            f"{source}: 'environment' imports ESC environments whose values cannot be known offline "
            "[config.go mergeConfig merges them; not carried here]"
        )
    if config is not None and not isinstance(config, dict):
        problems.append(f"{source}: 'config' must be a mapping of keys to values [config/map.go Map.UnmarshalYAML]")
    values, empty, spelled = dict[str, _Value](), set[str](), dict[str, str]()
    entries = [(source, *entry) for entry in (config.items() if isinstance(config, dict) else ())]
    for origin, key, raw in entries + [("overrides", *entry) for entry in (overrides or {}).items()]:
        where, qualified, value = f"{origin}: config key '{key}'", parse_key(project, key), _stack_value(raw)
        if qualified is None:
            problems.append(f"{where}: {UNPARSED_KEY} [config/key.go ParseKey]")
        elif qualified in spelled and origin == source:
            problems.append(
                f"{source}: config keys '{spelled[qualified]}' and '{key}' are both '{qualified}'; "
                "the engine would keep one of them at random [not an engine error]"
            )
        elif value is None:
            problems.append(f"{where}: NaN and infinity cannot be config values [config/object.go MarshalString]")
        else:
            values[qualified] = value
            if origin == source:
                spelled[qualified] = key  # as written, for the message when another spelling follows
            (empty.add if raw is None else empty.discard)(qualified)
    if problems:
        raise ProjectFileError(problems)
    return values, empty


def _stack_value(raw: Any) -> _Value | None:
    """config/object.go `unmarshalObject` then `MarshalString`: what the program will read; None for NaN or infinity.

    A YAML null is read as "" (loaders.go `checkForEmptyConfig` warns of it).
    """
    if raw is None or isinstance(raw, str):
        return _Value(raw or "")
    if _is_secure(raw):
        return _Value(raw["secure"], secure=True)
    text = go_json(raw)
    return None if text is None else _Value(text, _contains_secure(raw), is_object=isinstance(raw, (list, dict)))


def _is_secure(raw: Any) -> bool:
    """config/object.go `isSecureValue`: a mapping whose only key is `secure`, holding text."""
    return isinstance(raw, dict) and len(raw) == 1 and isinstance(raw.get("secure"), str)


def _contains_secure(raw: Any) -> bool:
    inner = raw.values() if isinstance(raw, dict) else raw if isinstance(raw, list) else ()
    return _is_secure(raw) or any(_contains_secure(v) for v in inner)


def go_json(value: Any) -> str | None:
    """encoding/json.Marshal as the engine calls it (sorted keys, no spaces, HTML-safe); None on NaN or infinity.

    Go's number text only where it changes what a program reads: a whole float64 below 1e21 is an integer
    (`2`, not `2.0`; `1e16` in full); other floats keep Python's spelling (`1e-07`), the same number.
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
