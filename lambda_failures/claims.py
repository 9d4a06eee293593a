"""Claims that cannot succeed twice: marker objects created with S3 conditional writes.

Whoever creates `<prefix><name>` with `If-None-Match: *` owns the work it names; S3 lets
exactly one concurrent writer win (the others get 412 PreconditionFailed, or 409
ConditionalRequestConflict while the first is in flight). The winner settles the marker
with `If-Match` on the ETag it created, so a settle can never overwrite someone else's.

States: `claimed` (someone is acting, or died acting: from outside the outcome cannot be
known, so it is reported as `uncertain` and never acted on again automatically), `done`,
`failed` (proved not to have happened: may be claimed again, by If-Match on its ETag).
Markers are never deleted; they live outside aws/lambda/ so they trigger no notification.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from botocore.exceptions import ClientError

from lambda_failures.aws_errors import error_code

# S3's answers when a conditional write loses: the object exists (or changed), or a
# concurrent conditional write to the same key is still in flight.
LOST_RACE = ("PreconditionFailed", "ConditionalRequestConflict")
# What S3 answers for an object, or a version read by id, that is not there.
NOT_FOUND = ("NoSuchKey", "NoSuchVersion", "404", "NotFound")


class ClaimState(StrEnum):
    CLAIMED = "claimed"  # (returned by `claim`: held by another run within its lease, in progress)
    DONE = "done"
    FAILED = "failed"
    UNCERTAIN = "uncertain"


@dataclass(frozen=True)
class Claim:
    """A claim this process won: settle it with `MarkerStore.settle`."""

    name: str
    etag: str
    # The state of the marker this claim replaced (FAILED, or UNCERTAIN/CLAIMED taken on
    # purpose), None for a new one: a record re-driven over an uncertain marker may run twice.
    took_over: ClaimState | None = None


# When a marker was written ("at"), in UTC to the microsecond.
AT_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


def now() -> str:
    return datetime.now(UTC).strftime(AT_FORMAT)


def written_at(body: dict[str, Any]) -> datetime | None:
    """When a marker was last written, or None when its body does not say in our format."""
    try:
        return datetime.strptime(str(body.get("at")), AT_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        return None


def marker_body(state: ClaimState, detail: dict[str, Any]) -> bytes:
    """What a marker holds, in a bucket or a folder alike: its state, when, and the caller's detail."""
    return json.dumps({"state": state.value, "at": now(), **detail}, default=str).encode()


def read_marker(data: bytes) -> tuple[ClaimState, dict[str, Any]]:
    """A marker's state and body. One we did not write, or a torn one, is UNCERTAIN: nobody
    can say what happened."""
    try:
        body = json.loads(data)
        return ClaimState(body.get("state")), body
    except (ValueError, AttributeError, TypeError):
        return ClaimState.UNCERTAIN, {}


def refused(
    state: ClaimState | None, body: dict[str, Any], retry_uncertain: bool, lease_seconds: float | None
) -> ClaimState | None:
    """Why an existing marker may not be taken over (DONE, CLAIMED in progress, UNCERTAIN), or
    None when it may: it failed, or it is uncertain and the caller asks on purpose."""
    if state is ClaimState.CLAIMED and within_lease(body, lease_seconds):
        return ClaimState.CLAIMED
    retry = (ClaimState.FAILED,) + ((ClaimState.CLAIMED, ClaimState.UNCERTAIN) if retry_uncertain else ())
    if state in retry:
        return None
    return ClaimState.DONE if state is ClaimState.DONE else ClaimState.UNCERTAIN


def within_lease(body: dict[str, Any], lease_seconds: float | None) -> bool:
    """Whether a claim was taken less than `lease_seconds` ago (its holder may still be at work)."""
    if lease_seconds is None:
        return False
    taken = written_at(body)
    return taken is not None and (datetime.now(UTC) - taken).total_seconds() < lease_seconds


class MarkerStore:
    """Marker objects under one prefix of one bucket (owned by `expected_owner`, when given)."""

    def __init__(self, s3: Any, bucket: str, prefix: str, expected_owner: str | None = None) -> None:
        self.s3 = s3
        self.bucket = bucket
        self.prefix = prefix
        self._owner = {"ExpectedBucketOwner": expected_owner} if expected_owner else {}

    def key(self, name: str) -> str:
        return f"{self.prefix}{name}"

    def _put(self, name: str, state: ClaimState, detail: dict[str, Any], **condition: str) -> str:
        response = self.s3.put_object(
            Bucket=self.bucket,
            Key=self.key(name),
            Body=marker_body(state, detail),
            ContentType="application/json",
            **self._owner,
            **condition,
        )
        return str(response.get("ETag", ""))

    def read(self, name: str) -> tuple[ClaimState | None, str, dict[str, Any]]:
        """(state, etag, body) of a marker; (None, "", {}) when there is none."""
        try:
            response = self.s3.get_object(Bucket=self.bucket, Key=self.key(name), **self._owner)
        except ClientError as error:
            if error_code(error) in NOT_FOUND:
                return None, "", {}
            raise
        state, body = read_marker(response["Body"].read())
        return state, str(response.get("ETag", "")), body

    def claim(
        self,
        name: str,
        detail: dict[str, Any] | None = None,
        retry_uncertain: bool = False,
        lease_seconds: float | None = None,
    ) -> Claim | ClaimState:
        """Win the claim (a `Claim`), or learn why not: DONE; CLAIMED (another holder, within
        `lease_seconds` of claiming: in progress); UNCERTAIN (claimed earlier, outcome unknown).
        A FAILED marker is claimed again, conditionally on its ETag; so is an uncertain one
        when the caller says so on purpose (`retry_uncertain`)."""
        detail = detail or {}
        try:
            return Claim(name, self._put(name, ClaimState.CLAIMED, detail, IfNoneMatch="*"))
        except ClientError as error:
            if error_code(error) not in LOST_RACE:
                raise
        state, etag, body = self.read(name)
        refusal = refused(state, body, retry_uncertain, lease_seconds)
        if refusal is None and etag:
            try:
                return Claim(name, self._put(name, ClaimState.CLAIMED, detail, IfMatch=etag), took_over=state)
            except ClientError as error:
                if error_code(error) not in LOST_RACE:
                    raise
                return ClaimState.UNCERTAIN
        return refusal or ClaimState.UNCERTAIN

    def settle(self, claim: Claim, state: ClaimState, detail: dict[str, Any] | None = None) -> None:
        """Record the outcome of a claim this process holds (never someone else's)."""
        self._put(claim.name, state, detail or {}, IfMatch=claim.etag)

    def state(self, name: str) -> ClaimState | None:
        """What a marker says now (CLAIMED is shown as UNCERTAIN: from outside, it is)."""
        state, _, _ = self.read(name)
        return ClaimState.UNCERTAIN if state is ClaimState.CLAIMED else state
