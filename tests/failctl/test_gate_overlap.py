"""The gate asks the pack about several resources at once: the verdict must be the one a call at
a time gives (same findings, same order), and any call that crashes or runs out of time is still a
mandatory violation on its own resource while the others are judged as usual."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest
from support.pulumi_harness import run_program

from failctl.preview import analyzer, gate
from failctl.preview.synth import UNKNOWN, SynthResource

POLICY_DIR = Path(__file__).resolve().parents[2] / "policy"
ESM = "aws:lambda/eventSourceMapping:EventSourceMapping"
BISECT = "stream-mapping-bisects-batches"


def resource(type_: str, props: dict, name: str) -> SynthResource:
    return SynthResource(f"urn:pulumi:t::p::{type_}::{name}", type_, name, None, True, props, False, {})


def mutants() -> list[SynthResource]:
    """Findings of every kind: violations, an undecided policy, a remediation, a tag exemption."""
    mapping = {
        "eventSourceArn": "arn:aws:dynamodb:eu-west-1:123456789012:table/t/stream/x",
        "functionName": "f",
        "startingPosition": "LATEST",
        "maximumRetryAttempts": 3.0,
        "maximumRecordAgeInSeconds": 3600.0,
        "bisectBatchOnFunctionError": False,
        "destinationConfig": {"onFailure": {"destinationArn": "arn:aws:s3:::archive"}},
    }
    exempt = {"lambda-failures-exempt:sqs-queues-encrypted-with-customer-kms-key": "until 2999-01-01: vendor queue"}
    return [
        resource("aws:sqs/queue:Queue", {"name": "q"}, "plain-queue"),
        resource("aws:iam/rolePolicy:RolePolicy", {"role": "r", "policy": UNKNOWN}, "unknown-policy"),
        resource(ESM, mapping, "no-bisect"),
        resource("aws:sqs/queue:Queue", {"name": "v", "tags": exempt}, "vendor-queue"),
        resource("aws:sns/topic:Topic", {"name": "t", "kmsMasterKeyId": "alias/aws/sns"}, "aws-key-topic"),
    ]


def verdict(pack: gate.Pack, resources: list[SynthResource], config: dict) -> tuple:
    result = gate.evaluate(pack, resources, config)
    return result.violations, result.undecided, result.exemptions, result.blocked


def test_overlapped_calls_give_the_verdict_of_one_call_at_a_time(monkeypatch):
    pack = gate.load_pack(POLICY_DIR)
    config = gate.load_config(None, pack)
    config[BISECT] = ("remediate", config[BISECT][1])
    stack = [r for r in run_program(successDestination="sqs", deadLetterQueue=True).resources]
    # The mutants spread through the plan, so findings of every kind interleave with clean resources.
    resources = list(stack)
    for offset, broken in enumerate(mutants()):
        resources.insert(offset * 11, broken)

    overlapped = verdict(pack, resources, config)
    monkeypatch.setattr(gate, "CONCURRENT_CALLS", 1)
    one_at_a_time = verdict(pack, resources, config)

    assert overlapped == one_at_a_time
    violations, undecided, exemptions, blocked = overlapped
    assert blocked and undecided and exemptions
    assert any(v.level == "remediate" and v.urn.endswith("::no-bisect") for v in violations)


PROBE_PACK = """
import threading
import time

from pulumi_policy import EnforcementLevel, PolicyPack, ResourceValidationPolicy

lock = threading.Lock()
in_flight = [0]


def judge(args, report_violation):
    with lock:
        in_flight[0] += 1
        seen = in_flight[0]
    try:
        if args.name == "crashes":
            raise RuntimeError("policy bug")
        time.sleep({slow} if args.name == "hangs" else 0.2)
        with lock:
            seen = max(seen, in_flight[0])
        report_violation(f"judged {{args.name}} with {{seen}} in flight")
    finally:
        with lock:
            in_flight[0] -= 1


PolicyPack(
    name="probe",
    policies=[
        ResourceValidationPolicy(
            name="judges", description="judges", validate=judge, enforcement_level=EnforcementLevel.ADVISORY
        )
    ],
)
"""


@pytest.fixture(scope="module")
def probe(tmp_path_factory):
    folder = tmp_path_factory.mktemp("probe")
    (folder / "PulumiPolicy.yaml").write_text("runtime: python\n")
    (folder / "__main__.py").write_text(textwrap.dedent(PROBE_PACK.format(slow=6)))
    return gate.load_pack(folder)


def test_one_crashing_and_one_timed_out_call_among_many_fail_closed_in_place(probe, monkeypatch):
    monkeypatch.setattr(analyzer, "CALL_SECONDS", 2)
    names = [f"q{i}" for i in range(12)]
    names[3], names[8] = "crashes", "hangs"
    resources = [resource("aws:sqs/queue:Queue", {"name": n}, n) for n in names]

    result = gate.evaluate(probe, resources)

    assert result.blocked
    by_urn = {v.urn: v for v in result.violations}
    assert [v.urn for v in result.violations] == [r.urn for r in resources], "one finding a resource, in order"
    for name in ("crashes", "hangs"):
        failed = by_urn[f"urn:pulumi:t::p::aws:sqs/queue:Queue::{name}"]
        assert (failed.policy, failed.level) == (gate.PACK_FAILURE, "mandatory") and "fail closed" in failed.message
    assert "policy bug" in by_urn["urn:pulumi:t::p::aws:sqs/queue:Queue::crashes"].message
    judged = [v for v in result.violations if v.policy == "judges"]
    assert [v.level for v in judged] == ["advisory"] * 10
    assert {v.urn.rsplit("::", 1)[1] for v in judged} == set(names) - {"crashes", "hangs"}
    # The calls did overlap (the pack saw more than one at once), never beyond the server's pool.
    in_flight = [int(re.search(r"with (\d+) in flight", v.message).group(1)) for v in judged]
    assert 1 < max(in_flight) <= gate.CONCURRENT_CALLS, in_flight
