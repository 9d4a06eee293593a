"""The orders team's function: Lambda invokes it asynchronously; what it raises ends in the archive."""

import os


def handler(event, context):
    if not isinstance(event, dict) or "orderId" not in event:
        raise ValueError("an order event needs an orderId")
    return {"orderId": event["orderId"], "partner": os.environ.get("PARTNER_API", "")}
