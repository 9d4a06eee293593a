"""A NaN or infinite number in a resource's inputs reaches the policy that reads it, which reports
it under its own name: the pack does not crash on it (every policy failing at once, the property
unnamed), under the CLI's protocol or in this process."""

from __future__ import annotations

import copy
import math
from pathlib import Path

import pytest
from google.protobuf import json_format, struct_pb2
from pulumi.runtime.proto import analyzer_pb2
from pulumi_policy import EnforcementLevel
from pulumi_policy.policy import _PolicyAnalyzerServicer
from support.pulumi_harness import run_program

from failctl.preview import gate
from failure_guards import PACK_NAME, POLICIES, struct_values

PACK_DIR = Path(__file__).resolve().parents[2] / "policy"
ESM = "aws:lambda/eventSourceMapping:EventSourceMapping"


def _mapping_with(source_arn: str | None = None, **props):
    synthesis = copy.deepcopy(run_program(**({"streamSourceArn": source_arn} if source_arn else {})))
    (mapping,) = [r for r in synthesis.resources if r.type == ESM]
    mapping.props.update(props)
    return synthesis.resources


def test_nan_retries_are_reported_by_the_retries_policy_naming_the_property():
    pack = gate.load_pack(PACK_DIR)
    result = gate.evaluate(pack, _mapping_with(maximumRetryAttempts=math.nan, maximumRecordAgeInSeconds=math.inf))
    assert [v for v in result.violations if v.policy == gate.PACK_FAILURE] == []
    by_policy = {v.policy: v.message for v in result.violations}
    assert by_policy["stream-mapping-retries-bounded"].startswith("maximumRetryAttempts is nan")
    assert by_policy["stream-mapping-record-age-bounded"].startswith("maximumRecordAgeInSeconds is inf")
    assert set(by_policy) == {"stream-mapping-retries-bounded", "stream-mapping-record-age-bounded"}


def test_a_remediation_carrying_nan_back_is_read_too():
    pack = gate.load_pack(PACK_DIR)
    config = gate.load_config(PACK_DIR / "policy-config.example.json", pack)
    resources = _mapping_with(
        "arn:aws:kinesis:eu-west-1:123456789012:stream/clicks",
        maximumRetryAttempts=math.nan,
        bisectBatchOnFunctionError=False,
    )
    result = gate.evaluate(pack, resources, config)
    levels = {(v.policy, v.level) for v in result.violations}
    assert ("stream-mapping-bisects-batches", "remediate") in levels
    assert ("stream-mapping-retries-bounded", "mandatory") in levels
    assert not any(v.policy == gate.PACK_FAILURE for v in result.violations)


def test_in_process_the_server_reads_nan_once_installed():
    struct_values.install()
    servicer = _PolicyAnalyzerServicer(PACK_NAME, "0.0.1", POLICIES, EnforcementLevel.ADVISORY)
    properties = struct_pb2.Struct()
    properties.update(
        {"eventSourceArn": "arn:aws:dynamodb:eu-west-1:123456789012:table/t/stream/1", "startingPosition": "LATEST"}
    )
    properties["maximumRetryAttempts"] = math.nan
    request = analyzer_pb2.AnalyzeRequest(type=ESM, properties=properties, urn=f"urn:pulumi:d::p::{ESM}::m", name="m")
    diagnostics = servicer.Analyze(request, None).diagnostics
    (retries,) = [d for d in diagnostics if d.policyName == "stream-mapping-retries-bounded"]
    assert "maximumRetryAttempts is nan" in retries.message


def test_struct_values_match_protobufs_json_mapping_where_it_has_one():
    value = {"a": [1.0, "x", True, None, {"b": [2.5]}], "c": {}}
    message = struct_pb2.Struct()
    message.update(value)
    assert struct_values.struct_to_dict(message) == json_format.MessageToDict(message) == value


def test_install_refuses_a_server_it_does_not_know(monkeypatch):
    from pulumi_policy import policy as server_module

    monkeypatch.delattr(server_module, "json_format")
    with pytest.raises(RuntimeError, match="review struct_values"):
        struct_values.install()


def test_a_crash_names_the_property_the_policy_was_reading():
    """Any other crash: reported under the policy that crashed, naming the last property it read."""
    from pulumi_policy import StackValidationArgs
    from support.policy_harness import resource_args, stack_resource

    from failure_guards.guard import fail_closed

    def crashes(args, report):
        return args.props["maximumRetryAttempts"] / 0

    found: list[str] = []
    fail_closed(crashes, "stream-mapping-retries-bounded")(
        resource_args(ESM, {"maximumRetryAttempts": 3}), lambda message, urn=None: found.append(message)
    )
    assert len(found) == 1 and "while reading maximumRetryAttempts (ZeroDivisionError" in found[0]

    def stack_crashes(args, report):
        for resource in args.resources:
            resource.props["bucket"].upper()

    stack = [stack_resource("aws:s3/bucket:Bucket", "archive", {"bucket": 7})]
    found.clear()
    fail_closed(stack_crashes, "s3-bucket-names-not-claimable")(
        StackValidationArgs(stack, {}), lambda message, urn=None: found.append(message)
    )
    assert len(found) == 1 and "while reading bucket of archive (AttributeError" in found[0]
