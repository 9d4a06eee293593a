"""The inventory team's stream consumer: stock changes from the orders table.

Powertools' batch utility reports each bad record in `batchItemFailures`, so Lambda retries
only from it, bisects, and after the mapping's retries writes the failed batch to the archive.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord

logger = Logger()
processor = BatchProcessor(event_type=EventType.DynamoDBStreams)


class StockError(Exception):
    """A stock change that cannot be applied: the record is reported and retried alone."""


def reserve(record: DynamoDBRecord) -> None:
    image = record.dynamodb.new_image if record.dynamodb else None
    if not image:
        return  # a removal: nothing to reserve
    sku, quantity = image.get("sku"), image.get("quantity")
    if not isinstance(sku, str) or not sku:
        raise StockError(f"order {image.get('pk')!r} names no sku")
    if quantity is None or int(quantity) <= 0:
        raise StockError(f"order {image.get('pk')!r} reserves {quantity!r} of {sku}")
    logger.info("reserved", extra={"sku": sku, "quantity": int(quantity)})


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return process_partial_response(event=event, record_handler=reserve, processor=processor, context=context)
