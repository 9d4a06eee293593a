"""The caller's function: its code and every setting Lambda takes, checked before anything is declared.

AsyncFunctionArgs and StreamConsumerArgs extend FunctionSpec, so a team deploys its own code
(a folder, a zip, an AssetArchive, or a container image) with the archive's guarantees around
it. A bad value is refused when the args are built, naming the property and what Lambda
accepts (ConfigError), not by AWS half-way through an update.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, fields
from enum import StrEnum
from typing import Any

import pulumi

from lambda_failures.components.runtimes import ARCHITECTURES, DEFAULT_RUNTIME, powertools_problem, runtime_problem
from lambda_failures.components.settings import LOG_RETENTION_DAYS, ConfigError, Reader, key_default

# Lambda CreateFunction: Handler `[^\s]+` up to 128; ImageUri an ECR image; Layers up to 5
# (the Powertools layer counts); VpcConfig up to 16 subnets and 5 security groups;
# Environment keys `[a-zA-Z]([a-zA-Z0-9_])+`, those Lambda reserves refused (Developer Guide,
# "Defined runtime environment variables").
HANDLER = re.compile(r"[^\s]{1,128}")
IMAGE_URI = re.compile(
    r"\d{12}\.dkr\.ecr\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(?:\.cn)?/[a-z0-9._/-]+"
    r"(?::[\w.-]{1,128}|@sha256:[0-9a-f]{64})"
)
LAYER_ARN = re.compile(r"arn:(aws[a-z-]*):lambda:([a-z0-9-]+):\d{12}:layer:[A-Za-z0-9_-]{1,140}:\d+")
MANAGED_POLICY_ARN = re.compile(r"arn:(aws[a-z-]*):iam::(?:aws|\d{12}):policy/(?:[\w+=,.@-]+/)*[\w+=,.@-]{1,128}")
SUBNET_ID = re.compile(r"subnet-[0-9a-f]{8,17}")
SECURITY_GROUP_ID = re.compile(r"sg-[0-9a-f]{8,17}")
# Every name a component derives from its name_prefix (function, role, queue, topic, table, key
# alias) takes these characters; longer names are shortened with a hash (naming.resource_name).
NAME_PREFIX = re.compile(r"[A-Za-z0-9_-]{1,64}")
ENVIRONMENT_KEY = re.compile(r"[a-zA-Z][a-zA-Z0-9_]+")
RESERVED_ENVIRONMENT = frozenset(
    {
        "_HANDLER",
        "_X_AMZN_TRACE_ID",
        "AWS_DEFAULT_REGION",
        "AWS_REGION",
        "AWS_EXECUTION_ENV",
        "AWS_LAMBDA_FUNCTION_NAME",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
        "AWS_LAMBDA_FUNCTION_VERSION",
        "AWS_LAMBDA_INITIALIZATION_TYPE",
        "AWS_LAMBDA_LOG_GROUP_NAME",
        "AWS_LAMBDA_LOG_STREAM_NAME",
        "AWS_ACCESS_KEY",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_LAMBDA_RUNTIME_API",
        "LAMBDA_TASK_ROOT",
        "LAMBDA_RUNTIME_DIR",
    }
)
MAX_LAYERS = 5
# Lambda refuses a function whose variables (names and values) exceed 4 KB in all
# (Developer Guide, "Working with Lambda environment variables").
MAX_ENVIRONMENT_BYTES = 4096


class Tracing(StrEnum):
    """X-Ray tracing of the function (Lambda TracingConfig)."""

    ACTIVE = "Active"
    """Sample and trace incoming requests."""
    PASS_THROUGH = "PassThrough"
    """Trace only requests that arrive with a sampled trace header."""


@dataclass(frozen=True)
class VpcConfig:
    """Subnets and security groups the function's network interfaces are placed in."""

    subnet_ids: Sequence[str]
    security_group_ids: Sequence[str] = ()


def _reader() -> Reader:
    """Refusals named by the property alone (the caller's Args class is added by said_as)."""
    return Reader(lambda _: None, where="", name=str)


def _fail(prop: str, expected: str, got: Any) -> ConfigError:
    return _reader().fail(prop, expected, got)


@dataclass(kw_only=True)
class FunctionSpec:
    """What Lambda runs and how: `code` (a pulumi.Archive: `FileArchive` of a folder or zip, or an
    `AssetArchive`) with `handler` and `runtime`, or `image_uri` (an ECR image). The role gets the
    component's own grants plus `role_statements` and `managed_policy_arns`, which the policy pack
    judges like every other grant. `powertools` adds the AWS-published Powertools for AWS Lambda
    (Python) layer for the function's runtime, architecture and partition."""

    code: pulumi.Archive | None = None
    handler: str | None = None
    image_uri: str | None = None
    runtime: str | None = None
    architectures: Sequence[str] = ("x86_64",)
    memory_mb: int = key_default("memoryMb")
    timeout_seconds: int = key_default("timeoutSeconds")
    ephemeral_storage_mb: int = 512
    environment: pulumi.Input[Mapping[str, pulumi.Input[str]]] = field(default_factory=dict)
    layers: Sequence[str] = ()
    vpc: VpcConfig | None = None
    tracing: Tracing | str = Tracing.ACTIVE
    reserved_concurrency: int | None = None
    role_statements: Sequence[Mapping[str, Any]] = ()
    managed_policy_arns: Sequence[str] = ()
    powertools: bool = False
    powertools_layer_version: int = key_default("powertoolsLayerVersion")
    log_retention_days: int = key_default("logRetentionDays")

    def __post_init__(self) -> None:
        with said_as(type(self).__name__):
            check_function(self)
        self.environment = checked_environment(self.environment, type(self).__name__)


@contextlib.contextmanager
def said_as(owner: str) -> Iterator[None]:
    """A refusal said as the caller wrote it: AsyncFunctionArgs.runtime ..."""
    try:
        yield
    except ConfigError as error:
        raise ConfigError(f"{owner}.{error.key} {error.reason}", error.key, error.reason) from None


MAX_TAGS = 50
TAG_TEXT = re.compile(r"[\w\s.:/=+\-@]*")


def read_tags(reader: Reader, value: Any) -> dict[str, str]:
    """Tags AWS accepts on every resource a component tags (the Python API and the package alike)."""
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


def check_component_args(args: Any) -> None:
    """What a component's Args add to the FunctionSpec, said as the caller wrote them: the
    name_prefix (a Lambda function name refuses the rest) and, where it deploys (args.aws), the
    placement of its image, layers and policies."""
    with said_as(type(args).__name__):
        if not isinstance(args.name_prefix, str) or not NAME_PREFIX.fullmatch(args.name_prefix):
            raise _fail("name_prefix", "1 to 64 characters of a-z, A-Z, 0-9, '-' and '_'", args.name_prefix)
        read_tags(_reader(), args.tags)
        check_placement(args, args.aws.partition, args.aws.region)


def spec_of(args: FunctionSpec) -> dict[str, Any]:
    """The FunctionSpec part of a component's args, to hand to LambdaFunctionArgs."""
    return {f.name: getattr(args, f.name) for f in fields(FunctionSpec)}


def check_function(spec: FunctionSpec) -> None:
    """Every rule Lambda holds these values to that can be known before any update."""
    _check_code(spec)
    if len(spec.architectures) != 1 or spec.architectures[0] not in ARCHITECTURES:
        raise _fail(
            "architectures", "one of " + ", ".join(ARCHITECTURES) + " (Lambda takes exactly one)", spec.architectures
        )
    _range("memory_mb", spec.memory_mb, 128, 10240)
    _range("timeout_seconds", spec.timeout_seconds, 1, 900)
    _range("ephemeral_storage_mb", spec.ephemeral_storage_mb, 512, 10240)
    if spec.reserved_concurrency is not None:
        _range("reserved_concurrency", spec.reserved_concurrency, 0, 10000)
    _range("powertools_layer_version", spec.powertools_layer_version, 1, 10000)
    if spec.log_retention_days not in LOG_RETENTION_DAYS:
        raise _fail("log_retention_days", "one of " + ", ".join(map(str, LOG_RETENTION_DAYS)), spec.log_retention_days)
    if str(spec.tracing) not in tuple(Tracing):
        raise _fail("tracing", "Active or PassThrough", spec.tracing)
    check_environment(spec.environment)
    _check_layers(spec)
    _check_vpc(spec.vpc)
    _check_role(spec)


def _range(prop: str, value: Any, lo: int, hi: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise _fail(prop, f"an integer from {lo} to {hi}", value)


def _check_code(spec: FunctionSpec) -> None:
    if spec.image_uri is not None:
        if spec.code is not None or spec.handler is not None or spec.runtime is not None:
            raise _fail("image_uri", "given without code, handler and runtime (the image holds them)", spec.image_uri)
        if not isinstance(spec.image_uri, str) or not IMAGE_URI.fullmatch(spec.image_uri):
            raise _fail(
                "image_uri",
                "an Amazon ECR image URI (<account>.dkr.ecr.<region>.amazonaws.com/<repo>:<tag>)",
                spec.image_uri,
            )
        return
    if not isinstance(spec.code, pulumi.Archive):
        raise _fail(
            "code", "a pulumi.Archive (FileArchive of a folder or zip, or AssetArchive), or image_uri", spec.code
        )
    if not isinstance(spec.handler, str) or not HANDLER.fullmatch(spec.handler):
        raise _fail("handler", "the entry point Lambda calls (1 to 128 characters, no spaces)", spec.handler)
    if spec.runtime is None:
        raise _fail("runtime", f"set with code (for example {DEFAULT_RUNTIME})", spec.runtime)
    problem = runtime_problem(str(spec.runtime))
    if problem:
        raise _fail("runtime", problem, spec.runtime)
    if spec.runtime.startswith(("python", "nodejs", "ruby")) and "." not in spec.handler:
        raise _fail("handler", f"<file>.<function> for {spec.runtime}", spec.handler)


def check_environment(environment: Any) -> None:
    if isinstance(environment, pulumi.Output):
        return  # a map known only once resolved (a secret one, say): checked_environment
    if not isinstance(environment, Mapping):
        raise _fail("environment", "a map of names to text", environment)
    for key, value in environment.items():
        if not isinstance(key, str) or not ENVIRONMENT_KEY.fullmatch(key) or key in RESERVED_ENVIRONMENT:
            raise _fail(
                "environment",
                "names of two or more letters, digits and '_' (starting with a letter) Lambda does not reserve",
                key,
            )
        if not isinstance(value, str | pulumi.Output):
            raise _fail("environment", f"text values ({key} is not)", type(value).__name__)
    _check_environment_size({k: v for k, v in environment.items() if isinstance(v, str)})


def _check_environment_size(environment: Mapping[str, str]) -> None:
    size = sum(len(key.encode()) + len(value.encode()) for key, value in environment.items())
    if size > MAX_ENVIRONMENT_BYTES:
        raise _fail("environment", f"at most 4 KB of names and values in all ({size} bytes)", sorted(environment))


def checked_environment(environment: Any, owner: str) -> Any:
    """Values known only once resolved (secrets, other resources' outputs) held to the same rules
    then, the refusal named as before: each such value waits on the check of the whole map, which
    reveals nothing (unsecret), so a plain value stays plain and a secret one secret."""

    def check(given: Any) -> Any:
        with said_as(owner):
            check_environment(given if given is not None else {})
        return given

    if isinstance(environment, pulumi.Output):
        return environment.apply(check)
    pending = {key: value for key, value in environment.items() if isinstance(value, pulumi.Output)}
    if not pending:
        return environment
    names = list(pending)
    verdict = pulumi.Output.unsecret(
        pulumi.Output.all(*pending.values()).apply(
            lambda values: check({**environment, **dict(zip(names, values, strict=True))}) and None
        )
    )
    return {
        key: pulumi.Output.all(verdict, value).apply(lambda pair: pair[1]) if key in pending else value
        for key, value in environment.items()
    }


def _check_layers(spec: FunctionSpec) -> None:
    layers = list(spec.layers)
    if spec.image_uri is not None and spec.powertools:
        raise _fail("powertools", "false for a container image (Lambda takes no layers there)", True)
    if spec.image_uri is not None and layers:
        raise _fail("layers", "empty for a container image (Lambda takes no layers there)", layers)
    if len(layers) + bool(spec.powertools) > MAX_LAYERS:
        raise _fail("layers", f"at most {MAX_LAYERS} layers, the Powertools layer included", layers)
    for layer in layers:
        if not isinstance(layer, str) or not LAYER_ARN.fullmatch(layer):
            raise _fail(
                "layers", "layer version ARNs (arn:aws:lambda:<region>:<account>:layer:<name>:<version>)", layer
            )


def _check_vpc(vpc: Any) -> None:
    if vpc is None:
        return
    if not isinstance(vpc, VpcConfig):
        raise _fail("vpc", "a VpcConfig", vpc)
    subnets, groups = list(vpc.subnet_ids), list(vpc.security_group_ids)
    if not 1 <= len(subnets) <= 16 or not all(isinstance(s, str) and SUBNET_ID.fullmatch(s) for s in subnets):
        raise _fail("vpc.subnet_ids", "1 to 16 subnet ids (subnet-...)", subnets)
    if not 1 <= len(groups) <= 5 or not all(isinstance(g, str) and SECURITY_GROUP_ID.fullmatch(g) for g in groups):
        raise _fail("vpc.security_group_ids", "1 to 5 security group ids (sg-...)", groups)


def _check_role(spec: FunctionSpec) -> None:
    for statement in spec.role_statements:
        if not isinstance(statement, Mapping) or statement.get("Effect") not in ("Allow", "Deny"):
            raise _fail("role_statements", "IAM statements with Effect, Action and Resource", statement)
        if "Action" not in statement and "NotAction" not in statement:
            raise _fail("role_statements", "IAM statements with Effect, Action and Resource", statement)
        if "Resource" not in statement and "NotResource" not in statement:  # IAM: MalformedPolicyDocument
            raise _fail("role_statements", "IAM statements with Effect, Action and Resource", statement)
    for arn in spec.managed_policy_arns:
        if not isinstance(arn, str) or not MANAGED_POLICY_ARN.fullmatch(arn):
            raise _fail("managed_policy_arns", "IAM policy ARNs (arn:aws:iam::aws:policy/<name>)", arn)


def check_placement(spec: FunctionSpec, partition: str, region: str) -> None:
    """What must match where the function deploys: its image, layers and policies in its partition
    and region (Lambda pulls an image only from ECR in the function's region), and the Powertools
    layer published there for the runtime."""
    image = IMAGE_URI.fullmatch(spec.image_uri) if isinstance(spec.image_uri, str) else None
    if image and image["region"] != region:
        raise _fail("image_uri", f"an Amazon ECR image in the function's region ({region})", spec.image_uri)
    if spec.powertools:
        problem = powertools_problem(spec.runtime, partition, region)
        if problem:
            raise _fail("powertools", problem, spec.runtime)
    for layer in spec.layers:
        match = LAYER_ARN.fullmatch(layer)
        if match and (match.group(1), match.group(2)) != (partition, region):
            raise _fail("layers", f"layers in the function's partition and region ({partition}, {region})", layer)
    for arn in spec.managed_policy_arns:
        match = MANAGED_POLICY_ARN.fullmatch(arn)
        if match and match.group(1) != partition:
            raise _fail("managed_policy_arns", f"policies in the function's partition ({partition})", arn)
