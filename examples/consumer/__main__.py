"""A consumer stack: its own async function and stream consumer, failing into the shared archive.

It reads the archive stack's outputs through a StackReference and builds the same components
the archive stack uses, so its functions get the same guarantees: S3 grants scoped by
s3:ResourceAccount, the archive key used only through S3, bounded retries, bisection,
partial batch responses, and alarms on lost failures. The archive stack lists these
functions in its `analyticsFunctionNames` so its Athena table sees their failures.
"""

import pulumi

from lambda_failures import (
    AlarmTarget,
    ArchiveTarget,
    AsyncFunction,
    AsyncFunctionArgs,
    AsyncSettings,
    StreamConsumer,
    StreamConsumerArgs,
    StreamSettings,
    aws_context,
    project_function,
)

config = pulumi.Config()
prefix = config.get("namePrefix") or f"orders-{pulumi.get_stack()}"
archive_stack = pulumi.StackReference(config.require("archiveStack"))
ctx = aws_context()
archive = ArchiveTarget(
    bucket_name=archive_stack.require_output("FailedEventsBucketName"),
    bucket_arn=archive_stack.require_output("FailedEventsBucketArn"),
    grant_arn=archive_stack.require_output("FailedEventsGrantArn"),
    key_alias=archive_stack.require_output("FailureKeyAlias"),
)
alarms = AlarmTarget(archive_stack.require_output("AlertTopicArn"), {"project": "lambda-failures-consumer"})
shared = {"aws": ctx, "name_prefix": prefix, "archive": archive, "alarms": alarms}

orders = AsyncFunction(
    "orders",
    AsyncFunctionArgs(
        **project_function("lambda_failures.handlers.async_function"),
        settings=AsyncSettings(max_retry_attempts=1),
        **shared,
    ),
)
stream = StreamConsumer(
    "orders-stream",
    StreamConsumerArgs(
        **project_function("lambda_failures.handlers.stream_consumer"),
        settings=StreamSettings(max_retry_attempts=2),
        **shared,
    ),
)

pulumi.export("OrdersFunctionName", orders.function_name)
pulumi.export("OrdersStreamConsumerFunctionName", stream.function_name)
