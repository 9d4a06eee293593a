"""`failctl replay`: re-drive archived failures, at most once each, never deleting a record.

Async records re-invoke the original function asynchronously with the original payload;
stream records re-invoke the consumer with the stored batch and report what it still
rejects.

Each record is claimed before it is re-driven (a marker created with an S3 conditional
write, or an exclusive file beside a folder source), so concurrent runs cannot both send
it. The outcome is written on the claim:
- done: Lambda accepted the invocation (or ran the batch);
- failed: Lambda answered with an error that proves it did not run it (throttled, refused,
  not found): retried here with backoff while the budget lasts, and claimable again later;
- uncertain: the request may have reached Lambda but no answer says so (a 5xx, a timeout,
  a dropped connection, a run killed mid-call, which leaves the claim as it was): reported,
  never re-driven automatically; `--retry-uncertain` re-drives it on purpose.
botocore's own retries are off for the invoke: a retried 5xx is how a record runs twice.
"""

from __future__ import annotations

import json
import random
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)
from tqdm import tqdm

from failctl.archive.stores import RecordLocation, Store, async_keys, days, read_many, stream_keys
from lambda_failures.archive_format import FailureSummary, NotAFailureRecordError, parse_record, summarize
from lambda_failures.claims import Claim, ClaimState

# Lambda's answers that prove the invocation was not run: throttling (retry), and refusals.
THROTTLED = ("TooManyRequestsException", "ThrottlingException", "Throttling", "RequestLimitExceeded")
# Errors raised before the request left this machine: it was not sent.
NOT_SENT = (EndpointConnectionError, ConnectTimeoutError)
ATTEMPTS = 6
# Records in flight at once: well under Lambda's default async invoke quotas, enough to hide latency.
DEFAULT_CONCURRENCY = 8
# A claim younger than this may belong to a run still at work (an invoke waits at most ~2 x 60 s).
LEASE_SECONDS = 180
backoff_sleep: Callable[[float], None] = time.sleep  # tests replace it to run without waiting


@dataclass(frozen=True)
class Selection:
    function: str | None = None
    first: date | None = None
    last: date | None = None
    error_type: str | None = None
    action: str | None = None
    key: str | None = None  # one record, by its object key

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
class PlannedReplay:
    summary: FailureSummary
    state: ClaimState | None  # what the record's claim says before this run

    @property
    def replayed_at(self) -> str | None:
        """Kept for the plan's JSON: set when the record was already re-driven."""
        return "done" if self.state is ClaimState.DONE else None

    @property
    def target(self) -> str:
        mode = "Event" if self.summary.kind == "async" else f"RequestResponse, {len(self.summary.batch)} records"
        return f"{self.summary.function} ({mode})"


@dataclass
class Outcome:
    key: str
    status: str  # replayed, partial, skipped, failed, uncertain
    detail: str = ""


@dataclass
class ReplayReport:
    outcomes: list[Outcome] = field(default_factory=list)
    unreadable: list[tuple[str, str]] = field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(1 for o in self.outcomes if o.status == status)


def _located(store: Store, selection: Selection) -> list[RecordLocation]:
    if selection.key is not None:
        return [RecordLocation(selection.key, 0, None, None)]
    wanted = days(selection.first, selection.last) if selection.first and selection.last else None
    # A stream record's key names its mapping, not its function: those are read to know.
    return [*async_keys(store, wanted, selection.function), *stream_keys(store, wanted)]


def select(
    store: Store, selection: Selection, report: ReplayReport, with_state: bool = True
) -> Iterator[PlannedReplay]:
    """The selected records; `with_state` reads each one's claim too (for a plan to show; an
    execution learns it from the claim itself, one request fewer per record)."""
    for located, data in read_many(store, _located(store, selection)):
        try:
            summary = summarize(located.key, parse_record(data))
        except NotAFailureRecordError as error:
            report.unreadable.append((located.key, str(error)))
            continue
        if selection.matches(summary):
            yield PlannedReplay(summary, store.replays.state(located.key) if with_state else None)


class UncertainOutcomeError(Exception):
    """The request may have reached Lambda, and no answer says whether it ran."""


class RefusedError(Exception):
    """Lambda answered that it did not run the invocation."""


def _invoke_once(client: Any, planned: PlannedReplay) -> Outcome:
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
    try:
        still_failing = (json.loads(body or b"{}") or {}).get("batchItemFailures", [])
    except (ValueError, AttributeError):
        still_failing = []
    if still_failing:
        ids = ", ".join(str(f.get("itemIdentifier")) for f in still_failing if isinstance(f, dict))
        return Outcome(summary.key, "partial", f"{len(still_failing)} records still rejected: {ids}")
    return Outcome(summary.key, "replayed", f"batch of {len(summary.batch)} accepted by {summary.function}")


def invoke(client: Any, planned: PlannedReplay, sleep: Callable[[float], None] | None = None) -> Outcome:
    """Invoke once per attempt; retry only what proves Lambda did not run it."""
    sleep = sleep or backoff_sleep
    for attempt in range(ATTEMPTS):
        try:
            return _invoke_once(client, planned)
        except NOT_SENT as error:
            last: Exception = error
        except (ReadTimeoutError, ConnectionClosedError) as error:
            raise UncertainOutcomeError(f"no answer from Lambda ({type(error).__name__}): it may have run") from None
        except ClientError as error:
            status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
            code = str(error.response.get("Error", {}).get("Code", ""))
            if code not in THROTTLED and (status >= 500 or not status):
                raise UncertainOutcomeError(f"Lambda answered {status or '?'} {code}: it may have run") from None
            if code not in THROTTLED:
                raise RefusedError(f"Lambda refused it: {code or status}") from None
            last = error
        except BotoCoreError as error:
            raise UncertainOutcomeError(f"{type(error).__name__}: it may have run") from None
        sleep(min(20.0, 0.2 * 2**attempt) * random.uniform(0.5, 1.0))
    raise RefusedError(f"still throttled after {ATTEMPTS} attempts: {last}")


def replay_one(store: Store, client: Any, planned: PlannedReplay, retry_uncertain: bool = False) -> Outcome:
    """Claim, invoke, settle: the record's claim says what happened, whatever happens next."""
    key = planned.summary.key
    claim = store.replays.claim(
        key, {"function": planned.summary.function}, retry_uncertain=retry_uncertain, lease_seconds=LEASE_SECONDS
    )
    if not isinstance(claim, Claim):
        if claim is ClaimState.DONE:
            return Outcome(key, "skipped", "already replayed")
        if claim is ClaimState.CLAIMED:
            return Outcome(key, "skipped", "being replayed by another run (or one that just died: uncertain later)")
        return Outcome(key, "uncertain", "claimed by a run whose outcome is unknown (--retry-uncertain)")
    try:
        outcome = invoke(client, planned)
    except UncertainOutcomeError as error:
        store.replays.settle(claim, ClaimState.UNCERTAIN, {"detail": str(error)})
        return Outcome(key, "uncertain", str(error))
    except RefusedError as error:
        store.replays.settle(claim, ClaimState.FAILED, {"detail": str(error)})
        return Outcome(key, "failed", str(error))
    # A batch the consumer ran (all or some records accepted) is done; it is not sent again.
    state = ClaimState.FAILED if outcome.status == "failed" else ClaimState.DONE
    store.replays.settle(claim, state, {"detail": outcome.detail})
    return outcome


class RateLimit:
    """At most `per_second` starts per second across threads (a token bucket of one)."""

    def __init__(self, per_second: float | None) -> None:
        self._interval = 1.0 / per_second if per_second else 0.0
        self._next = time.monotonic()
        self._lock = threading.Lock()

    def wait(self) -> None:
        if not self._interval:
            return
        with self._lock:
            now = time.monotonic()
            start = max(now, self._next)
            self._next = start + self._interval
        time.sleep(max(0.0, start - now))


def _replay_guarded(
    store: Store, client: Any, planned: PlannedReplay, retry_uncertain: bool, limit: RateLimit
) -> Outcome:
    limit.wait()
    try:
        return replay_one(store, client, planned, retry_uncertain)
    except (ClientError, BotoCoreError, OSError, RuntimeError) as error:
        # The claim itself could not be written or settled: nothing is known to be sent
        # unless the claim was won, in which case it stays claimed (uncertain).
        return Outcome(planned.summary.key, "uncertain", f"claim not recorded: {error}")


def execute(
    store: Store,
    client: Any,
    plan: list[PlannedReplay],
    report: ReplayReport,
    progress: bool = True,
    retry_uncertain: bool = False,
    concurrency: int = DEFAULT_CONCURRENCY,
    rate: float | None = None,
) -> None:
    """Replay the plan with `concurrency` records in flight (claims keep it exactly once),
    starting at most `rate` per second when given; outcomes in plan order."""
    limit = RateLimit(rate)
    with (
        ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool,
        tqdm(total=len(plan), desc="replaying", unit="record", file=sys.stderr, disable=not progress) as bar,
    ):
        futures = [pool.submit(_replay_guarded, store, client, p, retry_uncertain, limit) for p in plan]
        for future in as_completed(futures):
            future.result()
            bar.update(1)
        report.outcomes.extend(future.result() for future in futures)


def lambda_client() -> Any:
    import boto3
    from botocore.config import Config

    # One attempt per call: `invoke` retries only what proves Lambda did not run it.
    return boto3.client("lambda", config=Config(retries={"mode": "standard", "total_max_attempts": 1}))
