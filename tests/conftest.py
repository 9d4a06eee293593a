"""Fixtures only: the program synthesized offline, once per session and fresh per test.

Helpers live in the `support` package (tests/support): the Pulumi harness, the Lambda
context, the archive factory, stream events, the policy harness, loopback AWS servers.
"""

from __future__ import annotations

import os
from collections.abc import Callable

import pytest
from support.pulumi_harness import run_program

from failctl.preview.synth import Synthesis

# Powertools reads these when a handler module is imported, as Lambda sets them before.
os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "lambda-failures-test")
os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "lambda-failures-test")
os.environ.setdefault("AWS_DEFAULT_REGION", "eu-west-1")


@pytest.fixture(scope="session")
def stack() -> Synthesis:
    """The default stack, synthesized once for the read-only assertions."""
    return run_program()


@pytest.fixture
def program() -> Callable[..., Synthesis]:
    return run_program
