"""The engine's JSON schema for `Pulumi.yaml` (project.schema.json), and its errors as one line each.

The engine checks a project file against `project.json` (sdk/go/common/workspace/project.json,
applied by project.go `ValidateProject`) before anything else reads it. project.schema.json is that
schema as of pulumi/pulumi ENGINE_VERSION, for the sections the offline preview carries (name, the
text attributes, runtime, config); `template`, `packages`, `plugins`, `backend` and `options` are
left out, as nothing here reads them. `jsonschema` does the checking; this module words its errors.
"""

from __future__ import annotations

import json
from collections import defaultdict
from importlib.resources import files
from typing import Any

import jsonschema

__all__ = ["ENGINE_VERSION", "PROJECT_SCHEMA", "schema_problems"]

ENGINE_VERSION = "v3.259.0"
PROJECT_SCHEMA: dict[str, Any] = json.loads(files(__package__).joinpath("project.schema.json").read_text())
_VALIDATOR = jsonschema.Draft202012Validator(PROJECT_SCHEMA)
_KINDS = dict(string="a string", object="a mapping", boolean="a boolean", array="a list", integer="an integer")


def schema_problems(document: dict[str, Any]) -> dict[tuple[str, ...], list[str]]:
    """Every way `document` breaks the schema, keyed by where: `(attribute,)` or `("config", key)`."""
    problems: dict[tuple[str, ...], list[str]] = defaultdict(list)
    for error in _VALIDATOR.iter_errors(document):
        path = [str(part) for part in error.absolute_path]
        owner = tuple(path[:2]) if path[:1] == ["config"] and len(path) > 1 else tuple(path[:1])
        problems[owner] += _messages(error)
    return dict(problems)


def _messages(error: jsonschema.ValidationError) -> list[str]:
    where = _where([str(part) for part in error.absolute_path])
    schema, value = error.schema if isinstance(error.schema, dict) else {}, error.validator_value
    if error.validator == "oneOf":
        # The branch of the instance's own type says what is wrong with it; else name the shapes allowed.
        kinds = [str(branch.get("type", "object")) for branch in value]  # a `$ref` branch is a declaration
        inner = [e for e in error.context or () if _VALIDATOR.is_type(error.instance, kinds[e.schema_path[0]])]
        lines = [line for e in inner for line in _messages(e)]
        return lines or [f"{where} must be {schema['description']} [project.json]"]
    if error.validator == "additionalProperties":
        names = schema.get("properties", {})
        allowed = ", ".join(f"'{name}'" for name in names)
        extra = sorted(set(error.instance) - set(names))
        return [f"{where}: '{x}' not allowed; the allowed attributes are {allowed} [project.json]" for x in extra]
    if error.validator == "type":
        kinds = [_KINDS[name] for name in (value if isinstance(value, list) else [value]) if name in _KINDS]
        return [f"{where} must be {' or '.join(kinds)} [project.json]"]
    if error.validator == "enum":
        return [f"{where} must be one of {', '.join(map(str, value))} [project.json simpleConfigType]"]
    if error.validator == "minLength":
        return [f"{where} must not be empty [project.json]"]
    if error.validator == "required":
        missing = ", ".join(repr(name) for name in value if name not in error.instance)
        return [f"{where} needs {missing} [project.json]"]
    return [f"{where} breaks the schema's '{error.validator}' rule [project.json]"]  # never the value itself


def _where(path: list[str]) -> str:
    """`config key 'size': items: 'type'`, `runtime: 'options'`, `'description'`: where an error sits."""
    head = [f"config key '{path[1]}'"] if path[:1] == ["config"] and len(path) > 1 else []
    path = path[2:] if head else path
    return ": ".join(head + path[:-1] + [f"'{p}'" for p in path[-1:]]) or "the project"
