"""Stack configuration, read once and validated before any resource is declared.

Every key is documented in Pulumi.yaml. A bad value stops the program with a message
that names the key and the values it accepts, instead of failing half-way through an
update with an AWS error.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Any

import pulumi

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


class ConfigError(pulumi.RunError):
    """A configuration value is missing or out of range; the message says which and why.

    `key` is the name its user gave it (a config key, or a component input) and `reason` the
    rest, so a component provider can report it as the engine reports a bad input property.
    """

    def __init__(self, message: str, key: str = "", reason: str = "") -> None:
        super().__init__(message)
        self.key = key
        self.reason = reason


@dataclass(frozen=True)
class ArchiveSettings:
    expiration_days: int = 365
    noncurrent_expiration_days: int = 30
    allow_destroy: bool = False


@dataclass(frozen=True)
class AsyncSettings:
    max_retry_attempts: int = 2
    max_event_age_seconds: int = 3600
    success_destination: str = "none"
    reserved_concurrency: int | None = None
    dead_letter_queue: bool = False
    memory_mb: int = 256
    timeout_seconds: int = 30


@dataclass(frozen=True)
class StreamSettings:
    enabled: bool = True
    source_arn: str | None = None
    max_retry_attempts: int = 3
    max_record_age_seconds: int = 3600
    batch_size: int = 100
    batching_window_seconds: int = 0
    starting_position: str = "LATEST"
    filter_patterns: tuple[str, ...] = ()
    table_deletion_protection: bool = True
    iterator_age_alarm_ms: int = 60_000


@dataclass(frozen=True)
class AnalyticsSettings:
    enabled: bool = True
    database_name: str = "lambda_failures"
    table_name: str = "failed_events"
    stream_table_name: str = "stream_failures"
    bytes_scanned_cutoff: int = 1_000_000_000
    results_expiration_days: int = 30
    projection_start: str = "2024/01/01"
    # Functions of other stacks that deliver to this archive (examples/consumer): the async
    # table's function_name projection lists them beside this stack's own.
    extra_function_names: tuple[str, ...] = ()
    # Closed days compacted daily in Athena; raw objects expired this many days after their
    # day is compacted (0: never).
    compaction: bool = True
    expire_raw_after_days: int = 0


@dataclass(frozen=True)
class Settings:
    name_prefix: str
    log_retention_days: int = 30
    powertools_layer_version: int = 27
    alarm_email: str | None = None
    failure_processor: bool = True
    auto_replay: bool = False
    archive: ArchiveSettings = field(default_factory=ArchiveSettings)
    function: AsyncSettings = field(default_factory=AsyncSettings)
    stream: StreamSettings = field(default_factory=StreamSettings)
    analytics: AnalyticsSettings = field(default_factory=AnalyticsSettings)
    bucket_namespace: str = "account-regional"


Getter = Callable[[str], Any]


def config_name(key: str) -> str:
    return key


class Reader:
    """Typed, range-checked reads over a `key -> value | None` getter.

    The stack reads its config through it (pulumi.Config.get); the component package reads
    another language's inputs through it, so both meet the same rules and the same messages.
    `where` and `name` say a key the way its user wrote it.
    """

    def __init__(
        self, get: Getter, where: str = f"config {PROJECT}:", name: Callable[[str], str] = config_name
    ) -> None:
        self._get = get
        self._where = where
        self._name = name

    def over(self, get: Getter) -> Reader:
        """The same rules and names over other values (an output's, once it is known)."""
        return Reader(get, self._where, self._name)

    def fail(self, key: str, expected: str, raw: Any) -> ConfigError:
        name = self._name(key)
        shown = "an output" if isinstance(raw, pulumi.Output) else repr(raw)
        reason = f"must be {expected}; got {shown}"
        return ConfigError(f"{self._where}{name} {reason}", name, reason)

    def _raw(self, key: str) -> Any:
        """The value, which must be plain: names, bounds and policies are decided before any update."""
        raw = self._get(key)
        if isinstance(raw, pulumi.Output):
            raise self.fail(key, "a plain value known when the program runs (not an output or a secret)", raw)
        return raw

    def int(self, key: str, default: int | None, lo: int, hi: int) -> int | None:
        raw = self._raw(key)
        if raw is None or raw == "":
            return default
        if isinstance(raw, float) and raw.is_integer():
            raw = int(raw)  # numbers cross the provider protocol as doubles (protobuf Struct)
        try:
            value = int(str(raw).strip())
        except (ValueError, TypeError):
            raise self.fail(key, f"an integer from {lo} to {hi}", raw) from None
        if not lo <= value <= hi:
            raise self.fail(key, f"an integer from {lo} to {hi}", raw)
        return value

    def bool(self, key: str, default: bool) -> bool:
        raw = self._raw(key)
        if raw is None or raw == "":
            return default
        text = str(raw).strip().lower()
        if text in ("true", "yes", "1"):
            return True
        if text in ("false", "no", "0"):
            return False
        raise self.fail(key, "true or false", raw)

    def choice(self, key: str, default: str, allowed: tuple[str, ...]) -> str:
        raw = self._raw(key)
        if raw is None or raw == "":
            return default
        if str(raw) not in allowed:
            raise self.fail(key, "one of " + ", ".join(allowed), raw)
        return str(raw)

    def str(self, key: str) -> str | None:
        raw = self._raw(key)
        if raw is not None and not isinstance(raw, str):
            raise self.fail(key, "text", raw)
        return None if raw is None or str(raw).strip() == "" else str(raw).strip()


def read_name_prefix(reader: Reader, default: str) -> str:
    prefix = reader.str("namePrefix") or default
    prefix = prefix.lower()
    allowed = set("abcdefghijklmnopqrstuvwxyz0123456789-")
    if not prefix or not prefix[0].isalpha() or not set(prefix) <= allowed or len(prefix) > 40:
        raise reader.fail(
            "namePrefix",
            "1 to 40 characters of a-z, 0-9 and '-', starting with a letter",
            prefix,
        )
    return prefix


def read_log_retention(reader: Reader) -> int:
    value = reader.int("logRetentionDays", 30, 1, 3653)
    if value not in LOG_RETENTION_DAYS:
        raise reader.fail("logRetentionDays", "one of " + ", ".join(map(str, LOG_RETENTION_DAYS)), value)
    return value


def read_archive(reader: Reader) -> ArchiveSettings:
    return ArchiveSettings(
        expiration_days=reader.int("archiveExpirationDays", 365, 1, 36500),
        noncurrent_expiration_days=reader.int("noncurrentExpirationDays", 30, 1, 3650),
        allow_destroy=reader.bool("allowDestroy", False),
    )


def read_function(reader: Reader) -> AsyncSettings:
    return AsyncSettings(
        max_retry_attempts=reader.int("maxRetryAttempts", 2, 0, 2),
        max_event_age_seconds=reader.int("maxEventAgeSeconds", 3600, 60, 21600),
        success_destination=reader.choice("successDestination", "none", SUCCESS_DESTINATION_KINDS),
        reserved_concurrency=read_reserved_concurrency(reader),
        dead_letter_queue=reader.bool("deadLetterQueue", False),
        memory_mb=reader.int("memoryMb", 256, 128, 10240),
        timeout_seconds=reader.int("timeoutSeconds", 30, 1, 900),
    )


def read_reserved_concurrency(reader: Reader) -> int | None:
    value = reader.int("reservedConcurrency", UNRESERVED, UNRESERVED, 10000)
    return None if value == UNRESERVED else value


def read_filter_patterns(reader: Reader) -> tuple[str, ...]:
    raw = reader.str("streamFilterPatterns")
    if raw is None:
        return ()
    try:
        patterns = json.loads(raw)
    except json.JSONDecodeError:
        raise reader.fail("streamFilterPatterns", "a JSON list of filter patterns", raw) from None
    if not isinstance(patterns, list) or not all(isinstance(p, dict) for p in patterns):
        raise reader.fail("streamFilterPatterns", "a JSON list of filter pattern objects", raw)
    if len(patterns) > 5:
        raise reader.fail("streamFilterPatterns", "at most 5 patterns", raw)
    return tuple(json.dumps(p, separators=(",", ":"), sort_keys=True) for p in patterns)


def read_stream(reader: Reader) -> StreamSettings:
    source_arn = reader.str("streamSourceArn")
    if source_arn is not None and not STREAM_ARN.fullmatch(source_arn):
        raise reader.fail("streamSourceArn", "a DynamoDB stream ARN or a Kinesis stream ARN", source_arn)
    return StreamSettings(
        enabled=reader.bool("streamConsumer", True),
        source_arn=source_arn,
        max_retry_attempts=reader.int("streamMaxRetryAttempts", 3, 0, STREAM_MAX_RETRY_ATTEMPTS),
        max_record_age_seconds=reader.int(
            "streamMaxRecordAgeSeconds", 3600, STREAM_MIN_RECORD_AGE_SECONDS, STREAM_MAX_RECORD_AGE_SECONDS
        ),
        batch_size=reader.int("streamBatchSize", 100, 1, 10000),
        batching_window_seconds=reader.int("streamBatchingWindowSeconds", 0, 0, 300),
        starting_position=reader.choice("streamStartingPosition", "LATEST", STARTING_POSITIONS),
        filter_patterns=read_filter_patterns(reader),
        table_deletion_protection=reader.bool("tableDeletionProtection", True),
        iterator_age_alarm_ms=reader.int("iteratorAgeAlarmMs", 60_000, 1000, 604_800_000),
    )


def read_glue_name(reader: Reader, key: str, default: str) -> str:
    name = reader.str(key) or default
    if not (name[0].isalpha() and all(c.islower() or c.isdigit() or c == "_" for c in name) and len(name) <= 100):
        raise reader.fail(key, "a Glue name: lowercase letters, digits and '_', starting with a letter", name)
    return name


def read_analytics(reader: Reader, name_prefix: str) -> AnalyticsSettings:
    start = reader.str("analyticsStartDate") or "2024-01-01"
    try:
        projection_start = date.fromisoformat(start).strftime("%Y/%m/%d")
    except ValueError:
        raise reader.fail("analyticsStartDate", "a date YYYY-MM-DD", start) from None
    return AnalyticsSettings(
        enabled=reader.bool("analytics", True),
        database_name=read_glue_name(reader, "glueDatabaseName", name_prefix.replace("-", "_")),
        table_name=read_glue_name(reader, "glueTableName", "failed_events"),
        stream_table_name=read_glue_name(reader, "glueStreamTableName", "stream_failures"),
        bytes_scanned_cutoff=reader.int("athenaBytesScannedCutoff", 1_000_000_000, 10_000_000, 10**15),
        results_expiration_days=reader.int("athenaResultsExpirationDays", 30, 1, 3650),
        projection_start=projection_start,
        extra_function_names=read_function_names(reader),
        compaction=reader.bool("compaction", True),
        expire_raw_after_days=reader.int("compactionExpireRawAfterDays", 0, 0, 36500) or 0,
    )


def read_function_names(reader: Reader) -> tuple[str, ...]:
    raw = reader.str("analyticsFunctionNames")
    if raw is None:
        return ()
    try:
        names = json.loads(raw)
    except json.JSONDecodeError:
        raise reader.fail("analyticsFunctionNames", "a JSON list of function names", raw) from None
    valid = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
    if not isinstance(names, list) or not all(isinstance(n, str) and valid.match(n) for n in names):
        raise reader.fail("analyticsFunctionNames", "a list of Lambda function names (1-64 of A-Z a-z 0-9 _ -)", raw)
    return tuple(dict.fromkeys(names))


def load_settings(get: Getter, stack: str) -> Settings:
    """Read and validate every key; raise ConfigError naming the first bad one."""
    reader = Reader(get)
    email = read_alarm_email(reader)
    prefix = read_name_prefix(reader, f"{PROJECT}-{stack}")
    function = read_function(reader)
    auto_replay = reader.bool("autoReplay", False)
    if auto_replay and function.reserved_concurrency == 0:
        raise reader.fail(
            "autoReplay",
            "false while reservedConcurrency is 0 (every replay would fail straight back into the archive)",
            "true",
        )
    return Settings(
        name_prefix=prefix,
        log_retention_days=read_log_retention(reader),
        powertools_layer_version=read_powertools_layer_version(reader),
        alarm_email=email,
        failure_processor=reader.bool("failureProcessor", True),
        auto_replay=auto_replay,
        archive=read_archive(reader),
        function=function,
        stream=read_stream(reader),
        analytics=read_analytics(reader, prefix),
        bucket_namespace=read_bucket_namespace(reader),
    )


def read_alarm_email(reader: Reader) -> str | None:
    email = reader.str("alarmEmail")
    if email is not None and ("@" not in email or " " in email):
        raise reader.fail("alarmEmail", "an e-mail address", email)
    return email


def read_powertools_layer_version(reader: Reader) -> int:
    return reader.int("powertoolsLayerVersion", 27, 1, 10000)


def read_bucket_namespace(reader: Reader) -> str:
    return reader.choice("bucketNamespace", "account-regional", BUCKET_NAMESPACES)
