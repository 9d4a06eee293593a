"""Stack configuration, read once and validated before any resource is declared.

Every key is declared once, in setting_keys.KEYS (type, default, bounds, choices, description).
A bad value stops the program with a message that names the key and the values it accepts,
instead of failing half-way through an update with an AWS error.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from datetime import date
from enum import StrEnum
from typing import Any, TypeVar

import pulumi

from lambda_failures.archive_format import day_path
from lambda_failures.components.setting_keys import (
    BUCKET_NAMESPACES,
    KEYS,
    LOG_RETENTION_DAYS,
    NO_ACCOUNT_REGIONAL_NAMESPACE,
    PROJECT,
    STARTING_POSITIONS,
    STREAM_ARN,
    SUCCESS_DESTINATION_KINDS,
    UNRESERVED,
    BucketNamespace,
    StartingPosition,
    StreamSourceKind,
    SuccessDestination,
    key_default,
    stream_source_kind,
)

# The keys' table and choices are owned by setting_keys; the program and the component package
# take them from here with the readers that use them.
__all__ = [
    "BUCKET_NAMESPACES",
    "KEYS",
    "LOG_RETENTION_DAYS",
    "NO_ACCOUNT_REGIONAL_NAMESPACE",
    "PROJECT",
    "STARTING_POSITIONS",
    "STREAM_ARN",
    "SUCCESS_DESTINATION_KINDS",
    "UNRESERVED",
    "BucketNamespace",
    "ConfigError",
    "Reader",
    "Settings",
    "StartingPosition",
    "StreamSourceKind",
    "SuccessDestination",
    "key_default",
    "load_settings",
    "stream_source_kind",
]

Choice = TypeVar("Choice", bound=StrEnum)


class ConfigError(pulumi.RunError):
    """A configuration value is missing or out of range; the message says which and why.

    `key` is the name its user gave it (a config key, or a component input) and `reason` the
    rest, so a component provider can report it as the engine reports a bad input property.
    """

    def __init__(self, message: str, key: str = "", reason: str = "") -> None:
        super().__init__(message)
        self.key = key
        self.reason = reason


def setting(name: str) -> Any:
    """A dataclass field defaulting to the key's value and checked by its rule (Settings.__post_init__)."""
    return field(default=key_default(name), metadata={"key": name})


def check_settings(instance: Any) -> None:
    """Settings built from Python (examples/consumer does) meet the rules config meets, each
    refusal naming the field as the caller wrote it."""
    for item in fields(instance):
        name = item.metadata.get("key")
        if name is None:
            continue
        value = getattr(instance, item.name)
        if value is None or isinstance(value, tuple):
            continue
        reader = Reader(_constant(value), where=f"{type(instance).__name__}.", name=_constant(item.name))
        reader.read(name)


def _constant(value: Any) -> Callable[[str], Any]:
    return lambda _key: value


Getter = Callable[[str], Any]
# A refusal quotes at most this much of the value: a megabyte of input is not echoed back.
SHOWN_CHARS = 80


def config_name(key: str) -> str:
    return key


def shown(raw: Any) -> str:
    if isinstance(raw, pulumi.Output):
        return "an output"
    text = repr(raw)
    return text if len(text) <= SHOWN_CHARS else f"{text[:SHOWN_CHARS]}... ({len(text)} characters)"


class Reader:
    """Typed, range-checked reads over a `key -> value | None` getter, each key's default and
    bounds taken from KEYS.

    The stack reads its config through it (pulumi.Config.get); the component package reads
    another language's inputs through it, so both meet the same rules and the same messages.
    `where` and `name` say a key the way its user wrote it. An unset key reads as its default,
    checked by the same rules as a value given.
    """

    def __init__(
        self, get: Getter, where: str = f"config {PROJECT}:", name: Callable[[str], str] = config_name
    ) -> None:
        self._get = get
        self._where = where
        self._name = name

    def nested(self, prefix: str, get: Getter) -> Reader:
        """The same rules over an object input's members, named `<prefix>.<key>`."""
        return Reader(get, self._where, lambda key: f"{prefix}.{key}")

    def fail(self, key: str, expected: str, raw: Any) -> ConfigError:
        name = self._name(key)
        reason = f"must be {expected}; got {shown(raw)}"
        return ConfigError(f"{self._where}{name} {reason}", name, reason)

    def _raw(self, key: str) -> Any:
        """The value, which must be plain: names, bounds and policies are decided before any update."""
        raw = self._get(key)
        if isinstance(raw, pulumi.Output):
            raise self.fail(key, "a plain value known when the program runs (not an output or a secret)", raw)
        return raw

    def _given(self, key: str) -> Any:
        """The value given, or the key's default when it is unset."""
        raw = self._raw(key)
        return KEYS[key].value if raw is None or raw == "" else raw

    def read(self, key: str) -> Any:
        """The key read by its declared type and bounds."""
        spec = KEYS[key]
        if spec.type == "integer":
            return self.int(key)
        if spec.type == "boolean":
            return self.bool(key)
        if spec.enum is not None:
            return self.choice(key, spec.enum)
        return self.str(key)

    def int(self, key: str) -> int:
        spec = KEYS[key]
        if spec.lo is None or spec.hi is None:
            raise TypeError(f"{key} is not an integer setting")
        expected = f"an integer from {spec.lo} to {spec.hi}"
        raw = self._given(key)
        if isinstance(raw, bool):
            raise self.fail(key, expected, raw)
        if isinstance(raw, float) and raw.is_integer():
            raw = int(raw)  # numbers cross the provider protocol as doubles (protobuf Struct)
        if not isinstance(raw, int | str):
            raise self.fail(key, expected, raw)
        try:
            value = int(str(raw).strip())
        except ValueError:
            raise self.fail(key, expected, raw) from None
        if not spec.lo <= value <= spec.hi:
            raise self.fail(key, expected, raw)
        return value

    def bool(self, key: str) -> bool:
        """true or false, as Pulumi's own config reads a boolean (not yes/no, not 1/0)."""
        raw = self._given(key)
        if isinstance(raw, bool):
            return raw
        text = raw.strip().lower() if isinstance(raw, str) else None
        if text in ("true", "false"):
            return text == "true"
        raise self.fail(key, "true or false", raw)

    def choice(self, key: str, enum: type[Choice]) -> Choice:
        """One of the key's choices, as the enum its setting is typed with."""
        raw = self._given(key)
        if not isinstance(raw, str) or raw not in KEYS[key].choices:
            raise self.fail(key, "one of " + ", ".join(KEYS[key].choices), raw)
        return enum(raw)

    def str(self, key: str) -> str | None:
        raw = self._raw(key)
        if raw is not None and not isinstance(raw, str):
            raise self.fail(key, "text", raw)
        return None if raw is None or str(raw).strip() == "" else str(raw).strip()


@dataclass(frozen=True)
class ArchiveSettings:
    expiration_days: int = setting("archiveExpirationDays")
    noncurrent_expiration_days: int = setting("noncurrentExpirationDays")
    allow_destroy: bool = setting("allowDestroy")

    def __post_init__(self) -> None:
        check_settings(self)


@dataclass(frozen=True)
class AsyncSettings:
    """How the async invoke config treats a failed event, and what else keeps it."""

    max_retry_attempts: int = setting("maxRetryAttempts")
    max_event_age_seconds: int = setting("maxEventAgeSeconds")
    success_destination: SuccessDestination = setting("successDestination")  # noqa: RUF009 (a dataclasses.field)
    dead_letter_queue: bool = setting("deadLetterQueue")

    def __post_init__(self) -> None:
        check_settings(self)


@dataclass(frozen=True)
class FunctionSize:
    """The sample async function's own size (config memoryMb, timeoutSeconds, reservedConcurrency)."""

    memory_mb: int = setting("memoryMb")
    timeout_seconds: int = setting("timeoutSeconds")
    reserved_concurrency: int | None = None

    def __post_init__(self) -> None:
        check_settings(self)


@dataclass(frozen=True)
class StreamSettings:
    enabled: bool = setting("streamConsumer")
    source_arn: str | None = None
    max_retry_attempts: int = setting("streamMaxRetryAttempts")
    max_record_age_seconds: int = setting("streamMaxRecordAgeSeconds")
    batch_size: int = setting("streamBatchSize")
    batching_window_seconds: int = setting("streamBatchingWindowSeconds")
    starting_position: StartingPosition = setting("streamStartingPosition")  # noqa: RUF009 (a dataclasses.field)
    filter_patterns: tuple[str, ...] = ()
    table_deletion_protection: bool = setting("tableDeletionProtection")
    iterator_age_alarm_ms: int = setting("iteratorAgeAlarmMs")

    def __post_init__(self) -> None:
        check_settings(self)
        if self.source_arn is not None and not STREAM_ARN.fullmatch(self.source_arn):
            raise Reader(lambda _: None, "StreamSettings.", lambda _: "source_arn").fail(
                "streamSourceArn", "a DynamoDB stream ARN or a Kinesis stream ARN", self.source_arn
            )


@dataclass(frozen=True)
class AnalyticsSettings:
    enabled: bool = setting("analytics")
    database_name: str = "lambda_failures"
    table_name: str = setting("glueTableName")
    stream_table_name: str = setting("glueStreamTableName")
    bytes_scanned_cutoff: int = setting("athenaBytesScannedCutoff")
    results_expiration_days: int = setting("athenaResultsExpirationDays")
    projection_start: str = "2024/01/01"
    # Functions of other stacks that deliver to this archive (examples/consumer): the async
    # table's function_name projection lists them beside this stack's own.
    extra_function_names: tuple[str, ...] = ()
    # Closed days compacted daily in Athena; raw objects expired this many days after their
    # day is compacted (0: never).
    compaction: bool = setting("compaction")
    expire_raw_after_days: int = setting("compactionExpireRawAfterDays")

    def __post_init__(self) -> None:
        check_settings(self)


@dataclass(frozen=True)
class Settings:
    name_prefix: str
    log_retention_days: int = setting("logRetentionDays")
    powertools_layer_version: int = setting("powertoolsLayerVersion")
    alarm_email: str | None = None
    failure_processor: bool = setting("failureProcessor")
    auto_replay: bool = setting("autoReplay")
    archive: ArchiveSettings = field(default_factory=ArchiveSettings)
    function: AsyncSettings = field(default_factory=AsyncSettings)
    size: FunctionSize = field(default_factory=FunctionSize)
    stream: StreamSettings = field(default_factory=StreamSettings)
    analytics: AnalyticsSettings = field(default_factory=AnalyticsSettings)
    bucket_namespace: BucketNamespace = setting("bucketNamespace")  # noqa: RUF009 (a dataclasses.field)

    def __post_init__(self) -> None:
        check_settings(self)


# S3 refuses bucket names starting with these (S3 User Guide, "General purpose bucket naming rules"),
# and every bucket name here starts with the prefix.
S3_REFUSED_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")


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
    if prefix.startswith(S3_REFUSED_PREFIXES):
        raise reader.fail(
            "namePrefix", "a prefix S3 accepts for bucket names (not " + ", ".join(S3_REFUSED_PREFIXES) + ")", prefix
        )
    return prefix


def read_log_retention(reader: Reader) -> int:
    value = reader.int("logRetentionDays")
    if value not in LOG_RETENTION_DAYS:
        raise reader.fail("logRetentionDays", "one of " + ", ".join(map(str, LOG_RETENTION_DAYS)), value)
    return value


def read_archive(reader: Reader) -> ArchiveSettings:
    return ArchiveSettings(
        expiration_days=reader.int("archiveExpirationDays"),
        noncurrent_expiration_days=reader.int("noncurrentExpirationDays"),
        allow_destroy=reader.bool("allowDestroy"),
    )


def read_function(reader: Reader) -> AsyncSettings:
    return AsyncSettings(
        max_retry_attempts=reader.int("maxRetryAttempts"),
        max_event_age_seconds=reader.int("maxEventAgeSeconds"),
        success_destination=reader.choice("successDestination", SuccessDestination),
        dead_letter_queue=reader.bool("deadLetterQueue"),
    )


def read_function_size(reader: Reader) -> FunctionSize:
    return FunctionSize(
        memory_mb=reader.int("memoryMb"),
        timeout_seconds=reader.int("timeoutSeconds"),
        reserved_concurrency=read_reserved_concurrency(reader),
    )


def read_reserved_concurrency(reader: Reader) -> int | None:
    value = reader.int("reservedConcurrency")
    return None if value == UNRESERVED else value


def read_filter_patterns(reader: Reader) -> tuple[str, ...]:
    """Lambda's filter rule syntax: every field's value is a list (of values or of rules), or an
    object holding more fields; a bare value is refused by Lambda when the mapping is written."""
    raw = reader.str("streamFilterPatterns")
    if raw is None:
        return ()
    try:
        patterns = json.loads(raw)
    except (json.JSONDecodeError, RecursionError):
        raise reader.fail("streamFilterPatterns", "a JSON list of filter patterns", raw) from None
    if not isinstance(patterns, list) or not all(isinstance(p, dict) for p in patterns):
        raise reader.fail("streamFilterPatterns", "a JSON list of filter pattern objects", raw)
    if len(patterns) > 5:
        raise reader.fail("streamFilterPatterns", "at most 5 patterns", raw)
    for pattern in patterns:
        field_name = _bare_filter_value(pattern)
        if field_name is not None:
            raise reader.fail(
                "streamFilterPatterns", f"patterns whose values are lists (field {field_name!r} is not)", raw
            )
    return tuple(json.dumps(p, separators=(",", ":"), sort_keys=True) for p in patterns)


def _bare_filter_value(pattern: dict[str, Any], depth: int = 0) -> str | None:
    """The first field whose value is neither a list nor a nested pattern object, or None."""
    for name, value in pattern.items():
        if isinstance(value, dict) and value and depth < 32:
            inner = _bare_filter_value(value, depth + 1)
            if inner is not None:
                return inner
        elif not isinstance(value, list) or not value:
            return name
    return None


def read_stream(reader: Reader) -> StreamSettings:
    source_arn = reader.str("streamSourceArn")
    if source_arn is not None and not STREAM_ARN.fullmatch(source_arn):
        raise reader.fail("streamSourceArn", "a DynamoDB stream ARN or a Kinesis stream ARN", source_arn)
    return StreamSettings(
        enabled=reader.bool("streamConsumer"),
        source_arn=source_arn,
        max_retry_attempts=reader.int("streamMaxRetryAttempts"),
        max_record_age_seconds=reader.int("streamMaxRecordAgeSeconds"),
        batch_size=reader.int("streamBatchSize"),
        batching_window_seconds=reader.int("streamBatchingWindowSeconds"),
        starting_position=reader.choice("streamStartingPosition", StartingPosition),
        filter_patterns=read_filter_patterns(reader),
        table_deletion_protection=reader.bool("tableDeletionProtection"),
        iterator_age_alarm_ms=reader.int("iteratorAgeAlarmMs"),
    )


def read_glue_name(reader: Reader, key: str, default: str) -> str:
    name = reader.str(key) or default
    if not (name[0].isalpha() and all(c.islower() or c.isdigit() or c == "_" for c in name) and len(name) <= 100):
        raise reader.fail(key, "a Glue name: lowercase letters, digits and '_', starting with a letter", name)
    return name


def read_analytics(reader: Reader, name_prefix: str) -> AnalyticsSettings:
    start = reader.str("analyticsStartDate") or key_default("analyticsStartDate")
    try:
        projection_start = day_path(date.fromisoformat(start))
    except ValueError:
        raise reader.fail("analyticsStartDate", "a date YYYY-MM-DD", start) from None
    table_name = read_glue_name(reader, "glueTableName", key_default("glueTableName"))
    stream_table_name = read_glue_name(reader, "glueStreamTableName", key_default("glueStreamTableName"))
    if stream_table_name == table_name:
        raise reader.fail(
            "glueStreamTableName",
            f"a name other than glueTableName ({table_name}): both tables live in one database",
            stream_table_name,
        )
    return AnalyticsSettings(
        enabled=reader.bool("analytics"),
        database_name=read_glue_name(reader, "glueDatabaseName", name_prefix.replace("-", "_")),
        table_name=table_name,
        stream_table_name=stream_table_name,
        bytes_scanned_cutoff=reader.int("athenaBytesScannedCutoff"),
        results_expiration_days=reader.int("athenaResultsExpirationDays"),
        projection_start=projection_start,
        extra_function_names=read_function_names(reader),
        compaction=reader.bool("compaction"),
        expire_raw_after_days=reader.int("compactionExpireRawAfterDays"),
    )


def read_function_names(reader: Reader) -> tuple[str, ...]:
    raw = reader.str("analyticsFunctionNames")
    if raw is None:
        return ()
    try:
        names = json.loads(raw)
    except (json.JSONDecodeError, RecursionError):
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
    size = read_function_size(reader)
    auto_replay = reader.bool("autoReplay")
    if auto_replay and size.reserved_concurrency == 0:
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
        failure_processor=reader.bool("failureProcessor"),
        auto_replay=auto_replay,
        archive=read_archive(reader),
        function=function,
        size=size,
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
    return reader.int("powertoolsLayerVersion")


def read_bucket_namespace(reader: Reader) -> BucketNamespace:
    return reader.choice("bucketNamespace", BucketNamespace)
