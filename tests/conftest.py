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


# Tests that start real processes and servers (moto, loopback Lambdas, the pack's host, the
# demo) and take seconds each. `make test` runs them all; `make test-fast` leaves these out.
SLOW_MODULES = frozenset(
    {
        "tests/failctl/test_replay_concurrency.py",
        "tests/failctl/test_incident_attacks.py",
        "tests/failctl/test_demo.py",
        "tests/failctl/test_consumer_example.py",
        "tests/failctl/test_gate_cli.py",
        "tests/contracts/test_analyzer_protocol.py",
        "tests/contracts/test_component_provider.py",
        "tests/failctl/test_gate_bypass.py",
        "tests/failctl/test_gate_overlap.py",
        "tests/failctl/test_hostile_input.py",
        "tests/failctl/test_program_layouts.py",
        "tests/analytics/test_compaction.py",
    }
)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "slow: starts real processes or servers (listed in SLOW_MODULES)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    root = config.rootpath
    for item in items:
        if item.path.relative_to(root).as_posix() in SLOW_MODULES:
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session")
def stack() -> Synthesis:
    """The default stack, synthesized once for the read-only assertions."""
    return run_program()


@pytest.fixture
def program() -> Callable[..., Synthesis]:
    return run_program
