"""DynamoDB Streams consumer for order events, with partial batch responses.

Each record is validated on its own; a bad record raises a named exception and becomes a
`batchItemFailures` entry (its sequence number), so the good records around it are
checkpointed and only the bad one is retried, bisected, and finally archived to S3.

Order items: {"pk": "order#<id>", "amount": <number > 0>, "status": <one of STATUSES>}.

Only the three attributes the rules read are decoded, straight from the stream's typed
JSON: the rest of the image (however wide, whatever it holds) is never deserialized, so it
costs nothing and cannot fail a record. Every way a record can be wrong is a named error
for that record alone; only a batch that Lambda could not have sent (not an object, no
`Records` list, a record without a sequence number to report) fails as a whole.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse

from lambda_failures.handlers.tracing import traced_handler

if TYPE_CHECKING:  # annotations only: not imported at cold start
    from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
    from aws_lambda_powertools.utilities.typing import LambdaContext

logger = Logger()
metrics = Metrics()
batch_processor = BatchProcessor(event_type=EventType.DynamoDBStreams)

STATUSES = ("PENDING", "PAID", "SHIPPED", "CANCELLED")
EVENT_NAMES = ("INSERT", "MODIFY", "REMOVE")
SEEN_LIMIT = 50_000
# DynamoDB numbers carry at most 38 significant digits, within 1e-130..1e126.
MAX_NUMBER_TEXT = 64


class OrderRecordError(Exception):
    """Base of every reason a stream record is rejected."""


class MissingImageError(OrderRecordError):
    """INSERT/MODIFY without a NewImage (stream view type lacks new images), or REMOVE without keys."""


class InvalidOrderError(OrderRecordError):
    """The order in the image breaks a business rule (amount, status, id)."""


class MalformedRecordError(OrderRecordError):
    """The record is not a DynamoDB stream record (event name, image shape)."""


class InvalidBatchError(Exception):
    """The event is not a batch Lambda could have sent; it fails as a whole."""


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


def _typed(image: Mapping[str, Any], name: str, type_: str) -> Any:
    """The value of one attribute of DynamoDB's typed JSON ({"S": ...}, {"N": ...}), or None."""
    attribute = image.get(name)
    if not isinstance(attribute, Mapping) or len(attribute) != 1:
        return None
    return attribute.get(type_)


def _amount(image: Mapping[str, Any], pk: str) -> Decimal:
    text = _typed(image, "amount", "N")
    if not isinstance(text, str) or len(text) > MAX_NUMBER_TEXT:
        raise InvalidOrderError(f"{pk}: amount must be a number, got {_kind(image.get('amount'))}")
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise InvalidOrderError(f"{pk}: amount must be a number, got {text!r}") from None
    if not amount.is_finite():
        raise InvalidOrderError(f"{pk}: amount must be a finite number, got {text!r}")
    if not amount > 0:
        raise InvalidOrderError(f"{pk}: amount must be greater than 0, got {text}")
    return amount


def _kind(attribute: Any) -> str:
    if isinstance(attribute, Mapping) and len(attribute) == 1:
        return f"a DynamoDB {next(iter(attribute))}"
    return "nothing" if attribute is None else type(attribute).__name__


def validate_order(image: Mapping[str, Any]) -> dict[str, Any]:
    """The order a typed image describes, or InvalidOrderError naming the broken rule."""
    pk = _typed(image, "pk", "S")
    if not isinstance(pk, str) or not pk.startswith("order#") or pk == "order#":
        raise InvalidOrderError(f"pk must look like 'order#<id>', got {pk!r}")
    amount = _amount(image, pk)
    status = _typed(image, "status", "S")
    if status not in STATUSES:
        raise InvalidOrderError(f"{pk}: status must be one of {', '.join(STATUSES)}, got {status!r}")
    return {"order_id": pk.removeprefix("order#"), "amount": amount, "status": status}


def handle_record(record: Mapping[str, Any]) -> dict[str, Any]:
    """Domain logic for one raw stream record; returns what was done, raises on a bad record."""
    event_name = record.get("eventName")
    if event_name not in EVENT_NAMES:
        raise MalformedRecordError(f"eventName must be one of {', '.join(EVENT_NAMES)}, got {event_name!r}")
    change = record.get("dynamodb")
    change = change if isinstance(change, Mapping) else {}
    if event_name == "REMOVE":
        keys = change.get("Keys")
        pk = _typed(keys, "pk", "S") if isinstance(keys, Mapping) else None
        if not isinstance(pk, str):
            raise MissingImageError("REMOVE record has no pk key")
        return {"action": "removed", "pk": pk}
    image = change.get("NewImage")
    if not isinstance(image, Mapping) or not image:
        raise MissingImageError(f"{event_name} record has no NewImage")
    order = validate_order(image)
    return {"action": "upserted" if event_name == "INSERT" else "updated", **order}


def _record_id(raw: Mapping[str, Any]) -> str:
    event_id = raw.get("eventID")
    return event_id if isinstance(event_id, str) else raw["dynamodb"]["SequenceNumber"]


def record_handler(record: DynamoDBRecord) -> dict[str, Any] | None:
    raw = record.raw_event
    record_id = _record_id(raw)
    if processed.seen(record_id):
        logger.info("record already processed, skipped", extra={"event_id": record_id})
        return None
    try:
        result = handle_record(raw)
    except OrderRecordError as error:
        logger.warning(
            "record rejected",
            extra={"error_type": type(error).__name__, "reason": str(error), "event_id": record_id},
        )
        raise
    processed.add(record_id)
    return result


def check_batch(event: Any) -> list[Any]:
    """The batch's records, each reportable by its sequence number; else InvalidBatchError."""
    if not isinstance(event, Mapping):
        raise InvalidBatchError(f"event must be an object with Records, got {type(event).__name__}")
    records = event.get("Records")
    if not isinstance(records, list):
        raise InvalidBatchError(f"Records must be a list, got {type(records).__name__}")
    for index, raw in enumerate(records):
        change = raw.get("dynamodb") if isinstance(raw, Mapping) else None
        sequence = change.get("SequenceNumber") if isinstance(change, Mapping) else None
        if not isinstance(sequence, str) or not sequence:
            raise InvalidBatchError(f"record #{index} has no dynamodb.SequenceNumber, so it cannot be reported alone")
    return records


@traced_handler
@metrics.log_metrics
@logger.inject_lambda_context
def handler(event: Any, context: LambdaContext) -> PartialItemFailureResponse:
    # One metric per batch, not per record: a 10,000-record batch would otherwise emit 100 EMF blobs.
    try:
        total = len(check_batch(event))
    except InvalidBatchError:
        metrics.add_metric(name="InvalidBatches", unit=MetricUnit.Count, value=1)
        raise
    try:
        response = process_partial_response(
            event=event, record_handler=record_handler, processor=batch_processor, context=context
        )
    except Exception:
        metrics.add_metric(name="RejectedRecords", unit=MetricUnit.Count, value=total)
        raise
    rejected = len(response.get("batchItemFailures", []))
    metrics.add_metric(name="ProcessedRecords", unit=MetricUnit.Count, value=total - rejected)
    metrics.add_metric(name="RejectedRecords", unit=MetricUnit.Count, value=rejected)
    return response
