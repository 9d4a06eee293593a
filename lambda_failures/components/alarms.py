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


def function_dimensions(function_name: str, qualifier: str | None = None) -> dict[str, str]:
    """A function's metrics, or one version's or alias's (Lambda adds the `Resource` dimension)."""
    dims = {"FunctionName": function_name}
    if qualifier is not None:
        dims["Resource"] = f"{function_name}:{qualifier}"
    return dims


def async_delivery_alarms(
    function_name: str, dead_letter_queue: bool = False, qualifier: str | None = None
) -> list[Alarm]:
    """An async function's events lost outside the code: not delivered, or dropped unrun."""
    dims = function_dimensions(function_name, qualifier)
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


def stream_alarms(
    function_name: str, lag: tuple[str, str, str, float], qualifier: str | None = None, errors: bool = True
) -> list[Alarm]:
    """A stream consumer that falls behind (`lag`: role, metric, description, threshold), fails,
    or cannot archive a failed batch."""
    dims = function_dimensions(function_name, qualifier)
    role, metric, description, threshold = lag
    alarms = [Alarm(role, metric, description, dims, statistic="Maximum", threshold=threshold, evaluation_periods=5)]
    if errors:
        alarms.append(Alarm("errors", "Errors", "The consumer's invocations are failing", dims))
    alarms.append(
        Alarm(
            "destination-failures",
            "DestinationDeliveryFailures",
            "Failed batches could not be written to the failure archive",
            dims,
        )
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
