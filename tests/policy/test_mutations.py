"""Mutation suite: misconfigured variants of the program, each caught by the intended policy.

Variants come from config where config can express the mistake, and otherwise from
transforming the synthesized resources the way a careless edit to the program would.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable

import pytest
from support.pulumi_harness import ACCOUNT, run_program

from failctl.preview import gate
from failctl.preview.synth import Synthesis

PACK = gate.load_pack("policy")
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
ESM = "aws:lambda/eventSourceMapping:EventSourceMapping"
INVOKE = "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig"
SSE = "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"


@pytest.fixture(scope="module")
def base() -> Synthesis:
    return run_program(successDestination="sqs")


def edit_document(sid: str, change: Callable[[dict], None], suffix: str = "async-function-processor-role-policy"):
    def mutate(props: dict) -> dict:
        doc = json.loads(props["policy"])
        for statement in doc["Statement"]:
            if statement.get("Sid") == sid:
                change(statement)
        props["policy"] = json.dumps(doc)
        return props

    return ROLE_POLICY, suffix, mutate


def set_path(*path_and_value):
    *path, value = path_and_value

    def mutate(props: dict) -> dict:
        target = props
        for key in path[:-1]:
            target = target.setdefault(key, {})
        if value is DELETE:
            target.pop(path[-1], None)
        else:
            target[path[-1]] = value
        return props

    return mutate


DELETE = object()

MUTANTS = {
    "write-grant-without-condition": (
        edit_document("WriteFailureRecords", lambda s: s.pop("Condition")),
        "s3-write-grants-require-resource-account",
    ),
    "write-grant-with-wildcard-account": (
        edit_document(
            "WriteFailureRecords", lambda s: s.update(Condition={"StringEquals": {"s3:ResourceAccount": "*"}})
        ),
        "s3-write-grants-require-resource-account",
    ),
    "write-grant-with-string-like": (
        edit_document(
            "WriteFailureRecords", lambda s: s.update(Condition={"StringLike": {"s3:ResourceAccount": ACCOUNT}})
        ),
        "s3-write-grants-require-resource-account",
    ),
    "list-grant-without-condition-on-consumer": (
        edit_document("ListFailureArchive", lambda s: s.pop("Condition"), "stream-consumer-consumer-role-policy"),
        "s3-write-grants-require-resource-account",
    ),
    "wildcard-s3-action-added": (
        edit_document("PutTraces", lambda s: s.update(Action=["xray:PutTraceSegments", "s3:*"])),
        "s3-write-grants-require-resource-account",
    ),
    "inline-role-policy-with-put": (
        (
            "aws:iam/role:Role",
            "async-function-processor-role",
            set_path(
                "inlinePolicies",
                [
                    {
                        "name": "extra",
                        "policy": json.dumps(
                            {"Statement": {"Effect": "Allow", "Action": "s3:PutObject", "Resource": "*"}}
                        ),
                    }
                ],
            ),
        ),
        "s3-write-grants-require-resource-account",
    ),
    "archive-encrypted-with-sse-s3": (
        (
            SSE,
            "failure-archive-encryption",
            set_path("rules", [{"applyServerSideEncryptionByDefault": {"sseAlgorithm": "AES256"}}]),
        ),
        "s3-buckets-encrypted-with-customer-kms-key",
    ),
    "archive-on-aws-managed-key": (
        (
            SSE,
            "failure-archive-encryption",
            set_path(
                "rules",
                [{"applyServerSideEncryptionByDefault": {"sseAlgorithm": "aws:kms", "kmsMasterKeyId": "alias/aws/s3"}}],
            ),
        ),
        "s3-buckets-encrypted-with-customer-kms-key",
    ),
    "success-queue-unencrypted": (
        ("aws:sqs/queue:Queue", "async-function-success", set_path("kmsMasterKeyId", DELETE)),
        "sqs-queues-encrypted-with-customer-kms-key",
    ),
    "alert-topic-unencrypted": (
        ("aws:sns/topic:Topic", "alerts-topic", set_path("kmsMasterKeyId", DELETE)),
        "sns-topics-encrypted-with-customer-kms-key",
    ),
    "table-on-aws-owned-key": (
        ("aws:dynamodb/table:Table", "stream-consumer-table", set_path("serverSideEncryption", DELETE)),
        "dynamodb-tables-encrypted-with-customer-kms-key",
    ),
    "table-on-aws-managed-key": (
        ("aws:dynamodb/table:Table", "stream-consumer-table", set_path("serverSideEncryption", "kmsKeyArn", DELETE)),
        "dynamodb-tables-encrypted-with-customer-kms-key",
    ),
    "archive-key-not-rotating": (
        ("aws:kms/key:Key", "failure-archive-key", set_path("enableKeyRotation", False)),
        "kms-keys-rotate",
    ),
    "stream-retries-unbounded": (
        (ESM, "stream-consumer-mapping", set_path("maximumRetryAttempts", -1.0)),
        "stream-mapping-retries-bounded",
    ),
    "stream-retries-unset": (
        (ESM, "stream-consumer-mapping", set_path("maximumRetryAttempts", DELETE)),
        "stream-mapping-retries-bounded",
    ),
    "stream-record-age-unbounded": (
        (ESM, "stream-consumer-mapping", set_path("maximumRecordAgeInSeconds", -1.0)),
        "stream-mapping-record-age-bounded",
    ),
    "stream-without-bisection": (
        (ESM, "stream-consumer-mapping", set_path("bisectBatchOnFunctionError", False)),
        "stream-mapping-bisects-batches",
    ),
    "stream-without-failure-destination": (
        (ESM, "stream-consumer-mapping", set_path("destinationConfig", DELETE)),
        "stream-mapping-has-failure-destination",
    ),
    "stream-without-partial-batch-responses": (
        (ESM, "stream-consumer-mapping", set_path("functionResponseTypes", DELETE)),
        "stream-mapping-reports-batch-item-failures",
    ),
    "async-without-failure-destination": (
        (INVOKE, "async-function-invoke-config", set_path("destinationConfig", "onFailure", DELETE)),
        "lambda-async-invoke-has-failure-destination",
    ),
    "async-success-to-fifo-queue": (
        (
            INVOKE,
            "async-function-invoke-config",
            set_path("destinationConfig", "onSuccess", {"destination": f"arn:aws:sqs:eu-west-1:{ACCOUNT}:done.fifo"}),
        ),
        "lambda-async-destinations-not-fifo",
    ),
    "archive-public-policy-allowed": (
        (
            "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
            "failure-archive-public-access-block",
            set_path("blockPublicPolicy", False),
        ),
        "s3-bucket-blocks-public-access",
    ),
    "archive-accepts-plain-http": (
        (
            "aws:s3/bucketPolicy:BucketPolicy",
            "failure-archive-policy",
            set_path("policy", json.dumps({"Statement": []})),
        ),
        "s3-bucket-denies-insecure-transport",
    ),
}


def mutated(base: Synthesis, type_: str, suffix: str, mutate) -> list:
    resources = copy.deepcopy(base.resources)
    targets = [r for r in resources if r.type == type_ and r.name.endswith(suffix)]
    assert len(targets) == 1, f"mutation target {type_} *{suffix} not found"
    targets[0].props = mutate(targets[0].props)
    return resources


def test_the_suite_is_large_enough():
    assert len(MUTANTS) >= 20


@pytest.mark.parametrize("mutant", sorted(MUTANTS))
def test_mutant_is_caught_by_its_policy(base, mutant):
    (type_, suffix, mutate), expected_policy = MUTANTS[mutant]
    result = gate.evaluate(PACK, mutated(base, type_, suffix, mutate))
    caught = {v.policy for v in result.violations}
    assert expected_policy in caught, f"{mutant}: caught by {sorted(caught)}, undecided {result.undecided}"


def test_unmutated_base_is_clean(base):
    result = gate.evaluate(PACK, base.resources)
    assert result.violations == [] and result.undecided == []


def test_config_mutant_allow_destroy_is_caught():
    result = gate.evaluate(PACK, run_program(allowDestroy=True).resources)
    assert {v.policy for v in result.violations} == {"failure-archive-protected"}


def test_config_mutant_foreign_allowed_accounts_is_caught(base):
    config = gate.load_config(None, PACK)
    level, _ = config["s3-write-grants-require-resource-account"]
    config["s3-write-grants-require-resource-account"] = (level, {"allowedAccounts": ["210987654321"]})
    result = gate.evaluate(PACK, base.resources, config)
    assert {v.policy for v in result.violations} == {"s3-write-grants-require-resource-account"}
    assert result.blocked
