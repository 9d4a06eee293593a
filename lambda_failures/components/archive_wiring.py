"""What attaches a function to an archive: its bucket name and ARN, the delivery grant, the key
alias and the alert topic, checked together once known. The component package reads them as
inputs, ArchiveTarget.from_stack_reference as the archive stack's outputs: one rule for both."""

from __future__ import annotations

import re
from typing import Any

from lambda_failures.components.naming import KEY_ALIAS, RANDOM_SUFFIX_BYTES, AwsContext
from lambda_failures.components.settings import Reader

# The random suffix SharedArchive gives a bucket in the global namespace (pulumi-random RandomId hex).
RANDOM_SUFFIX = re.compile(f"[0-9a-f]{{{2 * RANDOM_SUFFIX_BYTES}}}")
S3_BUCKET_ARN = re.compile(r"arn:aws[a-z-]*:s3:::([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])")
SNS_TOPIC_ARN = re.compile(r"arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}")


def camel_case(snake: str) -> str:
    return re.sub(r"_([a-z])", lambda match: match.group(1).upper(), snake)


def check_wiring(reader: Reader, wiring: dict[str, Any], ctx: AwsContext) -> None:
    """The known wiring must name one archive: a bucket ARN, its name, a grant covering it, a
    key alias and a topic ARN, in this stack's partition (and the topic in its account and region:
    alarms publish only to a topic of their own region, and the alert key grants CloudWatch of its
    own account). A mix-up would pass every policy and fail only when Lambda first delivers a
    failure (denied), losing it. Outputs are the engine's to resolve and pass as given."""
    known = {key: value for key, value in wiring.items() if isinstance(value, str)}
    bucket_arn = known.get("archive_bucket_arn")
    bucket = S3_BUCKET_ARN.fullmatch(bucket_arn) if bucket_arn else None
    if bucket_arn and not bucket:
        raise reader.fail("archiveBucketArn", "an S3 bucket ARN (SharedArchive.bucketArn)", bucket_arn)
    for key, arn in known.items():
        if arn.startswith("arn:") and arn.split(":")[1] != ctx.partition:
            raise reader.fail(camel_case(key), f"an ARN in this stack's partition ({ctx.partition})", arn)
    name = known.get("archive_bucket_name")
    if bucket and name and name != bucket.group(1):
        raise reader.fail("archiveBucketName", f"the bucket archiveBucketArn names ({bucket.group(1)})", name)
    grant = known.get("archive_grant_arn")
    if bucket_arn and grant and not grant_covers(grant, bucket_arn):
        expected = "archiveBucketArn, or SharedArchive.grantArn (its name with the random suffix as *)"
        raise reader.fail("archiveGrantArn", expected, grant)
    alias = known.get("archive_key_alias")
    if alias and not KEY_ALIAS.fullmatch(alias):
        raise reader.fail("archiveKeyAlias", "a customer managed key's alias (alias/<name>)", alias)
    topic = known.get("alert_topic_arn")
    if topic and not SNS_TOPIC_ARN.fullmatch(topic):
        raise reader.fail("alertTopicArn", "an SNS topic ARN (SharedArchive.alertTopicArn)", topic)
    if topic and topic.split(":")[3:5] != [ctx.region, ctx.account_id]:
        raise reader.fail(
            "alertTopicArn", f"a topic in this stack's region and account ({ctx.region}, {ctx.account_id})", topic
        )


def grant_covers(grant: str, bucket_arn: str) -> bool:
    """The grant is the bucket's ARN, or what SharedArchive.grantArn gives for a randomly named
    bucket: its name with exactly the random suffix written `*`. Any broader wildcard (`o*`,
    `orders-*`) would let every function write to other buckets of the account, so it is refused."""
    if not grant.endswith("*"):
        return grant == bucket_arn
    prefix = grant[:-1]
    return (
        prefix.endswith("-")
        and bucket_arn.startswith(prefix)
        and RANDOM_SUFFIX.fullmatch(bucket_arn[len(prefix) :]) is not None
    )
