"""Failure capture for a function this program does not manage (SAM, Terraform, the console).

A function that already runs keeps its code, role and deployment tool; this component adds
what makes its failures land in the archive: the asynchronous invoke config (bounded retries
and event age, the archive on failure), and for a stream a new event source mapping with the
same bounds, bisection and partial batch responses; a policy on its existing role granting
delivery to the archive under `s3:ResourceAccount` (and the mapping's reads); and the alarms
on records that never reach the archive. The pieces are the ones `AsyncFunction` and
`StreamConsumer` build, so the policy pack judges them the same way.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from lambda_failures.components import iam_documents as docs
from lambda_failures.components.alarms import AlarmTarget, async_delivery_alarms, create_alarms, stream_alarms
from lambda_failures.components.async_function import ArchiveTarget
from lambda_failures.components.function_spec import read_tags
from lambda_failures.components.invoke_config import invoke_config
from lambda_failures.components.naming import AwsContext, resource_name
from lambda_failures.components.setting_keys import (
    ASYNC_MAX_EVENT_AGE_SECONDS,
    ASYNC_MAX_RETRY_ATTEMPTS,
    ASYNC_MIN_EVENT_AGE_SECONDS,
)
from lambda_failures.components.settings import PROJECT, Reader, StreamSettings
from lambda_failures.components.stream_sources import (
    AnySource,
    check_arn,
    lag_alarm,
    read_statements,
    refuse,
    stream_mapping,
    validate,
)

# Lambda API FunctionName (a bare name) and Qualifier (a version, an alias or $LATEST).
FUNCTION_NAME = re.compile(r"[a-zA-Z0-9_-]{1,64}")
QUALIFIER = re.compile(r"\$LATEST|[a-zA-Z0-9_-]{1,128}")
_ARN = r"arn:(?P<partition>aws[a-z-]*):{service}:(?P<region>{region}):(?P<account>\d{{12}}):"
FUNCTION_ARN = re.compile(
    _ARN.format(service="lambda", region="[a-z0-9-]+")
    + r"function:(?P<name>[a-zA-Z0-9_-]{1,64})(?::(?P<qualifier>\$LATEST|[a-zA-Z0-9_-]{1,128}))?"
)
# IAM role names: letters, digits and +=,.@_- (at most 64); an ARN may carry a path.
ROLE_NAME = re.compile(r"[\w+=,.@-]{1,64}")
ROLE_ARN = re.compile(
    r"arn:(?P<partition>aws[a-z-]*):iam::(?P<account>\d{12}):role/(?:[\w+=,.@-]+/)*(?P<name>[\w+=,.@-]{1,64})"
)
# Success destinations a function's async invocations accept, and what the role needs for each.
SUCCESS_ARN = re.compile(_ARN.format(service="(?P<service>sqs|sns|lambda|events)", region="[a-z0-9-]+") + r".+")
SUCCESS_ACTIONS = {
    "sqs": "sqs:SendMessage",
    "sns": "sns:Publish",
    "lambda": "lambda:InvokeFunction",
    "events": "events:PutEvents",
}
# IAM inline policy names (PutRolePolicy PolicyName): at most 128.
POLICY_NAME_LIMIT = 128


@dataclass(frozen=True)
class AsyncCapture:
    """Asynchronous invocations: retried at most `max_retry_attempts` times within
    `max_event_age_seconds`, then written to the archive; successes optionally sent on."""

    max_retry_attempts: int = 2
    max_event_age_seconds: int = 3600
    success_destination_arn: str | None = None


@dataclass(frozen=True)
class StreamCapture:
    """A new event source mapping from `source` to the existing function (stream_sources)."""

    source: AnySource
    settings: StreamSettings = field(default_factory=StreamSettings)


@dataclass
class FailureCaptureArgs:
    aws: AwsContext
    archive: ArchiveTarget
    alarms: AlarmTarget
    function: str  # name, or function / version / alias ARN
    role: str  # the function's execution role: name or ARN
    qualifier: str | None = None
    invoke: AsyncCapture | None = field(default_factory=AsyncCapture)  # None: no async invoke config
    stream: StreamCapture | None = None
    tags: dict[str, str] = field(default_factory=dict)
    # Adopt the invoke config the function already has (another tool's) instead of replacing it.
    import_invoke_config: bool = False


@dataclass(frozen=True)
class Target:
    """The function and role as checked: bare names, the qualifier, and the names of what we add."""

    function_name: str
    qualifier: str | None
    role_name: str

    @property
    def config_id(self) -> str:
        """The invoke config's id in the provider: `<function>` or `<function>:<qualifier>`."""
        return self.function_name if self.qualifier is None else f"{self.function_name}:{self.qualifier}"

    @property
    def owner(self) -> str:
        """The prefix of the alarms and the policy: one per function and qualifier."""
        if self.qualifier is None:
            return self.function_name
        return f"{self.function_name}-{self.qualifier}"


def check_target(args: FailureCaptureArgs) -> Target:
    """Every name and ARN, before anything is registered: a refusal names the property."""
    ctx = args.aws
    function, qualifier = args.function, args.qualifier
    if isinstance(function, str) and function.startswith("arn:"):
        match = check_arn("function", FUNCTION_ARN, "a Lambda function ARN", function, ctx)
        name, in_arn = match["name"], match["qualifier"]
        if in_arn is not None and qualifier is not None and in_arn != qualifier:
            raise refuse("qualifier", f"{in_arn}, the qualifier the function ARN names (or unset)", qualifier)
        qualifier = qualifier or in_arn
    elif isinstance(function, str) and FUNCTION_NAME.fullmatch(function):
        name = function
    else:
        raise refuse("function", "a function name (a-z, A-Z, 0-9, '-', '_'; at most 64) or a function ARN", function)
    if qualifier is not None and not (isinstance(qualifier, str) and QUALIFIER.fullmatch(qualifier)):
        raise refuse("qualifier", "$LATEST, a version number or an alias name", qualifier)
    if qualifier == "$LATEST":
        # The unqualified function is $LATEST: Lambda keeps one invoke config for both (an
        # unqualified config reads back as `...:function:<name>:$LATEST`), so they are one target
        # and two captures of it share names the pack sees collide.
        qualifier = None
    role = args.role
    if isinstance(role, str) and role.startswith("arn:"):
        role_match = ROLE_ARN.fullmatch(role)
        if role_match is None:
            raise refuse("role", "an IAM role ARN", role)
        for part, expected in (("partition", ctx.partition), ("account", ctx.account_id)):
            if role_match[part] != expected:
                raise refuse("role", f"an IAM role ARN in this stack's {part} ({expected})", role)
        role_name = role_match["name"]
    elif isinstance(role, str) and ROLE_NAME.fullmatch(role):
        role_name = role
    else:
        raise refuse("role", "an IAM role name or ARN", role)
    read_tags(Reader(lambda _: None, where="", name=lambda key: f"{key}:"), args.tags)
    if args.invoke is None and args.stream is None:
        raise refuse("invoke", "set, or stream set (there is nothing to capture)", None)
    if args.import_invoke_config and args.invoke is None:
        raise refuse("import_invoke_config", "false when invoke is None (there is no invoke config to adopt)", True)
    return Target(name, qualifier, role_name)


def check_invoke(invoke: AsyncCapture, ctx: AwsContext) -> None:
    if not isinstance(invoke, AsyncCapture):
        raise refuse("invoke", "an AsyncCapture, or None", invoke)
    _bounded("invoke.max_retry_attempts", invoke.max_retry_attempts, 0, ASYNC_MAX_RETRY_ATTEMPTS)
    _bounded(
        "invoke.max_event_age_seconds",
        invoke.max_event_age_seconds,
        ASYNC_MIN_EVENT_AGE_SECONDS,
        ASYNC_MAX_EVENT_AGE_SECONDS,
    )
    arn = invoke.success_destination_arn
    if arn is not None:
        what = "an SQS queue, SNS topic, Lambda function or EventBridge bus ARN"
        check_arn("invoke.success_destination_arn", SUCCESS_ARN, what, arn, ctx)
        if arn.endswith(".fifo"):
            fifo = "a standard queue or topic (Lambda cannot send to FIFO)"
            raise refuse("invoke.success_destination_arn", fifo, arn)


def check_stream(stream: StreamCapture, ctx: AwsContext) -> None:
    """The source; StreamSettings checks its own values (the pack's bounds) when built."""
    if not isinstance(stream, StreamCapture):
        raise refuse("stream", "a StreamCapture, or None", stream)
    if not isinstance(stream.settings, StreamSettings):
        raise refuse("stream.settings", "a StreamSettings", stream.settings)
    validate(stream.source, ctx, "stream.source")


def _bounded(prop: str, value: Any, lo: int, hi: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise refuse(prop, f"an integer from {lo} to {hi}", value)


def capture_statements(args: FailureCaptureArgs) -> list[docs.Statement]:
    """Delivery to the archive (object writes under `s3:ResourceAccount`, the key through S3),
    the success destination, and the mapping's reads: what the existing role is given."""
    statements = docs.deliver_to_archive(args.archive.grant_arn, args.archive.key_alias, args.aws)
    success = args.invoke.success_destination_arn if args.invoke else None
    if success is not None:
        statements.append(docs.allow("SendSuccessRecords", SUCCESS_ACTIONS[success.split(":")[2]], success))
    if args.stream is not None:
        statements += read_statements(args.stream.source, args.aws)
    return statements


class FailureCapture(pulumi.ComponentResource):
    """The invoke config, the mapping, the role policy and the alarms for an existing function."""

    function_name: str
    qualifier: str | None
    role_name: str

    def __init__(self, name: str, args: FailureCaptureArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        target = check_target(args)
        if args.invoke is not None:
            check_invoke(args.invoke, args.aws)
        if args.stream is not None:
            check_stream(args.stream, args.aws)
        super().__init__(f"{PROJECT}:index:FailureCapture", name, None, opts)
        self.function_name, self.qualifier, self.role_name = target.function_name, target.qualifier, target.role_name
        self.role_policy = aws.iam.RolePolicy(
            f"{name}-role-policy",
            role=target.role_name,
            name=resource_name(target.owner, "failure-capture", POLICY_NAME_LIMIT),
            policy=pulumi.Output.json_dumps(docs.document(*capture_statements(args))),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.invoke_config = self._invoke_config(name, args, target)
        self.mapping = self._mapping(name, args, target)
        alarms = async_delivery_alarms(target.function_name, qualifier=target.qualifier) if args.invoke else []
        if args.stream is not None:
            lag = lag_alarm(args.stream.source, args.stream.settings.iterator_age_alarm_ms)
            # Errors of a function we do not own are its team's alarm; delivery is ours.
            stream = stream_alarms(target.function_name, lag, target.qualifier, errors=False)
            alarms += [a for a in stream if a.metric != "DestinationDeliveryFailures" or not args.invoke]
        self.alarms = create_alarms(name, target.owner, alarms, args.alarms, self)
        self.register_outputs(
            {
                "functionName": self.function_name,
                "qualifier": self.qualifier,
                "roleName": self.role_name,
                "eventSourceMappingUuid": self.mapping.uuid if self.mapping else None,
            }
        )

    def _invoke_config(
        self, name: str, args: FailureCaptureArgs, target: Target
    ) -> aws.lambda_.FunctionEventInvokeConfig | None:
        if args.invoke is None:
            return None
        return invoke_config(
            f"{name}-invoke-config",
            target.function_name,
            args.invoke.max_retry_attempts,
            args.invoke.max_event_age_seconds,
            args.archive.bucket_arn,
            self,
            [self.role_policy],
            on_success=args.invoke.success_destination_arn,
            qualifier=target.qualifier,
            import_id=target.config_id if args.import_invoke_config else None,
        )

    def _mapping(self, name: str, args: FailureCaptureArgs, target: Target) -> aws.lambda_.EventSourceMapping | None:
        if args.stream is None:
            return None
        stream, grants = args.stream, [self.role_policy]
        return stream_mapping(
            f"{name}-mapping", target.config_id, stream.source, stream.settings, args.archive.bucket_arn, self, grants
        )
