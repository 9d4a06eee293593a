"""Every stack setting, declared once in KEYS (type, default, bounds, choices, description), with
the choices a setting takes.

Pulumi.yaml, the README's configuration table, the component schema and the settings dataclasses
are checked against this table (tests/contracts/test_settings_table.py); settings.py reads values
by it.
"""

from __future__ import annotations

import builtins
import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from failure_guards.bounds import (
    STREAM_MAX_RECORD_AGE_SECONDS,
    STREAM_MAX_RETRY_ATTEMPTS,
    STREAM_MIN_RECORD_AGE_SECONDS,
)

PROJECT = "lambda-failures"


# The choices a setting takes, as enums so the component package's schema lists them too.
class SuccessDestination(StrEnum):
    """Where an async function's successful results go (each encrypted), or nowhere."""

    NONE = "none"
    """Successes are not recorded."""
    SQS = "sqs"
    """An encrypted SQS queue."""
    SNS = "sns"
    """An encrypted SNS topic."""
    EVENTBRIDGE = "eventbridge"
    """An EventBridge bus."""
    LAMBDA = "lambda"
    """A receiver function."""


class StartingPosition(StrEnum):
    """Where a new stream mapping starts reading."""

    LATEST = "LATEST"
    """Records written after the mapping is created."""
    TRIM_HORIZON = "TRIM_HORIZON"
    """The oldest record the stream still holds."""


class StreamSourceKind(StrEnum):
    """The kind of stream a consumer reads, which decides the permissions its role gets."""

    DYNAMODB = "dynamodb"
    """A DynamoDB table's stream."""
    KINESIS = "kinesis"
    """A Kinesis data stream."""


def stream_source_kind(arn: str) -> StreamSourceKind:
    """The kind of a stream ARN that STREAM_ARN accepted."""
    return StreamSourceKind.KINESIS if arn.split(":")[2] == "kinesis" else StreamSourceKind.DYNAMODB


class BucketNamespace(StrEnum):
    """S3 namespaces a bucket can be created in (CreateBucket's BucketNamespace)."""

    ACCOUNT_REGIONAL = "account-regional"
    """Names reserved for this account in its region: nobody else can claim them."""
    GLOBAL = "global"
    """The shared namespace: names get a random suffix."""


SUCCESS_DESTINATION_KINDS = tuple(SuccessDestination)
STARTING_POSITIONS = tuple(StartingPosition)
BUCKET_NAMESPACES = tuple(BucketNamespace)
# Regions where S3 does not offer the account-regional namespace: buckets there fall back to
# the global namespace with a random suffix (S3 User Guide, "Namespaces for general purpose buckets").
NO_ACCOUNT_REGIONAL_NAMESPACE = frozenset({"me-south-1", "me-central-1"})
# The stream sources a mapping reads (Lambda CreateEventSourceMapping `EventSourceArn`): a DynamoDB
# table's stream or a Kinesis data stream, in any partition.
STREAM_ARN = re.compile(
    r"arn:aws[a-z-]*:(?:dynamodb:[a-z0-9-]+:\d{12}:table/[A-Za-z0-9_.-]{3,255}/stream/[^/\s]+"
    r"|kinesis:[a-z0-9-]+:\d{12}:stream/[A-Za-z0-9_.-]{1,128})"
)
# Lambda API PutFunctionEventInvokeConfig: MaximumRetryAttempts 0..2, MaximumEventAgeInSeconds 60..21600.
ASYNC_MAX_RETRY_ATTEMPTS = 2
ASYNC_MIN_EVENT_AGE_SECONDS = 60
ASYNC_MAX_EVENT_AGE_SECONDS = 21_600
# Lambda's own "unreserved" value for reserved concurrency (PutFunctionConcurrency is not called).
UNRESERVED = -1
# CloudWatch Logs accepts only these retention periods (PutRetentionPolicy).
LOG_RETENTION_DAYS = (
    1,
    3,
    5,
    7,
    14,
    30,
    60,
    90,
    120,
    150,
    180,
    365,
    400,
    545,
    731,
    1096,
    1827,
    2192,
    2557,
    2922,
    3288,
    3653,
)


@dataclass(frozen=True)
class Key:
    """One setting, declared once: Pulumi.yaml, the README's configuration table, the component
    schema and the settings dataclasses are checked against this (tests/contracts/test_settings_table.py).

    `declared` is Pulumi.yaml's default (what a stack that leaves the key out gets: "" or -1 mean
    unset), `value` the setting when unset (None: computed, e.g. from the name prefix).
    """

    name: str
    type: str  # Pulumi.yaml's type: integer, boolean or string
    declared: Any
    description: str
    lo: int | None = None
    hi: int | None = None
    choices: tuple[str, ...] = ()
    value: Any = None
    enum: builtins.type[StrEnum] | None = None  # the typed choices: what the setting reads as


def _int(name: str, default: int, lo: int, hi: int, description: str) -> Key:
    return Key(name, "integer", default, description, lo, hi, value=default)


def _bool(name: str, default: bool, description: str) -> Key:
    return Key(name, "boolean", default, description, value=default)


def _choice(name: str, default: str, enum: type[StrEnum], description: str) -> Key:
    return Key(name, "string", default, description, choices=tuple(enum), value=enum(default), enum=enum)


def _text(name: str, description: str, declared: str = "", value: Any = None) -> Key:
    return Key(name, "string", declared, description, value=value)


KEYS: dict[str, Key] = {
    key.name: key
    for key in (
        _text(
            "namePrefix",
            "Prefix of every resource name (a-z, 0-9, '-'; starting with a letter; at most 40; not xn-- or "
            'sthree-, which S3 refuses). Empty means "lambda-failures-<stack>".',
        ),
        _int(
            "logRetentionDays",
            30,
            1,
            3653,
            "Days CloudWatch keeps each function's logs (one of the values CloudWatch Logs accepts).",
        ),
        _int(
            "powertoolsLayerVersion",
            27,
            1,
            10000,
            "Version of the AWS-published Powertools for AWS Lambda (Python) v3 layer (1..10000).",
        ),
        _text("alarmEmail", "E-mail address subscribed to the alarm and alert topics. Empty means no subscription."),
        _bool(
            "allowDestroy",
            False,
            "Allow `pulumi destroy` to delete the failure archive and its key (throwaway stacks only).",
        ),
        _int("archiveExpirationDays", 365, 1, 36500, "Days before failure records expire (1..36500)."),
        _int(
            "noncurrentExpirationDays",
            30,
            1,
            3650,
            "Days before overwritten or deleted record versions expire (1..3650).",
        ),
        _int("maxRetryAttempts", 2, 0, ASYNC_MAX_RETRY_ATTEMPTS, "Retries of a failed asynchronous invocation (0..2)."),
        _int(
            "maxEventAgeSeconds",
            3600,
            ASYNC_MIN_EVENT_AGE_SECONDS,
            ASYNC_MAX_EVENT_AGE_SECONDS,
            "Maximum age of an asynchronous event before it goes to the on-failure destination (60..21600).",
        ),
        _choice(
            "successDestination",
            "none",
            SuccessDestination,
            "On-success destination to create - none, sqs, sns, eventbridge or lambda.",
        ),
        Key(
            "reservedConcurrency",
            "integer",
            -1,
            "Reserved concurrency of the sample async function (0..10000; 0 sends every event straight to the "
            "archive). -1 means unreserved, as in Lambda's own API.",
            -1,
            10000,
            value=UNRESERVED,
        ),
        _bool(
            "deadLetterQueue", False, "Also attach an SQS dead-letter queue (the older alternative to destinations)."
        ),
        _int("memoryMb", 256, 128, 10240, "Memory in MB of the sample async function (128..10240)."),
        _int("timeoutSeconds", 30, 1, 900, "Timeout in seconds of the sample async function (1..900)."),
        _bool("streamConsumer", True, "Deploy the DynamoDB Streams consumer with its table (or streamSourceArn)."),
        _text(
            "streamSourceArn",
            "Consume an existing DynamoDB stream or Kinesis stream ARN instead of creating a table. "
            "Empty means create the table.",
        ),
        _int(
            "streamMaxRetryAttempts",
            3,
            0,
            STREAM_MAX_RETRY_ATTEMPTS,
            f"Retries of a failing stream batch before it goes to the archive (0..{STREAM_MAX_RETRY_ATTEMPTS}, "
            "the policy pack's bound; never -1).",
        ),
        _int(
            "streamMaxRecordAgeSeconds",
            3600,
            STREAM_MIN_RECORD_AGE_SECONDS,
            STREAM_MAX_RECORD_AGE_SECONDS,
            f"Oldest record the consumer still processes ({STREAM_MIN_RECORD_AGE_SECONDS}.."
            f"{STREAM_MAX_RECORD_AGE_SECONDS}; never -1).",
        ),
        _int("streamBatchSize", 100, 1, 10000, "Records per batch (1..10000)."),
        _int("streamBatchingWindowSeconds", 0, 0, 300, "Seconds to gather a batch (0..300)."),
        _choice(
            "streamStartingPosition",
            "LATEST",
            StartingPosition,
            "Where a new mapping starts reading - LATEST or TRIM_HORIZON.",
        ),
        _text(
            "streamFilterPatterns",
            'JSON list (at most 5), as text, of event filter patterns, e.g. [{"eventName":["INSERT","MODIFY"]}] '
            "(each field's value a list, as Lambda's filter rule syntax requires). Empty means no filter.",
        ),
        _bool("tableDeletionProtection", True, "Turn on DynamoDB deletion protection for the orders table."),
        _int(
            "iteratorAgeAlarmMs",
            60000,
            1000,
            604_800_000,
            "Iterator age (ms) above which the consumer alarm fires (1000..604800000).",
        ),
        _bool("analytics", True, "Deploy the Glue tables, the Athena workgroup and the named queries."),
        _text(
            "glueDatabaseName",
            "Glue database of the failure tables. Empty means the name prefix with '_' for '-' "
            "(lambda_failures_dev), so stacks in one account and region do not collide.",
        ),
        _text(
            "glueTableName",
            "Glue table of asynchronous failure records (partition projection on function and day). "
            "Empty means failed_events.",
            value="failed_events",
        ),
        _text(
            "glueStreamTableName",
            "Glue table of stream batch failure records (not the same name as glueTableName). "
            "Empty means stream_failures.",
            value="stream_failures",
        ),
        _int(
            "athenaBytesScannedCutoff",
            1_000_000_000,
            10_000_000,
            10**15,
            "Bytes a single query may scan before Athena cancels it (at least 10000000).",
        ),
        _int("athenaResultsExpirationDays", 30, 1, 3650, "Days before Athena query results expire (1..3650)."),
        _text(
            "analyticsStartDate",
            "First day the day partition projects (YYYY-MM-DD).",
            declared="2024-01-01",
            value="2024-01-01",
        ),
        _bool(
            "failureProcessor",
            True,
            "Deploy the processor that alerts on every new failure record (S3 notifications).",
        ),
        _bool(
            "autoReplay",
            False,
            "Let the failure processor re-drive async events the code never ran on (approximateInvokeCount 0, "
            "throttled or aged out before a first attempt), once per request; refused with reservedConcurrency 0.",
        ),
        _bool(
            "compaction",
            True,
            "With analytics, compact each closed day to Parquet in Athena daily; the named queries read compacted "
            "plus raw days.",
        ),
        _int(
            "compactionExpireRawAfterDays",
            0,
            0,
            36500,
            "Delete a day's raw records this many days after it was compacted with as many rows as objects "
            "(0..36500; 0 keeps them).",
        ),
        _choice(
            "bucketNamespace",
            "account-regional",
            BucketNamespace,
            "S3 namespace of the buckets: account-regional (names only this account can create; not offered in "
            "me-south-1 and me-central-1) or global (a random suffix instead)",
        ),
        _text(
            "analyticsFunctionNames",
            "JSON list of functions of other stacks that deliver async failures to this archive (examples/consumer), "
            'e.g. ["orders-dev-processor"]; the failed_events table projects them beside this stack\'s own.',
        ),
    )
}


def key_default(name: str) -> Any:
    """The setting's value when unset: what the dataclasses default to."""
    return KEYS[name].value
