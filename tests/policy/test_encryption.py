"""KMS-at-rest policies: compliant fixtures, then one test per broken property."""

import pytest
from pulumi_policy.proxy import UnknownValueError
from support.policy_harness import UNKNOWN, depends, stack_resource, stack_violations, violations

KEY_ARN = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
BUCKET = "aws:s3/bucket:Bucket"
SSE = "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
S3_POLICY = "s3-buckets-encrypted-with-customer-kms-key"


def sse_props(algorithm="aws:kms", key=KEY_ARN, bucket="archive"):
    default = {"sseAlgorithm": algorithm}
    if key is not None:
        default["kmsMasterKeyId"] = key
    return {"bucket": bucket, "rules": [{"applyServerSideEncryptionByDefault": default, "bucketKeyEnabled": True}]}


def bucket_with(sse=None, **bucket_props):
    bucket = stack_resource(BUCKET, "archive", {"bucket": "archive", **bucket_props})
    resources = [bucket]
    if sse is not None:
        resources.append(depends(stack_resource(SSE, "archive-sse", sse), "bucket", bucket))
    return resources


def test_bucket_with_separate_kms_configuration_passes():
    assert stack_violations(S3_POLICY, bucket_with(sse_props())) == []


def test_dsse_passes():
    assert stack_violations(S3_POLICY, bucket_with(sse_props("aws:kms:dsse"))) == []


def test_key_unknown_at_preview_is_a_key_from_this_stack():
    assert stack_violations(S3_POLICY, bucket_with(sse_props(key=UNKNOWN))) == []


def test_matching_by_name_when_no_dependency_is_recorded():
    bucket = stack_resource(BUCKET, "archive", {"bucket": "archive"})
    sse = stack_resource(SSE, "archive-sse", sse_props())
    assert stack_violations(S3_POLICY, [bucket, sse]) == []


def test_bucket_without_any_encryption_fails():
    (message,) = stack_violations(S3_POLICY, bucket_with())
    assert "bucket archive names no default encryption, so S3 encrypts it with S3-managed keys (SSE-S3" in message


def test_sse_s3_fails():
    (message,) = stack_violations(S3_POLICY, bucket_with(sse_props("AES256", key=None)))
    assert "sseAlgorithm 'AES256': S3-managed keys (SSE-S3), not KMS" in message


def test_aws_managed_key_fails():
    (message,) = stack_violations(S3_POLICY, bucket_with(sse_props(key="alias/aws/s3")))
    assert "AWS managed key alias/aws/s3" in message


def test_kms_without_a_key_fails():
    (message,) = stack_violations(S3_POLICY, bucket_with(sse_props(key=None)))
    assert "kmsMasterKeyId is not set" in message


def test_deprecated_inline_form_is_read():
    inline = {"rule": {"applyServerSideEncryptionByDefault": {"sseAlgorithm": "aws:kms", "kmsMasterKeyId": KEY_ARN}}}
    assert stack_violations(S3_POLICY, bucket_with(serverSideEncryptionConfiguration=inline)) == []
    inline["rule"]["applyServerSideEncryptionByDefault"]["sseAlgorithm"] = "AES256"
    assert len(stack_violations(S3_POLICY, bucket_with(serverSideEncryptionConfiguration=inline))) == 1


def test_bucket_v2_type_is_matched():
    bucket = stack_resource("aws:s3/bucketV2:BucketV2", "legacy", {"bucket": "legacy"})
    (message,) = stack_violations(S3_POLICY, [bucket])
    assert "bucket legacy" in message


@pytest.mark.parametrize(
    ("policy", "type_", "good", "bad", "expected"),
    [
        (
            "sqs-queues-encrypted-with-customer-kms-key",
            "aws:sqs/queue:Queue",
            {"kmsMasterKeyId": KEY_ARN},
            {"sqsManagedSseEnabled": True},
            "kmsMasterKeyId is not set",
        ),
        (
            "sqs-queues-encrypted-with-customer-kms-key",
            "aws:sqs/queue:Queue",
            {"kmsMasterKeyId": UNKNOWN},
            {"kmsMasterKeyId": "alias/aws/sqs"},
            "AWS managed key alias/aws/sqs",
        ),
        (
            "sns-topics-encrypted-with-customer-kms-key",
            "aws:sns/topic:Topic",
            {"kmsMasterKeyId": KEY_ARN},
            {},
            "kmsMasterKeyId is not set",
        ),
        (
            "dynamodb-tables-encrypted-with-customer-kms-key",
            "aws:dynamodb/table:Table",
            {"serverSideEncryption": {"enabled": True, "kmsKeyArn": UNKNOWN}},
            {"serverSideEncryption": {"enabled": False}},
            "serverSideEncryption.enabled is not true",
        ),
        (
            "dynamodb-tables-encrypted-with-customer-kms-key",
            "aws:dynamodb/table:Table",
            {"serverSideEncryption": {"enabled": True, "kmsKeyArn": KEY_ARN}},
            {"serverSideEncryption": {"enabled": True}},
            "kmsKeyArn is not set",
        ),
        (
            "athena-workgroup-results-encrypted-with-kms",
            "aws:athena/workgroup:Workgroup",
            {
                "configuration": {
                    "enforceWorkgroupConfiguration": True,
                    "resultConfiguration": {
                        "encryptionConfiguration": {"encryptionOption": "SSE_KMS", "kmsKeyArn": KEY_ARN}
                    },
                }
            },
            {"configuration": {"resultConfiguration": {"encryptionConfiguration": {"encryptionOption": "SSE_S3"}}}},
            "encryptionOption is 'SSE_S3'",
        ),
        (
            "athena-workgroup-results-encrypted-with-kms",
            "aws:athena/workgroup:Workgroup",
            {"configuration": {"resultConfiguration": {"encryptionConfiguration": {"encryptionOption": "CSE_KMS"}}}},
            {
                "configuration": {
                    "enforceWorkgroupConfiguration": False,
                    "resultConfiguration": {"encryptionConfiguration": {"encryptionOption": "SSE_KMS"}},
                }
            },
            "enforceWorkgroupConfiguration is false",
        ),
        (
            "kms-keys-rotate",
            "aws:kms/key:Key",
            {"enableKeyRotation": True},
            {"enableKeyRotation": False},
            "enableKeyRotation is not true",
        ),
    ],
)
def test_resource_encryption_policies(policy, type_, good, bad, expected):
    assert violations(policy, type_, good) == []
    (message,) = violations(policy, type_, bad)
    assert expected in message


def test_asymmetric_keys_are_not_asked_to_rotate():
    assert violations("kms-keys-rotate", "aws:kms/key:Key", {"customerMasterKeySpec": "RSA_2048"}) == []


def test_unknown_algorithm_cannot_be_decided():
    with pytest.raises(UnknownValueError):
        stack_violations(S3_POLICY, bucket_with(sse_props(algorithm=UNKNOWN)))


@pytest.mark.parametrize(
    ("type_", "props", "said", "not_said"),
    [
        ("aws:sqs/queue:Queue", {}, "SQS-owned keys (SSE-SQS, the default for new queues)", "alias/aws/sqs"),
        ("aws:sns/topic:Topic", {}, "the topic is not encrypted at rest", "alias/aws/sns"),
    ],
)
def test_unset_key_messages_say_what_the_service_does_by_default(type_, props, said, not_said):
    from support.policy_harness import violations

    service = "sqs-queues" if "sqs" in type_ else "sns-topics"
    policy = f"{service}-encrypted-with-customer-kms-key"
    (message,) = violations(policy, type_, props)
    assert said in message and not_said not in message
