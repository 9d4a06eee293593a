"""The lambda-failures policy pack's policies, importable without starting the analyzer.

`PACK_NAME` and `POLICIES` load the policies (and pulumi_policy) on first use, so the
program can read `failure_guards.bounds` without the pack's dependencies.
"""

from __future__ import annotations

from typing import Any

PACK_NAME = "lambda-failures-guard"

__all__ = ["PACK_NAME", "POLICIES"]


def __getattr__(name: str) -> Any:
    if name != "POLICIES":
        raise AttributeError(name)
    from pulumi_policy import PolicyConfigSchema

    from . import async_destinations, buckets, encryption, exemptions, names, resource_account, streams

    policies = [
        *resource_account.POLICIES,
        *encryption.POLICIES,
        *streams.POLICIES,
        *async_destinations.POLICIES,
        *buckets.POLICIES,
        *names.POLICIES,
    ]
    for policy in policies:  # every policy takes exemptions in its config
        schema = policy.config_schema or PolicyConfigSchema(properties={})
        policy.config_schema = PolicyConfigSchema(
            properties={**schema.properties, "exemptions": exemptions.CONFIG_SCHEMA}, required=schema.required
        )
    return policies
