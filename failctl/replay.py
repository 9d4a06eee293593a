"""`failctl replay`: re-drive archived failures, at most once each, never deleting a record.

Async records re-invoke the original function asynchronously with the original payload;
stream records re-invoke the consumer with the stored batch and report what it still
rejects. Throttling and transient errors are retried with backoff by botocore's adaptive
retry mode; whatever still fails is reported and left unmarked for a later run.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from tqdm import tqdm

from failctl.records import MalformedRecordError, Store, async_keys, days, parse_record, stream_keys
from handlers.failure_records import FailureSummary, NotAFailureRecordError, summarize


@dataclass(frozen=True)
class Selection:
    function: str | None = None
    first: date | None = None
    last: date | None = None
    error_type: str | None = None
    action: str | None = None

    def matches(self, summary: FailureSummary) -> bool:
        if self.function and summary.function != self.function:
            return False
        if self.error_type and self.error_type not in (summary.error_type, summary.condition):
            return False
        if self.action:
            payload = summary.request_payload
            if summary.kind != "async" or not isinstance(payload, dict) or payload.get("action") != self.action:
                return False
        return True


@dataclass
class Planned:
    summary: FailureSummary
    replayed_at: str | None

    @property
    def target(self) -> str:
        mode = "Event" if self.summary.kind == "async" else f"RequestResponse, {len(self.summary.batch)} records"
        return f"{self.summary.function} ({mode})"


@dataclass
class Outcome:
    key: str
    status: str  # replayed, skipped, failed, partial
    detail: str = ""


@dataclass
class ReplayReport:
    outcomes: list[Outcome] = field(default_factory=list)
    unreadable: list[tuple[str, str]] = field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(1 for o in self.outcomes if o.status == status)


def select(store: Store, selection: Selection, report: ReplayReport) -> Iterator[Planned]:
    wanted = days(selection.first, selection.last) if selection.first and selection.last else None
    for located in [*async_keys(store, wanted), *stream_keys(store, wanted)]:
        try:
            summary = summarize(located.key, parse_record(store.read(located.key)))
        except (MalformedRecordError, NotAFailureRecordError) as error:
            report.unreadable.append((located.key, str(error)))
            continue
        if selection.matches(summary):
            yield Planned(summary, store.replayed_at(located.key))


def _invoke(client: Any, planned: Planned) -> Outcome:
    summary = planned.summary
    if summary.kind == "async":
        client.invoke(
            FunctionName=summary.function, InvocationType="Event", Payload=json.dumps(summary.request_payload)
        )
        return Outcome(summary.key, "replayed", f"re-invoked {summary.function} asynchronously")
    response = client.invoke(
        FunctionName=summary.function,
        InvocationType="RequestResponse",
        Payload=json.dumps({"Records": summary.batch}),
    )
    body = response["Payload"].read() if hasattr(response.get("Payload"), "read") else response.get("Payload", b"")
    if response.get("FunctionError"):
        return Outcome(summary.key, "failed", f"{summary.function} failed again: {body[:200]!r}")
    still_failing = (json.loads(body or b"{}") or {}).get("batchItemFailures", [])
    if still_failing:
        ids = ", ".join(f["itemIdentifier"] for f in still_failing)
        return Outcome(summary.key, "partial", f"{len(still_failing)} records still rejected: {ids}")
    return Outcome(summary.key, "replayed", f"batch of {len(summary.batch)} accepted by {summary.function}")


def execute(store: Store, client: Any, plan: list[Planned], report: ReplayReport, progress: bool = True) -> None:
    for planned in tqdm(plan, desc="replaying", unit="record", file=sys.stderr, disable=not progress):
        key = planned.summary.key
        if planned.replayed_at or store.replayed_at(key):
            report.outcomes.append(Outcome(key, "skipped", f"already replayed at {planned.replayed_at}"))
            continue
        try:
            outcome = _invoke(client, planned)
        except (ClientError, BotoCoreError) as error:
            report.outcomes.append(Outcome(key, "failed", str(error)))
            continue
        if outcome.status in ("replayed", "partial"):
            # Marked once re-driven: a partially rejected batch is not sent a second time.
            store.mark_replayed(key, datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))
        report.outcomes.append(outcome)


def lambda_client() -> Any:
    import boto3
    from botocore.config import Config

    return boto3.client("lambda", config=Config(retries={"mode": "adaptive", "max_attempts": 8}))
