"""The offline policy gate: the pack's policies over a synthesized stack or a stack export.

It calls each policy the way the analyzer does (props deserialized and wrapped in the
unknown-checking proxy, config from the pack config file with schema defaults) and sorts
the outcome into violations by enforcement level, remediations, and policies that could
not decide because a value they read is unknown.
"""

from __future__ import annotations

import asyncio
import importlib
import inspect
import json
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema
from pulumi_policy import (
    EnforcementLevel,
    Policy,
    PolicyCustomTimeouts,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.deserialize import deserialize_properties
from pulumi_policy.policy import _NotApplicableError
from pulumi_policy.proxy import UnknownValueError, unknown_checking_proxy

from failctl.synth import SynthResource

LEVELS = tuple(level.value for level in EnforcementLevel)


class GateInputError(Exception):
    """The pack or its config cannot be used; the message says why."""


@dataclass(frozen=True)
class Violation:
    policy: str
    level: str
    urn: str | None
    message: str


@dataclass(frozen=True)
class Undecided:
    policy: str
    urn: str | None
    reason: str


@dataclass
class GateResult:
    pack: str
    policies: int
    resources: int
    violations: list[Violation] = field(default_factory=list)
    undecided: list[Undecided] = field(default_factory=list)

    @property
    def blocked(self) -> bool:
        return any(v.level == EnforcementLevel.MANDATORY.value for v in self.violations)

    def as_json(self) -> dict[str, Any]:
        return {
            "violations": [v.__dict__ for v in self.violations],
            "undecided": [u.__dict__ for u in self.undecided],
        }


@dataclass(frozen=True)
class Pack:
    name: str
    policies: list[Policy]


def load_pack(directory: str | Path) -> Pack:
    """Import the pack's policy package (the one exposing PACK_NAME and POLICIES)."""
    path = Path(directory).resolve()
    if not (path / "PulumiPolicy.yaml").exists():
        raise GateInputError(f"{directory} is not a policy pack (no PulumiPolicy.yaml)")
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))
    for candidate in sorted(p for p in path.iterdir() if (p / "__init__.py").exists()):
        module = importlib.import_module(candidate.name)
        if hasattr(module, "POLICIES") and hasattr(module, "PACK_NAME"):
            return Pack(module.PACK_NAME, list(module.POLICIES))
    raise GateInputError(f"no package in {directory} exposes PACK_NAME and POLICIES")


def load_config(path: str | Path | None, pack: Pack) -> dict[str, tuple[str, dict[str, Any]]]:
    """Per policy: (enforcement level, config with schema defaults), from a pack config file."""
    raw: dict[str, Any] = {}
    if path is not None:
        try:
            raw = json.loads(Path(path).read_text())
        except (OSError, json.JSONDecodeError) as error:
            raise GateInputError(f"cannot read policy pack config {path}: {error}") from None
        if not isinstance(raw, dict):
            raise GateInputError(f"policy pack config {path} must be a JSON object")
    names = {p.name for p in pack.policies}
    unknown = sorted(set(raw) - names - {"all"})
    if unknown:
        raise GateInputError(f"policy pack config names unknown policies: {', '.join(unknown)}")
    default_level = raw.get("all")
    if default_level is not None and default_level not in LEVELS:
        raise GateInputError(f"'all' must be one of {', '.join(LEVELS)}; got {default_level!r}")
    return {p.name: _policy_config(p, raw.get(p.name), default_level) for p in pack.policies}


def _policy_config(policy: Policy, entry: Any, default_level: str | None) -> tuple[str, dict[str, Any]]:
    level = default_level or (policy.enforcement_level.value if policy.enforcement_level else "advisory")
    given: dict[str, Any] = {}
    if isinstance(entry, str):
        level = entry
    elif isinstance(entry, dict):
        given = {k: v for k, v in entry.items() if k != "enforcementLevel"}
        level = entry.get("enforcementLevel", level)
    elif entry is not None:
        raise GateInputError(f"config for {policy.name} must be a level or an object")
    if level not in LEVELS:
        raise GateInputError(f"{policy.name}: enforcement level must be one of {', '.join(LEVELS)}; got {level!r}")
    schema = policy.config_schema
    properties = dict(schema.properties) if schema else {}
    if given and not properties:
        raise GateInputError(f"{policy.name} takes no configuration; got {sorted(given)}")
    config = {k: v["default"] for k, v in properties.items() if isinstance(v, dict) and "default" in v}
    config.update(given)
    if properties:
        try:
            jsonschema.validate(config, {"type": "object", "properties": properties, "required": schema.required or []})
        except jsonschema.ValidationError as error:
            raise GateInputError(f"{policy.name} config: {error.message}") from None
    return level, config


def _props(raw: dict[str, Any]):
    return unknown_checking_proxy(deserialize_properties(raw))


def _opts(resource: SynthResource) -> PolicyResourceOptions:
    return PolicyResourceOptions(
        protect=resource.protect,
        ignore_changes=[],
        delete_before_replace=None,
        aliases=[],
        custom_timeouts=PolicyCustomTimeouts(0, 0, 0),
        additional_secret_outputs=[],
        parent=resource.parent,
    )


def _run(result: Any) -> None:
    if inspect.isawaitable(result):
        asyncio.new_event_loop().run_until_complete(result)


def _stack_resources(resources: list[SynthResource]) -> list[PolicyResource]:
    built: dict[str, PolicyResource] = {}
    for r in resources:
        built[r.urn] = PolicyResource(r.type, _props(r.props), r.urn, r.name, _opts(r), None, None, [], {})
    for r in resources:
        resource = built[r.urn]
        resource.parent = built.get(r.parent or "")
        resource.property_dependencies = {
            key: [built[u] for u in urns if u in built] for key, urns in r.dependencies.items()
        }
        resource.dependencies = [d for deps in resource.property_dependencies.values() for d in deps]
    return list(built.values())


def evaluate(
    pack: Pack, resources: Iterable[SynthResource], config: dict[str, tuple[str, dict[str, Any]]] | None = None
) -> GateResult:
    resources = [r for r in resources if r.custom]
    config = config or load_config(None, pack)
    result = GateResult(pack.name, len(pack.policies), len(resources))
    for policy in pack.policies:
        level, policy_config = config[policy.name]
        if level == EnforcementLevel.DISABLED.value:
            continue
        if isinstance(policy, ResourceValidationPolicy):
            for resource in resources:
                _resource_policy(policy, level, policy_config, resource, result)
        elif isinstance(policy, StackValidationPolicy):
            _stack_policy(policy, level, policy_config, resources, result)
    return result


def _resource_policy(
    policy: ResourceValidationPolicy, level: str, config: dict, resource: SynthResource, result: GateResult
) -> None:
    def args() -> ResourceValidationArgs:
        return ResourceValidationArgs(
            resource.type, _props(resource.props), resource.urn, resource.name, _opts(resource), None, config
        )

    def report(message: str, urn: str | None = None) -> None:
        result.violations.append(Violation(policy.name, level, urn or resource.urn, message))

    try:
        if level == EnforcementLevel.REMEDIATE.value and policy.has_remediation():
            fixed = policy.remediate(args())
            if inspect.isawaitable(fixed):
                fixed = asyncio.new_event_loop().run_until_complete(fixed)
            if fixed is not None:
                result.violations.append(
                    Violation(policy.name, level, resource.urn, "remediated: the policy rewrote this resource's inputs")
                )
                return
        if policy.has_validation():
            _run(policy.validate(args(), report))
    except UnknownValueError as error:
        result.undecided.append(Undecided(policy.name, resource.urn, error.message))
    except _NotApplicableError:
        return
    except Exception as error:  # a policy bug must show, never pass as compliant
        result.undecided.append(Undecided(policy.name, resource.urn, f"policy raised {type(error).__name__}: {error}"))


def _stack_policy(
    policy: StackValidationPolicy, level: str, config: dict, resources: list[SynthResource], result: GateResult
) -> None:
    def report(message: str, urn: str | None = None) -> None:
        result.violations.append(Violation(policy.name, level, urn, message))

    try:
        _run(policy.validate(StackValidationArgs(_stack_resources(resources), config), report))
    except UnknownValueError as error:
        result.undecided.append(Undecided(policy.name, None, error.message))
    except _NotApplicableError:
        return
    except Exception as error:
        result.undecided.append(Undecided(policy.name, None, f"policy raised {type(error).__name__}: {error}"))


def report_lines(result: GateResult) -> list[str]:
    lines = [f"Policy pack {result.pack}: {result.policies} policies over {result.resources} resources"]
    for level in (EnforcementLevel.MANDATORY.value, EnforcementLevel.ADVISORY.value, EnforcementLevel.REMEDIATE.value):
        found = [v for v in result.violations if v.level == level]
        label = "remediated" if level == EnforcementLevel.REMEDIATE.value else f"{level} violations"
        lines.append(f"{label}: {len(found)}")
        for v in found:
            lines.append(f"  [{v.policy}] {v.urn or '(stack)'}")
            lines.append(f"      {v.message}")
    lines.append(f"undecided (unknown at preview): {len(result.undecided)}")
    for u in result.undecided:
        lines.append(f"  [{u.policy}] {u.urn or '(stack)'}: {u.reason}")
    lines.append("BLOCKED: mandatory violations" if result.blocked else "PASSED: no mandatory violations")
    return lines
