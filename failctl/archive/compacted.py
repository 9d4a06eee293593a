"""The compacted layout as queries read it: which days of which function are compacted (their
compaction claim says `done` and names the Parquet files it wrote), and the raw records of
every other day.

A day counts as compacted only once its marker is settled `done`: files of a run that died
mid-write are never read, and the raw records stay the answer for that day until a run
finishes it. The marker names its files, so files left by a dead run are not read either.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import duckdb

from failctl.archive.stores import FolderMarkers, FolderStore, RecordLocation, S3Store, Store, async_keys
from lambda_failures.archive_format import ASYNC_PREFIX, COMPACTED_PREFIX, COMPACTION_MARKERS, day_path, path_day
from lambda_failures.claims import ClaimState, MarkerStore

# (function, YYYY/MM/DD) -> the Parquet keys its `done` marker names
Compacted = dict[tuple[str, str], list[str]]


class CompactionMarkers:
    """One claim per function and day (`<function>/YYYY/MM/DD`), beside the replay claims: a
    bucket's under markers/compactions/, a folder's under .failctl/markers/compactions/."""

    def __init__(self, store: Store) -> None:
        if not isinstance(store, S3Store | FolderStore):
            raise TypeError(f"no compaction markers for {type(store).__name__}")
        self.store = store
        self.claims: MarkerStore | FolderMarkers = store.markers(COMPACTION_MARKERS)

    def body(self, name: str) -> tuple[ClaimState | None, dict[str, Any]]:
        state, _, body = self.claims.read(name)
        return state, body

    def names(self) -> Iterator[str]:
        """Every marker's name (`<function>/YYYY/MM/DD`)."""
        if isinstance(self.claims, FolderMarkers):
            yield from self.claims.names()
            return
        for key, _ in self.store.keys(COMPACTION_MARKERS):
            yield key[len(COMPACTION_MARKERS) :]


def compacted_days(store: Store, wanted: list[date] | None) -> Compacted:
    """The days compacted and settled `done`, within `wanted` when given (none for a store that
    holds no markers)."""
    if not isinstance(store, S3Store | FolderStore):
        return {}
    markers = CompactionMarkers(store)
    wanted_paths = {day_path(d) for d in wanted} if wanted else None
    found: Compacted = {}
    for name in markers.names():
        function, _, day = name.partition("/")
        if wanted_paths is not None and day not in wanted_paths:
            continue
        state, body = markers.body(name)
        files = body.get("files")
        if state is ClaimState.DONE and isinstance(files, list) and all(_ours(f, function, day) for f in files):
            found[(function, day)] = files
    return found


def _ours(key: object, function: str, day: str) -> bool:
    """A file a compaction of this day writes, and nothing else a marker could name."""
    return isinstance(key, str) and key.startswith(f"{COMPACTED_PREFIX}{function}/{day}/") and ".." not in key


def present_days(store: Store, function_prefix: str) -> list[date]:
    """The days a function has raw records for, from the YYYY/MM/DD folders under its prefix."""
    found = []
    for year in store.children(function_prefix):
        for month in store.children(year):
            for day in store.children(month):
                named = path_day(day[len(function_prefix) :].strip("/"))
                if named is not None:
                    found.append(named)
    return found


def function_names(store: Store, function: str | None = None) -> list[str]:
    if function is not None:
        return [function]
    return [p[len(ASYNC_PREFIX) :].rstrip("/") for p in store.children(ASYNC_PREFIX)]


def raw_async_keys(store: Store, wanted: list[date] | None, compacted: Compacted) -> Iterator[RecordLocation]:
    """Async records of the days not compacted (only those are listed), as partition projection prunes."""
    if not compacted:
        yield from async_keys(store, wanted)
        return
    for function in function_names(store):
        candidates = wanted if wanted else present_days(store, f"{ASYNC_PREFIX}{function}/")
        open_days = [d for d in candidates if (function, day_path(d)) not in compacted]
        if open_days:
            yield from async_keys(store, open_days, function)


def compacted_paths(store: Store, compacted: Compacted, scratch: str) -> tuple[list[str], int]:
    """Local paths of the compacted days' files and their bytes: a folder's own files, or a
    bucket's fetched into `scratch` (DuckDB is given no network access)."""
    paths, size = [], 0
    for number, key in enumerate(key for files in compacted.values() for key in files):
        if isinstance(store, FolderStore):
            path = str(store.root / key)
            size += os.path.getsize(path)
        else:
            data = store.read(key)
            path = os.path.join(scratch, f"{number:06d}.parquet")
            Path(path).write_bytes(data)
            size += len(data)
        paths.append(path)
    return paths, size


def sql_list(texts: list[str]) -> str:
    """A list of SQL string literals, quotes doubled."""
    return "[" + ", ".join("'" + text.replace("'", "''") + "'" for text in texts) + "]"


def union_view(
    con: duckdb.DuckDBPyConnection, table: str, raw_table: str, columns: list[tuple[str, str]], paths: list[str]
) -> None:
    """`table` as the raw rows plus the compacted files, read in place when queried (nothing
    of the files is held in memory but what the query itself keeps); `columns` are (name,
    DuckDB type) as the raw table has them."""
    names = ", ".join(f'"{name}"' for name, _ in columns)
    cast = ", ".join(f'CAST("{name}" AS {kind}) AS "{name}"' for name, kind in columns)
    con.execute(
        f'CREATE VIEW "{table}" AS SELECT {names} FROM "{raw_table}" '
        f"UNION ALL SELECT {cast} FROM read_parquet({sql_list(paths)})"
    )
