"""The asynchronously invoked function: three actions, and failures with meaningful types.

Every failure raises a named exception, because Lambda writes the exception's class name
as `errorType` in the failure record: operators group and replay by it.

Events:
    {"action": "process",   "value": <number >= 0>}
    {"action": "validate",  "value": <non-empty string>}
    {"action": "calculate", "value": [<number>, ...]}   (non-empty)
    {"forceError": true}                               (fails on purpose)
"""

from __future__ import annotations

import math
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from lambda_failures.handlers.tracing import traced_handler

logger = Logger()
metrics = Metrics()

ACTIONS = ("process", "validate", "calculate")


class ProcessorError(Exception):
    """Base of every failure the processor raises on purpose."""


class InvalidEventError(ProcessorError):
    """The event is not an object, or a field is missing or of the wrong type."""


class UnknownActionError(ProcessorError):
    """The action is not one of process, validate, calculate."""


class NegativeNumberError(ProcessorError):
    """`process` was given a number below zero."""


class EmptyValueError(ProcessorError):
    """`validate` was given an empty string, or `calculate` an empty list."""


class NumberOutOfRangeError(InvalidEventError):
    """A number, or a result computed from it, does not fit a finite JSON double."""


class ForcedError(ProcessorError):
    """The event asked to fail (`forceError: true`), to exercise the failure path."""


def _number(value: object, field: str) -> float:
    """A finite number (an int stays an int): integers beyond a double's range are refused,
    not overflowed later in arithmetic."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidEventError(f"{field} must be a number, got {type(value).__name__}")
    try:
        number = float(value)
    except OverflowError:
        raise NumberOutOfRangeError(f"{field} does not fit a 64-bit float") from None
    if not math.isfinite(number):
        raise InvalidEventError(f"{field} must be a finite number, got {number}")
    return value


def _finite(value: float, what: str) -> float:
    """Results are JSON: inf and nan are not, so an overflowing result is a named failure."""
    try:
        finite = math.isfinite(value)
    except OverflowError:  # an int past a double's range
        finite = False
    if not finite:
        raise NumberOutOfRangeError(f"{what} overflows a 64-bit float")
    return value


def process(value: Any) -> dict[str, Any]:
    number = _number(value, "value")
    if number < 0:
        raise NegativeNumberError(f"value must be >= 0, got {number}")
    return {"action": "process", "result": _finite(number * 2, "value * 2")}


def validate(value: Any) -> dict[str, Any]:
    if not isinstance(value, str):
        raise InvalidEventError(f"value must be a string, got {type(value).__name__}")
    if not value.strip():
        raise EmptyValueError("value must be a non-empty string")
    return {"action": "validate", "result": "valid", "length": len(value)}


def calculate(value: Any) -> dict[str, Any]:
    if not isinstance(value, list):
        raise InvalidEventError(f"value must be a list of numbers, got {type(value).__name__}")
    if not value:
        raise EmptyValueError("value must be a non-empty list of numbers")
    numbers = [_number(v, f"value[{i}]") for i, v in enumerate(value)]
    try:
        total = _finite(math.fsum(numbers), "the sum")
    except OverflowError:
        raise NumberOutOfRangeError("the sum overflows a 64-bit float") from None
    return {
        "action": "calculate",
        "result": {
            "sum": total,
            "mean": total / len(numbers),
            "min": min(numbers),
            "max": max(numbers),
        },
    }


HANDLERS = {"process": process, "validate": validate, "calculate": calculate}


def handle_event(event: Any) -> dict[str, Any]:
    """Pure domain logic: the entry point below only adds logging and metrics."""
    if not isinstance(event, dict):
        raise InvalidEventError(f"event must be a JSON object, got {type(event).__name__}")
    if event.get("forceError") is True:
        raise ForcedError("forceError was set on the event")
    if "action" not in event:
        raise InvalidEventError("event has no 'action' field")
    action = event["action"]
    if not isinstance(action, str):
        raise InvalidEventError(f"action must be a string, got {type(action).__name__}")
    if action not in HANDLERS:
        raise UnknownActionError(f"unknown action {action!r}; expected one of {', '.join(ACTIONS)}")
    if "value" not in event:
        raise InvalidEventError(f"action {action!r} needs a 'value' field")
    return HANDLERS[action](event["value"])


@traced_handler
@metrics.log_metrics
@logger.inject_lambda_context
def handler(event: Any, context: LambdaContext) -> dict[str, Any]:
    try:
        result = handle_event(event)
    except ProcessorError as error:
        metrics.add_metric(name="FailedEvents", unit=MetricUnit.Count, value=1)
        logger.warning("event failed", extra={"error_type": type(error).__name__})
        raise
    metrics.add_metric(name="ProcessedEvents", unit=MetricUnit.Count, value=1)
    logger.info("event processed", extra={"action": result["action"]})
    return result
