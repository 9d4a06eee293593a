"""A Lambda invoked asynchronously whose failed events land in the failure archive."""

from __future__ import annotations

import operator
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from lambda_failures.components import iam_documents as docs
from lambda_failures.components.alarms import AlarmTarget, async_delivery_alarms, create_alarms
from lambda_failures.components.archive_wiring import check_wiring
from lambda_failures.components.customer_key import customer_key
from lambda_failures.components.function_spec import FunctionSpec, check_component_args, spec_of
from lambda_failures.components.invoke_config import invoke_config
from lambda_failures.components.lambda_function import component_function, project_function
from lambda_failures.components.naming import (
    AwsContext,
    aws_context,
    event_bus_arn,
    function_arn,
    key_alias,
    queue_arn,
    resource_name,
    topic_arn,
)
from lambda_failures.components.settings import PROJECT, AsyncSettings, ConfigError, Reader

# The archive stack's outputs (README, "Outputs") that a function in another stack needs.
ARCHIVE_OUTPUTS = {
    "bucket_name": "FailedEventsBucketName",
    "bucket_arn": "FailedEventsBucketArn",
    "grant_arn": "FailedEventsGrantArn",
    "key_alias": "FailureKeyAlias",
    "alert_topic_arn": "AlertTopicArn",
}


@dataclass
class ArchiveTarget:
    """What a function needs to know of the archive to deliver records to it.

    `bucket_name`/`bucket_arn` are the bucket resource's outputs: a destination, mapping or
    notification built from them depends on the bucket, so `destroy` and `--target` order
    them right. `grant_arn` is the ARN, or its name prefix with `*` when the name is random:
    plain text in the stack that owns the archive, so its IAM documents stay known at preview;
    an output in a stack that reads it through a StackReference (from_stack_reference).
    """

    bucket_name: pulumi.Input[str]
    bucket_arn: pulumi.Input[str]
    grant_arn: pulumi.Input[str]
    key_alias: pulumi.Input[str]
    alert_topic_arn: pulumi.Input[str] | None = None

    @classmethod
    def from_stack_reference(cls, stack: pulumi.StackReference, aws: AwsContext | None = None) -> ArchiveTarget:
        """The archive another stack of this project deployed, read from its outputs and checked
        together once known, as the component package checks its inputs: a bucket ARN, a grant
        covering it, a key alias, and an alert topic in this stack's account and region (`aws`,
        by default the provider's). Wrong outputs would pass every policy and lose the first record."""
        ctx = aws or aws_context()
        outputs = {field_: archive_output(stack, output) for field_, output in ARCHIVE_OUTPUTS.items()}
        checked = pulumi.Output.all(stack.name, pulumi.Output.all(**outputs)).apply(
            lambda named: _checked_outputs(named[0], named[1], ctx)
        )
        return cls(**{field_: checked.apply(operator.itemgetter(field_)) for field_ in ARCHIVE_OUTPUTS})

    def alarms(self, tags: dict[str, str] | None = None) -> AlarmTarget:
        """Alarms to the archive's alert topic."""
        if self.alert_topic_arn is None:
            raise ValueError("this ArchiveTarget has no alert_topic_arn: give an AlarmTarget of your own")
        return AlarmTarget(self.alert_topic_arn, dict(tags or {}))


def _checked_outputs(stack_name: str, values: dict[str, Any], ctx: AwsContext) -> dict[str, Any]:
    """The archive stack's outputs under the component package's wiring rule, refusals naming the output."""
    reader = Reader(
        lambda _key: None,
        where=f"stack reference {stack_name} output ",
        name=lambda key: ARCHIVE_OUTPUTS[WIRING_INPUTS[key]],
    )
    check_wiring(reader, {f"archive_{f}" if f != "alert_topic_arn" else f: v for f, v in values.items()}, ctx)
    return values


# The component package's input names (camelCase, as check_wiring names them) -> ArchiveTarget's fields.
WIRING_INPUTS = {
    "archiveBucketName": "bucket_name",
    "archiveBucketArn": "bucket_arn",
    "archiveGrantArn": "grant_arn",
    "archiveKeyAlias": "key_alias",
    "alertTopicArn": "alert_topic_arn",
}


def archive_output(stack: pulumi.StackReference, output: str) -> pulumi.Output[Any]:
    """One of the archive stack's outputs (a secret one stays secret). A missing one is refused
    naming it and the stack (`require_output` says only KeyError: '<output>'), with where it
    comes from: a deployed archive stack, or offline the file `failctl preview` is given."""

    def present(named: list[Any]) -> Any:
        name, value = named
        if value is None:
            raise ConfigError(
                f"stack reference {name} has no output {output} (ArchiveTarget.from_stack_reference reads "
                f"{', '.join(ARCHIVE_OUTPUTS.values())}): reference a deployed archive stack of lambda-failures, "
                f"or offline pass failctl preview --stack-reference {name}=FILE with FILE its "
                "`pulumi stack output --json`",
                output,
                "missing",
            )
        return value

    return pulumi.Output.all(stack.name, stack.get_output(output)).apply(present)


@dataclass(kw_only=True)
class AsyncFunctionArgs(FunctionSpec):
    """The caller's function (FunctionSpec: code, runtime and every Lambda setting) and how its
    failed events reach the archive."""

    aws: AwsContext
    name_prefix: str
    archive: ArchiveTarget
    alarms: AlarmTarget
    settings: AsyncSettings = field(default_factory=AsyncSettings)
    tags: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        super().__post_init__()
        check_component_args(self)


class AsyncFunction(pulumi.ComponentResource):
    """The processor function, its FunctionEventInvokeConfig and optional destinations.

    Every destination ARN is derived from its name, so the invoke config (and the policy
    that forbids FIFO destinations) is decided at preview.
    """

    function_name: str
    function_arn: str
    success_destination_arn: str | None
    dead_letter_queue_arn: str | None

    def __init__(self, name: str, args: AsyncFunctionArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(f"{PROJECT}:index:AsyncFunction", name, None, opts)
        self._args = args
        s = args.settings
        self.function_name = resource_name(args.name_prefix, "processor")
        self.success_destination_arn = None
        self.dead_letter_queue_arn = None
        self._destination_resources: list[pulumi.Resource] = []
        self._key: aws.kms.Key | None = None
        self._key_alias = key_alias(args.name_prefix, "destinations")

        statements = docs.deliver_to_archive(args.archive.grant_arn, args.archive.key_alias, args.aws)
        statements += self._success_destination(name)
        statements += self._dead_letter_queue(name)
        if self._key is not None:
            statements.append(docs.use_destination_key(self._key_alias, args.aws))

        self.lambda_ = component_function(
            f"{name}-processor",
            self,
            args,
            spec_of(args),
            function_name=self.function_name,
            statements=statements,
            dead_letter_target_arn=self.dead_letter_queue_arn,
            depends_on=list(self._destination_resources),
        )
        self.function_arn = self.lambda_.function_arn
        self.invoke_config = self._invoke_config(name)
        self.alarms = create_alarms(
            name,
            self.function_name,
            async_delivery_alarms(self.function_name, dead_letter_queue=s.dead_letter_queue),
            args.alarms,
            self,
        )
        self.register_outputs(
            {
                "functionName": self.function_name,
                "functionArn": self.function_arn,
                "successDestinationArn": self.success_destination_arn,
                "deadLetterQueueArn": self.dead_letter_queue_arn,
            }
        )

    def _invoke_config(self, name: str) -> aws.lambda_.FunctionEventInvokeConfig:
        s = self._args.settings
        return invoke_config(
            f"{name}-invoke-config",
            self.lambda_.function.name,
            s.max_retry_attempts,
            s.max_event_age_seconds,
            self._args.archive.bucket_arn,
            self,
            [self.lambda_.role_policy, *self._destination_resources],
            on_success=self.success_destination_arn,
        )

    def _destination_key(self, name: str) -> aws.kms.Key:
        """One key for the destination queue/topic, created only when one is asked for."""
        if self._key is None:
            self._key, alias = customer_key(
                f"{name}-destinations",
                self._key_alias,
                f"Encrypts {self.function_name} destination messages",
                self._args.aws,
                self,
                self._args.tags,
            )
            self._destination_resources.append(alias)
        return self._key

    def _queue(self, name: str, role: str) -> str:
        key = self._destination_key(name)
        queue_name = resource_name(self._args.name_prefix, role, 80)
        queue = aws.sqs.Queue(
            f"{name}-{role}",
            name=queue_name,
            kms_master_key_id=key.arn,
            kms_data_key_reuse_period_seconds=300,
            message_retention_seconds=1_209_600,
            tags=self._args.tags,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self._destination_resources.append(queue)
        return queue_arn(queue_name, self._args.aws)

    def _success_destination(self, name: str) -> list[docs.Statement]:
        kind = self._args.settings.success_destination
        ctx = self._args.aws
        if kind == "none":
            return []
        if kind == "sqs":
            self.success_destination_arn = self._queue(name, "success")
            return [docs.allow("SendSuccessRecords", "sqs:SendMessage", self.success_destination_arn)]
        if kind == "sns":
            key = self._destination_key(name)
            topic_name = resource_name(self._args.name_prefix, "success", 256)
            topic = aws.sns.Topic(
                f"{name}-success",
                name=topic_name,
                kms_master_key_id=key.arn,
                tags=self._args.tags,
                opts=pulumi.ResourceOptions(parent=self),
            )
            self._destination_resources.append(topic)
            self.success_destination_arn = topic_arn(topic_name, ctx)
            return [docs.allow("PublishSuccessRecords", "sns:Publish", self.success_destination_arn)]
        if kind == "eventbridge":
            bus_name = resource_name(self._args.name_prefix, "success", 256)
            bus = aws.cloudwatch.EventBus(
                f"{name}-success",
                name=bus_name,
                tags=self._args.tags,
                opts=pulumi.ResourceOptions(parent=self),
            )
            self._destination_resources.append(bus)
            self.success_destination_arn = event_bus_arn(bus_name, ctx)
            return [docs.allow("PutSuccessEvents", "events:PutEvents", self.success_destination_arn)]
        # kind == "lambda": a receiver that logs every success record it gets.
        receiver = component_function(
            f"{name}-receiver",
            self,
            self._args,
            project_function("lambda_failures.handlers.receiver"),
            function_name=resource_name(self._args.name_prefix, "receiver"),
        )
        self._destination_resources.append(receiver.function)
        self.success_destination_arn = function_arn(receiver.function_name, ctx)
        return [docs.allow("InvokeSuccessReceiver", "lambda:InvokeFunction", self.success_destination_arn)]

    def _dead_letter_queue(self, name: str) -> list[docs.Statement]:
        if not self._args.settings.dead_letter_queue:
            return []
        self.dead_letter_queue_arn = self._queue(name, "dlq")
        return [docs.allow("SendToDeadLetterQueue", "sqs:SendMessage", self.dead_letter_queue_arn)]
