"""DynamoDB Streams consumer for order events, with partial batch responses.

Each record is validated on its own; a bad record raises a named exception and becomes a
`batchItemFailures` entry (its sequence number), so the good records around it are
checkpointed and only the bad one is retried, bisected, and finally archived to S3.

Order items: {"pk": "order#<id>", "amount": <number > 0>, "status": <one of STATUSES>}.
"""

from __future__ import annotations

from collections import OrderedDict
from decimal import Decimal
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import (
    DynamoDBRecord,
    DynamoDBRecordEventName,
)
from aws_lambda_powertools.utilities.typing import LambdaContext

logger = Logger()
metrics = Metrics()
processor = BatchProcessor(event_type=EventType.DynamoDBStreams)

STATUSES = ("PENDING", "PAID", "SHIPPED", "CANCELLED")
SEEN_LIMIT = 50_000


class OrderRecordError(Exception):
    """Base of every reason a stream record is rejected."""


class MissingImageError(OrderRecordError):
    """INSERT/MODIFY without a NewImage (stream view type lacks new images), or REMOVE without keys."""


class InvalidOrderError(OrderRecordError):
    """The order in the image breaks a business rule (amount, status, id)."""


class ProcessedRecords:
    """Event ids this container has already handled, so a retried or bisected batch that
    re-delivers a good record does not act on it twice. Bounded, oldest forgotten first."""

    def __init__(self, limit: int = SEEN_LIMIT) -> None:
        self._ids: OrderedDict[str, None] = OrderedDict()
        self._limit = limit

    def seen(self, record_id: str) -> bool:
        return record_id in self._ids

    def add(self, record_id: str) -> None:
        self._ids[record_id] = None
        if len(self._ids) > self._limit:
            self._ids.popitem(last=False)


processed = ProcessedRecords()


def validate_order(image: dict[str, Any]) -> dict[str, Any]:
    """The order an image describes, or InvalidOrderError naming the broken rule."""
    pk = image.get("pk")
    if not isinstance(pk, str) or not pk.startswith("order#") or pk == "order#":
        raise InvalidOrderError(f"pk must look like 'order#<id>', got {pk!r}")
    amount = image.get("amount")
    if isinstance(amount, bool) or not isinstance(amount, int | float | Decimal):
        raise InvalidOrderError(f"{pk}: amount must be a number, got {type(amount).__name__}")
    if not amount > 0:
        raise InvalidOrderError(f"{pk}: amount must be greater than 0, got {amount}")
    status = image.get("status")
    if status not in STATUSES:
        raise InvalidOrderError(f"{pk}: status must be one of {', '.join(STATUSES)}, got {status!r}")
    return {"order_id": pk.removeprefix("order#"), "amount": Decimal(str(amount)), "status": status}


def handle_record(record: DynamoDBRecord) -> dict[str, Any]:
    """Domain logic for one stream record; returns what was done, raises on a bad record."""
    event_name = record.event_name
    change = record.dynamodb
    if event_name == DynamoDBRecordEventName.REMOVE:
        keys = change.keys if change else None
        if not keys or "pk" not in keys:
            raise MissingImageError("REMOVE record has no pk key")
        return {"action": "removed", "pk": keys["pk"]}
    image = change.new_image if change else None
    if not image:
        raise MissingImageError(f"{event_name.name if event_name else 'unknown'} record has no NewImage")
    order = validate_order(image)
    return {"action": "upserted" if event_name == DynamoDBRecordEventName.INSERT else "updated", **order}


def record_handler(record: DynamoDBRecord) -> dict[str, Any] | None:
    record_id = record.event_id or (record.dynamodb.sequence_number if record.dynamodb else None) or ""
    if record_id and processed.seen(record_id):
        logger.info("record already processed, skipped", extra={"event_id": record_id})
        return None
    try:
        result = handle_record(record)
    except OrderRecordError as error:
        logger.warning(
            "record rejected",
            extra={"error_type": type(error).__name__, "reason": str(error), "event_id": record_id},
        )
        raise
    if record_id:
        processed.add(record_id)
    return result


@metrics.log_metrics
@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    # One metric per batch, not per record: a 10,000-record batch would otherwise emit 100 EMF blobs.
    total = len(event.get("Records") or [])
    try:
        response = process_partial_response(
            event=event, record_handler=record_handler, processor=processor, context=context
        )
    except Exception:
        metrics.add_metric(name="RejectedRecords", unit=MetricUnit.Count, value=total)
        raise
    rejected = len(response.get("batchItemFailures", []))
    metrics.add_metric(name="ProcessedRecords", unit=MetricUnit.Count, value=total - rejected)
    metrics.add_metric(name="RejectedRecords", unit=MetricUnit.Count, value=rejected)
    return response
