"""The failure archive's format, owned here once: where Lambda writes failure records, what a
record holds, how to read one safely, and the table schema the Glue tables and the local
query engine share.

Handlers, components and failctl all import this module; the Lambda packaging ships it with
every handler that imports it. It depends on the standard library (and json_depth) only.

Key layout (written by Lambda, read by everything else):
    aws/lambda/async/<function>/YYYY/MM/DD/YYYY-MM-DDTHH.MM.SS-<uuid>             (async)
    aws/lambda/<esm-uuid>/<shard-id>/YYYY/MM/DD/YYYY-MM-DDTHH.MM.SS-<uuid>        (streams)
    markers/{alerts,replays,auto-replays,compactions}/...   claims of this project (never under
                                                aws/lambda/, so they trigger no notification)
    compacted/failed_events/<function>/YYYY/MM/DD/part-NNNNN.parquet   closed days, compacted
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from lambda_failures.json_depth import MAX_DEPTH, depth_exceeds

RECORD_PREFIX = "aws/lambda/"  # what S3 notifications and the processor's grants cover
ASYNC_PREFIX = f"{RECORD_PREFIX}async/"
STREAM_PREFIX = RECORD_PREFIX  # then <esm-uuid>/<shard-id>/
DAY_FORMAT = "%Y/%m/%d"  # the key's YYYY/MM/DD, and the `day` partition projected from it
# DAY_FORMAT's codes as a key's digits and as Java's date pattern, which Athena's projection reads.
_DAY_DIGITS = {"%Y": r"\d{4}", "%m": r"\d{2}", "%d": r"\d{2}"}
_DAY_JAVA = {"%Y": "yyyy", "%m": "MM", "%d": "dd"}


def _day_digits(code: re.Match[str]) -> str:
    return _DAY_DIGITS[code[0]]


def _day_java(code: re.Match[str]) -> str:
    return _DAY_JAVA[code[0]]


DAY_PROJECTION_FORMAT = re.sub("%[Ymd]", _day_java, DAY_FORMAT)
# A day in a key, as DAY_FORMAT writes it, between two folder separators.
DAY_IN_KEY = re.compile("/(" + re.sub("%[Ymd]", _day_digits, re.escape(DAY_FORMAT)) + ")/")

MARKER_PREFIX = "markers/"
ALERT_MARKERS = f"{MARKER_PREFIX}alerts/"  # one per object alerted on
REPLAY_MARKERS = f"{MARKER_PREFIX}replays/"  # one per record re-driven by failctl replay
AUTO_REPLAY_MARKERS = f"{MARKER_PREFIX}auto-replays/"  # one per request re-driven automatically
COMPACTION_MARKERS = f"{MARKER_PREFIX}compactions/"  # one per function and day compacted

# The async table's closed days as zstd Parquet (same columns, partitions included):
#   compacted/failed_events/<function>/YYYY/MM/DD/part-NNNNN.parquet
COMPACTED_PREFIX = "compacted/failed_events/"
# The same days compacted by Athena into the Glue table of compacted days (its own location and
# claims: Athena lays files out as Hive partitions, and its view reads its own claims):
#   compacted/athena/failed_events/...   markers/athena-compactions/<function>/YYYY/MM/DD/claim
ATHENA_COMPACTED_PREFIX = "compacted/athena/failed_events/"
ATHENA_COMPACTION_MARKERS = f"{MARKER_PREFIX}athena-compactions/"
ATHENA_EXPIRY_MARKERS = f"{MARKER_PREFIX}athena-expirations/"  # raw days expired after compaction

ALERTED_TAG = "failure-alerted"  # courtesy object tags, for people browsing the bucket
REPLAYED_TAG = "failure-replayed"

ASYNC_TABLE = "failed_events"
STREAM_TABLE = "stream_failures"


def day_path(day: date) -> str:
    return day.strftime(DAY_FORMAT)


def path_day(path: str) -> date | None:
    """The day a YYYY/MM/DD path names, or None when it names none."""
    try:
        return datetime.strptime(path, DAY_FORMAT).date()
    except ValueError:
        return None


def _key_time(moment: datetime) -> str:
    return moment.strftime(f"{DAY_FORMAT}/%Y-%m-%dT%H.%M.%S")


def async_failure_key(function_name: str, moment: datetime, object_id: str | None = None) -> str:
    """aws/lambda/async/<function>/YYYY/MM/DD/YYYY-MM-DDTHH.MM.SS-<uuid>"""
    return f"{ASYNC_PREFIX}{function_name}/{_key_time(moment)}-{object_id or uuid.uuid4()}"


def stream_failure_key(mapping_uuid: str, shard_id: str, moment: datetime, object_id: str | None = None) -> str:
    """aws/lambda/<esm-uuid>/<shard-id>/YYYY/MM/DD/YYYY-MM-DDTHH.MM.SS-<uuid>"""
    return f"{STREAM_PREFIX}{mapping_uuid}/{shard_id}/{_key_time(moment)}-{object_id or uuid.uuid4()}"


def compacted_day_prefix(function_name: str, day: date) -> str:
    """Where one function's compacted day lies (its marker is named `<function>/YYYY/MM/DD`)."""
    return f"{COMPACTED_PREFIX}{function_name}/{day_path(day)}/"


def key_day(key: str) -> str | None:
    """The YYYY/MM/DD a record key carries, or None."""
    match = DAY_IN_KEY.search(key)
    return match.group(1) if match else None


# --------------------------------------------------------------------------------------------
# Reading records


class NotAFailureRecordError(ValueError):
    """The object is not one failure record as Lambda writes them."""


MalformedRecordError = NotAFailureRecordError  # the name the query and replay code read best


_DECODER = json.JSONDecoder()  # stateless: one serves every record


def parse_record(data: bytes) -> dict[str, Any]:
    """One JSON object per S3 object, as Lambda writes it; anything else is NotAFailureRecordError."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise NotAFailureRecordError("not UTF-8 text") from None
    stripped = text.strip()
    if not stripped:
        raise NotAFailureRecordError("empty object")
    if depth_exceeds(stripped):
        raise NotAFailureRecordError(f"JSON nested too deeply to read (more than {MAX_DEPTH} levels)")
    try:
        value, end = _DECODER.raw_decode(stripped)
    except json.JSONDecodeError as error:
        raise NotAFailureRecordError(f"not JSON or truncated ({error.msg} at char {error.pos})") from None
    except RecursionError:
        raise NotAFailureRecordError("JSON nested too deeply to read") from None
    if stripped[end:].strip():
        raise NotAFailureRecordError("several JSON documents in one object")
    if not isinstance(value, dict):
        raise NotAFailureRecordError(f"a JSON {type(value).__name__}, not a record object")
    return value


# Whether an async event never ran is told by its invoke count, not its condition: with a
# short maximum event age, code that failed on its first attempt also ends as
# `EventAgeExceeded` (during the 1- and 2-minute retry waits). Only a record with
# `approximateInvokeCount` 0 (throttled or aged out before a first attempt, or reserved
# concurrency 0) is an event the code never saw, which re-driving unchanged can help.


@dataclass
class FailureSummary:
    kind: str  # "async" or "stream"
    key: str
    function: str
    condition: str
    error_type: str | None = None
    error_message: str | None = None
    request_id: str | None = None
    shard_id: str | None = None
    sequence_range: str | None = None
    batch_size: int | None = None
    source_arn: str | None = None
    invoke_count: int | None = None  # approximateInvokeCount, when the record states a whole number
    function_arn: str | None = None  # requestContext.functionArn as written (account, region, qualifier)
    request_payload: Any = None
    batch: list[dict[str, Any]] = field(default_factory=list)
    # The stored event itself where it is not `{"Records": batch}`: a Kafka record keeps the
    # Kafka event (records keyed by topic-partition), which is what its function takes.
    event: dict[str, Any] | None = None

    @property
    def retryable(self) -> bool:
        """The code never ran on this event (see above): re-driving it cannot repeat a run."""
        return self.kind == "async" and self.invoke_count == 0

    @property
    def function_address(self) -> tuple[str, str, str] | None:
        """(region, account, unqualified ARN) of the function the record names, or None when
        its `functionArn` is not a Lambda function ARN. A replay targets this ARN, never a
        function of the same name wherever the caller's credentials point."""
        parts = (self.function_arn or "").split(":")
        if len(parts) < 7 or parts[0] != "arn" or parts[2] != "lambda" or parts[5] != "function":
            return None
        return parts[3], parts[4], ":".join(parts[:7])

    @property
    def replay_event(self) -> dict[str, Any]:
        """What a stream record's function is invoked with to re-drive it."""
        return self.event if self.event is not None else {"Records": self.batch}

    @property
    def record_count(self) -> int:
        if self.event is not None:
            return sum(len(r) for r in (self.event.get("records") or {}).values() if isinstance(r, list))
        return len(self.batch)


def _function_name(arn: Any) -> str:
    """`arn:aws:lambda:region:acct:function:name[:qualifier]` -> name."""
    if not isinstance(arn, str):
        return "unknown"
    parts = arn.split(":")
    return parts[6] if len(parts) > 6 else arn


def request_context(record: dict[str, Any]) -> dict[str, Any]:
    """The `requestContext` object every invocation record carries (success or failure), or {}."""
    context = record.get("requestContext")
    return context if isinstance(context, dict) else {}


def summarize(key: str, record: dict[str, Any]) -> FailureSummary:
    context = request_context(record)
    if not context:
        raise NotAFailureRecordError("no requestContext object")
    common: dict[str, Any] = {
        "key": key,
        "function": _function_name(context.get("functionArn")),
        "condition": str(context.get("condition") or "unknown"),
        "request_id": context.get("requestId"),
        "invoke_count": _whole_number(context.get("approximateInvokeCount")),
        "function_arn": context.get("functionArn") if isinstance(context.get("functionArn"), str) else None,
    }
    kafka = record.get("KafkaBatchInfo")
    if isinstance(kafka, dict):
        return _kafka_summary(kafka, record.get("payload"), common)
    batch_info = record.get("DDBStreamBatchInfo") or record.get("KinesisBatchInfo")
    if isinstance(batch_info, dict):
        return FailureSummary(
            kind="stream",
            shard_id=batch_info.get("shardId"),
            sequence_range=f"{batch_info.get('startSequenceNumber')}..{batch_info.get('endSequenceNumber')}",
            batch_size=batch_info.get("batchSize"),
            source_arn=batch_info.get("streamArn"),
            batch=_batch(record.get("payload")),
            **common,
        )
    if "requestPayload" not in record:
        raise NotAFailureRecordError("neither requestPayload nor stream batch info")
    response = record.get("responsePayload")
    response = response if isinstance(response, dict) else {}
    return FailureSummary(
        kind="async",
        error_type=response.get("errorType"),
        error_message=response.get("errorMessage"),
        request_payload=record.get("requestPayload"),
        **common,
    )


def _kafka_summary(info: dict[str, Any], payload: Any, common: dict[str, Any]) -> FailureSummary:
    """An MSK or self-managed Kafka record: `KafkaBatchInfo`, and the Kafka event as `payload`
    (an object, or its JSON text), absent when the batch was too large to keep."""
    if isinstance(payload, str):
        try:
            payload = json.loads(payload)
        except json.JSONDecodeError:
            payload = None
    event = payload if isinstance(payload, dict) and isinstance(payload.get("records"), dict) else None
    record_info = info.get("recordInfo")
    offsets = record_info if isinstance(record_info, dict) else {}
    return FailureSummary(
        kind="stream",
        shard_id=",".join(sorted(str(p) for p in event["records"])) if event else None,
        sequence_range=f"offset {offsets.get('offset')}" if offsets.get("offset") is not None else None,
        batch_size=info.get("batchSize"),
        source_arn=info.get("eventSourceArn"),
        event=event,
        **common,
    )


def _whole_number(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _batch(payload: Any) -> list[dict[str, Any]]:
    """The stored batch: `payload` is a JSON string holding {"Records": [...]}."""
    if not isinstance(payload, str):
        return []
    if depth_exceeds(payload):
        raise NotAFailureRecordError(f"payload nested too deeply to read (more than {MAX_DEPTH} levels)")
    try:
        decoded = json.loads(payload)
    except json.JSONDecodeError:
        return []
    records = decoded.get("Records") if isinstance(decoded, dict) else None
    return [r for r in records if isinstance(r, dict)] if isinstance(records, list) else []


# --------------------------------------------------------------------------------------------
# The table schema (Glue tables and the local engine)


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # Hive/Glue type; the DuckDB type is derived from it


REQUEST_CONTEXT = "struct<requestid:string,functionarn:string,condition:string,approximateinvokecount:int>"
RESPONSE_CONTEXT = "struct<statuscode:int,executedversion:string,functionerror:string>"
BATCH_INFO = (
    "struct<shardid:string,startsequencenumber:string,endsequencenumber:string,"
    "approximatearrivaloffirstrecord:string,approximatearrivaloflastrecord:string,batchsize:int,streamarn:string>"
)

# requestpayload and responsepayload are kept as JSON text: a payload may be any JSON value.
ASYNC_COLUMNS = (
    Column("version", "string"),
    Column("timestamp", "string"),
    Column("requestcontext", REQUEST_CONTEXT),
    Column("requestpayload", "string"),
    Column("responsecontext", RESPONSE_CONTEXT),
    Column("responsepayload", "string"),
)
ASYNC_PARTITIONS = (Column("function_name", "string"), Column("day", "string"))

STREAM_COLUMNS = (
    Column("version", "string"),
    Column("timestamp", "string"),
    Column("requestcontext", REQUEST_CONTEXT),
    Column("responsecontext", RESPONSE_CONTEXT),
    Column("ddbstreambatchinfo", BATCH_INFO),
    Column("kinesisbatchinfo", BATCH_INFO),
    Column("payload", "string"),
)

# What a compaction claim holds (and the Glue table over Athena's claims reads).
COMPACTION_MARKER_COLUMNS = (Column("state", "string"), Column("at", "string"), Column("rows", "bigint"))
