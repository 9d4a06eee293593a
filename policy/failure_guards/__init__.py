"""The lambda-failures policy pack's policies, importable without starting the analyzer."""

from . import async_destinations, buckets, encryption, resource_account, streams

PACK_NAME = "lambda-failures-guard"

POLICIES = [
    resource_account.POLICY,
    *encryption.POLICIES,
    *streams.POLICIES,
    *async_destinations.POLICIES,
    *buckets.POLICIES,
]

__all__ = ["PACK_NAME", "POLICIES"]
