"""The pack as the Pulumi CLI runs it: its own process, the analyzer gRPC protocol.

`python -m pulumi.policy <engine> <pack dir>` (the SDK's policy host) starts the pack, which
announces its port; the gate then calls GetAnalyzerInfo, Configure, Remediate, Analyze and
AnalyzeStack with engine-shaped properties. These tests hold that contract, and check that
the gate (over gRPC) and the policies called in-process agree on the stack and its mutants.
"""

from __future__ import annotations

import json
import os
import textwrap
from pathlib import Path

import pytest
from pulumi_policy import ResourceValidationPolicy
from pulumi_policy.proxy import UnknownValueError
from support.policy_harness import BY_NAME, resource_args
from support.pulumi_harness import run_program

from failctl.preview import gate
from failctl.preview.analyzer import AnalyzedResource, PackServer
from failctl.preview.synth import UNKNOWN, SynthResource
from failure_guards.bounds import STREAM_MAX_RETRY_ATTEMPTS

POLICY_DIR = Path(__file__).resolve().parents[2] / "policy"


@pytest.fixture(scope="module")
def pack():
    return gate.load_pack(POLICY_DIR)


def resource(type_: str, props: dict, name: str = "r", dependencies: dict | None = None) -> SynthResource:
    return SynthResource(f"urn:pulumi:t::p::{type_}::{name}", type_, name, None, True, props, False, dependencies or {})


def test_analyzer_info_lists_every_policy_with_its_level_and_schema(pack):
    assert pack.name == "lambda-failures-guard"
    by_name = {p.name: p for p in pack.policies}
    assert set(by_name) == set(BY_NAME)
    for name, policy in BY_NAME.items():
        assert by_name[name].level == policy.enforcement_level.value
    retries = by_name["stream-mapping-retries-bounded"].config_properties["maxRetryAttempts"]
    assert retries["default"] == STREAM_MAX_RETRY_ATTEMPTS


@pytest.mark.parametrize(
    ("type_", "props", "policy", "fragment"),
    [
        (
            "aws:iam/rolePolicy:RolePolicy",
            {
                "role": "r",
                "policy": json.dumps({"Statement": [{"Effect": "Allow", "Action": "s3:PutObject", "Resource": "*"}]}),
            },
            "s3-write-grants-require-resource-account",
            "without Condition StringEquals s3:ResourceAccount",
        ),
        (
            "aws:lambda/eventSourceMapping:EventSourceMapping",
            {
                "eventSourceArn": "arn:aws:dynamodb:eu-west-1:123456789012:table/t/stream/x",
                "functionName": "f",
                "startingPosition": "LATEST",
                "maximumRecordAgeInSeconds": 3600.0,
                "bisectBatchOnFunctionError": True,
                "destinationConfig": {"onFailure": {"destinationArn": "arn:aws:s3:::b"}},
            },
            "stream-mapping-retries-bounded",
            "maximumRetryAttempts",
        ),
        ("aws:sqs/queue:Queue", {"name": "q"}, "sqs-queues-encrypted-with-customer-kms-key", "kmsMasterKeyId"),
    ],
)
def test_broken_resources_give_their_exact_violation_over_grpc(pack, type_, props, policy, fragment):
    result = gate.evaluate(pack, [resource(type_, props)])
    found = [v for v in result.violations if v.policy == policy]
    assert len(found) == 1 and fragment in found[0].message and found[0].level == "mandatory", result.violations
    assert found[0].urn.endswith(f"::{type_}::r") and result.blocked


def test_an_unknown_value_a_policy_must_read_is_undecided_never_passed(pack):
    document = resource("aws:iam/rolePolicy:RolePolicy", {"role": "r", "policy": UNKNOWN})
    result = gate.evaluate(pack, [document])
    assert sorted(u.policy for u in result.undecided) == [
        "data-grants-name-their-resources",
        "s3-write-grants-require-resource-account",
    ]
    assert "can't be known during preview" in result.undecided[0].reason


def test_the_gate_and_the_policies_in_process_agree_on_the_stack_and_its_mutants(pack):
    """Every resource policy called directly (as the analyzer calls it) finds exactly what
    the gate finds through the pack's process."""
    stack = run_program(successDestination="sqs", deadLetterQueue=True)
    broken = [
        resource("aws:sqs/queue:Queue", {"name": "q"}, "plain-queue"),
        resource("aws:sns/topic:Topic", {"name": "t", "kmsMasterKeyId": "alias/aws/sns"}, "aws-key-topic"),
        resource(
            "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig",
            {"functionName": "f", "destinationConfig": {}},
            "no-destination",
        ),
    ]
    resources = [r for r in stack.resources if r.custom] + broken
    resource_policies = {n: p for n, p in BY_NAME.items() if isinstance(p, ResourceValidationPolicy)}
    through_grpc = {(v.policy, v.urn) for v in gate.evaluate(pack, resources).violations}
    in_process = set()
    for r in resources:
        for name, policy in resource_policies.items():
            found: list[str] = []
            try:
                policy.validate(resource_args(r.type, r.props), lambda message, urn=None, f=found: f.append(message))
            except UnknownValueError:  # undecided on both sides
                continue
            if found:
                in_process.add((name, r.urn))
    assert {x for x in through_grpc if x[0] in resource_policies} == in_process
    assert {name for name, _ in in_process} >= {
        "sqs-queues-encrypted-with-customer-kms-key",
        "sns-topics-encrypted-with-customer-kms-key",
        "lambda-async-invoke-has-failure-destination",
    }


CRASHING_PACK = """
from pulumi_policy import EnforcementLevel, PolicyPack, ResourceValidationPolicy


def explode(args, report_violation):
    raise RuntimeError("policy bug")


PolicyPack(
    name="crashing",
    policies=[
        ResourceValidationPolicy(
            name="explodes", description="crashes", validate=explode, enforcement_level=EnforcementLevel.MANDATORY
        )
    ],
)
"""


def test_a_pack_that_crashes_on_a_resource_fails_closed(tmp_path):
    (tmp_path / "PulumiPolicy.yaml").write_text("runtime: python\n")
    (tmp_path / "__main__.py").write_text(textwrap.dedent(CRASHING_PACK))
    crashing = gate.load_pack(tmp_path)
    result = gate.evaluate(crashing, [resource("aws:sqs/queue:Queue", {"name": "q"})])
    assert result.blocked, result
    assert any("fail closed" in v.message and "policy bug" in v.message for v in result.violations)


def test_a_pack_that_cannot_start_is_bad_input_not_a_pass(tmp_path):
    (tmp_path / "PulumiPolicy.yaml").write_text("runtime: python\n")
    (tmp_path / "__main__.py").write_text("raise SystemExit('no pack here')\n")
    with pytest.raises(gate.GateInputError, match="did not start"):
        gate.load_pack(tmp_path)


def test_no_pack_process_outlives_its_server(tmp_path):
    with PackServer(POLICY_DIR) as server:
        pid = server.pid
        server.info()
        assert Path(f"/proc/{pid}").exists()
    assert not Path(f"/proc/{pid}").exists() or _zombie(pid)


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z"
    except OSError:
        return True


def test_analyze_sends_engine_shaped_properties(pack):
    """Numbers as floats and nested camelCase keys arrive as the engine sends them."""
    server = pack.server
    diagnostics = server.analyze(
        AnalyzedResource(
            "urn:pulumi:t::p::aws:lambda/eventSourceMapping:EventSourceMapping::m",
            "aws:lambda/eventSourceMapping:EventSourceMapping",
            "m",
            {
                "eventSourceArn": "arn:aws:kinesis:eu-west-1:123456789012:stream/s",
                "functionName": "f",
                "startingPosition": "LATEST",
                "maximumRetryAttempts": 11.0,
                "maximumRecordAgeInSeconds": 3600.0,
                "bisectBatchOnFunctionError": True,
                "functionResponseTypes": ["ReportBatchItemFailures"],
                "destinationConfig": {"onFailure": {"destinationArn": "arn:aws:s3:::b"}},
            },
        )
    )
    assert [d.policyName for d in diagnostics] == ["stream-mapping-retries-bounded"]
    assert os.getpid() != pack.server.pid
