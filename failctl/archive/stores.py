"""Failure records as stored in the archive: where they are, and how to read one safely."""

from __future__ import annotations

import os
import re
import uuid
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from lambda_failures.archive_format import ASYNC_PREFIX, REPLAY_MARKERS, STREAM_PREFIX, day_path, key_day
from lambda_failures.claims import Claim, ClaimState, MarkerStore, marker_body, read_marker, refused


def day_range(first: date | None, last: date | None) -> tuple[date | None, date | None]:
    """--from alone runs to today (UTC), --to alone is that one day; neither means every day."""
    if first and not last:
        last = datetime.now(UTC).date()
    if last and not first:
        first = last
    if first and last and last < first:
        raise ValueError(f"--to {last} is before --from {first}")
    return first, last


def days(first: date, last: date) -> list[date]:
    if last < first:
        raise ValueError(f"--to {last} is before --from {first}")
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


class Markers(Protocol):
    """Claims that cannot succeed twice (S3 conditional writes, or exclusive file creation)."""

    def claim(
        self,
        name: str,
        detail: dict[str, Any] | None = None,
        retry_uncertain: bool = False,
        lease_seconds: float | None = None,
    ) -> Any: ...

    def settle(self, claim: Claim, state: ClaimState, detail: dict[str, Any] | None = None) -> None: ...

    def state(self, name: str) -> ClaimState | None: ...


class Store(Protocol):
    """A bucket, or a folder laid out like one."""

    def children(self, prefix: str) -> list[str]: ...  # "sub-folder" prefixes ending in "/"

    # (key, size) under prefix; size None where only a call per object would tell (a folder)
    def keys(self, prefix: str) -> Iterator[tuple[str, int | None]]: ...

    def read(self, key: str) -> bytes: ...

    @property
    def replays(self) -> Markers: ...  # one claim per record key


class FolderMarkers:
    """Markers as files beside the records: created exclusively (O_CREAT|O_EXCL), so two
    processes cannot both claim; settled by the holder with an atomic replace; a failed or
    uncertain marker is taken over by renaming it aside, which only one process can do."""

    SUFFIX = ".json"

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, name: str) -> Path:
        return self.root / f"{name}{self.SUFFIX}"

    def names(self) -> Iterator[str]:
        """Every marker's name, as it was claimed."""
        if not self.root.is_dir():
            return
        for folder, _, files in os.walk(self.root):
            for file in files:
                if file.endswith(self.SUFFIX):
                    yield (Path(folder) / file).relative_to(self.root).as_posix().removesuffix(self.SUFFIX)

    def _write_new(self, name: str, state: ClaimState, detail: dict[str, Any]) -> Claim:
        """Written whole to a private file, then linked into place: link() fails if the name
        exists, so creation is exclusive, and no reader ever sees a half-written marker."""
        path = self._path(name)
        path.parent.mkdir(parents=True, exist_ok=True)
        token = uuid.uuid4().hex
        body = marker_body(state, {"token": token, **detail})
        private = path.with_name(f"{path.name}.{token}.new")
        fd = os.open(private, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        try:
            os.write(fd, body)
            os.fsync(fd)
        finally:
            os.close(fd)
        try:
            os.link(private, path)
        finally:
            private.unlink()
        return Claim(name, token)

    def read(self, name: str) -> tuple[ClaimState | None, str, dict[str, Any]]:
        """(state, token, body) of a marker, as MarkerStore.read gives (state, etag, body);
        (None, "", {}) when there is none."""
        try:
            data = self._path(name).read_bytes()
        except FileNotFoundError:
            return None, "", {}
        state, body = read_marker(data)
        return state, str(body.get("token", "")), body

    def claim(
        self,
        name: str,
        detail: dict[str, Any] | None = None,
        retry_uncertain: bool = False,
        lease_seconds: float | None = None,
    ) -> Any:
        detail = detail or {}
        try:
            return self._write_new(name, ClaimState.CLAIMED, detail)
        except FileExistsError:
            pass
        state, _, body = self.read(name)
        refusal = refused(state, body, retry_uncertain, lease_seconds)
        if refusal is not None:
            return refusal
        aside = self._path(name).with_name(f"{self._path(name).name}.{uuid.uuid4().hex}.superseded")
        try:
            os.rename(self._path(name), aside)  # atomic: only one process moves this marker
        except FileNotFoundError:
            return ClaimState.UNCERTAIN
        try:
            return replace(self._write_new(name, ClaimState.CLAIMED, detail), took_over=state)
        except FileExistsError:
            return ClaimState.UNCERTAIN

    def settle(self, claim: Claim, state: ClaimState, detail: dict[str, Any] | None = None) -> None:
        current, token, _ = self.read(claim.name)
        if current is not ClaimState.CLAIMED or token != claim.etag:
            raise RuntimeError(f"marker {claim.name} is no longer held by this run")
        path = self._path(claim.name)
        temporary = path.with_name(f"{path.name}.{claim.etag}.tmp")
        temporary.write_bytes(marker_body(state, {"token": claim.etag, **(detail or {})}))
        os.replace(temporary, path)

    def state(self, name: str) -> ClaimState | None:
        state, _, _ = self.read(name)
        return ClaimState.UNCERTAIN if state is ClaimState.CLAIMED else state


class FolderStore:
    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        if not self.root.is_dir():
            raise FileNotFoundError(f"--source {root} is not a folder")

    def children(self, prefix: str) -> list[str]:
        folder = self.root / prefix
        if not folder.is_dir():
            return []
        return sorted(f"{prefix}{p.name}/" for p in folder.iterdir() if p.is_dir())

    def keys(self, prefix: str) -> Iterator[tuple[str, int | None]]:
        """Files under prefix in key order (as sorted path parts), symlinks (to folders or
        files) not followed: nothing outside the archive folder is read as a record; one scandir
        per folder, as a Path per file cost more than reading it."""
        folder = self.root / prefix
        if not folder.is_dir():
            return
        yield from self._walk(str(folder), prefix.rstrip("/") + "/" if prefix else "")

    def _walk(self, folder: str, key_prefix: str) -> Iterator[tuple[str, int | None]]:
        with os.scandir(folder) as listing:
            entries = sorted(listing, key=lambda entry: entry.name)
        for entry in entries:
            if entry.is_dir() and not entry.is_symlink():
                yield from self._walk(entry.path, f"{key_prefix}{entry.name}/")
            elif entry.is_file(follow_symlinks=False):
                yield f"{key_prefix}{entry.name}", None  # no stat: nothing reads a folder's sizes

    def read(self, key: str) -> bytes:
        with open(os.path.join(self.root, key), "rb") as file:
            return file.read()

    # A local read is quicker than handing it to a thread and back; only a bucket's latency
    # is worth hiding behind concurrent reads.
    read_concurrency = 1

    def markers(self, prefix: str) -> FolderMarkers:
        """A folder has no conditional writes: exclusive files under .failctl/ hold the claims."""
        return FolderMarkers(self.root / ".failctl" / prefix)

    @property
    def replays(self) -> FolderMarkers:
        return self.markers(REPLAY_MARKERS)


ACCOUNT_REGIONAL_NAME = re.compile(r"-(\d{12})-[a-z0-9-]+-an$")


class S3Store:
    """An archive bucket, read and tagged only while it is still the expected account's.

    Every call carries `ExpectedBucketOwner`: if the bucket was deleted and its name taken by
    another account, S3 refuses (403) instead of handing over someone else's records to
    query or re-drive. The owner is the one given, else the account an account-regional name
    embeds, else the caller's own account.
    """

    def __init__(self, url: str, client: Any = None, expected_owner: str | None = None) -> None:
        import boto3

        bucket, _, base = url.removeprefix("s3://").partition("/")
        if not bucket:
            raise ValueError(f"--source {url} names no bucket")
        if expected_owner is not None and not re.fullmatch(r"\d{12}", expected_owner):
            raise ValueError(f"--bucket-owner {expected_owner!r} is not a 12-digit account id")
        self.bucket = bucket
        self.base = base.strip("/") + "/" if base.strip("/") else ""
        self.client = client or boto3.client("s3")
        embedded = ACCOUNT_REGIONAL_NAME.search(bucket)
        self._owner = expected_owner or (embedded.group(1) if embedded else None)

    @property
    def owner(self) -> str:
        if self._owner is None:
            import boto3

            self._owner = boto3.client("sts").get_caller_identity()["Account"]
        return self._owner

    def _where(self, key: str | None = None) -> dict[str, str]:
        where = {"Bucket": self.bucket, "ExpectedBucketOwner": self.owner}
        if key is not None:
            where["Key"] = self.base + key
        return where

    def children(self, prefix: str) -> list[str]:
        found: list[str] = []
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(**self._where(), Prefix=self.base + prefix, Delimiter="/"):
            found += [p["Prefix"][len(self.base) :] for p in page.get("CommonPrefixes", [])]
        return sorted(found)

    def keys(self, prefix: str) -> Iterator[tuple[str, int]]:
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(**self._where(), Prefix=self.base + prefix):
            for item in page.get("Contents", []):
                yield item["Key"][len(self.base) :], item["Size"]

    def read(self, key: str) -> bytes:
        body: bytes = self.client.get_object(**self._where(key))["Body"].read()
        return body

    def markers(self, prefix: str) -> MarkerStore:
        return MarkerStore(self.client, self.bucket, self.base + prefix, self.owner)

    @property
    def replays(self) -> MarkerStore:
        return self.markers(REPLAY_MARKERS)


def open_store(source: str, expected_owner: str | None = None) -> Store:
    return S3Store(source, expected_owner=expected_owner) if source.startswith("s3://") else FolderStore(source)


@dataclass(frozen=True)
class RecordLocation:
    key: str
    size: int | None
    function_name: str | None  # async records only
    day: str | None


def async_keys(store: Store, wanted: list[date] | None, function: str | None = None) -> Iterator[RecordLocation]:
    """Async records under the requested days only, as partition projection prunes; of one
    function only when given (its own prefix is listed, no other's)."""
    functions = [f"{ASYNC_PREFIX}{function}/"] if function else store.children(ASYNC_PREFIX)
    for function_prefix in functions:
        function_name = function_prefix[len(ASYNC_PREFIX) :].rstrip("/")
        prefixes = [f"{function_prefix}{day_path(d)}/" for d in wanted] if wanted else [function_prefix]
        for prefix in prefixes:
            for key, size in store.keys(prefix):
                yield RecordLocation(key, size, function_name, key_day(key[len(function_prefix) - 1 :]))


def stream_keys(store: Store, wanted: list[date] | None) -> Iterator[RecordLocation]:
    """Stream batch records: aws/lambda/<esm-uuid>/<shard-id>/YYYY/MM/DD/..."""
    for mapping_prefix in store.children(STREAM_PREFIX):
        if mapping_prefix == ASYNC_PREFIX:
            continue
        for shard_prefix in store.children(mapping_prefix):
            prefixes = [f"{shard_prefix}{day_path(d)}/" for d in wanted] if wanted else [shard_prefix]
            for prefix in prefixes:
                for key, size in store.keys(prefix):
                    yield RecordLocation(key, size, None, key_day(key[len(shard_prefix) - 1 :]))


# Objects fetched at once from a bucket: enough to hide S3's latency, few enough to be polite.
READ_CONCURRENCY = 16


def read_many(store: Store, located: Iterable[RecordLocation]) -> Iterator[tuple[RecordLocation, bytes]]:
    """Objects in key order, fetched a bounded number at a time (one at a time from a store
    that says concurrency does not pay, such as a folder)."""
    concurrency = getattr(store, "read_concurrency", READ_CONCURRENCY)
    if concurrency <= 1:
        for item in located:
            yield item, store.read(item.key)
        return
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        window: deque[tuple[RecordLocation, Future[bytes]]] = deque()
        for item in located:
            window.append((item, pool.submit(store.read, item.key)))
            if len(window) >= concurrency * 4:
                done, future = window.popleft()
                yield done, future.result()
        while window:
            done, future = window.popleft()
            yield done, future.result()
