"""DynamoDB Streams events in the shape Lambda delivers them (see the AWS record reference)."""

from __future__ import annotations

from typing import Any

STREAM_ARN = "arn:aws:dynamodb:eu-west-1:123456789012:table/lambda-failures-test-orders/stream/2026-11-01T00:00:00.000"


def _image(item: dict[str, Any]) -> dict[str, Any]:
    typed = {}
    for key, value in item.items():
        if isinstance(value, bool):
            typed[key] = {"BOOL": value}
        elif isinstance(value, int | float):
            typed[key] = {"N": str(value)}
        else:
            typed[key] = {"S": value}
    return typed


def record(seq: int, event_name: str, new: dict | None = None, old: dict | None = None) -> dict[str, Any]:
    item = new or old or {}
    change: dict[str, Any] = {
        "ApproximateCreationDateTime": 1763800000,
        "Keys": {"pk": {"S": item.get("pk", "order#missing")}},
        "SequenceNumber": f"{seq:021d}",
        "SizeBytes": 64,
        "StreamViewType": "NEW_AND_OLD_IMAGES",
    }
    if new is not None:
        change["NewImage"] = _image(new)
    if old is not None:
        change["OldImage"] = _image(old)
    return {
        "eventID": f"event-{seq}",
        "eventName": event_name,
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": "eu-west-1",
        "dynamodb": change,
        "eventSourceARN": STREAM_ARN,
    }


def order(order_id: str, amount: Any = 10, status: str = "PENDING") -> dict[str, Any]:
    return {"pk": f"order#{order_id}", "amount": amount, "status": status}


def event(*records: dict[str, Any]) -> dict[str, Any]:
    return {"Records": list(records)}
