"""Lambda's failure semantics, offline: async retries then an S3 invocation record, and a
stream mapping with partial batch responses, bisection, bounded retries and an S3 record.

The real handler functions run in-process; the timing between retries is not waited out.
"""

from __future__ import annotations

import contextlib
import io
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from failctl.emulation.lambda_writer import (
    async_failure_key,
    async_failure_record,
    stream_failure_key,
    stream_failure_record,
)

Handler = Callable[[Any, Any], Any]


@dataclass
class FakeContext:
    """The Lambda context a handler is given offline: what Powertools and the handlers read from it."""

    function_name: str
    invoked_function_arn: str
    memory_limit_in_mb: int = 256
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


def call_handler(handler: Handler, event: Any, context: FakeContext) -> Any:
    # Handlers print EMF metrics to stdout, as in Lambda; the emulator keeps them off the console.
    with contextlib.redirect_stdout(io.StringIO()):
        return handler(event, context)


@dataclass
class AsyncOutcome:
    event: Any
    attempts: int
    result: Any = None
    error: BaseException | None = None
    record_key: str | None = None


@dataclass
class AsyncFunctionEmulator:
    handler: Handler
    function_name: str
    function_arn: str
    max_retry_attempts: int
    s3: Any
    bucket: str

    def invoke_event(self, event: Any) -> AsyncOutcome:
        """Run once plus the configured retries; then write the record to the on-failure destination."""
        error: BaseException | None = None
        for attempt in range(1, self.max_retry_attempts + 2):
            try:
                result = call_handler(self.handler, event, FakeContext(self.function_name, self.function_arn))
                return AsyncOutcome(event, attempt, result=result)
            except Exception as raised:  # Lambda records any unhandled error, whatever its type
                error = raised
        moment = datetime.now(UTC)
        attempts = self.max_retry_attempts + 1
        record = async_failure_record(self.function_arn, event, moment, error, invoke_count=attempts)
        key = async_failure_key(self.function_name, moment)
        self.s3.put_object(Bucket=self.bucket, Key=key, Body=json.dumps(record).encode())
        return AsyncOutcome(event, attempts, error=error, record_key=key)


@dataclass
class StreamOutcome:
    invocations: int = 0
    bisections: int = 0
    checkpointed: int = 0
    record_keys: list[str] = field(default_factory=list)
    log: list[str] = field(default_factory=list)


@dataclass
class StreamMappingEmulator:
    """ReportBatchItemFailures: the batch is retried from the lowest failed sequence number.
    A function error (e.g. every record failed) bisects the batch; splitting does not count
    against the retry budget. After the retries, the remaining batch goes to S3."""

    handler: Handler
    function_name: str
    function_arn: str
    stream_arn: str
    shard_id: str
    mapping_uuid: str
    max_retry_attempts: int
    s3: Any
    bucket: str

    def deliver(self, records: list[dict[str, Any]]) -> StreamOutcome:
        outcome = StreamOutcome()
        pending: list[tuple[list[dict[str, Any]], int]] = [(records, 0)]
        while pending:
            batch, attempt = pending.pop(0)
            outcome.invocations += 1
            context = FakeContext(self.function_name, self.function_arn)
            try:
                response = call_handler(self.handler, {"Records": batch}, context)
                failed = {f["itemIdentifier"] for f in response.get("batchItemFailures", [])}
            except Exception as error:
                outcome.log.append(f"batch of {len(batch)} failed: {type(error).__name__}")
                if len(batch) > 1:
                    half = len(batch) // 2
                    outcome.bisections += 1
                    outcome.log.append(f"bisected into {half} + {len(batch) - half}")
                    pending[:0] = [(batch[:half], attempt), (batch[half:], attempt)]
                    continue
                failed = {batch[0]["dynamodb"]["SequenceNumber"]}
            if not failed:
                outcome.checkpointed += len(batch)
                continue
            first = min(i for i, r in enumerate(batch) if r["dynamodb"]["SequenceNumber"] in failed)
            outcome.checkpointed += first
            remaining = batch[first:]
            if attempt >= self.max_retry_attempts:
                outcome.record_keys.append(self._archive(remaining, attempt + 1))
                outcome.log.append(f"{len(remaining)} record(s) sent to the on-failure destination")
                continue
            outcome.log.append(f"retry {attempt + 1} from sequence {remaining[0]['dynamodb']['SequenceNumber']}")
            pending.insert(0, (remaining, attempt + 1))
        return outcome

    def _archive(self, batch: list[dict[str, Any]], invocations: int) -> str:
        moment = datetime.now(UTC)
        record = stream_failure_record(self.function_arn, self.stream_arn, self.shard_id, batch, moment, invocations)
        key = stream_failure_key(self.mapping_uuid, self.shard_id, moment)
        self.s3.put_object(Bucket=self.bucket, Key=key, Body=json.dumps(record).encode())
        return key


class InProcessLambda:
    """Lambda's Invoke as `failctl replay` calls it, answered by the named functions' handlers
    in-process: a synchronous invoke returns the handler's response or its error as Lambda
    reports it (`FunctionError`), an asynchronous one runs the handler and returns 202."""

    def __init__(self, handlers: dict[str, tuple[Handler, str]]) -> None:
        self._handlers = handlers  # function name -> (handler, function ARN)

    def invoke(self, FunctionName: str, InvocationType: str, Payload: str) -> dict[str, Any]:  # noqa: N803 (boto3's names)
        # Lambda takes a name or a function ARN (replay sends the record's unqualified ARN).
        name = FunctionName.split(":")[6] if FunctionName.startswith("arn:") else FunctionName
        handler, arn = self._handlers[name]
        try:
            result = call_handler(handler, json.loads(Payload), FakeContext(name, arn))
        except Exception as error:  # Lambda reports any unhandled error, whatever its type
            body = {"errorType": type(error).__name__, "errorMessage": str(error)}
            return {"StatusCode": 200, "FunctionError": "Unhandled", "Payload": io.BytesIO(json.dumps(body).encode())}
        if InvocationType == "Event":
            return {"StatusCode": 202, "Payload": io.BytesIO(b"")}
        return {"StatusCode": 200, "Payload": io.BytesIO(json.dumps(result).encode())}
