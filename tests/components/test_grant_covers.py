"""The archive grant a consumer is given must cover its archive and nothing else of the account:
the bucket's ARN, or SharedArchive.grantArn for a randomly named bucket (the name with exactly
its random suffix written `*`). A broader wildcard such as `o*` would let every function that
takes it write failure records into any bucket of the account whose name starts so."""

import pytest

from lambda_failures.components.archive_wiring import grant_covers
from lambda_failures.components.naming import RANDOM_SUFFIX_BYTES, random_bucket_name_prefix

PREFIX = random_bucket_name_prefix("orders", "failed-events")
BUCKET = f"arn:aws:s3:::{PREFIX}{'0a1b2c3d4e5f'[: 2 * RANDOM_SUFFIX_BYTES]}"


@pytest.mark.parametrize("grant", [BUCKET, f"arn:aws:s3:::{PREFIX}*"])
def test_the_bucket_or_shared_archives_own_grant_covers_it(grant):
    assert grant_covers(grant, BUCKET)


@pytest.mark.parametrize(
    "grant",
    [
        "arn:aws:s3:::o*",
        "arn:aws:s3:::orders-*",
        "arn:aws:s3:::*",
        "*",
        f"arn:aws:s3:::{PREFIX}0a1b*",  # part of the suffix: still not SharedArchive's grant
        f"arn:aws:s3:::{PREFIX[:-1]}*",  # the prefix without its dash: orders-failed-events2-...
        f"{BUCKET}*",
        "arn:aws:s3:::other",
    ],
)
def test_any_broader_or_other_grant_is_refused(grant):
    assert not grant_covers(grant, BUCKET)


def test_a_fixed_name_is_covered_only_by_itself():
    fixed = "arn:aws:s3:::orders-failed-events-123456789012-eu-west-1-an"
    assert grant_covers(fixed, fixed)
    assert not grant_covers("arn:aws:s3:::orders-failed-events-123456789012-*", fixed)
