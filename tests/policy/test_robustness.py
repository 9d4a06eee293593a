"""Policies never raise on odd props: they report, stay silent, or (for unknowns) defer."""

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pulumi_policy import ResourceValidationArgs, ResourceValidationPolicy, StackValidationArgs, StackValidationPolicy
from pulumi_policy.proxy import UnknownValueError, unknown_checking_proxy
from support.policy_harness import UNKNOWN, opts, stack_resource

from failure_guards import POLICIES
from failure_guards.guard import crash_message

CRASH_MARK = crash_message(ValueError("x")).split(" (", 1)[0]  # "this policy could not check the resource"

TYPES = [
    "aws:iam/policy:Policy",
    "aws:iam/rolePolicy:RolePolicy",
    "aws:iam/role:Role",
    "aws:s3/bucket:Bucket",
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
    "aws:s3/bucketPolicy:BucketPolicy",
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
    "aws:sqs/queue:Queue",
    "aws:sns/topic:Topic",
    "aws:dynamodb/table:Table",
    "aws:athena/workgroup:Workgroup",
    "aws:kms/key:Key",
    "aws:lambda/eventSourceMapping:EventSourceMapping",
    "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig",
    "aws:lambda/function:Function",
    "aws:lambda/permission:Permission",
]
KEYS = [
    "policy",
    "inlinePolicies",
    "Statement",
    "Effect",
    "Action",
    "NotAction",
    "Condition",
    "StringEquals",
    "s3:ResourceAccount",
    "rules",
    "rule",
    "applyServerSideEncryptionByDefault",
    "sseAlgorithm",
    "kmsMasterKeyId",
    "serverSideEncryption",
    "enabled",
    "kmsKeyArn",
    "configuration",
    "resultConfiguration",
    "encryptionConfiguration",
    "encryptionOption",
    "enableKeyRotation",
    "eventSourceArn",
    "startingPosition",
    "maximumRetryAttempts",
    "maximumRecordAgeInSeconds",
    "bisectBatchOnFunctionError",
    "functionResponseTypes",
    "destinationConfig",
    "onFailure",
    "onSuccess",
    "destination",
    "destinationArn",
    "bucket",
    "name",
    "functionName",
    "principal",
    "function",
    "deadLetterConfig",
    "targetArn",
    "forceDestroy",
    "blockPublicAcls",
    "tags",
    "lambda-failures-exempt:sqs-queues-encrypted-with-customer-kms-key",
    "lambda-failures-exempt:no-such-policy",
]
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.floats(allow_nan=True),
    st.text(max_size=20),
    st.sampled_from(["aws:kms", "s3:*", "*", "Allow", "arn:aws:s3:::b", ":dynamodb:", "x.fifo", UNKNOWN]),
    st.sampled_from(["until 2026-12-01: vendor queue", "until 9999-99-99: x", "until : ", "until 2026-12-01:"]),
    st.builds(json.dumps, st.dictionaries(st.sampled_from(KEYS), st.text(max_size=5), max_size=3)),
    st.just('{"Statement": [{"Effect": "Allow", "Action": "s3:*"}]}'),
    st.just("{not json"),
)
values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=3), st.dictionaries(st.sampled_from(KEYS), children, max_size=4)
    ),
    max_leaves=12,
)
props = st.dictionaries(st.sampled_from(KEYS), values, max_size=6)
RESOURCE_POLICIES = [p for p in POLICIES if isinstance(p, ResourceValidationPolicy)]
STACK_POLICIES = [p for p in POLICIES if isinstance(p, StackValidationPolicy)]


def _messages_are_text(found):
    """Text, and never the guard's: fail_closed turns a crash into a violation, so a policy that
    crashed would pass a test that only asks for no exception."""
    assert all(isinstance(m, str) and m for m in found)
    crashed = [m for m in found if CRASH_MARK in m]
    assert not crashed, crashed


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(type_=st.sampled_from(TYPES), raw=props)
def test_resource_policies_never_raise(type_, raw):
    for policy in RESOURCE_POLICIES:
        found: list[str] = []
        args = ResourceValidationArgs(type_, unknown_checking_proxy(raw), "urn:x", "x", opts(), None, {})
        try:
            policy.validate(args, lambda message, urn=None, found=found: found.append(message))
            if policy.has_remediation():
                policy.remediate(
                    ResourceValidationArgs(type_, unknown_checking_proxy(raw), "urn:x", "x", opts(), None, {})
                )
        except UnknownValueError:
            pass
        _messages_are_text(found)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(resources=st.lists(st.tuples(st.sampled_from(TYPES), props), max_size=5))
def test_stack_policies_never_raise(resources):
    built = [stack_resource(t, f"r{i}", p) for i, (t, p) in enumerate(resources)]
    for policy in STACK_POLICIES:
        found: list[str] = []
        try:
            policy.validate(
                StackValidationArgs(built, {}), lambda message, urn=None, found=found: found.append(message)
            )
        except UnknownValueError:
            pass
        _messages_are_text(found)
