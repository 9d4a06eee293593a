"""The program's own stack passes the pack at preview: nothing mandatory, nothing undecided."""

import pytest
from support.pulumi_harness import run_program

from failctl.preview import gate

PACK = gate.load_pack("policy")


@pytest.mark.parametrize(
    "overrides",
    [
        {},
        {"successDestination": "sqs", "deadLetterQueue": True},
        {"successDestination": "sns", "reservedConcurrency": 0},
        {"successDestination": "eventbridge"},
        {"successDestination": "lambda"},
    ],
    ids=["default", "sqs+dlq", "sns+zero-concurrency", "eventbridge", "lambda"],
)
def test_program_is_clean_and_fully_decided(overrides):
    result = gate.evaluate(PACK, run_program(**overrides).resources)
    assert result.undecided == [], result.undecided
    assert result.violations == [], result.violations


def test_throwaway_stacks_get_the_protection_advice_only():
    result = gate.evaluate(PACK, run_program(allowDestroy=True).resources)
    assert [(v.policy, v.level) for v in result.violations] == [("failure-archive-protected", "advisory")]
