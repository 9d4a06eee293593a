"""Answer the named queries locally: DuckDB over the archive, with the Glue tables' schema.

Only objects under the requested days' prefixes are read (as partition projection prunes).
Each object is parsed the way the JSON SerDe reads it (keys case-insensitive, nested values
of string columns kept as JSON text); objects that are not one record are reported and
skipped, never fatal.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import duckdb
import sqlglot

from components.failure_queries import (
    ASYNC_COLUMNS,
    ASYNC_PARTITIONS,
    ASYNC_TABLE,
    STREAM_COLUMNS,
    STREAM_TABLE,
    Column,
)
from failctl.records import Located, MalformedRecordError, Store, async_keys, days, parse_record, stream_keys

HIVE_TO_DUCK = {"string": "VARCHAR", "int": "INTEGER", "bigint": "BIGINT", "double": "DOUBLE", "boolean": "BOOLEAN"}
STRUCT = re.compile(r"^struct<(.*)>$")


def duck_type(hive_type: str) -> str:
    """DuckDB type for a Hive/Glue type (scalars and struct<...>, as the tables use)."""
    match = STRUCT.match(hive_type)
    if not match:
        return HIVE_TO_DUCK[hive_type]
    fields = [f.split(":", 1) for f in _split_fields(match.group(1))]
    return "STRUCT(" + ", ".join(f'"{name}" {duck_type(kind)}' for name, kind in fields) + ")"


def _split_fields(body: str) -> list[str]:
    fields, depth, start = [], 0, 0
    for i, char in enumerate(body):
        depth += char == "<"
        depth -= char == ">"
        if char == "," and depth == 0:
            fields.append(body[start:i])
            start = i + 1
    fields.append(body[start:])
    return fields


def _cell(value: Any, hive_type: str) -> Any:
    """A JSON value as the SerDe hands it to a column of this type (mismatches become NULL).

    Column and struct field names match in any case; nested values of a string column are
    kept as JSON text, with their own keys untouched."""
    if value is None:
        return None
    match = STRUCT.match(hive_type)
    if match:
        if not isinstance(value, dict):
            return None
        lowered = {str(k).lower(): v for k, v in value.items()}
        fields = [f.split(":", 1) for f in _split_fields(match.group(1))]
        return {name: _cell(lowered.get(name), kind) for name, kind in fields}
    if hive_type == "string":
        return value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))
    if hive_type in ("int", "bigint"):
        return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else None
    return value


# Payloads may be any JSON value; a string payload is kept JSON-encoded too, so that
# json_extract_scalar over it yields NULL instead of failing on text that is not JSON.
JSON_TEXT_COLUMNS = {"requestpayload", "responsepayload"}


def row(record: dict[str, Any], columns: tuple[Column, ...]) -> list[Any]:
    top = {str(k).lower(): v for k, v in record.items()}
    return [
        json.dumps(top[c.name], separators=(",", ":"))
        if c.name in JSON_TEXT_COLUMNS and top.get(c.name) is not None
        else _cell(top.get(c.name), c.type)
        for c in columns
    ]


@dataclass
class LoadReport:
    objects: int = 0
    bytes_read: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class QueryResult:
    columns: list[str]
    rows: list[tuple[Any, ...]]
    load: LoadReport


def _create(con: duckdb.DuckDBPyConnection, table: str, columns: tuple[Column, ...]) -> None:
    ddl = ", ".join(f'"{c.name}" {duck_type(c.type)}' for c in columns)
    con.execute(f'CREATE TABLE "{table}" ({ddl})')


def _load(
    con: duckdb.DuckDBPyConnection,
    store: Store,
    table: str,
    columns: tuple[Column, ...],
    located: Iterator[Located],
    extra: Callable[[Located], list[Any]],
    report: LoadReport,
) -> None:
    _create(con, table, columns)
    rows = []
    for item in located:
        data = store.read(item.key)
        report.objects += 1
        report.bytes_read += len(data)
        try:
            record = parse_record(data)
        except MalformedRecordError as error:
            report.skipped.append((item.key, str(error)))
            continue
        keyed = extra(item)  # values the key carries (partitions), after the record's own columns
        rows.append(row(record, columns[: len(columns) - len(keyed)]) + keyed)
    if rows:
        placeholders = ", ".join("?" for _ in columns)
        con.executemany(f'INSERT INTO "{table}" VALUES ({placeholders})', rows)


def to_duckdb(sql: str) -> str:
    """The Athena (Trino) SQL that is deployed, in DuckDB's dialect."""
    return sqlglot.transpile(sql, read="athena", write="duckdb")[0]


def run_local(
    store: Store,
    sql: str,
    first: date | None = None,
    last: date | None = None,
    async_table: str = ASYNC_TABLE,
    stream_table: str = STREAM_TABLE,
) -> QueryResult:
    wanted = days(first, last) if first and last else None
    report = LoadReport()
    con = duckdb.connect()
    _load(
        con,
        store,
        async_table,
        ASYNC_COLUMNS + ASYNC_PARTITIONS,
        async_keys(store, wanted),
        lambda item: [item.function_name, item.day],
        report,
    )
    _load(con, store, stream_table, STREAM_COLUMNS, stream_keys(store, wanted), lambda item: [], report)
    cursor = con.execute(to_duckdb(sql), day_parameters(sql, first, last))
    names = [d[0] for d in cursor.description]
    return QueryResult(names, cursor.fetchall(), report)


def day_parameters(sql: str, first: date | None, last: date | None) -> list[str]:
    """Values for the queries' two '?' (first and last day as YYYY/MM/DD); none if it has none."""
    count = len(list(sqlglot.parse_one(sql, read="athena").find_all(sqlglot.exp.Placeholder)))
    if count == 0:
        return []
    if count != 2:
        raise ValueError(f"the query has {count} '?' parameters; only (first day, last day) are supplied")
    return [first.strftime("%Y/%m/%d") if first else "0000/00/00", last.strftime("%Y/%m/%d") if last else "9999/99/99"]
