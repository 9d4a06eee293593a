"""The lambda-failures policy pack's policies, importable without starting the analyzer.

`PACK_NAME` and `POLICIES` load the policies (and pulumi_policy) on first use, so the
program can read `failure_guards.bounds` without the pack's dependencies.
"""

from __future__ import annotations

from typing import Any

PACK_NAME = "lambda-failures-guard"

__all__ = ["PACK_NAME", "POLICIES"]


_POLICIES: list[Any] = []


def __getattr__(name: str) -> Any:
    if name != "POLICIES":
        raise AttributeError(name)
    if not _POLICIES:
        _POLICIES.extend(_assemble())
    return _POLICIES


def _assemble() -> list[Any]:
    from pulumi_policy import PolicyConfigSchema

    from . import (
        async_destinations,
        buckets,
        encryption,
        exemption_reports,
        exemptions,
        names,
        resource_account,
        streams,
    )

    policies = [
        *resource_account.POLICIES,
        *encryption.POLICIES,
        *streams.POLICIES,
        *async_destinations.POLICIES,
        *buckets.POLICIES,
        *names.POLICIES,
        *exemption_reports.POLICIES,  # the in-force note last: it reports what the others excused
    ]
    exemption_reports.KNOWN_POLICIES.update(p.name for p in policies)
    for policy in policies:  # the owner exempts from every policy in its config, but these
        if policy.name in exemptions.UNEXEMPTABLE:
            continue
        schema = policy.config_schema or PolicyConfigSchema(properties={})
        policy.config_schema = PolicyConfigSchema(
            properties={
                **schema.properties,
                "exemptions": exemptions.CONFIG_SCHEMA,
                exemptions.HORIZON_SETTING: exemptions.HORIZON_SCHEMA,
            },
            required=schema.required,
        )
    return policies
