"""Failed-event capture for AWS Lambda: archive, async function, stream consumer, follow-up, analytics.

The sample functions are built through the public API (`lambda_failures`) as any other program
would build its own, with this project's sample handlers given as their code.
"""

import pulumi

from lambda_failures import (
    AlarmTarget,
    ArchiveTarget,
    AsyncFunction,
    AsyncFunctionArgs,
    FailureArchive,
    FailureArchiveArgs,
    StreamConsumer,
    StreamConsumerArgs,
    aws_context,
    project_function,
)
from lambda_failures.components.alert_topic import AlertTopic, AlertTopicArgs
from lambda_failures.components.failure_analytics import FailureAnalytics, FailureAnalyticsArgs
from lambda_failures.components.failure_processor import FailureProcessor, FailureProcessorArgs
from lambda_failures.components.settings import PROJECT, load_settings

config = pulumi.Config(PROJECT)
settings = load_settings(config.get, pulumi.get_stack())
ctx = aws_context()
tags = {"project": PROJECT, "stack": pulumi.get_stack()}
function_defaults = {
    "aws": ctx,
    "name_prefix": settings.name_prefix,
    "log_retention_days": settings.log_retention_days,
    "powertools_layer_version": settings.powertools_layer_version,
    "tags": tags,
}

archive = FailureArchive(
    "failure-archive",
    FailureArchiveArgs(
        aws=ctx,
        name_prefix=settings.name_prefix,
        settings=settings.archive,
        namespace=settings.bucket_namespace,
        tags=tags,
    ),
)
target = ArchiveTarget(archive.bucket_name, archive.bucket_arn, archive.grant_arn, archive.key_alias)
alerts = AlertTopic(
    "alerts", AlertTopicArgs(aws=ctx, name_prefix=settings.name_prefix, email=settings.alarm_email, tags=tags)
)
alarms = AlarmTarget(alerts.topic_arn_output, tags)

async_function = AsyncFunction(
    "async-function",
    AsyncFunctionArgs(
        **project_function("lambda_failures.handlers.async_function"),
        memory_mb=settings.size.memory_mb,
        timeout_seconds=settings.size.timeout_seconds,
        reserved_concurrency=settings.size.reserved_concurrency,
        archive=target,
        alarms=alarms,
        settings=settings.function,
        **function_defaults,
    ),
)

consumer = None
if settings.stream.enabled:
    consumer = StreamConsumer(
        "stream-consumer",
        StreamConsumerArgs(
            **project_function("lambda_failures.handlers.stream_consumer"),
            archive=target,
            alarms=alarms,
            settings=settings.stream,
            **function_defaults,
        ),
    )

if settings.failure_processor:
    failure_processor = FailureProcessor(
        "failure-processor",
        FailureProcessorArgs(
            archive=target,
            alert_topic_arn=alerts.topic_arn,
            alert_key_alias=alerts.key_alias,
            alarms=alarms,
            replay_functions=[async_function.function_name],
            auto_replay=settings.auto_replay,
            **function_defaults,
        ),
        opts=pulumi.ResourceOptions(depends_on=[alerts]),
    )

pulumi.export("LambdaFunctionName", async_function.function_name)
pulumi.export("LambdaFunctionArn", async_function.function_arn)
pulumi.export("FailedEventsBucketName", archive.bucket_name)
pulumi.export("FailedEventsBucketArn", archive.bucket_arn)
pulumi.export("FailureKeyArn", archive.key_arn)
# What another stack needs to deliver to this archive with the same guarantees (examples/consumer).
pulumi.export("FailedEventsGrantArn", archive.grant_arn)
pulumi.export("FailureKeyAlias", archive.key_alias)
pulumi.export("AlertTopicArn", alerts.topic_arn)
if async_function.success_destination_arn:
    pulumi.export("SuccessDestinationArn", async_function.success_destination_arn)
if async_function.dead_letter_queue_arn:
    pulumi.export("DeadLetterQueueArn", async_function.dead_letter_queue_arn)
if consumer is not None:
    if consumer.table_name:
        pulumi.export("StreamTableName", consumer.table_name)
    pulumi.export("StreamConsumerFunctionName", consumer.function_name)
    pulumi.export("EventSourceMappingUuid", consumer.mapping_uuid)
if settings.failure_processor:
    pulumi.export("FailureProcessorFunctionName", failure_processor.function_name)

if settings.analytics.enabled:
    analytics = FailureAnalytics(
        "analytics",
        FailureAnalyticsArgs(
            aws=ctx,
            name_prefix=settings.name_prefix,
            archive_bucket=archive.bucket_name,
            function_names=[async_function.function_name, *settings.analytics.extra_function_names],
            stream_mapping_uuid=consumer.mapping_uuid if consumer else None,
            settings=settings.analytics,
            allow_destroy=settings.archive.allow_destroy,
            namespace=settings.bucket_namespace,
            tags=tags,
            archive=target,
            alarms=alarms,
            log_retention_days=settings.log_retention_days,
            powertools_layer_version=settings.powertools_layer_version,
        ),
    )
    pulumi.export("AthenaResultsBucketName", analytics.results_bucket_name)
    pulumi.export("GlueDatabaseName", analytics.database_name)
    pulumi.export("GlueTableName", analytics.table_name)
    pulumi.export("GlueQueryTableName", analytics.query_table_name)
    pulumi.export("GlueStreamTableName", analytics.stream_table_name)
    pulumi.export("AthenaWorkgroupName", analytics.workgroup_name)
