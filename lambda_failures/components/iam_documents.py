"""IAM and key policy documents as pure functions (inputs -> dict), so tests can call them.

Documents are built from plain strings wherever this stack knows them (a document known at
preview is one the policy pack can judge before anything is deployed); names that come
from another stack (a StackReference) may be outputs, rendered with Output.json_dumps.
KMS keys are therefore granted through their alias (`kms:ResourceAliases`) rather than
their ARN, which AWS assigns only at creation.
"""

from __future__ import annotations

from typing import Any

import pulumi

from lambda_failures.archive_format import RECORD_PREFIX
from lambda_failures.components.naming import AwsContext

Statement = dict[str, Any]
Document = dict[str, Any]


def document(*statements: Statement) -> Document:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def assume_role(service: str) -> Document:
    return document({"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"})


def write_own_logs(log_group_arn: str) -> Statement:
    return {
        "Sid": "WriteOwnLogGroup",
        "Effect": "Allow",
        "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
        "Resource": f"{log_group_arn}:*",
    }


def put_traces() -> Statement:
    """X-Ray has no resource-level permissions: `*` is the only valid resource here."""
    return {
        "Sid": "PutTraces",
        "Effect": "Allow",
        "Action": ["xray:PutTraceSegments", "xray:PutTelemetryRecords"],
        "Resource": "*",
    }


def resource_account(aws: AwsContext) -> dict[str, Any]:
    """Only buckets owned by this account: a re-created bucket name elsewhere gets nothing."""
    return {"StringEquals": {"s3:ResourceAccount": aws.account_id}}


def _joined(head: pulumi.Input[str], tail: str) -> pulumi.Input[str]:
    """Text when the head is known text (this stack), an output when it comes from another
    stack (a StackReference): documents built either way stay plain dicts."""
    return head + tail if isinstance(head, str) else pulumi.Output.concat(head, tail)


def archive_objects(
    sid: str,
    actions: str | list[str],
    bucket_arn: pulumi.Input[str],
    aws: AwsContext,
    key_prefix: str = RECORD_PREFIX,
) -> Statement:
    """Object actions under `key_prefix` in the archive, owned by this account only."""
    return {
        "Sid": sid,
        "Effect": "Allow",
        "Action": actions,
        "Resource": _joined(bucket_arn, f"/{key_prefix}*"),
        "Condition": resource_account(aws),
    }


def list_archive(bucket_arn: pulumi.Input[str], aws: AwsContext) -> Statement:
    return {
        "Sid": "ListFailureArchive",
        "Effect": "Allow",
        "Action": "s3:ListBucket",
        "Resource": bucket_arn,
        "Condition": resource_account(aws),
    }


def deliver_to_archive(bucket_arn: pulumi.Input[str], key_alias: pulumi.Input[str], aws: AwsContext) -> list[Statement]:
    """What Lambda needs to write failure records: object writes, listing, and the key via S3.

    The object grant covers the whole bucket, as in AWS's own example: when a destination is
    configured, Lambda checks the role's access to the bucket, and a grant scoped to a key
    prefix is reported to fail that check. `s3:ResourceAccount` keeps it to our own bucket.
    """
    return [
        archive_objects("WriteFailureRecords", "s3:PutObject", bucket_arn, aws, key_prefix=""),
        list_archive(bucket_arn, aws),
        use_key("EncryptFailureRecords", key_alias, ["kms:GenerateDataKey", "kms:Decrypt"], aws, "s3"),
    ]


def use_key(
    sid: str,
    alias_name: pulumi.Input[str],
    actions: list[str],
    aws: AwsContext,
    via_service: str | tuple[str, ...] | None = None,
) -> Statement:
    """Use of one customer managed key, named by its alias; optionally only through a service
    (or any of several: kms:ViaService is the endpoint that called KMS for the role)."""
    condition: dict[str, Any] = {
        "ForAnyValue:StringEquals": {"kms:ResourceAliases": alias_name},
    }
    if via_service is not None:
        services = (via_service,) if isinstance(via_service, str) else via_service
        hosts = [aws.service_host(service) for service in services]
        condition["StringEquals"] = {"kms:ViaService": hosts[0] if len(hosts) == 1 else hosts}
    return {
        "Sid": sid,
        "Effect": "Allow",
        "Action": actions,
        "Resource": aws.arn("kms", "key/*"),
        "Condition": condition,
    }


def allow(sid: str, actions: str | list[str], resource: pulumi.Input[str] | list[str]) -> Statement:
    return {"Sid": sid, "Effect": "Allow", "Action": actions, "Resource": resource}


# Lambda delivers to SQS and SNS destinations (and the dead-letter queue) with the function's
# role; the queue or topic then calls KMS for it, so the grant needs no other way in.
DESTINATION_SERVICES = ("sqs", "sns")


def use_destination_key(alias_name: pulumi.Input[str], aws: AwsContext) -> Statement:
    """The function's use of its destinations' key: only through SQS and SNS."""
    return use_key(
        "EncryptDestinationMessages", alias_name, ["kms:GenerateDataKey", "kms:Decrypt"], aws, DESTINATION_SERVICES
    )


def cloudwatch_alarms(aws: AwsContext) -> str:
    """Every CloudWatch alarm of this account and region: the `aws:SourceArn` CloudWatch sends
    when an alarm action publishes to SNS (the topic must be in the alarm's region)."""
    return aws.arn("cloudwatch", "alarm:*")


def key_policy(aws: AwsContext, service_principals: tuple[str, ...] = (), source_arn: str | None = None) -> Document:
    """Key administration stays with this account's IAM; named services may use the key
    only on behalf of this account (`aws:SourceAccount`) and, given `source_arn`, only for
    those resources (`aws:SourceArn`, ArnLike): a confused deputy in the same account, such
    as another CloudWatch feature, gets nothing."""
    statements: list[Statement] = [
        {
            "Sid": "AccountAdministersKeyThroughIam",
            "Effect": "Allow",
            "Principal": {"AWS": aws.arn("iam", "root", regional=False)},
            "Action": "kms:*",
            "Resource": "*",
        }
    ]
    if service_principals:
        statements.append(
            {
                "Sid": "ServicesUseKeyForThisAccount",
                "Effect": "Allow",
                "Principal": {"Service": list(service_principals)},
                "Action": ["kms:GenerateDataKey*", "kms:Decrypt"],
                "Resource": "*",
                "Condition": {
                    "StringEquals": {"aws:SourceAccount": aws.account_id},
                    **({"ArnLike": {"aws:SourceArn": source_arn}} if source_arn else {}),
                },
            }
        )
    return document(*statements)


def tls_only_bucket(bucket_arn: str) -> Document:
    return document(
        {
            "Sid": "DenyInsecureTransport",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": [bucket_arn, f"{bucket_arn}/*"],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        }
    )
