"""A team's stack: its own functions, and one it already runs, failing into the shared archive.

It reads the archive stack's outputs through a StackReference and deploys the team's code from
`functions/` (a Python stream consumer built on Powertools' batch utility, a Node.js function
invoked asynchronously) with the archive's guarantees around it: S3 grants scoped by
s3:ResourceAccount, the archive key used only through S3, bounded retries, bisection, partial
batch responses, and alarms on lost failures. A function the team deployed with another tool
(`legacyFunction`, with its role `legacyRole`) gets the same capture without being redeployed.
The archive stack lists the async functions in its `analyticsFunctionNames` so its Athena
table sees their failures.
"""

import pulumi

from lambda_failures import (
    AlarmTarget,
    ArchiveTarget,
    AsyncCapture,
    AsyncFunction,
    AsyncFunctionArgs,
    AsyncSettings,
    FailureCapture,
    FailureCaptureArgs,
    StreamConsumer,
    StreamConsumerArgs,
    StreamSettings,
    aws_context,
)

config = pulumi.Config()
prefix = config.get("namePrefix") or f"orders-{pulumi.get_stack()}"
archive_stack = pulumi.StackReference(config.require("archiveStack"))
ctx = aws_context()
archive = ArchiveTarget.from_stack_reference(archive_stack)
alarms = AlarmTarget(archive_stack.require_output("AlertTopicArn"), {"project": "lambda-failures-consumer"})
shared = {"aws": ctx, "archive": archive, "alarms": alarms}

receipts = AsyncFunction(
    "receipts",
    AsyncFunctionArgs(
        name_prefix=f"{prefix}-receipts",
        code=pulumi.FileArchive("./functions/receipts"),
        handler="index.handler",
        runtime="nodejs22.x",
        memory_mb=256,
        settings=AsyncSettings(max_retry_attempts=1),
        **shared,
    ),
)
inventory = StreamConsumer(
    "inventory",
    StreamConsumerArgs(
        name_prefix=f"{prefix}-inventory",
        code=pulumi.FileArchive("./functions/inventory"),
        handler="app.handler",
        runtime="python3.13",
        powertools=True,  # the AWS-published Powertools layer: the batch utility the code imports
        settings=StreamSettings(max_retry_attempts=2),
        **shared,
    ),
)
legacy = FailureCapture(
    "legacy",
    FailureCaptureArgs(
        function=config.get("legacyFunction") or "invoicing-legacy",
        role=config.get("legacyRole") or "invoicing-legacy-role",
        invoke=AsyncCapture(max_retry_attempts=2, max_event_age_seconds=3600),
        **shared,
    ),
)

pulumi.export("ReceiptsFunctionName", receipts.function_name)
pulumi.export("InventoryFunctionName", inventory.function_name)
pulumi.export("InventoryTableName", inventory.table_name)
pulumi.export("LegacyFunctionName", legacy.function_name)
