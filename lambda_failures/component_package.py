"""The components as a Pulumi component package, for TypeScript, Go, .NET, Java and YAML programs.

`pulumi package add` runs provider/ (the Python SDK's component provider host), which reads
the schema from the annotations below and builds these components when another language's
program declares them. They wrap the components this stack is built from, so the guarantees
are the same: bounded retries and age, the S3 on-failure destination granted under
s3:ResourceAccount, customer managed keys, alarms on every silent loss.

Inputs are named like the stack's config keys and read by component_inputs.py through the same Reader
(components/settings.py): a value is held to one rule whether it came from Pulumi.<stack>.yaml
or from another language, and a bad one is refused naming the input.

No `from __future__ import annotations` here: the host reads these annotations as types.
"""

from collections.abc import Mapping
from typing import Any, NotRequired, TypedDict

import pulumi
from pulumi.errors import InputPropertyError
from pulumi.output import Unknown
from pulumi.provider import ConstructResult
from pulumi.provider import main as provider_main
from pulumi.provider.experimental.analyzer import PropertyDefinition, PropertyType
from pulumi.provider.experimental.component import ComponentProvider
from pulumi.provider.server import ComponentInitError

from lambda_failures.component_inputs import (
    STREAM_KEY_PREFIX,
    alarm_email,
    aws_context,
    capture_args,
    function_inputs,
    input_reader,
    inputs_of,
    stream_source,
)
from lambda_failures.components.alert_topic import AlertTopic, AlertTopicArgs
from lambda_failures.components.async_function import AsyncFunction, AsyncFunctionArgs
from lambda_failures.components.failure_archive import FailureArchive, FailureArchiveArgs
from lambda_failures.components.failure_capture import FailureCapture
from lambda_failures.components.function_spec import Tracing, read_tags
from lambda_failures.components.settings import (
    PROJECT,
    BucketNamespace,
    ConfigError,
    StartingPosition,
    StreamSourceKind,
    SuccessDestination,
    read_archive,
    read_bucket_namespace,
    read_function,
    read_name_prefix,
    read_stream,
    shown,
)
from lambda_failures.components.stream_consumer import StreamConsumer, StreamConsumerArgs

PACKAGE_NAME = PROJECT


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
        given = inputs_of("SharedArchive", args)
        reader = input_reader("SharedArchive", given)
        prefix = read_name_prefix(reader, "")
        # Every input is read before anything is registered: a refusal after a child was
        # registered leaves the host unable to answer the program's next Construct.
        tags = read_tags(reader, given.get("tags"))
        settings, namespace = read_archive(reader), read_bucket_namespace(reader)
        email = alarm_email(reader, given.get("alarm_email"))
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
    """The function's environment variables (names Lambda does not reserve, 4 KB in all); secrets stay secret."""
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
        given = inputs_of("ArchivedAsyncFunction", args)
        reader = input_reader("ArchivedAsyncFunction", given)
        settings = read_function(reader)
        inputs = function_inputs(self, reader, given)
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
    """The function's environment variables (names Lambda does not reserve, 4 KB in all); secrets stay secret."""
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
        given = inputs_of("ArchivedStreamConsumer", args)
        source_arn = given.get("source_arn")
        # An output ARN is checked once known; the settings read the rest as plain values.
        plain = {**given, "source_arn": None} if isinstance(source_arn, pulumi.Output) else given
        reader = input_reader("ArchivedStreamConsumer", plain, strip=STREAM_KEY_PREFIX)
        settings = read_stream(reader)
        source = stream_source(reader, source_arn, settings.source_arn, given.get("source_kind"))
        inputs = function_inputs(self, reader, given)
        self.consumer = StreamConsumer(
            f"{name}-consumer",
            StreamConsumerArgs(settings=settings, source=source, **inputs),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.function_name = pulumi.Output.from_input(self.consumer.function_name)
        stream_arn = self.consumer.stream_arn
        assert stream_arn is not None  # a DynamoDB or Kinesis stream: the package takes no Kafka source
        self.stream_arn = stream_arn
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
        given = inputs_of("ArchivedFailureCapture", args)
        reader = input_reader("ArchivedFailureCapture", given)
        capture = capture_args(self, reader, given)
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
        self,
        name: str,
        resource_type: str,
        inputs: Mapping[str, pulumi.Input[Any]],
        options: pulumi.ResourceOptions | None = None,
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
