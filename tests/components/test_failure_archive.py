"""The archive's security properties, one per test, read off the synthesized stack."""

import pytest
from pulumi.runtime.rpc import UNKNOWN
from support.pulumi_harness import ACCOUNT, REGION, one, policy_document

BUCKET = "aws:s3/bucket:Bucket"
KEY = "aws:kms/key:Key"
SSE = "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
PAB = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"


def test_bucket_is_in_the_account_regional_namespace_with_a_known_name(stack):
    bucket = one(stack, BUCKET, "failure-archive-bucket")
    assert bucket.props["bucket"] == f"lambda-failures-test-failures-{ACCOUNT}-{REGION}-an", bucket.urn
    assert bucket.props["bucketNamespace"] == "account-regional", bucket.urn


@pytest.mark.parametrize("config", [{"bucketNamespace": "global"}, {"aws:region": "me-south-1"}])
def test_global_namespace_uses_a_random_suffix_and_prefix_grants(program, config):
    """Where the account-regional namespace is not offered (or not wanted), nobody can guess
    the name: it ends in a random suffix, and grants name the prefix with * plus the account."""
    synthesis = program(**config)
    bucket = one(synthesis, BUCKET, "failure-archive-bucket")
    assert bucket.props["bucket"] == UNKNOWN and bucket.props["bucketNamespace"] == "global", bucket.urn
    suffix = one(synthesis, "random:index/randomId:RandomId", "failure-archive-name-suffix")
    assert suffix.props["prefix"] == "lambda-failures-test-failures-" and suffix.props["byteLength"] == 6.0
    role_policy = one(synthesis, "aws:iam/rolePolicy:RolePolicy", "async-function-processor-role-policy")
    put = next(s for s in policy_document(role_policy)["Statement"] if s["Sid"] == "WriteFailureRecords")
    assert put["Resource"] == "arn:aws:s3:::lambda-failures-test-failures-*/*"
    assert put["Condition"] == {"StringEquals": {"s3:ResourceAccount": ACCOUNT}}


def test_bucket_and_key_are_protected_by_default(stack):
    assert one(stack, BUCKET, "failure-archive-bucket").protect
    assert one(stack, KEY, "failure-archive-key").protect
    assert one(stack, BUCKET, "failure-archive-bucket").props["forceDestroy"] is False


def test_allow_destroy_lifts_protection(program):
    synthesis = program(allowDestroy=True)
    bucket = one(synthesis, BUCKET, "failure-archive-bucket")
    assert not bucket.protect and bucket.props["forceDestroy"] is True, bucket.urn


def test_key_rotates(stack):
    key = one(stack, KEY, "failure-archive-key")
    assert key.props["enableKeyRotation"] is True, key.urn


def test_key_policy_keeps_administration_in_this_account(stack):
    key = one(stack, KEY, "failure-archive-key")
    doc = policy_document(key)
    principals = [s["Principal"] for s in doc["Statement"]]
    assert principals == [{"AWS": f"arn:aws:iam::{ACCOUNT}:root"}], key.urn


def test_default_encryption_is_kms_with_the_archive_key_and_bucket_key(stack):
    sse = one(stack, SSE, "failure-archive-encryption")
    (rule,) = sse.props["rules"]
    default = rule["applyServerSideEncryptionByDefault"]
    assert default["sseAlgorithm"] == "aws:kms", sse.urn
    # The key ARN is assigned by AWS, so it is unknown on a fresh stack, but it is set.
    assert default["kmsMasterKeyId"] == UNKNOWN, sse.urn
    assert rule["bucketKeyEnabled"] is True, sse.urn


def test_all_four_public_access_blocks_are_on(stack):
    pab = one(stack, PAB, "failure-archive-public-access-block")
    for flag in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"):
        assert pab.props[flag] is True, f"{pab.urn}: {flag}"


def test_object_ownership_is_bucket_owner_enforced(stack):
    ownership = one(stack, "aws:s3/bucketOwnershipControls:BucketOwnershipControls", "failure-archive-ownership")
    assert ownership.props["rule"] == {"objectOwnership": "BucketOwnerEnforced"}, ownership.urn


def test_versioning_is_enabled(stack):
    versioning = one(stack, "aws:s3/bucketVersioning:BucketVersioning", "failure-archive-versioning")
    assert versioning.props["versioningConfiguration"]["status"] == "Enabled", versioning.urn


def test_bucket_policy_denies_insecure_transport(stack):
    policy = one(stack, "aws:s3/bucketPolicy:BucketPolicy", "failure-archive-policy")
    (deny,) = policy_document(policy)["Statement"]
    assert deny["Effect"] == "Deny" and deny["Principal"] == "*", policy.urn
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}, policy.urn
    bucket_arn = f"arn:aws:s3:::lambda-failures-test-failures-{ACCOUNT}-{REGION}-an"
    assert deny["Resource"] == [bucket_arn, f"{bucket_arn}/*"], policy.urn


def test_lifecycle_follows_config_and_moves_nothing_to_standard_ia(program):
    synthesis = program(archiveExpirationDays=400, noncurrentExpirationDays=7)
    lifecycle = one(
        synthesis, "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration", "failure-archive-lifecycle"
    )
    (rule,) = lifecycle.props["rules"]
    assert rule["status"] == "Enabled"
    # Records are mostly under 128 KB: S3 would not transition them, nor bill them less.
    assert "transitions" not in rule, lifecycle.urn
    assert rule["expiration"] == {"days": 400.0}, lifecycle.urn
    assert rule["noncurrentVersionExpiration"] == {"noncurrentDays": 7.0}, lifecycle.urn


def test_long_prefixes_shorten_the_prefix_never_the_namespace_suffix(program):
    synthesis = program(namePrefix="a" * 40, **{"aws:region": "ap-southeast-2"})
    name = one(synthesis, BUCKET, "failure-archive-bucket").props["bucket"]
    assert len(name) <= 63 and name.startswith("a" * 20)
    assert name.endswith(f"-{ACCOUNT}-ap-southeast-2-an"), name
