"""Failed AWS Lambda events, captured and guarded as code.

The public API for Pulumi programs (README, "Use it from your own program"):

    from lambda_failures import ArchiveTarget, AsyncFunction, AsyncFunctionArgs

Names are resolved on first use (module `__getattr__`): importing this package imports nothing,
because Lambda functions ship it with only the modules their handler needs (see
components/lambda_function.py) and the tooling imports parts of it without Pulumi.
"""

from __future__ import annotations

import importlib
from typing import Any

# public name -> the module that owns it
_EXPORTS = {
    "FailureArchive": "lambda_failures.components.failure_archive",
    "FailureArchiveArgs": "lambda_failures.components.failure_archive",
    "ArchiveTarget": "lambda_failures.components.async_function",
    "AsyncFunction": "lambda_failures.components.async_function",
    "AsyncFunctionArgs": "lambda_failures.components.async_function",
    "StreamConsumer": "lambda_failures.components.stream_consumer",
    "StreamConsumerArgs": "lambda_failures.components.stream_consumer",
    "StreamSource": "lambda_failures.components.stream_consumer",
    "FailureCapture": "lambda_failures.components.failure_capture",
    "FailureCaptureArgs": "lambda_failures.components.failure_capture",
    "AsyncCapture": "lambda_failures.components.failure_capture",
    "StreamCapture": "lambda_failures.components.failure_capture",
    "MskSource": "lambda_failures.components.stream_sources",
    "KafkaSource": "lambda_failures.components.stream_sources",
    "Pollers": "lambda_failures.components.stream_sources",
    "FunctionSpec": "lambda_failures.components.function_spec",
    "VpcConfig": "lambda_failures.components.function_spec",
    "Tracing": "lambda_failures.components.function_spec",
    "AlarmTarget": "lambda_failures.components.alarms",
    "AwsContext": "lambda_failures.components.naming",
    "aws_context": "lambda_failures.components.naming",
    "project_function": "lambda_failures.components.lambda_function",
    "ArchiveSettings": "lambda_failures.components.settings",
    "AsyncSettings": "lambda_failures.components.settings",
    "StreamSettings": "lambda_failures.components.settings",
    "StreamSourceKind": "lambda_failures.components.settings",
    "SuccessDestination": "lambda_failures.components.settings",
    "StartingPosition": "lambda_failures.components.settings",
    "BucketNamespace": "lambda_failures.components.settings",
    "ConfigError": "lambda_failures.components.settings",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'lambda_failures' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])
