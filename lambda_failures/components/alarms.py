"""CloudWatch alarms wherever a failure could otherwise be lost without anyone knowing.

A failure destination is only as good as its delivery: if Lambda cannot write the record
(KMS, IAM, a missing bucket) or drops an async event before running it, the event is gone
and nothing else says so. Every alarm here goes to the alerts topic, and back to OK.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from lambda_failures.components.naming import resource_name

ALARM_NAME_LIMIT = 255


@dataclass(frozen=True)
class Alarm:
    """One metric alarm: fires when the statistic over a minute exceeds the threshold."""

    role: str
    metric: str
    description: str
    dimensions: dict[str, str]
    namespace: str = "AWS/Lambda"
    statistic: str = "Sum"
    threshold: float = 0
    evaluation_periods: int = 1


@dataclass
class AlarmTarget:
    """Where alarms are sent, and what they are tagged with."""

    topic_arn: pulumi.Input[str]
    tags: dict[str, str] = field(default_factory=dict)


def async_delivery_alarms(function_name: str, dead_letter_queue: bool = False) -> list[Alarm]:
    """An async function's events lost outside the code: not delivered, or dropped unrun."""
    dims = {"FunctionName": function_name}
    alarms = [
        Alarm(
            "destination-failures",
            "DestinationDeliveryFailures",
            "Lambda could not deliver a failure record to the archive: the event is lost",
            dims,
        ),
        Alarm(
            "events-dropped",
            "AsyncEventsDropped",
            "Lambda dropped asynchronous events without running them to a destination",
            dims,
        ),
    ]
    if dead_letter_queue:
        alarms.append(
            Alarm("dead-letter-errors", "DeadLetterErrors", "Lambda could not send an event to the DLQ", dims)
        )
    return alarms


def queue_depth_alarm(queue_name: str, description: str) -> Alarm:
    """Any message waiting in a queue that should stay empty."""
    return Alarm(
        "queue-depth",
        "ApproximateNumberOfMessagesVisible",
        description,
        {"QueueName": queue_name},
        namespace="AWS/SQS",
        statistic="Maximum",
    )


def create_alarms(
    name: str, owner: str, alarms: list[Alarm], target: AlarmTarget, parent: pulumi.Resource
) -> list[aws.cloudwatch.MetricAlarm]:
    """`{name}-{role}-alarm` resources named `<owner>-<role>` in CloudWatch."""
    return [
        aws.cloudwatch.MetricAlarm(
            f"{name}-{alarm.role}-alarm",
            name=resource_name(owner, alarm.role, ALARM_NAME_LIMIT),
            alarm_description=alarm.description,
            namespace=alarm.namespace,
            metric_name=alarm.metric,
            dimensions=alarm.dimensions,
            statistic=alarm.statistic,
            period=60,
            evaluation_periods=alarm.evaluation_periods,
            threshold=alarm.threshold,
            comparison_operator="GreaterThanThreshold",
            treat_missing_data="notBreaching",
            alarm_actions=[target.topic_arn],
            ok_actions=[target.topic_arn],
            tags=target.tags,
            opts=pulumi.ResourceOptions(parent=parent),
        )
        for alarm in alarms
    ]
