"""S3 notifications on new failure records trigger a processor that alerts (and may replay)."""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from lambda_failures.archive_format import MARKER_PREFIX, RECORD_PREFIX
from lambda_failures.components import iam_documents as docs
from lambda_failures.components.alarms import AlarmTarget, async_delivery_alarms, create_alarms, queue_depth_alarm
from lambda_failures.components.async_function import ArchiveTarget
from lambda_failures.components.customer_key import customer_key
from lambda_failures.components.lambda_function import LambdaFunction, component_function, project_function
from lambda_failures.components.naming import AwsContext, function_arn, key_alias, queue_arn, resource_name
from lambda_failures.components.setting_keys import ASYNC_MAX_EVENT_AGE_SECONDS, ASYNC_MAX_RETRY_ATTEMPTS
from lambda_failures.components.settings import PROJECT


@dataclass
class FailureProcessorArgs:
    aws: AwsContext
    name_prefix: str
    archive: ArchiveTarget
    alert_topic_arn: str
    alert_key_alias: str
    alarms: AlarmTarget
    replay_functions: list[str] = field(default_factory=list)
    auto_replay: bool = False
    log_retention_days: int = 30
    powertools_layer_version: int = 27
    tags: dict[str, str] = field(default_factory=dict)


class FailureProcessor(pulumi.ComponentResource):
    """The processor reads the archive (with its key) and publishes alerts; nothing more,
    unless automatic replay is on, which adds lambda:InvokeFunction on the named functions
    Alerts and replays are claimed with marker objects under `markers/` (S3 conditional
    writes), so each happens once whatever the notification's duplicates or the object's tags.

    Its own failures go to an encrypted SQS queue, never back to the archive, which would
    trigger it again; an alarm fires on any message there.
    """

    function_name: str

    def __init__(self, name: str, args: FailureProcessorArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(f"{PROJECT}:index:FailureProcessor", name, None, opts)
        self._name_ = name
        self._args = args
        self.function_name = resource_name(args.name_prefix, "failure-processor")
        self.dlq_name = resource_name(args.name_prefix, "failure-processor-failed", 80)
        self.dlq_key_alias = key_alias(args.name_prefix, "failure-processor")
        self._dead_letter_queue()
        self.lambda_ = self._function()
        self.invoke_config = aws.lambda_.FunctionEventInvokeConfig(
            f"{name}-invoke-config",
            function_name=self.lambda_.function.name,
            maximum_retry_attempts=ASYNC_MAX_RETRY_ATTEMPTS,
            maximum_event_age_in_seconds=ASYNC_MAX_EVENT_AGE_SECONDS,
            # Known at preview (from the queue's name) and dependent on the queue.
            destination_config={"on_failure": {"destination": self.dlq.name.apply(lambda n: queue_arn(n, args.aws))}},
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.lambda_.role_policy]),
        )
        self.notification = self._notification()
        self.alarms = create_alarms(
            name,
            self.function_name,
            [
                *async_delivery_alarms(self.function_name),
                queue_depth_alarm(self.dlq_name, "Failure records the failure processor could not handle"),
            ],
            args.alarms,
            self,
        )
        self.register_outputs(
            {"functionName": self.function_name, "deadLetterQueueArn": queue_arn(self.dlq_name, args.aws)}
        )

    def _dead_letter_queue(self) -> None:
        a = self._args
        self.dlq_key, dlq_alias = customer_key(
            f"{self._name_}-dlq",
            self.dlq_key_alias,
            f"Encrypts failed {self.function_name} events",
            a.aws,
            self,
            a.tags,
        )
        self.dlq = aws.sqs.Queue(
            f"{self._name_}-dlq",
            name=self.dlq_name,
            kms_master_key_id=self.dlq_key.arn,
            message_retention_seconds=1_209_600,
            tags=a.tags,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[dlq_alias]),
        )

    def _statements(self) -> list[docs.Statement]:
        a = self._args
        statements = [
            docs.archive_objects(
                "ReadAndMarkFailureRecords",
                [
                    "s3:GetObject",
                    "s3:GetObjectVersion",
                    "s3:GetObjectTagging",
                    "s3:GetObjectVersionTagging",
                    "s3:PutObjectTagging",
                    "s3:PutObjectVersionTagging",
                ],
                a.archive.grant_arn,
                a.aws,
            ),
            docs.archive_objects(
                "ClaimAlertsAndReplays",
                ["s3:GetObject", "s3:PutObject"],
                a.archive.grant_arn,
                a.aws,
                key_prefix=MARKER_PREFIX,
            ),
            # S3 answers a missing object with 404 only to a caller that may list the bucket
            # (403 otherwise, like any refusal); versions are listed to confirm a 403 is a deletion.
            {
                "Sid": "ConfirmRecordsGone",
                "Effect": "Allow",
                "Action": ["s3:ListBucket", "s3:ListBucketVersions"],
                "Resource": a.archive.grant_arn,
                "Condition": docs.resource_account(a.aws),
            },
            docs.use_key("UseArchiveKey", a.archive.key_alias, ["kms:Decrypt", "kms:GenerateDataKey"], a.aws, "s3"),
            docs.allow("PublishAlerts", "sns:Publish", a.alert_topic_arn),
            docs.use_key("EncryptAlerts", a.alert_key_alias, ["kms:GenerateDataKey", "kms:Decrypt"], a.aws, "sns"),
            docs.allow("SendOwnFailures", "sqs:SendMessage", queue_arn(self.dlq_name, a.aws)),
            docs.use_key("EncryptOwnFailures", self.dlq_key_alias, ["kms:GenerateDataKey", "kms:Decrypt"], a.aws),
        ]
        if a.auto_replay and a.replay_functions:
            statements.append(
                docs.allow(
                    "ReplayRetryableEvents",
                    "lambda:InvokeFunction",
                    [function_arn(f, a.aws) for f in a.replay_functions],
                )
            )
        return statements

    def _function(self) -> LambdaFunction:
        a = self._args
        return component_function(
            f"{self._name_}-function",
            self,
            a,
            project_function("lambda_failures.handlers.failure_processor"),
            function_name=self.function_name,
            statements=self._statements(),
            environment={
                "ALERT_TOPIC_ARN": a.alert_topic_arn,
                "AUTO_REPLAY": str(a.auto_replay).lower(),
                "ARCHIVE_ACCOUNT": a.aws.account_id,
            },
        )

    def _notification(self) -> aws.s3.BucketNotification:
        a = self._args
        permission = aws.lambda_.Permission(
            f"{self._name_}-s3-permission",
            action="lambda:InvokeFunction",
            function=self.lambda_.function.name,
            principal="s3.amazonaws.com",
            source_arn=a.archive.bucket_arn,
            source_account=a.aws.account_id,
            opts=pulumi.ResourceOptions(parent=self),
        )
        return aws.s3.BucketNotification(
            f"{self._name_}-notification",
            bucket=a.archive.bucket_name,
            lambda_functions=[
                {
                    "lambda_function_arn": self.lambda_.function.arn,
                    "events": ["s3:ObjectCreated:*"],
                    "filter_prefix": RECORD_PREFIX,
                }
            ],
            # S3 checks that it may invoke the function when the notification is written.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[permission]),
        )
