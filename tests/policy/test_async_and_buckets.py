"""Async destination policies and the advisory bucket policies."""

import pytest
from support.policy_harness import UNKNOWN, depends, document, stack_resource, stack_violations, violations

INVOKE = "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig"
ARCHIVE = "arn:aws:s3:::archive"
BUCKET = "aws:s3/bucket:Bucket"
PAB = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
BUCKET_POLICY = "aws:s3/bucketPolicy:BucketPolicy"
TLS_DENY = {
    "Effect": "Deny",
    "Principal": "*",
    "Action": "s3:*",
    "Resource": ["arn:aws:s3:::archive", "arn:aws:s3:::archive/*"],
    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
}


def invoke(**destinations):
    return {"functionName": "processor", "maximumRetryAttempts": 2, "destinationConfig": destinations}


def test_invoke_config_with_failure_destination_passes():
    props = invoke(onFailure={"destination": ARCHIVE})
    assert violations("lambda-async-invoke-has-failure-destination", INVOKE, props) == []
    assert stack_violations("lambda-async-destinations-not-fifo", [stack_resource(INVOKE, "cfg", props)]) == []


def test_invoke_config_without_failure_destination_fails():
    (message,) = violations("lambda-async-invoke-has-failure-destination", INVOKE, invoke())
    assert "destinationConfig.onFailure.destination is not set" in message


def test_fifo_destinations_fail_on_either_side():
    props = invoke(
        onFailure={"destination": "arn:aws:sqs:eu-west-1:123456789012:failed.fifo"},
        onSuccess={"destination": "arn:aws:sns:eu-west-1:123456789012:done.fifo"},
    )
    messages = stack_violations("lambda-async-destinations-not-fifo", [stack_resource(INVOKE, "cfg", props)])
    assert [m.split(" ")[0] for m in messages] == [
        "destinationConfig.onFailure.destination",
        "destinationConfig.onSuccess.destination",
    ]


def test_a_bucket_named_like_a_fifo_queue_is_not_one():
    props = invoke(onFailure={"destination": "arn:aws:s3:::archive.fifo"})
    assert stack_violations("lambda-async-destinations-not-fifo", [stack_resource(INVOKE, "cfg", props)]) == []


def test_an_unknown_destination_is_judged_by_the_resource_it_comes_from():
    """A fresh stack's preview does not know a computed ARN; the engine's property dependencies
    say which resource it comes from, and that decides."""
    props = invoke(onFailure={"destination": UNKNOWN})
    fifo = stack_resource("aws:sqs/queue:Queue", "q", {"name": "failed.fifo", "fifoQueue": True})
    bucket = stack_resource(BUCKET, "archive", {"bucket": UNKNOWN})
    config = depends(stack_resource(INVOKE, "cfg", props), "destinationConfig", fifo)
    (message,) = stack_violations("lambda-async-destinations-not-fifo", [fifo, config])
    assert "q (a FIFO Queue)" in message
    config = depends(stack_resource(INVOKE, "cfg", props), "destinationConfig", bucket)
    assert stack_violations("lambda-async-destinations-not-fifo", [bucket, config]) == []
    assert violations("lambda-async-invoke-has-failure-destination", INVOKE, props) == []


def test_an_unknown_destination_with_no_known_source_stays_undecided():
    from pulumi_policy.proxy import UnknownValueError

    config = stack_resource(INVOKE, "cfg", invoke(onFailure={"destination": UNKNOWN}))
    with pytest.raises(UnknownValueError):
        stack_violations("lambda-async-destinations-not-fifo", [config])


@pytest.mark.parametrize(
    ("props", "blocked"),
    [
        ({"bucket": "orders-failures-123456789012-eu-west-1"}, True),
        ({"bucket": "orders-failures-123456789012-eu-west-1", "bucketNamespace": "global"}, True),
        ({"bucket": "orders-failures-123456789012-eu-west-1-an", "bucketNamespace": "account-regional"}, False),
        ({"bucket": "orders-failures-3f9a1c0b7e2d"}, False),
        ({"bucket": "orders-1234567890123-long-number"}, False),
        ({"bucket": UNKNOWN}, False),
    ],
)
def test_bucket_names_embedding_an_account_must_be_account_regional(props, blocked):
    found = stack_violations("s3-bucket-names-not-claimable", [stack_resource(BUCKET, "b", props)])
    assert bool(found) == blocked, found
    if blocked:
        assert "bucket_namespace='account-regional'" in found[0]


def test_function_invoked_by_s3_without_failure_handling_is_advised():
    function = stack_resource("aws:lambda/function:Function", "fn", {"name": "fn"})
    permission = stack_resource(
        "aws:lambda/permission:Permission", "perm", {"function": "fn", "principal": "s3.amazonaws.com"}
    )
    (message,) = stack_violations("lambda-async-functions-keep-failures", [function, permission])
    assert "function fn is invoked asynchronously" in message
    dlq = stack_resource(
        "aws:lambda/function:Function", "fn", {"name": "fn", "deadLetterConfig": {"targetArn": "arn:aws:sqs:x"}}
    )
    assert stack_violations("lambda-async-functions-keep-failures", [dlq, permission]) == []


def test_function_with_failure_destination_is_fine():
    function = stack_resource("aws:lambda/function:Function", "fn", {"name": "fn"})
    config = stack_resource(INVOKE, "cfg", invoke(onFailure={"destination": ARCHIVE}) | {"functionName": "fn"})
    assert stack_violations("lambda-async-functions-keep-failures", [function, config]) == []


def archive_bucket(protect=True, block=True, tls=True):
    bucket = stack_resource(BUCKET, "archive", {"bucket": "archive", "forceDestroy": False}, protect=protect)
    resources = [bucket, stack_resource(INVOKE, "cfg", invoke(onFailure={"destination": ARCHIVE}))]
    if block:
        flags = dict.fromkeys(
            ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"), True
        )
        resources.append(depends(stack_resource(PAB, "pab", {"bucket": "x", **flags}), "bucket", bucket))
    if tls:
        resources.append(
            depends(
                stack_resource(BUCKET_POLICY, "pol", {"bucket": "x", "policy": document(TLS_DENY)}), "bucket", bucket
            )
        )
    return resources


def test_hardened_archive_passes_every_bucket_policy():
    for policy in (
        "s3-bucket-blocks-public-access",
        "s3-bucket-denies-insecure-transport",
        "failure-archive-protected",
    ):
        assert stack_violations(policy, archive_bucket()) == []


def test_missing_public_access_block_is_advised():
    (message,) = stack_violations("s3-bucket-blocks-public-access", archive_bucket(block=False))
    assert "does not block public access" in message


def test_missing_tls_deny_is_advised():
    (message,) = stack_violations("s3-bucket-denies-insecure-transport", archive_bucket(tls=False))
    assert "accepts requests without TLS" in message


def test_unprotected_archive_is_advised():
    (message,) = stack_violations("failure-archive-protected", archive_bucket(protect=False))
    assert "holds failure records but can be destroyed" in message


def test_an_archive_with_an_unknown_name_is_found_through_the_destination_dependency():
    bucket = stack_resource(BUCKET, "archive", {"bucket": UNKNOWN, "forceDestroy": True})
    config = depends(
        stack_resource(INVOKE, "cfg", invoke(onFailure={"destination": UNKNOWN})), "destinationConfig", bucket
    )
    (message,) = stack_violations("failure-archive-protected", [bucket, config])
    assert "holds failure records but can be destroyed" in message
