"""`failctl replay`: re-drive archived failures, at most once each, never deleting a record.

Async records re-invoke the original function asynchronously with the original payload;
stream records re-invoke the consumer with the stored batch and report what it still
rejects.

Each record is claimed before it is re-driven (a marker created with an S3 conditional
write, or an exclusive file beside a folder source), so concurrent runs cannot both send
it. The outcome is written on the claim:
- done: Lambda accepted the invocation (or ran the batch);
- failed: nothing ran, and the error proves it: Lambda answered so (throttled, refused, not
  found), or the request was never sent (no credentials, Lambda out of reach, the run
  stopped first); throttling and unreachable endpoints are retried with backoff while the
  budget lasts; claimable again later;
- uncertain: the request may have reached Lambda but no answer says so (a 5xx, a timeout,
  a dropped connection, a run killed mid-call, which leaves the claim as it was): reported,
  never re-driven automatically; `--retry-uncertain` re-drives it on purpose.
botocore's own retries are off for the invoke: a retried 5xx is how a record runs twice.

A record is re-driven to the function its record names (account and region as well as name,
unqualified), never to a function of the same name wherever the operator's credentials point.

A run stopped by SIGINT, SIGTERM or SIGHUP claims nothing more, waits a bounded time for invokes
already sent, and settles every claim it holds before it returns.
"""

from __future__ import annotations

import functools
import json
import os
import random
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from tqdm import tqdm

from failctl.archive.stores import RecordLocation, Store, async_keys, days, read_many, stream_keys
from lambda_failures.archive_format import FailureSummary, NotAFailureRecordError, parse_record, summarize
from lambda_failures.aws_errors import error_code
from lambda_failures.claims import Claim, ClaimState
from lambda_failures.invoke_errors import Verdict, classify, describe

ATTEMPTS = 6
# Records in flight at once: well under Lambda's default async invoke quotas, enough to hide latency.
DEFAULT_CONCURRENCY = 8
# A stream batch is replayed synchronously: the answer comes when the function returns, up to
# Lambda's 900 s timeout. botocore's default 60 s read timeout reported every batch of a slower
# consumer `uncertain` while it ran on.
READ_TIMEOUT_SECONDS = 910
# A claim younger than this may belong to a run still at work (an invoke waits at most the
# connect timeout and READ_TIMEOUT_SECONDS).
LEASE_SECONDS = 1000
# How long a stopped run waits for invokes already sent before settling them uncertain.
STOP_WAIT_SECONDS = 30.0
# Records in a row that end still throttled (each after every retry) before the run stops
# claiming: Lambda is refusing this caller's rate or concurrency, and each further record would
# cost its full backoff to learn the same.
THROTTLED_IN_A_ROW = 8
THROTTLED_DETAIL = "still throttled"
# Backoff waits end early when the run stops; tests replace this to run without waiting.
backoff_sleep: Callable[[float], None] | None = None


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
        mode = "Event" if self.summary.kind == "async" else f"RequestResponse, {self.summary.record_count} records"
        return f"{self.summary.function} ({mode})"


@dataclass
class Outcome:
    key: str
    status: str  # replayed, partial, skipped, held, failed, uncertain, not-sent
    detail: str = ""
    # Set when --retry-uncertain re-drove a record whose earlier outcome was unknown: it may
    # now have run twice, and the operator is told which ones.
    was_uncertain: bool = False


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
    """Lambda answered that it did not run the invocation (or it was refused before sending)."""


class NotSentError(Exception):
    """Nothing was sent, for a reason no other record escapes (no credentials, Lambda out of
    reach) or because the run is stopping: the claim settles `failed`, free for a later run."""

    def __init__(self, message: str, stops_run: bool = True) -> None:
        super().__init__(message)
        self.stops_run = stops_run


class Stop:
    """Why a run ends before its plan is done: a signal (SIGINT, SIGTERM), or an environment
    in which no record can be sent. Workers stop claiming once it is set; a second signal
    asks not to wait for what is in flight."""

    def __init__(self) -> None:
        self.event = threading.Event()
        self.hurry = threading.Event()
        self.signal: int | None = None
        self.environment: str | None = None
        self._lock = threading.Lock()

    @property
    def stopping(self) -> bool:
        return self.event.is_set()

    def request(self, signum: int) -> None:
        """A signal handler's whole work: flags only (it runs between two bytecodes of the main thread)."""
        if self.signal is not None:
            self.hurry.set()
        self.signal = self.signal or signum
        self.event.set()

    def cannot_send(self, message: str) -> None:
        with self._lock:
            self.environment = self.environment or message
        self.event.set()

    def wait(self, seconds: float) -> bool:
        """Sleep up to `seconds`; True when the run is stopping."""
        return self.event.wait(seconds)


STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def _hung_up(stop: Stop, signum: int) -> None:
    """The terminal closed (SIGHUP): stop as for SIGINT, and send what the run still writes to
    the terminal nowhere, since writing to a terminal that is gone fails (EIO) mid-settlement."""
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream.isatty():
                _silence(stream)
        except (OSError, ValueError):
            pass
    stop.request(signum)


def _silence(stream: Any) -> None:
    """Send what is still written to `stream` to /dev/null (its reader or terminal is gone)."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, stream.fileno())
        os.close(devnull)
    except (OSError, ValueError):
        pass


def _to_stderr(write: Callable[[], object]) -> None:
    """Progress and notices are for whoever reads stderr; a reader that went away (`2>&1 | head`,
    and Ctrl-C stops `head` too) must not end the run before it settles its claims."""
    try:
        write()
    except OSError:
        _silence(sys.stderr)


@contextmanager
def stopped_by_signals(stop: Stop) -> Iterator[None]:
    """SIGINT, SIGTERM and SIGHUP set `stop` instead of killing the run (main thread only;
    elsewhere signals keep their handlers, as Python allows them only there)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {signum: signal.getsignal(signum) for signum in STOP_SIGNALS}
    for signum in previous:
        if signum == signal.SIGHUP:
            signal.signal(signum, lambda number, _frame: _hung_up(stop, number))
        else:
            signal.signal(signum, lambda number, _frame: stop.request(number))
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


class Flight:
    """One record between its claim and its settlement, so that a run which stops waiting
    can settle what is still in flight: `failed` when its request was never sent, else
    `uncertain`. A lock makes the worker's and the stopping run's settlement exclusive."""

    def __init__(self, key: str) -> None:
        self.key = key
        self.claim: Claim | None = None
        self.sending = False
        self.over = False  # settled by the worker, or abandoned by the run
        self.lock = threading.Lock()
        self.abandoned: Outcome | None = None

    def send(self) -> None:
        with self.lock:
            if self.over:
                raise NotSentError("not sent: the run stopped waiting")
            self.sending = True

    def sent(self) -> None:
        with self.lock:
            self.sending = False

    def finish(self, markers: Any, state: ClaimState, outcome: Outcome) -> Outcome:
        """Settle the claim with the worker's outcome, unless the run already settled it."""
        with self.lock:
            if self.over:
                return self.abandoned or outcome
            self.over = True
            return _settled(markers, self.claim, state, outcome)

    def abandon(self, markers: Any, waited: float) -> Outcome | None:
        """The run stops waiting: settle what the worker could not (None if it already did)."""
        if not self.lock.acquire(timeout=15):
            return Outcome(self.key, "uncertain", "its claim was being recorded when the run stopped waiting")
        try:
            if self.over:
                return None
            self.over = True
            if self.claim is None:
                outcome = Outcome(
                    self.key,
                    "uncertain",
                    "being claimed when the run stopped: if the claim was "
                    "written it stays claimed (uncertain later); nothing was sent",
                )
            elif self.sending:
                outcome = _settled(
                    markers,
                    self.claim,
                    ClaimState.UNCERTAIN,
                    Outcome(
                        self.key, "uncertain", f"no answer from Lambda {waited:.0f} s after the stop: it may have run"
                    ),
                )
            else:
                outcome = _settled(
                    markers,
                    self.claim,
                    ClaimState.FAILED,
                    Outcome(self.key, "not-sent", "not sent: the run stopped; a later run re-drives it"),
                )
            self.abandoned = outcome
            return outcome
        finally:
            self.lock.release()


def _settled(markers: Any, claim: Claim | None, state: ClaimState, outcome: Outcome) -> Outcome:
    """Record the outcome on the claim; if that fails, say what later runs will see."""
    if claim is None:
        return outcome
    try:
        markers.settle(claim, state, {"detail": outcome.detail})
    except (ClientError, BotoCoreError, OSError, RuntimeError) as error:
        note = f"; its claim was not recorded ({describe(error)}): later runs see it as uncertain"
        return Outcome(outcome.key, "uncertain" if state is not ClaimState.FAILED else "failed", outcome.detail + note)
    return outcome


def target(summary: FailureSummary, region: str | None) -> str:
    """The function to invoke: the unqualified ARN the record names (so a record from another
    account or region never re-drives a same-named function here), or its bare name when the
    record's ARN is not a Lambda function ARN. RefusedError, before sending, for a function in
    another region than the client's: Lambda would not find it there."""
    address = summary.function_address
    if address is None:
        return summary.function
    home, _, arn = address
    if region and home != region:
        raise RefusedError(
            f"{summary.function} is in {home}, this run invokes in {region}: "
            f"run it again with AWS_REGION={home}; nothing was sent"
        )
    return arn


def _denied(error: Exception) -> bool:
    """A claim refused for who the caller is (no s3:PutObject on the markers, a folder it may
    not write): no other record's claim fares better, so the run stops instead of trying each."""
    if isinstance(error, ClientError):
        return error_code(error) in ("AccessDenied", "AllAccessDisabled", "403")
    return isinstance(error, PermissionError)


def _invoke_once(client: Any, planned: PlannedReplay, flight: Flight | None) -> Outcome:
    summary = planned.summary
    function = target(summary, getattr(getattr(client, "meta", None), "region_name", None))
    if summary.kind == "async":
        request = {"InvocationType": "Event", "Payload": json.dumps(summary.request_payload)}
    else:
        request = {"InvocationType": "RequestResponse", "Payload": json.dumps(summary.replay_event)}
    if flight is not None:
        flight.send()
    try:
        response = client.invoke(FunctionName=function, **request)
    finally:
        if flight is not None:
            flight.sent()
    if summary.kind == "async":
        return Outcome(summary.key, "replayed", f"re-invoked {summary.function} asynchronously")
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
    return Outcome(summary.key, "replayed", f"batch of {summary.record_count} accepted by {summary.function}")


def _pause(seconds: float, stop: Stop | None) -> None:
    if backoff_sleep is not None:
        backoff_sleep(seconds)
    elif stop is not None:
        stop.wait(seconds)
    else:
        time.sleep(seconds)


def invoke(client: Any, planned: PlannedReplay, stop: Stop | None = None, flight: Flight | None = None) -> Outcome:
    """Invoke once per attempt; retry only what proves Lambda did not run it (throttling, a
    connection that was never made), and never past a stop."""
    for attempt in range(ATTEMPTS):
        try:
            return _invoke_once(client, planned, flight)
        except (ClientError, BotoCoreError, RuntimeError) as error:  # RuntimeError: see raised_by_credentials
            verdict, last = classify(error), error
        if verdict is Verdict.UNCERTAIN:
            raise UncertainOutcomeError(f"{describe(last)}: it may have run") from None
        if verdict is Verdict.ENVIRONMENT:
            raise NotSentError(f"cannot invoke Lambda ({describe(last)}): nothing was sent") from None
        if verdict in (Verdict.INVALID, Verdict.REFUSED):
            raise RefusedError(f"Lambda refused it: {describe(last)}") from None
        if stop is not None and stop.stopping:
            raise NotSentError("not sent: the run stopped while retrying it", stops_run=False) from None
        _pause(min(20.0, 0.2 * 2**attempt) * random.uniform(0.5, 1.0), stop)
    if verdict is Verdict.UNREACHABLE:
        raise NotSentError(f"cannot reach Lambda after {ATTEMPTS} attempts ({describe(last)}): nothing was sent")
    raise RefusedError(f"{THROTTLED_DETAIL} after {ATTEMPTS} attempts: {describe(last)}")


def replay_one(
    store: Store,
    client: Any,
    planned: PlannedReplay,
    retry_uncertain: bool = False,
    stop: Stop | None = None,
    flight: Flight | None = None,
) -> Outcome:
    """Claim, invoke, settle: the record's claim says what happened, whatever happens next."""
    key = planned.summary.key
    stop = stop or Stop()
    flight = flight or Flight(key)
    markers = store.replays
    try:
        claim = markers.claim(
            key, {"function": planned.summary.function}, retry_uncertain=retry_uncertain, lease_seconds=LEASE_SECONDS
        )
    except (ClientError, BotoCoreError, OSError, RuntimeError) as error:
        if classify(error) is Verdict.ENVIRONMENT or _denied(error):
            stop.cannot_send(f"cannot claim records ({describe(error)})")
        return Outcome(key, "failed", f"not claimed ({describe(error)}): nothing was sent")
    if not isinstance(claim, Claim):
        if claim is ClaimState.DONE:
            return Outcome(key, "skipped", "already replayed")
        if claim is ClaimState.CLAIMED:
            return Outcome(key, "held", "claimed by another run (at work, or killed: uncertain after the lease)")
        return Outcome(key, "uncertain", "claimed by a run whose outcome is unknown (--retry-uncertain)")
    flight.claim = claim
    if stop.stopping:
        return flight.finish(markers, ClaimState.FAILED, Outcome(key, "not-sent", "not sent: the run stopped"))
    try:
        outcome = invoke(client, planned, stop, flight)
    except UncertainOutcomeError as error:
        return flight.finish(markers, ClaimState.UNCERTAIN, Outcome(key, "uncertain", str(error)))
    except RefusedError as error:
        return flight.finish(markers, ClaimState.FAILED, Outcome(key, "failed", str(error)))
    except NotSentError as error:
        if error.stops_run:
            stop.cannot_send(str(error))
        return flight.finish(markers, ClaimState.FAILED, Outcome(key, "not-sent", str(error)))
    except Exception as error:  # a worker must settle its claim whatever it met
        detail = f"unexpected {type(error).__name__} while invoking ({error}): it may have run"
        return flight.finish(markers, ClaimState.UNCERTAIN, Outcome(key, "uncertain", detail))
    if claim.took_over in (ClaimState.UNCERTAIN, ClaimState.CLAIMED) and outcome.status in ("replayed", "partial"):
        outcome.was_uncertain = True
        outcome.detail += "; it was uncertain (it may have run before): re-driven on purpose (--retry-uncertain)"
    # A batch the consumer ran (all or some records accepted) is done; it is not sent again.
    return flight.finish(markers, ClaimState.FAILED if outcome.status == "failed" else ClaimState.DONE, outcome)


class RateLimit:
    """At most `per_second` starts per second across threads (a token bucket of one)."""

    def __init__(self, per_second: float | None) -> None:
        self._interval = 1.0 / per_second if per_second else 0.0
        self._next = time.monotonic()
        self._lock = threading.Lock()

    def wait(self, stop: Stop | None = None) -> bool:
        """Wait for this start's turn; False when the run stopped meanwhile."""
        if not self._interval:
            return True
        with self._lock:
            now = time.monotonic()
            start = max(now, self._next)
            self._next = start + self._interval
        delay = max(0.0, start - now)
        if stop is None:
            time.sleep(delay)
            return True
        return not stop.wait(delay)


NOT_STARTED = "not sent: the run stopped before it; a later run re-drives it"


def execute(
    store: Store,
    client: Any,
    plan: list[PlannedReplay],
    report: ReplayReport,
    progress: bool = True,
    retry_uncertain: bool = False,
    concurrency: int = DEFAULT_CONCURRENCY,
    rate: float | None = None,
    stop: Stop | None = None,
    stop_wait: float = STOP_WAIT_SECONDS,
) -> None:
    """Replay the plan with `concurrency` records in flight (claims keep it exactly once),
    starting at most `rate` per second when given; outcomes in plan order.

    Once `stop` is set nothing more is claimed; invokes already sent get `stop_wait` seconds
    to answer, then what is still in flight is settled (uncertain if sent, failed if not) and
    the run returns, leaving no claim of its own `claimed`. Workers are daemon threads, so a
    request that never answers cannot hold the process."""
    stop = stop or Stop()
    limit = RateLimit(rate)
    outcomes: list[Outcome | None] = [None] * len(plan)
    flights: dict[int, Flight] = {}
    lock = threading.Lock()
    pending = iter(range(len(plan)))
    throttled = [0]  # records in a row that ended still throttled
    markers = store.replays

    def work() -> None:
        while not stop.stopping:
            with lock:
                index = next(pending, None)
            if index is None or not limit.wait(stop) or stop.stopping:
                return
            flight = Flight(plan[index].summary.key)
            with lock:
                flights[index] = flight
            outcomes[index] = outcome = replay_one(store, client, plan[index], retry_uncertain, stop, flight)
            with lock:
                del flights[index]
                throttled[0] = throttled[0] + 1 if outcome.detail.startswith(THROTTLED_DETAIL) else 0
                if throttled[0] >= THROTTLED_IN_A_ROW:
                    stop.cannot_send(
                        f"Lambda still throttled {throttled[0]} records in a row after every retry: nothing "
                        "more claimed; a later run re-drives the rest (--rate or --concurrency lower the pace)"
                    )

    workers = [threading.Thread(target=work, daemon=True) for _ in range(max(1, min(concurrency, len(plan))))]
    for worker in workers:
        worker.start()
    bar = tqdm(total=len(plan), desc="replaying", unit="record", file=sys.stderr, disable=not progress)
    try:
        deadline: float | None = None
        while alive := [worker for worker in workers if worker.is_alive()]:
            alive[0].join(0.1)
            _to_stderr(lambda: bar.update(sum(1 for o in outcomes if o is not None) - bar.n))
            if not stop.stopping:
                continue
            if deadline is None:
                deadline = time.monotonic() + stop_wait
                if stop.signal is not None:
                    notice = (
                        f"failctl replay: {signal.Signals(stop.signal).name}: claiming no more; waiting up to "
                        f"{stop_wait:g} s for {len(flights)} in flight (again to stop waiting)"
                    )
                    _to_stderr(functools.partial(bar.write, notice, file=sys.stderr))
            if stop.hurry.is_set() or time.monotonic() >= deadline:
                waited = stop_wait - max(0.0, deadline - time.monotonic())
                with lock:
                    in_flight = list(flights.items())
                for index, flight in in_flight:
                    abandoned = flight.abandon(markers, waited)
                    if abandoned is not None:
                        outcomes[index] = abandoned
                break
    finally:
        _to_stderr(bar.close)
    report.outcomes.extend(
        outcome or Outcome(planned.summary.key, "not-sent", NOT_STARTED)
        for planned, outcome in zip(plan, outcomes, strict=True)
    )


def lambda_client() -> Any:
    """A client that can invoke, or botocore's error saying why not, before anything is read
    or claimed: credentials are resolved here (an expired SSO session fails now, not on the
    first record)."""
    import boto3
    from botocore.config import Config
    from botocore.exceptions import CredentialRetrievalError, NoCredentialsError

    session = boto3.Session()
    # One attempt per call: `invoke` retries only what proves Lambda did not run it.
    config = Config(retries={"mode": "standard", "total_max_attempts": 1}, read_timeout=READ_TIMEOUT_SECONDS)
    client = session.client("lambda", config=config)
    credentials = session.get_credentials()
    if credentials is None:
        raise NoCredentialsError()
    try:
        credentials.get_frozen_credentials()
    except RuntimeError as error:  # refreshed and still expired (see raised_by_credentials)
        raise CredentialRetrievalError(provider=credentials.method, error_msg=str(error)) from None
    return client
