"""On-success destination: logs each invocation record Lambda delivers to it."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from lambda_failures.archive_format import request_context
from lambda_failures.handlers.tracing import traced_handler

logger = Logger()


def summarize(record: Any) -> dict[str, Any]:
    """The fields an operator reads first; tolerant of records that are not objects."""
    if not isinstance(record, dict):
        return {"record_type": type(record).__name__}
    context = request_context(record)
    return {
        "condition": context.get("condition"),
        "request_id": context.get("requestId"),
        "function_arn": context.get("functionArn"),
        "timestamp": record.get("timestamp"),
    }


@traced_handler
@logger.inject_lambda_context
def handler(event: Any, context: LambdaContext) -> dict[str, Any]:
    summary = summarize(event)
    logger.info("invocation record received", extra={"summary": summary, "record": event})
    return summary
