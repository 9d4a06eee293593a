"""An encrypted SNS topic for alarms and failure alerts, with an optional e-mail subscription."""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from lambda_failures.components import iam_documents as docs
from lambda_failures.components.customer_key import customer_key
from lambda_failures.components.naming import AwsContext, key_alias, resource_name, topic_arn
from lambda_failures.components.settings import PROJECT

# Services that publish to the topic and so must use its key for this account (for its alarms only).
PUBLISHERS = ("cloudwatch.amazonaws.com",)


@dataclass
class AlertTopicArgs:
    aws: AwsContext
    name_prefix: str
    email: pulumi.Input[str] | None = None
    tags: dict[str, str] = field(default_factory=dict)


class AlertTopic(pulumi.ComponentResource):
    topic_name: str
    topic_arn: str
    topic_arn_output: pulumi.Output[str]
    key_alias: str

    def __init__(self, name: str, args: AlertTopicArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(f"{PROJECT}:index:AlertTopic", name, None, opts)
        self.topic_name = resource_name(args.name_prefix, "alerts", 256)
        self.topic_arn = topic_arn(self.topic_name, args.aws)
        self.key_alias = key_alias(args.name_prefix, "alerts")
        self.key, self.alias = customer_key(
            name,
            self.key_alias,
            f"Encrypts messages on {self.topic_name}",
            args.aws,
            self,
            args.tags,
            PUBLISHERS,
            source_arn=docs.cloudwatch_alarms(args.aws),
        )
        self.topic = aws.sns.Topic(
            f"{name}-topic",
            name=self.topic_name,
            kms_master_key_id=self.key.arn,
            tags=args.tags,
            opts=pulumi.ResourceOptions(parent=self),
        )
        # The same ARN, as an output of the topic: alarms built from it are created after it.
        self.topic_arn_output = self.topic.name.apply(lambda topic: topic_arn(topic, args.aws))
        if args.email:
            aws.sns.TopicSubscription(
                f"{name}-email",
                topic=self.topic.arn,
                protocol="email",
                # An address is personal data: kept secret in state and previews.
                endpoint=pulumi.Output.secret(args.email),
                opts=pulumi.ResourceOptions(parent=self),
            )
        self.register_outputs({"topicArn": self.topic_arn})
