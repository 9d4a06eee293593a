"""Call policies the way the analyzer does: engine-shaped props behind the unknown proxy."""

from __future__ import annotations

import json
from typing import Any

from pulumi.runtime.rpc import UNKNOWN as UNKNOWN  # the tests take the engine's unknown from here
from pulumi_policy import (
    PolicyCustomTimeouts,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    StackValidationArgs,
)
from pulumi_policy.proxy import unknown_checking_proxy

from failure_guards import POLICIES

BY_NAME = {p.name: p for p in POLICIES}


def opts(protect: bool = False) -> PolicyResourceOptions:
    return PolicyResourceOptions(protect, [], None, [], PolicyCustomTimeouts(0, 0, 0), [], None)


def engine(value: Any) -> Any:
    """Numbers as the engine sends them: floats."""
    return json.loads(json.dumps(value), parse_int=float)


def violations(policy_name: str, type_: str, props: dict, config: dict | None = None) -> list[str]:
    policy = BY_NAME[policy_name]
    found: list[str] = []
    args = ResourceValidationArgs(
        type_, unknown_checking_proxy(engine(props)), f"urn:pulumi:t::p::{type_}::r", "r", opts(), None, config or {}
    )
    policy.validate(args, lambda message, urn=None: found.append(message))
    return found


def resource_args(type_: str, props: dict, config: dict | None = None) -> ResourceValidationArgs:
    return ResourceValidationArgs(
        type_, unknown_checking_proxy(engine(props)), f"urn:pulumi:t::p::{type_}::r", "r", opts(), None, config or {}
    )


def stack_resource(type_: str, name: str, props: dict, protect: bool = False) -> PolicyResource:
    urn = f"urn:pulumi:t::p::{type_}::{name}"
    return PolicyResource(type_, unknown_checking_proxy(engine(props)), urn, name, opts(protect), None, None, [], {})


def depends(resource: PolicyResource, prop: str, *targets: PolicyResource) -> PolicyResource:
    resource.property_dependencies = {prop: list(targets)}
    return resource


def stack_violations(policy_name: str, resources: list[PolicyResource], config: dict | None = None) -> list[str]:
    found: list[str] = []
    BY_NAME[policy_name].validate(
        StackValidationArgs(resources, config or {}), lambda message, urn=None: found.append(message)
    )
    return found


def document(*statements: dict) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})
