"""The lambda-failures policy pack's policies, importable without starting the analyzer.

`POLICIES` (the list in `policies.py`) loads on first use, with pulumi_policy, so the
program can read `failure_guards.bounds` without the pack's dependencies.
"""

from __future__ import annotations

from typing import Any

PACK_NAME = "lambda-failures-guard"

__all__ = ["PACK_NAME", "POLICIES"]


def __getattr__(name: str) -> Any:
    if name != "POLICIES":
        raise AttributeError(name)
    from .policies import POLICIES

    return POLICIES
