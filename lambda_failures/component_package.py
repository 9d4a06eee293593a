"""The components as a Pulumi component package, for TypeScript, Go, .NET, Java and YAML programs.

`pulumi package add` runs provider/ (the Python SDK's component provider host), which reads
the schema from the annotations below and builds these components when another language's
program declares them. They wrap the components this stack is built from, so the guarantees
are the same: bounded retries and age, the S3 on-failure destination granted under
s3:ResourceAccount, customer managed keys, alarms on every silent loss.

Inputs are flat and named like the stack's config keys, and go through the same Reader
(components/settings.py): a value is held to one rule whether it came from Pulumi.<stack>.yaml
or from another language, and a bad one is refused naming the input.

No `from __future__ import annotations` here: the host reads these annotations as types.
"""

import contextlib
import re
from collections.abc import Iterator
from typing import Any, NotRequired, TypedDict

import pulumi
from pulumi.errors import InputPropertyError
from pulumi.output import Unknown
from pulumi.provider import ConstructResult
from pulumi.provider import main as provider_main
from pulumi.provider.experimental.analyzer import PropertyDefinition, PropertyType
from pulumi.provider.experimental.component import ComponentProvider
from pulumi.provider.server import ComponentInitError

from lambda_failures.components.alarms import AlarmTarget
from lambda_failures.components.alert_topic import AlertTopic, AlertTopicArgs
from lambda_failures.components.async_function import ArchiveTarget, AsyncFunction, AsyncFunctionArgs
from lambda_failures.components.failure_archive import FailureArchive, FailureArchiveArgs
from lambda_failures.components.failure_capture import (
    AsyncCapture,
    FailureCapture,
    FailureCaptureArgs,
    StreamCapture,
    check_invoke,
    check_stream,
    check_target,
)
from lambda_failures.components.function_spec import FunctionSpec, Tracing, VpcConfig, check_placement
from lambda_failures.components.naming import RANDOM_SUFFIX_BYTES, AwsContext
from lambda_failures.components.naming import aws_context as naming_aws_context
from lambda_failures.components.settings import (
    PROJECT,
    STREAM_ARN,
    BucketNamespace,
    ConfigError,
    Reader,
    StartingPosition,
    StreamSourceKind,
    SuccessDestination,
    read_alarm_email,
    read_archive,
    read_bucket_namespace,
    read_function,
    read_log_retention,
    read_name_prefix,
    read_powertools_layer_version,
    read_reserved_concurrency,
    read_stream,
    shown,
    stream_source_kind,
)
from lambda_failures.components.stream_consumer import StreamConsumer, StreamConsumerArgs, StreamSource
from lambda_failures.components.stream_sources import arn_source

PACKAGE_NAME = PROJECT
# The stream settings' config keys carry a `stream` prefix that the consumer's own inputs do not.
STREAM_KEY_PREFIX = "stream"
# The five inputs that attach a function to a SharedArchive (its outputs, of the same names).
# The random suffix SharedArchive gives a bucket in the global namespace (pulumi-random RandomId hex).
RANDOM_SUFFIX = re.compile(f"[0-9a-f]{{{2 * RANDOM_SUFFIX_BYTES}}}")
WIRING = ("archive_bucket_name", "archive_bucket_arn", "archive_grant_arn", "archive_key_alias", "alert_topic_arn")
S3_BUCKET_ARN = re.compile(r"arn:aws[a-z-]*:s3:::([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])")
KEY_ALIAS = re.compile(r"alias/(?!aws/)[A-Za-z0-9/_-]{1,250}")
# pulumi-random's RandomId hex: what follows a random bucket name's prefix.
RANDOM_SUFFIX = re.compile(f"[0-9a-f]{{{2 * RANDOM_SUFFIX_BYTES}}}")
SNS_TOPIC_ARN = re.compile(r"arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}")


class SharedArchiveArgs(TypedDict):
    name_prefix: str
    """Prefix of every resource name: 1 to 40 characters of a-z, 0-9 and '-', starting with a letter."""
    archive_expiration_days: NotRequired[int]
    """Days a failure record is kept (1-36500, default 365)."""
    noncurrent_expiration_days: NotRequired[int]
    """Days an overwritten or deleted record version is kept (1-3650, default 30)."""
    allow_destroy: NotRequired[bool]
    """Let `pulumi destroy` delete the archive bucket (default false: it is protected)."""
    bucket_namespace: NotRequired[BucketNamespace]
    """account-regional (a name no other account can claim) or global (a random suffix); default account-regional."""
    alarm_email: NotRequired[pulumi.Input[str]]
    """An address subscribed to the alert topic (kept secret in state; a secret is checked by SNS)."""
    tags: NotRequired[dict[str, str]]
    """Tags for every resource."""


class SharedArchive(pulumi.ComponentResource):
    """The encrypted S3 archive that failed events are delivered to, and the alert topic its alarms use.

    Pass its outputs to ArchivedAsyncFunction and ArchivedStreamConsumer, in this program or in
    another one through a stack reference.
    """

    bucket_name: pulumi.Output[str]
    """The archive bucket."""
    bucket_arn: pulumi.Output[str]
    """The archive bucket's ARN: the functions' on-failure destination."""
    grant_arn: pulumi.Output[str]
    """What IAM grants name for the bucket (its ARN, or its name prefix with * when the name is random)."""
    key_alias: pulumi.Output[str]
    """Alias of the customer managed key that encrypts the archive."""
    key_arn: pulumi.Output[str]
    """ARN of that key."""
    alert_topic_arn: pulumi.Output[str]
    """The encrypted SNS topic that alarms and failure alerts go to."""

    def __init__(self, name: str, args: SharedArchiveArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(f"{PACKAGE_NAME}:index:SharedArchive", name, None, opts)
        args = inputs_of("SharedArchive", args)
        reader = input_reader("SharedArchive", args)
        prefix = read_name_prefix(reader, "")
        # Every input is read before anything is registered: a refusal after a child was
        # registered leaves the host unable to answer the program's next Construct.
        tags = read_tags(reader, args.get("tags"))
        settings, namespace = read_archive(reader), read_bucket_namespace(reader)
        email = alarm_email(reader, args.get("alarm_email"))
        ctx = aws_context(self)
        self.archive = FailureArchive(
            f"{name}-archive",
            FailureArchiveArgs(aws=ctx, name_prefix=prefix, settings=settings, namespace=namespace, tags=tags),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.alerts = AlertTopic(
            f"{name}-alerts",
            AlertTopicArgs(aws=ctx, name_prefix=prefix, email=email, tags=tags),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.bucket_name = self.archive.bucket_name
        self.bucket_arn = self.archive.bucket_arn
        self.grant_arn = pulumi.Output.from_input(self.archive.grant_arn)
        self.key_alias = pulumi.Output.from_input(self.archive.key_alias)
        self.key_arn = self.archive.key_arn
        self.alert_topic_arn = self.alerts.topic_arn_output
        self.register_outputs(
            {
                "bucketName": self.bucket_name,
                "bucketArn": self.bucket_arn,
                "grantArn": self.grant_arn,
                "keyAlias": self.key_alias,
                "keyArn": self.key_arn,
                "alertTopicArn": self.alert_topic_arn,
            }
        )


class VpcArgs(TypedDict):
    """Where the function's network interfaces go; the role gets the permissions Lambda needs for them."""

    subnet_ids: list[str]
    """1 to 16 subnet ids (subnet-...)."""
    security_group_ids: list[str]
    """1 to 5 security group ids (sg-...)."""


class FunctionArgs(TypedDict):
    """The caller's function: its code and every setting Lambda takes."""

    code: NotRequired[pulumi.Archive]
    """The code: an archive of a folder or zip (fileArchive) or of assets; with handler and runtime. Or imageUri."""
    handler: NotRequired[str]
    """The entry point Lambda calls, e.g. app.handler (with code)."""
    runtime: NotRequired[str]
    """A Lambda managed runtime not past its deprecation date, e.g. python3.13 or nodejs22.x (with code)."""
    image_uri: NotRequired[str]
    """An Amazon ECR image URI, instead of code, handler and runtime."""
    architectures: NotRequired[list[str]]
    """One of x86_64 (default) or arm64."""
    memory_mb: NotRequired[int]
    """Memory in MB (128-10240, default 256)."""
    timeout_seconds: NotRequired[int]
    """Timeout in seconds (1-900, default 30)."""
    ephemeral_storage_mb: NotRequired[int]
    """/tmp size in MB (512-10240, default 512)."""
    layers: NotRequired[list[str]]
    """Layer version ARNs in the function's region (at most 5, the Powertools layer included)."""
    vpc: NotRequired[VpcArgs]
    """Subnets and security groups to run in."""
    tracing: NotRequired[Tracing]
    """X-Ray tracing: Active (default) or PassThrough."""
    reserved_concurrency: NotRequired[int]
    """-1 unreserved (the default); 0 sends every event straight to the archive; up to 10000."""
    role_statements: NotRequired[list[Any]]
    """Extra IAM statements for the function's role; the policy pack judges them like every grant."""
    managed_policy_arns: NotRequired[list[str]]
    """IAM policies to attach to the function's role; the policy pack judges them."""
    powertools: NotRequired[bool]
    """Add the AWS-published Powertools for AWS Lambda (Python) layer (Python runtimes only; default false)."""
    powertools_layer_version: NotRequired[int]
    """Version of that layer (1-10000, default 27)."""
    log_retention_days: NotRequired[int]
    """CloudWatch Logs retention, one of the periods CloudWatch accepts (default 30)."""


# The two functions' args repeat their shared inputs rather than inherit them: the host reads an
# input's description only from the source of the class that declares it.
class ArchivedAsyncFunctionArgs(TypedDict):
    name_prefix: str
    """Prefix of the function's resource names (unique per function in an account and region)."""
    archive_bucket_name: pulumi.Input[str]
    """SharedArchive.bucketName: where failures are delivered."""
    archive_bucket_arn: pulumi.Input[str]
    """SharedArchive.bucketArn."""
    archive_grant_arn: pulumi.Input[str]
    """SharedArchive.grantArn."""
    archive_key_alias: pulumi.Input[str]
    """SharedArchive.keyAlias."""
    alert_topic_arn: pulumi.Input[str]
    """SharedArchive.alertTopicArn: where this function's alarms go."""
    function: FunctionArgs
    """The function to run: code with handler and runtime, or imageUri, and its settings."""
    environment: NotRequired[pulumi.Input[dict[str, pulumi.Input[str]]]]
    """The function's environment variables; secret values stay secret in state and outputs."""
    tags: NotRequired[dict[str, str]]
    """Tags for every resource (at most 50; no aws: prefix)."""
    max_retry_attempts: NotRequired[int]
    """Retries of a failed asynchronous event (0-2, default 2)."""
    max_event_age_seconds: NotRequired[int]
    """Age after which an event is sent to the archive unprocessed (60-21600, default 3600)."""
    success_destination: NotRequired[SuccessDestination]
    """none, sqs, sns, eventbridge or lambda: an encrypted destination for successes (default none)."""
    dead_letter_queue: NotRequired[bool]
    """Also keep failed events in an encrypted SQS dead-letter queue (default false)."""


class ArchivedAsyncFunction(pulumi.ComponentResource):
    """The caller's function invoked asynchronously, its failed events delivered to a SharedArchive.

    Bounded retries and event age, the S3 on-failure destination, optional success destination,
    dead-letter queue and reserved concurrency, and alarms on events lost outside the code.
    """

    function_name: pulumi.Output[str]
    """The function's name."""
    function_arn: pulumi.Output[str]
    """The function's ARN."""
    success_destination_arn: pulumi.Output[str | None]
    """The success destination, when one was asked for."""
    dead_letter_queue_arn: pulumi.Output[str | None]
    """The dead-letter queue, when one was asked for."""

    def __init__(self, name: str, args: ArchivedAsyncFunctionArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(f"{PACKAGE_NAME}:index:ArchivedAsyncFunction", name, None, opts)
        args = inputs_of("ArchivedAsyncFunction", args)
        reader = input_reader("ArchivedAsyncFunction", args)
        settings = read_function(reader)
        inputs = function_inputs(self, reader, args)
        self.function = AsyncFunction(
            f"{name}-function",
            AsyncFunctionArgs(settings=settings, **inputs),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.function_name = pulumi.Output.from_input(self.function.function_name)
        self.function_arn = pulumi.Output.from_input(self.function.function_arn)
        self.success_destination_arn = pulumi.Output.from_input(self.function.success_destination_arn)
        self.dead_letter_queue_arn = pulumi.Output.from_input(self.function.dead_letter_queue_arn)
        self.register_outputs(
            {
                "functionName": self.function_name,
                "functionArn": self.function_arn,
                "successDestinationArn": self.success_destination_arn,
                "deadLetterQueueArn": self.dead_letter_queue_arn,
            }
        )


class ArchivedStreamConsumerArgs(TypedDict):
    name_prefix: str
    """Prefix of the function's resource names (unique per function in an account and region)."""
    archive_bucket_name: pulumi.Input[str]
    """SharedArchive.bucketName: where failures are delivered."""
    archive_bucket_arn: pulumi.Input[str]
    """SharedArchive.bucketArn."""
    archive_grant_arn: pulumi.Input[str]
    """SharedArchive.grantArn."""
    archive_key_alias: pulumi.Input[str]
    """SharedArchive.keyAlias."""
    alert_topic_arn: pulumi.Input[str]
    """SharedArchive.alertTopicArn: where this function's alarms go."""
    function: FunctionArgs
    """The consumer function to run: code with handler and runtime, or imageUri, and its settings."""
    environment: NotRequired[pulumi.Input[dict[str, pulumi.Input[str]]]]
    """The function's environment variables; secret values stay secret in state and outputs."""
    tags: NotRequired[dict[str, str]]
    """Tags for every resource (at most 50; no aws: prefix)."""
    source_arn: NotRequired[pulumi.Input[str]]
    """The DynamoDB or Kinesis stream to consume (a table's streamArn); without it, a table is created."""
    source_kind: NotRequired[StreamSourceKind]
    """dynamodb or kinesis: required when sourceArn is an output, since the role's permissions depend on it."""
    max_retry_attempts: NotRequired[int]
    """Retries of a failing batch (0-10, the policy pack's bound; default 3)."""
    max_record_age_seconds: NotRequired[int]
    """Age after which a record goes to the archive unprocessed (60-86400, default 3600)."""
    batch_size: NotRequired[int]
    """1-10000 (default 100)."""
    batching_window_seconds: NotRequired[int]
    """0-300 (default 0)."""
    starting_position: NotRequired[StartingPosition]
    """LATEST or TRIM_HORIZON (default LATEST)."""
    filter_patterns: NotRequired[str]
    """A JSON list of at most 5 event filter patterns."""
    table_deletion_protection: NotRequired[bool]
    """Deletion protection of the created table (default true)."""
    iterator_age_alarm_ms: NotRequired[int]
    """Iterator age in ms that raises the falling-behind alarm (1000-604800000, default 60000)."""


class ArchivedStreamConsumer(pulumi.ComponentResource):
    """The caller's stream consumer, its failed batches delivered to a SharedArchive.

    Bounded retries and record age, bisection, partial batch responses, the S3 on-failure
    destination, and alarms on iterator age, errors and undelivered failures.
    """

    function_name: pulumi.Output[str]
    """The consumer function's name."""
    stream_arn: pulumi.Output[str]
    """The stream consumed."""
    event_source_mapping_uuid: pulumi.Output[str]
    """The event source mapping's UUID."""
    table_name: pulumi.Output[str | None]
    """The table created when no sourceArn was given."""

    def __init__(self, name: str, args: ArchivedStreamConsumerArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(f"{PACKAGE_NAME}:index:ArchivedStreamConsumer", name, None, opts)
        args = inputs_of("ArchivedStreamConsumer", args)
        source_arn = args.get("source_arn")
        # An output ARN is checked once known; the settings read the rest as plain values.
        plain = {**args, "source_arn": None} if isinstance(source_arn, pulumi.Output) else args
        reader = input_reader("ArchivedStreamConsumer", plain, strip=STREAM_KEY_PREFIX)
        settings = read_stream(reader)
        source = stream_source(reader, source_arn, settings.source_arn, args.get("source_kind"))
        inputs = function_inputs(self, reader, args)
        self.consumer = StreamConsumer(
            f"{name}-consumer",
            StreamConsumerArgs(settings=settings, source=source, **inputs),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.function_name = pulumi.Output.from_input(self.consumer.function_name)
        self.stream_arn = self.consumer.stream_arn
        self.event_source_mapping_uuid = self.consumer.mapping_uuid
        self.table_name = pulumi.Output.from_input(self.consumer.table_name)
        self.register_outputs(
            {
                "functionName": self.function_name,
                "streamArn": self.stream_arn,
                "eventSourceMappingUuid": self.event_source_mapping_uuid,
                "tableName": self.table_name,
            }
        )


class ArchivedFailureCaptureArgs(TypedDict):
    archive_bucket_name: pulumi.Input[str]
    """SharedArchive.bucketName: where failures are delivered."""
    archive_bucket_arn: pulumi.Input[str]
    """SharedArchive.bucketArn."""
    archive_grant_arn: pulumi.Input[str]
    """SharedArchive.grantArn."""
    archive_key_alias: pulumi.Input[str]
    """SharedArchive.keyAlias."""
    alert_topic_arn: pulumi.Input[str]
    """SharedArchive.alertTopicArn: where the delivery alarms go."""
    function_name: str
    """The existing function (deployed by another tool): its name, or a function, version or alias ARN."""
    role: str
    """The function's execution role (name or ARN): it gets a policy delivering to the archive."""
    qualifier: NotRequired[str]
    """$LATEST, a version or an alias to capture (default: the unqualified function)."""
    capture_async: NotRequired[bool]
    """Write the asynchronous invoke config (default true); false with streamSourceArn captures the stream only."""
    import_invoke_config: NotRequired[bool]
    """Adopt the invoke config the function already has instead of creating one (default false)."""
    max_retry_attempts: NotRequired[int]
    """Retries of a failed asynchronous event (0-2, default 2)."""
    max_event_age_seconds: NotRequired[int]
    """Age after which an event is sent to the archive unprocessed (60-21600, default 3600)."""
    success_destination_arn: NotRequired[str]
    """Where successful asynchronous results go: an SQS queue, SNS topic, function or event bus ARN."""
    stream_source_arn: NotRequired[str]
    """A DynamoDB or Kinesis stream to consume with a new mapping to the function."""
    stream_max_retry_attempts: NotRequired[int]
    """Retries of a failing batch (0-10, the policy pack's bound; default 3)."""
    stream_max_record_age_seconds: NotRequired[int]
    """Age after which a record goes to the archive unprocessed (60-86400, default 3600)."""
    stream_batch_size: NotRequired[int]
    """Records per batch (1-10000, default 100)."""
    stream_batching_window_seconds: NotRequired[int]
    """Seconds to gather a batch (0-300, default 0)."""
    stream_starting_position: NotRequired[StartingPosition]
    """LATEST or TRIM_HORIZON (default LATEST)."""
    stream_filter_patterns: NotRequired[str]
    """A JSON list of at most 5 event filter patterns."""
    iterator_age_alarm_ms: NotRequired[int]
    """Iterator age in ms that raises the falling-behind alarm (1000-604800000, default 60000)."""
    tags: NotRequired[dict[str, str]]
    """Tags for every resource (at most 50; no aws: prefix)."""


class ArchivedFailureCapture(pulumi.ComponentResource):
    """Failure capture for a function another tool deployed (SAM, Terraform, the console): its
    invoke config (bounded retries and age, the archive on failure), a new bounded mapping from a
    stream, a policy on its role delivering to a SharedArchive, and the delivery alarms."""

    function_name: pulumi.Output[str]
    """The captured function's name."""
    role_name: pulumi.Output[str]
    """The role that was given the delivery policy."""
    event_source_mapping_uuid: pulumi.Output[str | None]
    """The new mapping's UUID, when streamSourceArn was given."""

    def __init__(self, name: str, args: ArchivedFailureCaptureArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(f"{PACKAGE_NAME}:index:ArchivedFailureCapture", name, None, opts)
        args = inputs_of("ArchivedFailureCapture", args)
        reader = input_reader("ArchivedFailureCapture", args)
        capture = capture_args(self, reader, args)
        self.capture = FailureCapture(f"{name}-capture", capture, opts=pulumi.ResourceOptions(parent=self))
        self.function_name = pulumi.Output.from_input(self.capture.function_name)
        self.role_name = pulumi.Output.from_input(self.capture.role_name)
        self.event_source_mapping_uuid = pulumi.Output.from_input(
            self.capture.mapping.uuid if self.capture.mapping else None
        )
        self.register_outputs(
            {
                "functionName": self.function_name,
                "roleName": self.role_name,
                "eventSourceMappingUuid": self.event_source_mapping_uuid,
            }
        )


# FailureCapture's property names -> the package inputs they come from.
CAPTURE_INPUTS = {
    "function": "functionName",
    "role": "role",
    "qualifier": "qualifier",
    "invoke": "captureAsync",
    "import_invoke_config": "importInvokeConfig",
    "invoke.max_retry_attempts": "maxRetryAttempts",
    "invoke.max_event_age_seconds": "maxEventAgeSeconds",
    "invoke.success_destination_arn": "successDestinationArn",
    "stream.source": "streamSourceArn",
}


def capture_args(parent: pulumi.Resource, reader: Reader, args: dict[str, Any]) -> FailureCaptureArgs:
    """Every input read and checked (FailureCapture's own checks, named as the inputs are) before
    anything of the capture is registered."""
    tags = read_tags(reader, args.get("tags"))
    wiring = {key: required(reader, args, key) for key in WIRING}
    capture_async = plain_bool(reader, "captureAsync", args.get("capture_async", True))
    importing = plain_bool(reader, "importInvokeConfig", args.get("import_invoke_config"))
    invoke = AsyncCapture(
        max_retry_attempts=reader.int("maxRetryAttempts"),
        max_event_age_seconds=reader.int("maxEventAgeSeconds"),
        success_destination_arn=reader.str("successDestinationArn"),
    )
    settings = read_stream(reader)
    ctx = aws_context(parent)
    check_wiring(reader, wiring, ctx)
    try:
        stream = StreamCapture(arn_source(settings.source_arn, ctx), settings) if settings.source_arn else None
        capture = FailureCaptureArgs(
            aws=ctx,
            archive=ArchiveTarget(
                bucket_name=wiring["archive_bucket_name"],
                bucket_arn=wiring["archive_bucket_arn"],
                grant_arn=wiring["archive_grant_arn"],
                key_alias=wiring["archive_key_alias"],
            ),
            alarms=AlarmTarget(wiring["alert_topic_arn"], tags),
            function=args.get("function_name"),
            role=args.get("role"),
            qualifier=args.get("qualifier"),
            invoke=invoke if capture_async else None,
            stream=stream,
            tags=tags,
            import_invoke_config=importing,
        )
        check_target(capture)
        if capture.invoke is not None:
            check_invoke(capture.invoke, ctx)
        if capture.stream is not None:
            check_stream(capture.stream, ctx)
    except ConfigError as error:
        name = CAPTURE_INPUTS.get(error.key, camel_case(error.key))
        raise ConfigError(f"ArchivedFailureCapture input {name} {error.reason}", name, error.reason) from None
    return capture


COMPONENTS: list[type[pulumi.ComponentResource]] = [
    SharedArchive,
    ArchivedAsyncFunction,
    ArchivedStreamConsumer,
    ArchivedFailureCapture,
]


class ComponentPackageProvider(ComponentProvider):
    """The SDK's component provider, reporting a refused input as the engine reports a bad input
    property (INVALID_ARGUMENT, the input's name and the reason) rather than as a traceback:
    the host wraps whatever a component raises in ComponentInitError, refusals included, and
    its own integer conversion fails with a traceback on a map, a list, a secret or an unknown,
    and names no property for a string, so integer inputs are checked here first."""

    def map_input_properties(
        self,
        inputs: Any,
        properties: dict[str, PropertyDefinition],
        mapping: dict[str, str],
        component_name: str,
        property_path: str,
    ) -> Any:
        for schema_name, prop in properties.items():
            value = inputs.get(schema_name) if isinstance(inputs, dict) else None
            path = f"{property_path}.{schema_name}" if property_path else schema_name
            named = self.get_type_definition(prop) if prop.ref and prop.ref.startswith("#/types/") else None
            if named is not None and named.enum and value is not None and not isinstance(value, pulumi.Output):
                allowed = [choice.value for choice in named.enum]
                if value not in allowed:
                    # The host's own message quotes the whole value, however long.
                    raise InputPropertyError(path, f"must be one of {', '.join(map(str, allowed))}; got {shown(value)}")
                continue
            if prop.ref and prop.ref.startswith("#/types/") and isinstance(value, pulumi.Output | Unknown):
                # The host would read it as an empty object, dropping every member.
                raise InputPropertyError(
                    path, "must be a plain object, known when the program runs (secret variables go in environment)"
                )
            if prop.type == PropertyType.INTEGER and not prop.ref and value is not None:
                if isinstance(value, pulumi.Output | Unknown):
                    raise InputPropertyError(
                        path, f"must be a plain integer known when the program runs; got {shown(value)}"
                    )
                if isinstance(value, bool) or not isinstance(value, int | float):
                    raise InputPropertyError(path, f"must be an integer; got {shown(value)}")
        return super().map_input_properties(inputs, properties, mapping, component_name, property_path)

    def construct(
        self, name: str, resource_type: str, inputs: dict[str, Any], options: pulumi.ResourceOptions | None = None
    ) -> ConstructResult:
        try:
            return super().construct(name, resource_type, inputs, options)
        except ComponentInitError as error:
            if isinstance(error.inner, ConfigError):
                raise InputPropertyError(error.inner.key, error.inner.reason) from None
            raise


def serve(args: list[str], version: str) -> None:
    """Run the provider on the engine's address (args), as provider/__main__.py does for the CLI."""
    provider_main(ComponentPackageProvider(COMPONENTS, PACKAGE_NAME, None, version), args)


def input_name(config_key: str, strip: str = "") -> str:
    """The component input a config key is given as: `streamBatchSize` is the consumer's `batchSize`."""
    if strip and config_key.startswith(strip) and config_key[len(strip) : len(strip) + 1].isupper():
        config_key = config_key[len(strip)].lower() + config_key[len(strip) + 1 :]
    return config_key


def snake_case(camel: str) -> str:
    return re.sub(r"(?<!^)([A-Z])", r"_\1", camel).lower()


def inputs_of(component: str, args: Any) -> dict[str, Any]:
    """The inputs, each unknown one as an unknown output: the host hands an unknown that
    depends on nothing as a bare marker, and it is an output like any other."""
    if not isinstance(args, dict):
        raise TypeError(f"{component} takes its inputs as a mapping; got {type(args).__name__}")
    return {key: pulumi.Output.from_input(v) if isinstance(v, Unknown) else v for key, v in args.items()}


def input_reader(component: str, args: dict[str, Any], strip: str = "") -> Reader:
    """Reads a component's inputs by their config keys, naming the input in any refusal."""

    def get(key: str) -> Any:
        return args.get(snake_case(input_name(key, strip)))

    return Reader(get, where=f"{component} input ", name=lambda key: input_name(key, strip))


def aws_context(parent: pulumi.Resource) -> AwsContext:
    """Where the component's resources go: through the provider it was given."""
    return naming_aws_context(pulumi.InvokeOptions(parent=parent))


def function_inputs(parent: pulumi.Resource, reader: Reader, args: Any) -> dict[str, Any]:
    """What every archived function takes: where it runs, its names, its code and settings, the
    archive, its alarms. Every input is read before anything is registered."""
    tags = read_tags(reader, args.get("tags"))
    prefix = read_name_prefix(reader, "")
    spec = function_spec(reader, args.get("function"), args.get("environment"))
    wiring = {key: required(reader, args, key) for key in WIRING}
    ctx = aws_context(parent)
    check_wiring(reader, wiring, ctx)
    with function_refusals():
        check_placement(spec, ctx.partition, ctx.region)
    return {
        **spec_fields(spec),
        "aws": ctx,
        "name_prefix": prefix,
        "archive": ArchiveTarget(
            bucket_name=wiring["archive_bucket_name"],
            bucket_arn=wiring["archive_bucket_arn"],
            grant_arn=wiring["archive_grant_arn"],
            key_alias=wiring["archive_key_alias"],
        ),
        "alarms": AlarmTarget(wiring["alert_topic_arn"], tags),
        "tags": tags,
    }


def spec_fields(spec: FunctionSpec) -> dict[str, Any]:
    return {name: getattr(spec, name) for name in FunctionSpec.__dataclass_fields__}


FUNCTION = "function"


def function_spec(reader: Reader, value: Any, environment: Any = None) -> FunctionSpec:
    """The `function` input as a FunctionSpec, each refusal naming `function.<input>`."""
    if not isinstance(value, dict):
        raise reader.fail(FUNCTION, "an object with code, handler and runtime, or imageUri", value)
    inner = reader.nested(FUNCTION, lambda key: value.get(snake_case(key)))
    vpc = value.get("vpc")
    with function_refusals():
        spec = FunctionSpec(
            code=value.get("code"),
            handler=value.get("handler"),
            image_uri=value.get("image_uri"),
            runtime=value.get("runtime"),
            architectures=listed(inner, "architectures", value.get("architectures"), ("x86_64",)),
            memory_mb=inner.int("memoryMb"),
            timeout_seconds=inner.int("timeoutSeconds"),
            ephemeral_storage_mb=whole(value.get("ephemeral_storage_mb", 512)),
            environment=environment if environment is not None else {},
            layers=listed(inner, "layers", value.get("layers"), ()),
            vpc=(
                VpcConfig(tuple(vpc.get("subnet_ids") or ()), tuple(vpc.get("security_group_ids") or ()))
                if isinstance(vpc, dict)
                else vpc
            ),
            tracing=value.get("tracing") or Tracing.ACTIVE,
            reserved_concurrency=read_reserved_concurrency(inner),
            role_statements=listed(inner, "role_statements", value.get("role_statements"), ()),
            managed_policy_arns=listed(inner, "managed_policy_arns", value.get("managed_policy_arns"), ()),
            powertools=plain_bool(inner, "powertools", value.get("powertools")),
            powertools_layer_version=read_powertools_layer_version(inner),
            log_retention_days=read_log_retention(inner),
        )
    return spec


@contextlib.contextmanager
def function_refusals() -> Iterator[None]:
    """A FunctionSpec refusal named as the input is: `function.<camelCase name>`."""
    try:
        yield
    except ConfigError as error:
        if error.key.startswith(f"{FUNCTION}."):
            raise
        name = ".".join([FUNCTION, *(camel_case(part) for part in error.key.split("."))])
        raise ConfigError(f"{name} {error.reason}", name, error.reason) from None


def listed(reader: Reader, key: str, value: Any, default: tuple) -> tuple:
    """A list input as a tuple; anything else refused (a string is not a list of its characters)."""
    if value is None:
        return default
    if not isinstance(value, list):
        raise reader.fail(camel_case(key), "a list", value)
    return tuple(value)


def whole(value: Any) -> Any:
    """Numbers cross the provider protocol as doubles: a whole one is an integer."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


def plain_bool(reader: Reader, key: str, value: Any) -> bool:
    if value is None:
        return False
    if not isinstance(value, bool):
        raise reader.fail(key, "true or false", value)
    return value


def camel_case(snake: str) -> str:
    return re.sub(r"_([a-z])", lambda match: match.group(1).upper(), snake)


def required(reader: Reader, args: Any, key: str) -> Any:
    """An input the schema marks required: the host refuses it missing, a direct caller is told too."""
    value = args.get(key)
    if value is None or value == "":
        raise reader.fail(camel_case(key), "set", value)
    if not isinstance(value, str | pulumi.Output):
        raise reader.fail(camel_case(key), "a string", value)
    return value


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


# AWS's tagging rules (Tagging AWS resources, "Tag naming limits and requirements"): at most 50
# user tags, keys of 1 to 128 characters and values of up to 256 from letters, digits, spaces and
# _ . : / = + - @, no key starting with `aws:` (reserved for AWS).
MAX_TAGS = 50
TAG_TEXT = re.compile(r"[\w\s.:/=+\-@]*")


def read_tags(reader: Reader, value: Any) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise reader.fail("tags", "a map of plain strings", value)
    if len(value) > MAX_TAGS:
        raise reader.fail("tags", f"at most {MAX_TAGS} tags", f"{len(value)} tags")
    for key, text in value.items():
        if not 1 <= len(key) <= 128 or not TAG_TEXT.fullmatch(key) or key.lower().startswith("aws:"):
            raise reader.fail("tags", "keys of 1 to 128 letters, digits, spaces and _ . : / = + - @, not aws:", key)
        if len(text) > 256 or not TAG_TEXT.fullmatch(text):
            raise reader.fail("tags", f"values of up to 256 letters, digits, spaces and _ . : / = + - @ ({key})", text)
    return dict(value)


def stream_source(reader: Reader, given: Any, known: str | None, kind: Any) -> StreamSource | None:
    """The stream as an output with its kind said; a known ARN is the settings' (its kind must agree)."""
    if kind is not None and kind not in StreamSourceKind.__members__.values():
        raise reader.fail("sourceKind", "dynamodb or kinesis", kind)
    if known is not None:
        if kind is not None and kind != stream_source_kind(known):
            raise reader.fail("sourceKind", f"{stream_source_kind(known)}, the kind sourceArn names", kind)
        return None
    if not isinstance(given, pulumi.Output):
        if kind is not None:
            raise reader.fail("sourceKind", "given only with sourceArn", kind)
        return None
    if kind is None:
        raise reader.fail("sourceKind", "set (dynamodb or kinesis) when sourceArn is an output", kind)

    def checked(arn: str) -> str:
        if not STREAM_ARN.fullmatch(arn or "") or stream_source_kind(arn) != kind:
            raise reader.fail("sourceArn", f"a {kind} stream ARN", arn)
        return arn

    return StreamSource(given.apply(checked), StreamSourceKind(kind))


def alarm_email(reader: Reader, value: Any) -> pulumi.Input[str] | None:
    """Plain, checked now; an output (a secret, say) is passed as given and SNS judges it on
    subscribing: a refusal raised inside its apply at preview left the host unable to answer
    the next Construct."""
    if isinstance(value, pulumi.Output):
        return value
    return read_alarm_email(reader)
