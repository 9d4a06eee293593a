"""AWS's own contracts, applied to every property the program sets.

A preview that passes the policy pack can still fail at `pulumi up`: Lambda rejects a
timeout of 0, CloudWatch an alarm period of 45, S3 a bucket name ending in `-s3alias`.
Those limits are published by AWS itself, in the service models botocore ships (the
same JSON the SDKs are generated from) and, where the model is loose, in the service
documentation. This module holds ONE table, `PROP_TARGETS`, from each Pulumi resource
type + camelCase prop (as the engine sends it) to the API member the provider fills from
it, or to a documented rule where the model says nothing (SQS and SNS model their
attributes as free strings, S3 models a bucket name as any string). Every prop the
program sets on a covered type must be in the table, so a new prop cannot slip in
unchecked, and every custom resource type must be covered or named in `UNCOVERED_TYPES`.

The program is run as a fresh stack's preview sees it, over the default stack and the
config variants that change what is created (destinations, DLQ, reserved concurrency
0, a Kinesis source, the longest name prefix, regions with and without S3's
account-regional namespace). Values unknown at preview (the engine's sentinel) are
skipped, never passed: they are AWS-assigned (ARNs, ids) and not the program's to get
wrong.

Java-style model patterns are translated for Python's `re`: UTF-16 surrogate pairs
become astral ranges, and the Unicode classes `\\p{L}`/`\\p{N}` become `\\w` and `\\p{Z}`
becomes `\\s` (slightly looser: they also admit `_` and control whitespace, which no tag
here contains). Any other `\\p{..}` class fails the test rather than being guessed.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import botocore.exceptions
import botocore.session
import pytest
import support.aws_models as models
from pulumi.runtime.rpc import _special_secret_sig, _special_sig_key
from support.aws_models import (
    Call,
    Ctx,
    Member,
    NotSent,
    Opaque,
    Problems,
    Report,
    Rule,
    Target,
    check_shape,
    python_pattern,
    resolve,
)
from support.pulumi_harness import run_program

from failctl.preview.synth import UNKNOWN, Synthesis, synthesize

# ---------------------------------------------------------------------------------------
# Documented rules
# ---------------------------------------------------------------------------------------

_ARN = re.compile(
    r"arn:(?P<partition>aws[a-z-]*):(?P<service>[a-z0-9-]+):(?P<region>[a-z0-9-]*):(?P<account>\d{12}|):(?P<rest>.+)"
)


def _arn_service(value: str) -> str | None:
    match = _ARN.fullmatch(value)
    return match["service"] if match else None


def bucket_name_problems(name: str, namespace: str | None = None, ctx: Ctx | None = None) -> Problems:
    """S3 User Guide, "General purpose bucket naming rules" and "Namespaces for general
    purpose buckets" (account regional namespace naming rules)."""
    problems: Problems = []
    if not 3 <= len(name) <= 63:
        problems.append(f"bucket name {name!r} is {len(name)} characters, not 3..63")
    if not re.fullmatch(r"[a-z0-9][a-z0-9.-]*[a-z0-9]", name):
        problems.append(f"bucket name {name!r}: only a-z, 0-9, '.', '-', starting and ending with a letter or digit")
    if ".." in name:
        problems.append(f"bucket name {name!r} has two adjacent periods")
    if re.fullmatch(r"\d{1,3}(\.\d{1,3}){3}", name):
        problems.append(f"bucket name {name!r} is formatted as an IP address")
    for prefix in ("xn--", "sthree-", "amzn-s3-demo-"):
        if name.startswith(prefix):
            problems.append(f"bucket name {name!r} starts with the reserved prefix {prefix!r}")
    for suffix in ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"):
        if name.endswith(suffix):
            problems.append(f"bucket name {name!r} ends with the reserved suffix {suffix!r}")
    if namespace == "account-regional":
        assert ctx is not None, "the account-regional rule needs the account and region"
        suffix = f"-{ctx.account}-{ctx.region}-an"
        if not name.endswith(suffix) or len(name) == len(suffix):
            problems.append(f"bucket {name!r} in the account-regional namespace must be '<prefix>{suffix}'")
    return problems


def _bucket_rule(value: str, ctx: Ctx) -> Problems:
    return bucket_name_problems(value)


def _bucket_with_namespace(value: str, ctx: Ctx) -> Problems:
    return bucket_name_problems(value, ctx.props.get("bucketNamespace", "global"), ctx)


def _random_bucket_prefix(value: str, ctx: Ctx) -> Problems:
    """The name the bucket gets: the prefix plus 2 hex characters per random byte."""
    hex_chars = 2 * int(ctx.props.get("byteLength", 0))
    return bucket_name_problems(value + "a" * hex_chars)


def _s3_url(value: str, ctx: Ctx) -> Problems:
    match = re.fullmatch(r"s3://([^/]+)(/.*)?", value)
    if not match:
        return [f"{value!r} is not an s3://bucket/prefix URL"]
    return bucket_name_problems(match[1])


def _between(lo: int, hi: int) -> Callable[[Any, Ctx], Problems]:
    def check(value: Any, ctx: Ctx) -> Problems:
        return [] if lo <= value <= hi else [f"{value} is outside {lo}..{hi}"]

    return check


def _positive(value: float, ctx: Ctx) -> Problems:
    return [] if value >= 1 and float(value).is_integer() else [f"{value} is not a positive whole number of days"]


def _max_len(limit: int, *, non_whitespace: bool = False, utf8: bool = False) -> Callable[[str, Ctx], Problems]:
    def check(value: str, ctx: Ctx) -> Problems:
        size = len(re.sub(r"\s", "", value)) if non_whitespace else len(value.encode()) if utf8 else len(value)
        return [] if size <= limit else [f"{size} characters/bytes, over the limit of {limit}"]

    return check


def _name_matching(pattern: str, what: str) -> Callable[[str, Ctx], Problems]:
    def check(value: str, ctx: Ctx) -> Problems:
        return [] if re.fullmatch(pattern, value) else [f"{value!r} is not {what}"]

    return check


def _one_of(*allowed: Any) -> Callable[[Any, Ctx], Problems]:
    def check(value: Any, ctx: Ctx) -> Problems:
        return [] if value in allowed else [f"{value!r} is not one of {allowed}"]

    return check


def _arn_of(*services: str) -> Callable[[str, Ctx], Problems]:
    def check(value: str, ctx: Ctx) -> Problems:
        service = _arn_service(value)
        return [] if service in services else [f"{value!r} is not an ARN of {services}"]

    return check


def _brokers(value: str, ctx: Ctx) -> Problems:
    """Each host:port of the comma-separated list meets the model's EndpointLists member."""
    shape = resolve(Member("lambda", "CreateEventSourceMapping", "SelfManagedEventSource.Endpoints{value}")).member
    return [p for server in value.split(",") for p in check_shape(shape, server, "bootstrap server")]


def _function_name(value: str, ctx: Ctx) -> Problems:
    # CreateFunction: "If you specify only the function name, it is limited to 64 characters".
    if value.startswith("arn:"):
        return []
    return [] if len(value) <= 64 else [f"function name {value!r} is {len(value)} characters, over 64"]


def _alias_name(value: str, ctx: Ctx) -> Problems:
    if not value.startswith("alias/"):
        return [f"{value!r} does not begin with 'alias/'"]
    if value.startswith("alias/aws/"):
        return [f"{value!r} is in the 'alias/aws/' namespace reserved for AWS managed keys"]
    return []


def _alarm_period(value: float, ctx: Ctx) -> Problems:
    seconds = int(value)
    return (
        []
        if seconds in (10, 20, 30) or seconds % 60 == 0
        else [f"period {value} is not 10, 20, 30 or a multiple of 60"]
    )


def _alarm_window(value: float, ctx: Ctx) -> Problems:
    total = value * float(ctx.props.get("period", 0))
    return [] if total <= 86_400 else [f"period x evaluationPeriods = {total}s, over one day"]


def _record_age(value: float, ctx: Ctx) -> Problems:
    return [] if value == -1 or value >= 60 else [f"maximum record age {value} is neither -1 nor at least 60"]


def _json_object(value: str, ctx: Ctx) -> Problems:
    try:
        return [] if isinstance(json.loads(value), dict) else [f"{value!r} is not a JSON object"]
    except json.JSONDecodeError as error:
        return [f"{value!r} is not JSON: {error}"]


def _env_size(value: dict[str, str], ctx: Ctx) -> Problems:
    size = sum(len(k) + len(str(v)) for k, v in value.items())
    return [] if size <= 4096 else [f"environment variables total {size} bytes, over 4 KB"]


HIVE_PRIMITIVES = {
    "boolean", "tinyint", "smallint", "int", "integer", "bigint", "float", "double",
    "string", "binary", "date", "timestamp",
}  # fmt: skip


def hive_type_problems(type_: str) -> Problems:
    """Athena User Guide, "Data types in Amazon Athena" (the DDL types of a Glue table)."""

    def parse(text: str, pos: int) -> int:
        match = re.compile(r"[a-z]+").match(text, pos)
        if not match:
            raise ValueError(f"expected a type at {pos}")
        word, pos = match[0], match.end()
        if word in HIVE_PRIMITIVES:
            return pos
        if word in ("decimal", "char", "varchar"):
            arg = re.compile(r"\(\d+(,\s*\d+)?\)").match(text, pos)
            if not arg:
                raise ValueError(f"{word} needs its precision/length at {pos}")
            return arg.end()
        if word not in ("array", "map", "struct") or text[pos : pos + 1] != "<":
            raise ValueError(f"unknown type {word!r} at {pos - len(word)}")
        pos += 1
        if word == "array":
            pos = parse(text, pos)
        elif word == "map":
            pos = parse(text, pos)
            if text[pos : pos + 1] != ",":
                raise ValueError(f"map needs a key and a value type at {pos}")
            pos = parse(text, pos + 1)
        else:
            while True:
                name = re.compile(r"[A-Za-z0-9_]+:").match(text, pos)
                if not name:
                    raise ValueError(f"struct field needs 'name:type' at {pos}")
                pos = parse(text, name.end())
                if text[pos : pos + 1] != ",":
                    break
                pos += 1
        if text[pos : pos + 1] != ">":
            raise ValueError(f"expected '>' at {pos}")
        return pos + 1

    try:
        end = parse(type_, 0)
    except ValueError as error:
        return [f"column type {type_!r}: {error}"]
    return [] if end == len(type_) else [f"column type {type_!r}: trailing text at {end}"]


def _hive_type(value: str, ctx: Ctx) -> Problems:
    return hive_type_problems(value)


LOG_RETENTION_DAYS = (
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
)  # fmt: skip

# Documentation sources, by short name.
DOC_LAMBDA_CREATE = "Lambda API CreateFunction"
DOC_LAMBDA_QUOTAS = "Lambda quotas"
DOC_LAMBDA_ESM = "Lambda API CreateEventSourceMapping / DestinationConfig"
DOC_LAMBDA_ASYNC = "Lambda Developer Guide, async invocation destinations"
DOC_LOGS = "CloudWatch Logs API PutRetentionPolicy"
DOC_IAM_QUOTAS = "IAM and AWS STS quotas"
DOC_KMS_QUOTAS = "AWS KMS quotas (key policy document size)"
DOC_KMS_ALIAS = "AWS KMS API CreateAlias"
DOC_KMS_DELETE = "AWS KMS API ScheduleKeyDeletion"
DOC_SQS = "SQS API CreateQueue"
DOC_SNS = "SNS API CreateTopic / Subscribe"
DOC_CW = "CloudWatch API PutMetricAlarm"
DOC_DDB = "DynamoDB naming rules"
DOC_ATHENA_NAMES = "Athena User Guide, names for tables, databases and columns"
DOC_ATHENA_TYPES = "Athena User Guide, data types"
DOC_S3_NAMES = "S3 User Guide, bucket naming rules and namespaces"
DOC_S3_LIFECYCLE = "S3 User Guide, lifecycle configuration elements"
DOC_S3_POLICY = "S3 User Guide, bucket policy size (20 KB)"

ATHENA_NAME = Rule(DOC_ATHENA_NAMES, _name_matching(r"[a-z0-9_]{1,255}", "lowercase letters, digits and '_'"))
HIVE_TYPE = Rule(DOC_ATHENA_TYPES, _hive_type)
S3_BUCKET = Rule(DOC_S3_NAMES, _bucket_rule)


def _tags(service: str, operation: str, list_member: str = "Tags", key: str = "Key", value: str = "Value"):
    """Pulumi's `tags` map, sent as the API's list of key/value pairs."""
    return {
        "tags": (Member(service, operation, list_member),),
        "tags{key}": (Member(service, operation, f"{list_member}[].{key}"),),
        "tags{value}": (Member(service, operation, f"{list_member}[].{value}"),),
    }


def _map_tags(service: str, operation: str, member: str = "Tags"):
    """Pulumi's `tags` map, sent as the API's own map."""
    return {
        "tags": (Member(service, operation, member),),
        "tags{key}": (Member(service, operation, f"{member}{{key}}"),),
        "tags{value}": (Member(service, operation, f"{member}{{value}}"),),
    }


L = "lambda"
CF, ESM, EIC = "CreateFunction", "CreateEventSourceMapping", "PutFunctionEventInvokeConfig"
LC = "PutBucketLifecycleConfiguration"
LC_RULES = "LifecycleConfiguration.Rules[]"
SSE = "ServerSideEncryptionConfiguration.Rules[]"
NOTIFY = "NotificationConfiguration.LambdaFunctionConfigurations"
WG = "Configuration"
GT = "TableInput"
SD = "TableInput.StorageDescriptor"

# The ONE table: Pulumi type -> prop path -> what AWS checks it against.
PROP_TARGETS: dict[str, dict[str, tuple[Target, ...]]] = {
    "aws:lambda/function:Function": {
        "name": (Member(L, CF, "FunctionName"), Rule(DOC_LAMBDA_CREATE, _function_name)),
        "role": (Member(L, CF, "Role"),),
        "runtime": (Member(L, CF, "Runtime"),),
        "handler": (Member(L, CF, "Handler"),),
        "code": (Opaque("CreateFunction Code.ZipFile: the provider zips the asset; a blob has no modelled limit"),),
        "memorySize": (Member(L, CF, "MemorySize"),),
        "timeout": (Member(L, CF, "Timeout"),),
        "architectures": (Member(L, CF, "Architectures"),),
        "architectures[]": (Member(L, CF, "Architectures[]"),),
        "layers": (
            Member(L, CF, "Layers"),
            Rule(DOC_LAMBDA_QUOTAS, lambda v, c: [] if len(v) <= 5 else ["over 5 layers"]),
        ),
        "layers[]": (Member(L, CF, "Layers[]"),),
        "tracingConfig.mode": (Member(L, CF, "TracingConfig.Mode"),),
        "loggingConfig.logFormat": (Member(L, CF, "LoggingConfig.LogFormat"),),
        "loggingConfig.logGroup": (Member(L, CF, "LoggingConfig.LogGroup"),),
        "reservedConcurrentExecutions": (Member(L, "PutFunctionConcurrency", "ReservedConcurrentExecutions"),),
        "deadLetterConfig.targetArn": (
            Member(L, CF, "DeadLetterConfig.TargetArn"),
            Rule(DOC_LAMBDA_CREATE + " DeadLetterConfig (an SQS queue or SNS topic)", _arn_of("sqs", "sns")),
        ),
        "environment.variables": (Member(L, CF, "Environment.Variables"), Rule(DOC_LAMBDA_QUOTAS, _env_size)),
        "environment.variables{key}": (Member(L, CF, "Environment.Variables{key}"),),
        "environment.variables{value}": (Member(L, CF, "Environment.Variables{value}"),),
        "packageType": (Member(L, CF, "PackageType"),),
        "imageUri": (Member(L, CF, "Code.ImageUri"),),
        "ephemeralStorage.size": (Member(L, CF, "EphemeralStorage.Size"),),
        "vpcConfig.subnetIds": (Member(L, CF, "VpcConfig.SubnetIds"),),
        "vpcConfig.subnetIds[]": (Member(L, CF, "VpcConfig.SubnetIds[]"),),
        "vpcConfig.securityGroupIds": (Member(L, CF, "VpcConfig.SecurityGroupIds"),),
        "vpcConfig.securityGroupIds[]": (Member(L, CF, "VpcConfig.SecurityGroupIds[]"),),
        **_map_tags(L, CF),
    },
    "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig": {
        "functionName": (Member(L, EIC, "FunctionName"),),
        "qualifier": (Member(L, EIC, "Qualifier"),),
        "maximumRetryAttempts": (Member(L, EIC, "MaximumRetryAttempts"),),
        "maximumEventAgeInSeconds": (Member(L, EIC, "MaximumEventAgeInSeconds"),),
        "destinationConfig.onFailure.destination": (
            Member(L, EIC, "DestinationConfig.OnFailure.Destination"),
            Rule(DOC_LAMBDA_ASYNC, _arn_of("sqs", "sns", "lambda", "events", "s3")),
        ),
        "destinationConfig.onSuccess.destination": (
            Member(L, EIC, "DestinationConfig.OnSuccess.Destination"),
            Rule(DOC_LAMBDA_ASYNC, _arn_of("sqs", "sns", "lambda", "events", "s3")),
        ),
    },
    "aws:lambda/eventSourceMapping:EventSourceMapping": {
        "eventSourceArn": (
            Member(L, ESM, "EventSourceArn"),
            Rule(DOC_LAMBDA_ESM + " (stream sources; an MSK cluster)", _arn_of("dynamodb", "kinesis", "kafka")),
        ),
        "topics": (Member(L, ESM, "Topics"),),
        "topics[]": (Member(L, ESM, "Topics[]"),),
        "provisionedPollerConfig.minimumPollers": (Member(L, ESM, "ProvisionedPollerConfig.MinimumPollers"),),
        "provisionedPollerConfig.maximumPollers": (
            Member(L, ESM, "ProvisionedPollerConfig.MaximumPollers"),
            Rule(DOC_LAMBDA_ESM + " ProvisionedPollerConfig (maximum pollers 1..2000)", _between(1, 2000)),
        ),
        "amazonManagedKafkaEventSourceConfig.consumerGroupId": (
            Member(L, ESM, "AmazonManagedKafkaEventSourceConfig.ConsumerGroupId"),
        ),
        "selfManagedKafkaEventSourceConfig.consumerGroupId": (
            Member(L, ESM, "SelfManagedKafkaEventSourceConfig.ConsumerGroupId"),
        ),
        "selfManagedEventSource.endpoints": (
            Rule(
                DOC_LAMBDA_ESM + " SelfManagedEventSource (one list of brokers)",
                lambda v, c: [] if len(v) == 1 else [f"{v}"],
            ),
        ),
        "selfManagedEventSource.endpoints{key}": (Member(L, ESM, "SelfManagedEventSource.Endpoints{key}"),),
        "selfManagedEventSource.endpoints{value}": (
            Rule(DOC_LAMBDA_ESM + " SelfManagedEventSource (the provider splits the list at commas)", _brokers),
        ),
        "sourceAccessConfigurations": (Member(L, ESM, "SourceAccessConfigurations"),),
        "sourceAccessConfigurations[].type": (Member(L, ESM, "SourceAccessConfigurations[].Type"),),
        "sourceAccessConfigurations[].uri": (Member(L, ESM, "SourceAccessConfigurations[].URI"),),
        "functionName": (Member(L, ESM, "FunctionName"),),
        "startingPosition": (Member(L, ESM, "StartingPosition"),),
        "batchSize": (Member(L, ESM, "BatchSize"),),
        "maximumBatchingWindowInSeconds": (Member(L, ESM, "MaximumBatchingWindowInSeconds"),),
        "maximumRetryAttempts": (Member(L, ESM, "MaximumRetryAttempts"),),
        "maximumRecordAgeInSeconds": (Member(L, ESM, "MaximumRecordAgeInSeconds"), Rule(DOC_LAMBDA_ESM, _record_age)),
        "bisectBatchOnFunctionError": (Member(L, ESM, "BisectBatchOnFunctionError"),),
        "functionResponseTypes": (Member(L, ESM, "FunctionResponseTypes"),),
        "functionResponseTypes[]": (Member(L, ESM, "FunctionResponseTypes[]"),),
        "destinationConfig.onFailure.destinationArn": (
            Member(L, ESM, "DestinationConfig.OnFailure.Destination"),
            Rule(DOC_LAMBDA_ESM + " (stream on-failure: SQS, SNS or S3)", _arn_of("sqs", "sns", "s3")),
        ),
        "filterCriteria.filters": (
            Member(L, ESM, "FilterCriteria.Filters"),
            Rule(DOC_LAMBDA_QUOTAS + " (filters per mapping)", lambda v, c: [] if len(v) <= 5 else ["over 5 filters"]),
        ),
        "filterCriteria.filters[].pattern": (
            Member(L, ESM, "FilterCriteria.Filters[].Pattern"),
            Rule(DOC_LAMBDA_ESM + " (a filter pattern is a JSON object)", _json_object),
        ),
    },
    "aws:lambda/permission:Permission": {
        "action": (Member(L, "AddPermission", "Action"),),
        "function": (Member(L, "AddPermission", "FunctionName"),),
        "principal": (Member(L, "AddPermission", "Principal"),),
        "sourceArn": (Member(L, "AddPermission", "SourceArn"),),
        "sourceAccount": (Member(L, "AddPermission", "SourceAccount"),),
    },
    "aws:cloudwatch/logGroup:LogGroup": {
        "name": (Member("logs", "CreateLogGroup", "logGroupName"),),
        "retentionInDays": (
            Member("logs", "PutRetentionPolicy", "retentionInDays"),
            Rule(DOC_LOGS, _one_of(*LOG_RETENTION_DAYS)),
        ),
        **_map_tags("logs", "CreateLogGroup", "tags"),
    },
    "aws:iam/role:Role": {
        "name": (Member("iam", "CreateRole", "RoleName"),),
        "assumeRolePolicy": (
            Member("iam", "CreateRole", "AssumeRolePolicyDocument"),
            Rule(DOC_IAM_QUOTAS + " (role trust policy, 2048 characters)", _max_len(2048, non_whitespace=True)),
        ),
        **_tags("iam", "CreateRole"),
    },
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": {
        "role": (Member("iam", "AttachRolePolicy", "RoleName"),),
        "policyArn": (Member("iam", "AttachRolePolicy", "PolicyArn"),),
    },
    "aws:iam/rolePolicy:RolePolicy": {
        "role": (Member("iam", "PutRolePolicy", "RoleName"),),
        "name": (Member("iam", "PutRolePolicy", "PolicyName"),),
        "policy": (
            Member("iam", "PutRolePolicy", "PolicyDocument"),
            Rule(DOC_IAM_QUOTAS + " (inline role policies, 10240 characters)", _max_len(10240, non_whitespace=True)),
        ),
    },
    "aws:kms/key:Key": {
        "description": (Member("kms", "CreateKey", "Description"),),
        "policy": (Member("kms", "CreateKey", "Policy"), Rule(DOC_KMS_QUOTAS, _max_len(32768, utf8=True))),
        "enableKeyRotation": (Call("kms", "EnableKeyRotation"),),
        "deletionWindowInDays": (
            Member("kms", "ScheduleKeyDeletion", "PendingWindowInDays"),
            Rule(DOC_KMS_DELETE, _between(7, 30)),
        ),
        **_tags("kms", "CreateKey", key="TagKey", value="TagValue"),
    },
    "aws:kms/alias:Alias": {
        "name": (Member("kms", "CreateAlias", "AliasName"), Rule(DOC_KMS_ALIAS, _alias_name)),
        "targetKeyId": (Member("kms", "CreateAlias", "TargetKeyId"),),
    },
    "aws:sqs/queue:Queue": {
        "name": (
            Member("sqs", "CreateQueue", "QueueName"),
            Rule(DOC_SQS, _name_matching(r"[A-Za-z0-9_-]{1,80}", "1-80 alphanumerics, '-' or '_'")),
        ),
        "kmsMasterKeyId": (Member("sqs", "CreateQueue", "Attributes{KmsMasterKeyId}"),),
        "kmsDataKeyReusePeriodSeconds": (
            Member("sqs", "CreateQueue", "Attributes{KmsDataKeyReusePeriodSeconds}", stringify=True),
            Rule(DOC_SQS, _between(60, 86_400)),
        ),
        "messageRetentionSeconds": (
            Member("sqs", "CreateQueue", "Attributes{MessageRetentionPeriod}", stringify=True),
            Rule(DOC_SQS, _between(60, 1_209_600)),
        ),
        **_map_tags("sqs", "CreateQueue", "tags"),
    },
    "aws:sns/topic:Topic": {
        "name": (
            Member("sns", "CreateTopic", "Name"),
            Rule(DOC_SNS, _name_matching(r"[A-Za-z0-9_-]{1,256}", "1-256 ASCII letters, digits, '-' or '_'")),
        ),
        "kmsMasterKeyId": (Member("sns", "CreateTopic", "Attributes{KmsMasterKeyId}"),),
        **_tags("sns", "CreateTopic"),
    },
    "aws:sns/topicSubscription:TopicSubscription": {
        "topic": (Member("sns", "Subscribe", "TopicArn"),),
        "protocol": (
            Member("sns", "Subscribe", "Protocol"),
            Rule(
                DOC_SNS,
                _one_of("http", "https", "email", "email-json", "sms", "sqs", "application", "lambda", "firehose"),
            ),
        ),
        "endpoint": (Member("sns", "Subscribe", "Endpoint"),),
    },
    "aws:cloudwatch/metricAlarm:MetricAlarm": {
        "name": (Member("cloudwatch", "PutMetricAlarm", "AlarmName"),),
        "alarmDescription": (Member("cloudwatch", "PutMetricAlarm", "AlarmDescription"),),
        "namespace": (Member("cloudwatch", "PutMetricAlarm", "Namespace"),),
        "metricName": (Member("cloudwatch", "PutMetricAlarm", "MetricName"),),
        "dimensions": (Member("cloudwatch", "PutMetricAlarm", "Dimensions"),),
        "dimensions{key}": (Member("cloudwatch", "PutMetricAlarm", "Dimensions[].Name"),),
        "dimensions{value}": (Member("cloudwatch", "PutMetricAlarm", "Dimensions[].Value"),),
        "statistic": (Member("cloudwatch", "PutMetricAlarm", "Statistic"),),
        "period": (Member("cloudwatch", "PutMetricAlarm", "Period"), Rule(DOC_CW, _alarm_period)),
        "evaluationPeriods": (Member("cloudwatch", "PutMetricAlarm", "EvaluationPeriods"), Rule(DOC_CW, _alarm_window)),
        "threshold": (Member("cloudwatch", "PutMetricAlarm", "Threshold"),),
        "comparisonOperator": (Member("cloudwatch", "PutMetricAlarm", "ComparisonOperator"),),
        "treatMissingData": (
            Member("cloudwatch", "PutMetricAlarm", "TreatMissingData"),
            Rule(DOC_CW, _one_of("breaching", "notBreaching", "ignore", "missing")),
        ),
        "alarmActions": (Member("cloudwatch", "PutMetricAlarm", "AlarmActions"),),
        "alarmActions[]": (Member("cloudwatch", "PutMetricAlarm", "AlarmActions[]"),),
        "okActions": (Member("cloudwatch", "PutMetricAlarm", "OKActions"),),
        "okActions[]": (Member("cloudwatch", "PutMetricAlarm", "OKActions[]"),),
        **_tags("cloudwatch", "PutMetricAlarm"),
    },
    "aws:cloudwatch/eventBus:EventBus": {
        "name": (Member("events", "CreateEventBus", "Name"),),
        **_tags("events", "CreateEventBus"),
    },
    "aws:dynamodb/table:Table": {
        "name": (
            Member("dynamodb", "CreateTable", "TableName"),
            Rule(DOC_DDB, _name_matching(r"[A-Za-z0-9_.-]{3,255}", "3-255 of a-z, A-Z, 0-9, '_', '-', '.'")),
        ),
        "billingMode": (Member("dynamodb", "CreateTable", "BillingMode"),),
        "hashKey": (Member("dynamodb", "CreateTable", "KeySchema[].AttributeName"),),
        "attributes": (Member("dynamodb", "CreateTable", "AttributeDefinitions"),),
        "attributes[].name": (Member("dynamodb", "CreateTable", "AttributeDefinitions[].AttributeName"),),
        "attributes[].type": (Member("dynamodb", "CreateTable", "AttributeDefinitions[].AttributeType"),),
        "streamEnabled": (Member("dynamodb", "CreateTable", "StreamSpecification.StreamEnabled"),),
        "streamViewType": (Member("dynamodb", "CreateTable", "StreamSpecification.StreamViewType"),),
        "serverSideEncryption.enabled": (Member("dynamodb", "CreateTable", "SSESpecification.Enabled"),),
        "serverSideEncryption.kmsKeyArn": (Member("dynamodb", "CreateTable", "SSESpecification.KMSMasterKeyId"),),
        "pointInTimeRecovery.enabled": (
            Member(
                "dynamodb", "UpdateContinuousBackups", "PointInTimeRecoverySpecification.PointInTimeRecoveryEnabled"
            ),
        ),
        "deletionProtectionEnabled": (Member("dynamodb", "CreateTable", "DeletionProtectionEnabled"),),
        **_tags("dynamodb", "CreateTable"),
    },
    "aws:glue/catalogDatabase:CatalogDatabase": {
        "name": (Member("glue", "CreateDatabase", "DatabaseInput.Name"), ATHENA_NAME),
        "description": (Member("glue", "CreateDatabase", "DatabaseInput.Description"),),
    },
    "aws:glue/catalogTable:CatalogTable": {
        "name": (Member("glue", "CreateTable", f"{GT}.Name"), ATHENA_NAME),
        "databaseName": (Member("glue", "CreateTable", "DatabaseName"), ATHENA_NAME),
        "tableType": (Member("glue", "CreateTable", f"{GT}.TableType"),),
        "description": (Member("glue", "CreateTable", f"{GT}.Description"),),
        "parameters": (Member("glue", "CreateTable", f"{GT}.Parameters"),),
        "parameters{key}": (Member("glue", "CreateTable", f"{GT}.Parameters{{key}}"),),
        "parameters{value}": (Member("glue", "CreateTable", f"{GT}.Parameters{{value}}"),),
        "partitionKeys": (Member("glue", "CreateTable", f"{GT}.PartitionKeys"),),
        "partitionKeys[].name": (Member("glue", "CreateTable", f"{GT}.PartitionKeys[].Name"), ATHENA_NAME),
        "partitionKeys[].type": (Member("glue", "CreateTable", f"{GT}.PartitionKeys[].Type"), HIVE_TYPE),
        "storageDescriptor.location": (Member("glue", "CreateTable", f"{SD}.Location"), Rule(DOC_S3_NAMES, _s3_url)),
        "storageDescriptor.inputFormat": (Member("glue", "CreateTable", f"{SD}.InputFormat"),),
        "storageDescriptor.outputFormat": (Member("glue", "CreateTable", f"{SD}.OutputFormat"),),
        "storageDescriptor.serDeInfo.serializationLibrary": (
            Member("glue", "CreateTable", f"{SD}.SerdeInfo.SerializationLibrary"),
        ),
        "storageDescriptor.serDeInfo.parameters": (Member("glue", "CreateTable", f"{SD}.SerdeInfo.Parameters"),),
        "storageDescriptor.serDeInfo.parameters{key}": (
            Member("glue", "CreateTable", f"{SD}.SerdeInfo.Parameters{{key}}"),
        ),
        "storageDescriptor.serDeInfo.parameters{value}": (
            Member("glue", "CreateTable", f"{SD}.SerdeInfo.Parameters{{value}}"),
        ),
        "storageDescriptor.columns": (Member("glue", "CreateTable", f"{SD}.Columns"),),
        "storageDescriptor.columns[].name": (Member("glue", "CreateTable", f"{SD}.Columns[].Name"), ATHENA_NAME),
        "storageDescriptor.columns[].type": (Member("glue", "CreateTable", f"{SD}.Columns[].Type"), HIVE_TYPE),
        "viewOriginalText": (Member("glue", "CreateTable", f"{GT}.ViewOriginalText"),),
        "viewExpandedText": (Member("glue", "CreateTable", f"{GT}.ViewExpandedText"),),
    },
    "aws:scheduler/schedule:Schedule": {
        "name": (Member("scheduler", "CreateSchedule", "Name"),),
        "description": (Member("scheduler", "CreateSchedule", "Description"),),
        "scheduleExpression": (Member("scheduler", "CreateSchedule", "ScheduleExpression"),),
        "scheduleExpressionTimezone": (Member("scheduler", "CreateSchedule", "ScheduleExpressionTimezone"),),
        "flexibleTimeWindow.mode": (Member("scheduler", "CreateSchedule", "FlexibleTimeWindow.Mode"),),
        "target.arn": (Member("scheduler", "CreateSchedule", "Target.Arn"),),
        "target.roleArn": (Member("scheduler", "CreateSchedule", "Target.RoleArn"),),
        "target.retryPolicy.maximumRetryAttempts": (
            Member("scheduler", "CreateSchedule", "Target.RetryPolicy.MaximumRetryAttempts"),
        ),
        "target.retryPolicy.maximumEventAgeInSeconds": (
            Member("scheduler", "CreateSchedule", "Target.RetryPolicy.MaximumEventAgeInSeconds"),
        ),
    },
    "aws:athena/workgroup:Workgroup": {
        "name": (Member("athena", "CreateWorkGroup", "Name"),),
        "description": (Member("athena", "CreateWorkGroup", "Description"),),
        "forceDestroy": (Member("athena", "DeleteWorkGroup", "RecursiveDeleteOption"),),
        "configuration.bytesScannedCutoffPerQuery": (
            Member("athena", "CreateWorkGroup", f"{WG}.BytesScannedCutoffPerQuery"),
        ),
        "configuration.enforceWorkgroupConfiguration": (
            Member("athena", "CreateWorkGroup", f"{WG}.EnforceWorkGroupConfiguration"),
        ),
        "configuration.publishCloudwatchMetricsEnabled": (
            Member("athena", "CreateWorkGroup", f"{WG}.PublishCloudWatchMetricsEnabled"),
        ),
        "configuration.engineVersion.selectedEngineVersion": (
            Member("athena", "CreateWorkGroup", f"{WG}.EngineVersion.SelectedEngineVersion"),
            Rule("Athena API EngineVersion", _one_of("AUTO", "Athena engine version 3")),
        ),
        "configuration.resultConfiguration.outputLocation": (
            Member("athena", "CreateWorkGroup", f"{WG}.ResultConfiguration.OutputLocation"),
            Rule(DOC_S3_NAMES, _s3_url),
        ),
        "configuration.resultConfiguration.expectedBucketOwner": (
            Member("athena", "CreateWorkGroup", f"{WG}.ResultConfiguration.ExpectedBucketOwner"),
        ),
        "configuration.resultConfiguration.encryptionConfiguration.encryptionOption": (
            Member("athena", "CreateWorkGroup", f"{WG}.ResultConfiguration.EncryptionConfiguration.EncryptionOption"),
        ),
        "configuration.resultConfiguration.encryptionConfiguration.kmsKeyArn": (
            Member("athena", "CreateWorkGroup", f"{WG}.ResultConfiguration.EncryptionConfiguration.KmsKey"),
        ),
        **_tags("athena", "CreateWorkGroup"),
    },
    "aws:athena/namedQuery:NamedQuery": {
        "name": (Member("athena", "CreateNamedQuery", "Name"),),
        "description": (Member("athena", "CreateNamedQuery", "Description"),),
        "database": (Member("athena", "CreateNamedQuery", "Database"),),
        "query": (Member("athena", "CreateNamedQuery", "QueryString"),),
        "workgroup": (Member("athena", "CreateNamedQuery", "WorkGroup"),),
    },
    "aws:s3/bucket:Bucket": {
        "bucket": (Member("s3", "CreateBucket", "Bucket"), Rule(DOC_S3_NAMES, _bucket_with_namespace)),
        "bucketNamespace": (Member("s3", "CreateBucket", "BucketNamespace"),),
        "forceDestroy": (NotSent("the provider empties the bucket before DeleteBucket; no API member"),),
        **_tags("s3", "PutBucketTagging", "Tagging.TagSet"),
    },
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration": {
        "bucket": (Member("s3", LC, "Bucket"), S3_BUCKET),
        "rules": (
            Member("s3", LC, "LifecycleConfiguration.Rules"),
            Rule(DOC_S3_LIFECYCLE, lambda v, c: [] if len(v) <= 1000 else ["over 1000 rules"]),
        ),
        "rules[].id": (Member("s3", LC, f"{LC_RULES}.ID"), Rule(DOC_S3_LIFECYCLE, _max_len(255))),
        "rules[].status": (Member("s3", LC, f"{LC_RULES}.Status"),),
        "rules[].filter.prefix": (Member("s3", LC, f"{LC_RULES}.Filter.Prefix"),),
        "rules[].expiration.days": (Member("s3", LC, f"{LC_RULES}.Expiration.Days"), Rule(DOC_S3_LIFECYCLE, _positive)),
        "rules[].noncurrentVersionExpiration.noncurrentDays": (
            Member("s3", LC, f"{LC_RULES}.NoncurrentVersionExpiration.NoncurrentDays"),
            Rule(DOC_S3_LIFECYCLE, _positive),
        ),
        "rules[].abortIncompleteMultipartUpload.daysAfterInitiation": (
            Member("s3", LC, f"{LC_RULES}.AbortIncompleteMultipartUpload.DaysAfterInitiation"),
            Rule(DOC_S3_LIFECYCLE, _positive),
        ),
    },
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": {
        "bucket": (Member("s3", "PutBucketEncryption", "Bucket"), S3_BUCKET),
        "rules": (Member("s3", "PutBucketEncryption", "ServerSideEncryptionConfiguration.Rules"),),
        "rules[].applyServerSideEncryptionByDefault.sseAlgorithm": (
            Member("s3", "PutBucketEncryption", f"{SSE}.ApplyServerSideEncryptionByDefault.SSEAlgorithm"),
        ),
        "rules[].applyServerSideEncryptionByDefault.kmsMasterKeyId": (
            Member("s3", "PutBucketEncryption", f"{SSE}.ApplyServerSideEncryptionByDefault.KMSMasterKeyID"),
        ),
        "rules[].bucketKeyEnabled": (Member("s3", "PutBucketEncryption", f"{SSE}.BucketKeyEnabled"),),
    },
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": {
        "bucket": (Member("s3", "PutPublicAccessBlock", "Bucket"), S3_BUCKET),
        **{
            prop: (Member("s3", "PutPublicAccessBlock", f"PublicAccessBlockConfiguration.{member}"),)
            for prop, member in (
                ("blockPublicAcls", "BlockPublicAcls"),
                ("blockPublicPolicy", "BlockPublicPolicy"),
                ("ignorePublicAcls", "IgnorePublicAcls"),
                ("restrictPublicBuckets", "RestrictPublicBuckets"),
            )
        },
    },
    "aws:s3/bucketOwnershipControls:BucketOwnershipControls": {
        "bucket": (Member("s3", "PutBucketOwnershipControls", "Bucket"), S3_BUCKET),
        "rule.objectOwnership": (
            Member("s3", "PutBucketOwnershipControls", "OwnershipControls.Rules[].ObjectOwnership"),
        ),
    },
    "aws:s3/bucketVersioning:BucketVersioning": {
        "bucket": (Member("s3", "PutBucketVersioning", "Bucket"), S3_BUCKET),
        "versioningConfiguration.status": (Member("s3", "PutBucketVersioning", "VersioningConfiguration.Status"),),
    },
    "aws:s3/bucketPolicy:BucketPolicy": {
        "bucket": (Member("s3", "PutBucketPolicy", "Bucket"), S3_BUCKET),
        "policy": (Member("s3", "PutBucketPolicy", "Policy"), Rule(DOC_S3_POLICY, _max_len(20 * 1024, utf8=True))),
    },
    "aws:s3/bucketNotification:BucketNotification": {
        "bucket": (Member("s3", "PutBucketNotificationConfiguration", "Bucket"), S3_BUCKET),
        "lambdaFunctions": (Member("s3", "PutBucketNotificationConfiguration", NOTIFY),),
        "lambdaFunctions[].lambdaFunctionArn": (
            Member("s3", "PutBucketNotificationConfiguration", f"{NOTIFY}[].LambdaFunctionArn"),
        ),
        "lambdaFunctions[].events": (Member("s3", "PutBucketNotificationConfiguration", f"{NOTIFY}[].Events"),),
        "lambdaFunctions[].events[]": (Member("s3", "PutBucketNotificationConfiguration", f"{NOTIFY}[].Events[]"),),
        "lambdaFunctions[].filterPrefix": (
            Member("s3", "PutBucketNotificationConfiguration", f"{NOTIFY}[].Filter.Key.FilterRules[].Value"),
            Rule("S3 object key names (at most 1024 bytes)", _max_len(1024, utf8=True)),
        ),
    },
    "random:index/randomId:RandomId": {
        # Not an AWS call: the prefix and the random hex become an S3 bucket name.
        "prefix": (Rule(DOC_S3_NAMES, _random_bucket_prefix),),
        "byteLength": (NotSent("pulumi-random only; counted into the bucket name by the prefix rule"),),
    },
}

# Custom resource types the program may create that this module does not check, and why.
UNCOVERED_TYPES: dict[str, str] = {}


def check_resource(type_: str, props: dict[str, Any], ctx: Ctx, name: str = "") -> Report:
    """Every prop of one resource against this table: the checker the tests and negatives share."""
    return models.check_resource(type_, props, ctx, name, PROP_TARGETS, UNCOVERED_TYPES)


def stack_context(synthesis: Synthesis) -> Ctx:
    """Account, region and partition as the program's own function ARN carries them."""
    arn = _ARN.fullmatch(synthesis.outputs["LambdaFunctionArn"])
    assert arn is not None, synthesis.outputs["LambdaFunctionArn"]
    return Ctx(account=arn["account"], region=arn["region"], partition=arn["partition"])


def check_stack(synthesis: Synthesis) -> Report:
    ctx = stack_context(synthesis)
    total = Report()
    for resource in synthesis.resources:
        if not resource.custom:
            continue
        report = check_resource(resource.type, resource.props, ctx, resource.name)
        total.problems += report.problems
        total.unmapped += report.unmapped
        total.skipped_unknown += report.skipped_unknown
        total.checked += report.checked
    return total


# ---------------------------------------------------------------------------------------
# The program, as each variant's preview sees it
# ---------------------------------------------------------------------------------------

VARIANTS: dict[str, dict[str, Any]] = {
    "default": {},
    "success-sqs": {"successDestination": "sqs"},
    "success-sns": {"successDestination": "sns"},
    "success-eventbridge": {"successDestination": "eventbridge"},
    "success-lambda": {"successDestination": "lambda"},
    "dead-letter-queue": {"deadLetterQueue": True},
    "reserved-concurrency-0": {"reservedConcurrency": 0},
    "kinesis-source": {"streamSourceArn": "arn:aws:kinesis:eu-west-1:123456789012:stream/orders"},
    "prefix-40-chars": {"namePrefix": "a" * 40},
    "prefix-40-chars-sqs-dlq": {"namePrefix": "b" * 40, "successDestination": "sqs", "deadLetterQueue": True},
    "ap-southeast-2": {"aws:region": "ap-southeast-2"},
    "me-south-1": {"aws:region": "me-south-1"},
    # The longest prefix with the longest account-regional suffix, and with a random one.
    "prefix-40-ap-southeast-2": {"aws:region": "ap-southeast-2", "namePrefix": "c" * 40},
    "prefix-40-me-south-1": {"aws:region": "me-south-1", "namePrefix": "d" * 40},
    "replay-email-filters": {
        "autoReplay": True,
        "alarmEmail": "oncall@example.com",
        "streamFilterPatterns": [{"eventName": ["INSERT", "MODIFY"]}],
    },
}


@functools.cache
def variant(name: str) -> Synthesis:
    return run_program(**VARIANTS[name])


@pytest.mark.parametrize("name", VARIANTS)
def test_every_prop_the_program_sets_is_mapped_to_an_aws_contract(name: str) -> None:
    report = check_stack(variant(name))
    assert not report.unmapped, "props with no entry in PROP_TARGETS:\n" + "\n".join(report.unmapped)


@pytest.mark.parametrize("name", VARIANTS)
def test_every_prop_meets_the_aws_contract_of_its_api_call(name: str) -> None:
    report = check_stack(variant(name))
    assert report.checked > 100, f"only {report.checked} checks ran: the walk is broken"
    assert not report.problems, "\n".join(report.problems)


RETROFIT = Path(__file__).resolve().parents[1] / "fixtures" / "retrofit_program"


def test_every_prop_a_retrofit_sets_meets_the_aws_contract_of_its_api_call() -> None:
    """FailureCapture over every stream kind (DynamoDB, Kinesis consumer, MSK, self-managed Kafka)."""
    synthesis = synthesize("dev", project_dir=RETROFIT, account_id="123456789012")
    ctx = Ctx(account="123456789012", region=synthesis.region)
    total = Report()
    for resource in synthesis.resources:
        if resource.custom:
            report = check_resource(resource.type, resource.props, ctx, resource.name)
            total.problems += report.problems
            total.unmapped += report.unmapped
            total.checked += report.checked
    assert not total.unmapped, "props with no entry in PROP_TARGETS:\n" + "\n".join(total.unmapped)
    assert total.checked > 100 and not total.problems, "\n".join(total.problems)


def test_unknown_values_are_skipped_not_passed() -> None:
    """Role ARNs and key ids are AWS-assigned; they are reported as skipped, never checked."""
    report = check_stack(variant("default"))
    assert any(path.endswith(" role") for path in report.skipped_unknown), report.skipped_unknown
    broken = check_resource("aws:lambda/function:Function", {"memorySize": UNKNOWN}, stack_context(variant("default")))
    assert broken.problems == [] and broken.checked == 0 and len(broken.skipped_unknown) == 1


def test_every_table_member_exists_in_the_botocore_model() -> None:
    """A typo in the table (or a member AWS removed) fails here, not silently."""
    missing = []
    for type_, table in PROP_TARGETS.items():
        for path, targets in table.items():
            assert targets, f"{type_} {path}: no target"
            for target in targets:
                try:
                    if isinstance(target, Member):
                        resolve(target)
                    elif isinstance(target, Call):
                        models.service_model(target.service).operation_model(target.operation)
                except (KeyError, ValueError, botocore.exceptions.OperationNotFoundError) as error:
                    missing.append(f"{type_} {path} -> {target}: {error!r}")
    assert not missing, "\n".join(missing)


def test_aggregate_inline_policy_size_per_role_is_within_the_iam_quota() -> None:
    """IAM counts all inline policies of a role together (10,240 characters, no whitespace)."""
    for name in VARIANTS:
        per_role: dict[str, int] = {}
        for policy in variant(name).of_type("aws:iam/rolePolicy:RolePolicy"):
            size = len(re.sub(r"\s", "", policy.props["policy"]))
            per_role[policy.props["role"]] = per_role.get(policy.props["role"], 0) + size
        assert per_role and max(per_role.values()) <= 10_240, (name, per_role)


def test_bucket_names_are_in_the_namespace_s3_offers_in_the_region() -> None:
    """S3 offers the account-regional namespace everywhere but Bahrain and the UAE."""
    for name, expected in (
        ("default", "account-regional"),
        ("ap-southeast-2", "account-regional"),
        ("me-south-1", "global"),
    ):
        namespaces = {b.props["bucketNamespace"] for b in variant(name).of_type("aws:s3/bucket:Bucket")}
        assert namespaces == {expected}, (name, namespaces)


# ---------------------------------------------------------------------------------------
# Negatives: the same checker, fed values AWS rejects
# ---------------------------------------------------------------------------------------

CTX = Ctx(account="123456789012", region="eu-west-1")
FUNCTION = "aws:lambda/function:Function"

BROKEN: list[tuple[str, dict[str, Any], str]] = [
    (FUNCTION, {"runtime": "python3.99"}, "is not one of"),
    (FUNCTION, {"memorySize": 64.0}, "below the minimum"),
    (FUNCTION, {"timeout": 0.0}, "below the minimum"),
    (FUNCTION, {"handler": "processor handler"}, "does not match"),
    (FUNCTION, {"name": "a" * 65}, "over 64"),
    (FUNCTION, {"name": "bad.name"}, "does not match"),
    (FUNCTION, {"layers": ["arn:aws:lambda:eu-west-1:17000801446:layer:Powertools:27"]}, "does not match"),
    (FUNCTION, {"layers": [f"arn:aws:lambda:eu-west-1:017000801446:layer:l{i}:1" for i in range(6)]}, "over 5"),
    (FUNCTION, {"role": "arn:aws:iam::123456789012:user/someone"}, "does not match"),
    (FUNCTION, {"tracingConfig": {"mode": "active"}}, "is not one of"),
    (FUNCTION, {"loggingConfig": {"logFormat": "Json"}}, "is not one of"),
    (FUNCTION, {"loggingConfig": {"logGroup": "/aws/lambda/has space"}}, "does not match"),
    (FUNCTION, {"architectures": ["x86_64", "arm64"]}, "more than 1"),
    (FUNCTION, {"reservedConcurrentExecutions": -1.0}, "below the minimum"),
    (FUNCTION, {"environment": {"variables": {"1BAD": "x"}}}, "does not match"),
    (FUNCTION, {"environment": {"variables": {"BIG": "x" * 5000}}}, "over 4 KB"),
    (FUNCTION, {"deadLetterConfig": {"targetArn": "arn:aws:s3:::bucket"}}, "not an ARN of"),
    ("aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig", {"maximumRetryAttempts": 3.0}, "above"),
    ("aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig", {"maximumEventAgeInSeconds": 30.0}, "below"),
    (
        "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig",
        {"destinationConfig": {"onFailure": {"destination": "s3://bucket"}}},
        "does not match",
    ),
    (
        "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig",
        {"destinationConfig": {"onFailure": {"destination": "arn:aws:dynamodb:eu-west-1:123456789012:table/t"}}},
        "not an ARN of",
    ),
    ("aws:lambda/eventSourceMapping:EventSourceMapping", {"batchSize": 10001.0}, "above"),
    (
        "aws:lambda/eventSourceMapping:EventSourceMapping",
        {"selfManagedEventSource": {"endpoints": {"KAFKA_BOOTSTRAP_SERVERS": "b-1.example.com:9092,b 2:9092"}}},
        "does not match",
    ),
    (
        "aws:lambda/eventSourceMapping:EventSourceMapping",
        {"provisionedPollerConfig": {"minimumPollers": 201.0}},
        "above",
    ),
    (
        "aws:lambda/eventSourceMapping:EventSourceMapping",
        {"provisionedPollerConfig": {"maximumPollers": 2001.0}},
        "outside",
    ),
    ("aws:lambda/eventSourceMapping:EventSourceMapping", {"sourceAccessConfigurations": [{"type": "SASL"}]}, "not one"),
    ("aws:lambda/eventSourceMapping:EventSourceMapping", {"maximumBatchingWindowInSeconds": 301.0}, "above"),
    ("aws:lambda/eventSourceMapping:EventSourceMapping", {"maximumRetryAttempts": -2.0}, "below"),
    ("aws:lambda/eventSourceMapping:EventSourceMapping", {"maximumRecordAgeInSeconds": 30.0}, "neither -1"),
    ("aws:lambda/eventSourceMapping:EventSourceMapping", {"startingPosition": "EARLIEST"}, "is not one of"),
    ("aws:lambda/eventSourceMapping:EventSourceMapping", {"functionResponseTypes": ["ReportItemFailures"]}, "not one"),
    (
        "aws:lambda/eventSourceMapping:EventSourceMapping",
        {"destinationConfig": {"onFailure": {"destinationArn": "arn:aws:lambda:eu-west-1:123456789012:function:f"}}},
        "not an ARN of",
    ),
    ("aws:lambda/eventSourceMapping:EventSourceMapping", {"filterCriteria": {"filters": [{"pattern": "[1]"}]}}, "JSON"),
    ("aws:lambda/permission:Permission", {"sourceAccount": "12345"}, "does not match"),
    ("aws:lambda/permission:Permission", {"action": "s3:InvokeFunction"}, "does not match"),
    ("aws:cloudwatch/logGroup:LogGroup", {"retentionInDays": 31.0}, "is not one of"),
    ("aws:cloudwatch/logGroup:LogGroup", {"name": "/aws/lambda/x y"}, "does not match"),
    ("aws:iam/role:Role", {"name": "r" * 65}, "over 64"),
    ("aws:iam/role:Role", {"assumeRolePolicy": json.dumps({"Statement": ["x" * 2100]})}, "over the limit of 2048"),
    ("aws:iam/rolePolicy:RolePolicy", {"name": "policy name"}, "does not match"),
    ("aws:iam/rolePolicy:RolePolicy", {"policy": "x" * 10241}, "over the limit of 10240"),
    ("aws:kms/key:Key", {"policy": "x" * 32769}, "over the limit of 32768"),
    ("aws:kms/key:Key", {"deletionWindowInDays": 5.0}, "outside 7..30"),
    ("aws:kms/alias:Alias", {"name": "alias/aws/lambda"}, "reserved"),
    ("aws:kms/alias:Alias", {"name": "failures"}, "does not begin with"),
    ("aws:kms/alias:Alias", {"name": "alias/has space"}, "does not match"),
    ("aws:sqs/queue:Queue", {"name": "queue.name"}, "alphanumerics"),
    ("aws:sqs/queue:Queue", {"name": "q" * 81}, "alphanumerics"),
    ("aws:sqs/queue:Queue", {"messageRetentionSeconds": 1_209_601.0}, "outside 60..1209600"),
    ("aws:sqs/queue:Queue", {"kmsDataKeyReusePeriodSeconds": 30.0}, "outside 60..86400"),
    ("aws:sns/topic:Topic", {"name": "alerts topic"}, "ASCII letters"),
    ("aws:sns/topicSubscription:TopicSubscription", {"protocol": "mail"}, "is not one of"),
    ("aws:cloudwatch/metricAlarm:MetricAlarm", {"period": 45.0}, "multiple of 60"),
    ("aws:cloudwatch/metricAlarm:MetricAlarm", {"period": 3600.0, "evaluationPeriods": 25.0}, "over one day"),
    ("aws:cloudwatch/metricAlarm:MetricAlarm", {"evaluationPeriods": 0.0}, "below the minimum"),
    ("aws:cloudwatch/metricAlarm:MetricAlarm", {"comparisonOperator": "GreaterThan"}, "is not one of"),
    ("aws:cloudwatch/metricAlarm:MetricAlarm", {"statistic": "p99"}, "is not one of"),
    ("aws:cloudwatch/metricAlarm:MetricAlarm", {"treatMissingData": "notbreaching"}, "is not one of"),
    ("aws:cloudwatch/metricAlarm:MetricAlarm", {"name": "a" * 256}, "over 255"),
    ("aws:cloudwatch/metricAlarm:MetricAlarm", {"alarmActions": [f"arn:{i}" for i in range(6)]}, "more than 5"),
    ("aws:cloudwatch/metricAlarm:MetricAlarm", {"namespace": ":AWS/Lambda"}, "does not match"),
    ("aws:dynamodb/table:Table", {"name": "ab"}, "3-255"),
    ("aws:dynamodb/table:Table", {"streamViewType": "NEW_AND_OLD"}, "is not one of"),
    ("aws:dynamodb/table:Table", {"attributes": [{"name": "pk", "type": "STRING"}]}, "is not one of"),
    ("aws:glue/catalogDatabase:CatalogDatabase", {"name": "Failed-Events"}, "lowercase"),
    (
        "aws:glue/catalogTable:CatalogTable",
        {"storageDescriptor": {"columns": [{"name": "c", "type": "strin"}]}},
        "type",
    ),
    (
        "aws:glue/catalogTable:CatalogTable",
        {"storageDescriptor": {"columns": [{"name": "c", "type": "struct<a:string,b:int"}]}},
        "expected '>'",
    ),
    ("aws:glue/catalogTable:CatalogTable", {"storageDescriptor": {"location": "https://bucket/x/"}}, "s3://"),
    ("aws:athena/workgroup:Workgroup", {"name": "failures workgroup"}, "does not match"),
    ("aws:athena/workgroup:Workgroup", {"configuration": {"bytesScannedCutoffPerQuery": 1000.0}}, "below"),
    (
        "aws:athena/workgroup:Workgroup",
        {"configuration": {"resultConfiguration": {"expectedBucketOwner": "1234"}}},
        "short",
    ),
    (
        "aws:athena/workgroup:Workgroup",
        {"configuration": {"resultConfiguration": {"encryptionConfiguration": {"encryptionOption": "KMS"}}}},
        "is not one of",
    ),
    ("aws:athena/namedQuery:NamedQuery", {"description": ""}, "shorter than 1"),
    ("aws:s3/bucket:Bucket", {"bucket": "xn--failures"}, "reserved prefix"),
    ("aws:s3/bucket:Bucket", {"bucket": "failures-s3alias"}, "reserved suffix"),
    ("aws:s3/bucket:Bucket", {"bucket": "failures--ol-s3"}, "reserved suffix"),
    ("aws:s3/bucket:Bucket", {"bucket": "failures.mrap"}, "reserved suffix"),
    ("aws:s3/bucket:Bucket", {"bucket": "failures--x-s3"}, "reserved suffix"),
    ("aws:s3/bucket:Bucket", {"bucket": "Failures"}, "only a-z"),
    ("aws:s3/bucket:Bucket", {"bucket": "a" * 64}, "not 3..63"),
    ("aws:s3/bucket:Bucket", {"bucket": "fail..ures"}, "adjacent periods"),
    ("aws:s3/bucket:Bucket", {"bucket": "192.168.1.1"}, "IP address"),
    ("aws:s3/bucket:Bucket", {"bucket": "failures-an", "bucketNamespace": "account-regional"}, "account-regional"),
    (
        "aws:s3/bucket:Bucket",
        {"bucket": "failures-123456789012-us-east-1-an", "bucketNamespace": "account-regional"},
        "account-regional",
    ),
    ("aws:s3/bucket:Bucket", {"bucketNamespace": "regional"}, "is not one of"),
    (
        "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
        {"rules": [{"expiration": {"days": 0.0}}]},
        "positive",
    ),
    (
        "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
        {"rules": [{"status": "On"}]},
        "is not one of",
    ),
    (
        "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
        {"rules": [{"id": "i" * 256}]},
        "limit of 255",
    ),
    ("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration", {"bucket": "Bad_Bucket"}, "only a-z"),
    (
        "aws:s3/bucketNotification:BucketNotification",
        {"lambdaFunctions": [{"events": ["s3:ObjectCreated"]}]},
        "not one",
    ),
    ("aws:s3/bucketPolicy:BucketPolicy", {"policy": "x" * 20481}, "over the limit"),
    ("random:index/randomId:RandomId", {"prefix": "Failures-", "byteLength": 6.0}, "only a-z"),
    ("random:index/randomId:RandomId", {"prefix": "f" * 60 + "-", "byteLength": 6.0}, "not 3..63"),
]


@pytest.mark.parametrize(
    ("type_", "props", "expected"), BROKEN, ids=lambda v: str(v)[:60] if isinstance(v, str) else None
)
def test_the_checker_rejects_what_aws_rejects(type_: str, props: dict[str, Any], expected: str) -> None:
    report = check_resource(type_, props, CTX, "broken")
    assert not report.unmapped, report.unmapped
    assert any(expected in problem for problem in report.problems), report.problems


def test_an_unmapped_prop_on_a_covered_type_is_reported() -> None:
    function = next(r for r in variant("default").of_type(FUNCTION))
    report = check_resource(FUNCTION, {**function.props, "snapStart": {"applyOn": "PublishedVersions"}}, CTX, "f")
    assert report.unmapped == [f"{FUNCTION} f snapStart.applyOn"], report.unmapped


def test_a_secret_value_is_unwrapped_and_checked() -> None:
    secret = {_special_sig_key: _special_secret_sig, "value": "oncall@example.com"}
    report = check_resource("aws:sns/topicSubscription:TopicSubscription", {"endpoint": secret}, CTX)
    assert report.checked == 1 and not report.unmapped and not report.problems, report
    bad = {_special_sig_key: _special_secret_sig, "value": "mail"}
    report = check_resource("aws:sns/topicSubscription:TopicSubscription", {"protocol": bad}, CTX)
    assert any("is not one of" in p for p in report.problems), report


def test_an_uncovered_resource_type_is_reported() -> None:
    report = check_resource("aws:ec2/vpc:Vpc", {"cidrBlock": "10.0.0.0/16"}, CTX)
    assert report.unmapped and "aws:ec2/vpc:Vpc" in report.unmapped[0]


def test_a_table_entry_naming_no_model_member_is_caught() -> None:
    with pytest.raises(KeyError):
        resolve(Member("lambda", "CreateFunction", "TracingConfig.Level"))
    with pytest.raises(ValueError):
        resolve(Member("sqs", "CreateQueue", "Attributes{RetentionPeriod}"))


def test_java_patterns_translate_for_python() -> None:
    """Surrogate-pair ranges (Glue) and Unicode classes (tags) behave as the model means."""
    glue = python_pattern("[\\u0020-\\uD7FF\\uE000-\\uFFFD\\uD800\\uDC00-\\uDBFF\\uDFFF\\t]*")
    assert glue.fullmatch("failed_events \U0001f600") and not glue.fullmatch("a\nb")
    tag = python_pattern("([\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*)")
    assert tag.fullmatch("lambda-failures é 1") and not tag.fullmatch("a;b")


# ---------------------------------------------------------------------------------------
# A caller's functions (the public API): every setting a team may give
# ---------------------------------------------------------------------------------------


def test_the_runtimes_we_know_are_exactly_lambdas_runtime_enum() -> None:
    """A runtime botocore adds (or drops) fails here until runtimes.py says when it is deprecated."""
    from lambda_failures.components.runtimes import NOT_DOCUMENTED, RUNTIME_DEPRECATION

    enum = set(botocore.session.get_session().get_service_model(L).shape_for("Runtime").enum)
    assert set(RUNTIME_DEPRECATION) | NOT_DOCUMENTED == enum


@pytest.mark.parametrize("image", [False, True])
def test_a_callers_function_meets_the_aws_contracts(tmp_path, image: bool) -> None:
    """The team program of tests/components/test_function_spec.py (VPC, storage, environment,
    Powertools on arm64, a Node.js consumer), and the same with a container image."""
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from components.test_function_spec import write_program
    from support.pulumi_harness import ACCOUNT, REGION

    from failctl.preview.synth import synthesize

    folder = write_program(tmp_path)
    if image:
        main = folder / "__main__.py"
        main.write_text(
            main.read_text().replace(
                'code=pulumi.FileArchive("./clicks"), handler="index.handler", runtime="nodejs22.x",',
                f'image_uri="{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/team/clicks:v1",',
            )
        )
    synthesis = synthesize("dev", project_dir=folder, account_id=ACCOUNT, region=REGION)
    ctx = Ctx(account=ACCOUNT, region=REGION)
    problems, unmapped = [], []
    for resource in synthesis.resources:
        if resource.custom:
            report = check_resource(resource.type, resource.props, ctx, resource.name)
            problems += report.problems
            unmapped += report.unmapped
    assert not unmapped and not problems, unmapped + problems
    kinds = {r.props.get("packageType") for r in synthesis.of_type("aws:lambda/function:Function")}
    assert kinds == ({"Zip", "Image"} if image else {"Zip"})
