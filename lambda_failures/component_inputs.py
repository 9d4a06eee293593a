"""How the component package reads its inputs: each by the rule the stack's config key of the
same name meets (components/settings.py), each refusal naming the input as its user wrote it.

Every input is read before a component registers anything: a refusal raised after a child was
registered left the SDK's host unable to answer the program's next Construct.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from typing import Any

import pulumi
from pulumi.errors import InputPropertyError
from pulumi.output import Unknown

from lambda_failures.components.alarms import AlarmTarget
from lambda_failures.components.archive_wiring import camel_case, check_wiring
from lambda_failures.components.async_function import ArchiveTarget
from lambda_failures.components.failure_capture import (
    AsyncCapture,
    FailureCaptureArgs,
    StreamCapture,
    check_invoke,
    check_stream,
    check_target,
)
from lambda_failures.components.function_spec import (
    FunctionSpec,
    Tracing,
    VpcConfig,
    check_environment,
    check_placement,
    read_tags,
    spec_of,
)
from lambda_failures.components.naming import AwsContext
from lambda_failures.components.naming import aws_context as naming_aws_context
from lambda_failures.components.settings import (
    STREAM_ARN,
    ConfigError,
    Reader,
    StreamSourceKind,
    read_alarm_email,
    read_log_retention,
    read_name_prefix,
    read_powertools_layer_version,
    read_reserved_concurrency,
    read_stream,
    stream_source_kind,
)
from lambda_failures.components.stream_consumer import StreamSource
from lambda_failures.components.stream_sources import arn_source

# The stream settings' config keys carry a `stream` prefix that the consumer's own inputs do not.
STREAM_KEY_PREFIX = "stream"
# The five inputs that attach a function to a SharedArchive (its outputs, of the same names).
WIRING = ("archive_bucket_name", "archive_bucket_arn", "archive_grant_arn", "archive_key_alias", "alert_topic_arn")


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
        **spec_of(spec),
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


FUNCTION = "function"


def function_spec(reader: Reader, value: Any, environment: Any = None) -> FunctionSpec:
    """The `function` input as a FunctionSpec, each refusal naming `function.<input>`."""
    if not isinstance(value, dict):
        raise reader.fail(FUNCTION, "an object with code, handler and runtime, or imageUri", value)
    inner = reader.nested(FUNCTION, lambda key: value.get(snake_case(key)))
    environment = read_environment(environment)
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
            environment=environment,
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


def read_environment(environment: Any) -> Any:
    """The `environment` input, beside `function`, its refusals naming it. A map holding a secret
    arrives as one output: checked once resolved, and refused as the engine reports a bad input
    (a ConfigError raised there would reach the engine as an unexpected error)."""
    if environment is None:
        return {}

    def check(given: Any) -> Any:
        try:
            check_environment(given if given is not None else {})
        except ConfigError as error:
            raise InputPropertyError(ENVIRONMENT, error.reason) from None
        return given

    if isinstance(environment, pulumi.Output):
        return environment.apply(check)
    try:
        check_environment(environment)
    except ConfigError as error:
        raise ConfigError(f"{ENVIRONMENT} {error.reason}", ENVIRONMENT, error.reason) from None
    return environment


ENVIRONMENT = "environment"


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


def listed(reader: Reader, key: str, value: Any, default: tuple[Any, ...]) -> tuple[Any, ...]:
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


def required(reader: Reader, args: Any, key: str) -> Any:
    """An input the schema marks required: the host refuses it missing, a direct caller is told too."""
    value = args.get(key)
    if value is None or value == "":
        raise reader.fail(camel_case(key), "set", value)
    if not isinstance(value, str | pulumi.Output):
        raise reader.fail(camel_case(key), "a string", value)
    return value


# AWS's tagging rules (Tagging AWS resources, "Tag naming limits and requirements"): at most 50
# user tags, keys of 1 to 128 characters and values of up to 256 from letters, digits, spaces and
# _ . : / = + - @, no key starting with `aws:` (reserved for AWS).
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
            function=required(reader, args, "function_name"),
            role=required(reader, args, "role"),
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
