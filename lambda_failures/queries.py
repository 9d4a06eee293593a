"""The named queries over the failure tables, defined once.

The tables' schema is the archive format's (archive_format.py); the named queries deployed to
Athena are the very text the local engine translates (Athena/Trino SQL -> DuckDB with
sqlglot). Queries take two parameters, the first and last day as 'YYYY/MM/DD', which match
the `day` partition of the async table.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from lambda_failures.archive_format import (
    ASYNC_COLUMNS,
    ASYNC_PARTITIONS,
    ASYNC_TABLE,
    STREAM_TABLE,
    day_path,
    path_day,
)

_ERROR_TYPE = "COALESCE(json_extract_scalar(responsepayload, '$.errorType'), requestcontext.condition, 'Unknown')"
_IN_RANGE = "day BETWEEN ? AND ?"
# A stream record's day as the async table's `day` reads it (YYYY/MM/DD), from its ISO 8601 timestamp.
STREAM_RECORD_DAY = "replace(substr(\"timestamp\", 1, 10), '-', '/')"
_STREAM_DAY = f"{STREAM_RECORD_DAY} BETWEEN ? AND ?"
_BATCH = "COALESCE(ddbstreambatchinfo, kinesisbatchinfo)"


@dataclass(frozen=True)
class NamedQuery:
    name: str
    description: str
    sql: str


def named_queries(async_table: str = ASYNC_TABLE, stream_table: str = STREAM_TABLE) -> tuple[NamedQuery, ...]:
    t, s = async_table, stream_table
    return (
        NamedQuery(
            "errors-by-type",
            "How often each error type (or condition, when the event never ran) occurred.",
            f"SELECT {_ERROR_TYPE} AS error_type, COUNT(*) AS error_count FROM {t} "
            f"WHERE {_IN_RANGE} GROUP BY 1 ORDER BY error_count DESC, error_type",
        ),
        NamedQuery(
            "latest-errors",
            "The 50 most recent failures with their message and original event.",
            f'SELECT "timestamp", {_ERROR_TYPE} AS error_type, '
            f"json_extract_scalar(responsepayload, '$.errorMessage') AS error_message, "
            f"requestpayload AS request_body FROM {t} WHERE {_IN_RANGE} "
            f'ORDER BY "timestamp" DESC LIMIT 50',
        ),
        NamedQuery(
            "errors-by-action",
            "Failures per action read from the event (forceError and events without an action named as such).",
            "SELECT COALESCE(json_extract_scalar(requestpayload, '$.action'), "
            "CASE WHEN json_extract_scalar(requestpayload, '$.forceError') = 'true' THEN 'forceError' "
            "ELSE '(no action)' END) AS action, "
            f"{_ERROR_TYPE} AS error_type, COUNT(*) AS count FROM {t} WHERE {_IN_RANGE} "
            "GROUP BY 1, 2 ORDER BY count DESC, action, error_type",
        ),
        NamedQuery(
            "errors-in-range",
            "Every failure in the date range, oldest first, with its request id and condition.",
            f'SELECT "timestamp", function_name, requestcontext.requestid AS request_id, '
            f"requestcontext.condition AS condition, {_ERROR_TYPE} AS error_type, "
            f"json_extract_scalar(responsepayload, '$.errorMessage') AS error_message FROM {t} "
            f'WHERE {_IN_RANGE} ORDER BY "timestamp", request_id',
        ),
        NamedQuery(
            "stream-failures",
            "Failed stream batches by table (or stream) and shard.",
            f"SELECT regexp_extract({_BATCH}.streamarn, '(table|stream)/([^/]+)', 2) AS source, "
            f"{_BATCH}.shardid AS shard_id, COUNT(*) AS failed_batches, "
            f'SUM({_BATCH}.batchsize) AS records, MIN("timestamp") AS first_failure, '
            f'MAX("timestamp") AS last_failure FROM {s} WHERE {_STREAM_DAY} '
            "GROUP BY 1, 2 ORDER BY failed_batches DESC, source, shard_id",
        ),
        NamedQuery(
            "failures-per-day",
            "Failures per day and function, to see a regression start.",
            f"SELECT day, function_name, COUNT(*) AS failures FROM {t} WHERE {_IN_RANGE} "
            "GROUP BY 1, 2 ORDER BY day, function_name",
        ),
    )


def query_named(name: str, async_table: str = ASYNC_TABLE, stream_table: str = STREAM_TABLE) -> NamedQuery:
    for query in named_queries(async_table, stream_table):
        if query.name == name:
            return query
    known = ", ".join(q.name for q in named_queries())
    raise KeyError(f"no named query {name!r}; known: {known}")


# --------------------------------------------------------------------------------------------
# Compaction in Athena: one closed day of one function, from the raw table into the compacted
# one, and the view the named queries read (compacted days, plus raw days not yet compacted).

_LAMBDA_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")
_IDENTIFIER = re.compile(r"[a-z0-9_]{1,255}")


def _identifier(name: str) -> str:
    if not _IDENTIFIER.fullmatch(name):
        raise ValueError(f"{name!r} is not a Glue name (a-z, 0-9, _)")
    return f'"{name}"'


def async_column_list() -> str:
    """The async table's columns, partitions last (as Hive's INSERT INTO wants them)."""
    return ", ".join(f'"{c.name}"' for c in ASYNC_COLUMNS + ASYNC_PARTITIONS)


def compaction_statement(database: str, raw_table: str, compacted_table: str, function: str, day: str) -> str:
    """INSERT INTO the compacted table one function's day, read from the raw table. The values
    are checked, not escaped: a function name or day of any other shape is refused."""
    if not _LAMBDA_NAME.fullmatch(function):
        raise ValueError(f"{function!r} is not a Lambda function name")
    named = path_day(day)
    if named is None or day_path(named) != day:
        raise ValueError(f"{day!r} is not a day as the archive's keys write one (YYYY/MM/DD)")
    db = _identifier(database)
    columns = async_column_list()
    return (
        f"INSERT INTO {db}.{_identifier(compacted_table)} ({columns}) SELECT {columns} "
        f"FROM {db}.{_identifier(raw_table)} WHERE function_name = '{function}' AND day = '{day}'"
    )


def all_days_view_sql(database: str, raw_table: str, compacted_table: str, markers_table: str) -> str:
    """Compacted days whose claim says done, and the raw records of every other day: a day is
    read from exactly one of the two, as the local engine does."""
    db = _identifier(database)
    columns = async_column_list()

    def done(alias: str) -> str:
        return (
            f"SELECT 1 FROM {db}.{_identifier(markers_table)} m WHERE m.state = 'done' "
            f"AND m.function_name = {alias}.function_name AND m.day = {alias}.day"
        )

    return (
        f"SELECT {columns} FROM {db}.{_identifier(compacted_table)} c WHERE EXISTS ({done('c')}) "
        f"UNION ALL SELECT {columns} FROM {db}.{_identifier(raw_table)} r WHERE NOT EXISTS ({done('r')})"
    )
