"""Answer the named queries locally: DuckDB over the archive, with the Glue tables' schema.

Only objects under the requested days' prefixes are read (as partition projection prunes).
Each object is parsed the way the JSON SerDe reads it (keys case-insensitive, nested values
of string columns kept as JSON text, a value out of its column's range read as NULL);
objects that are not one record are reported and skipped, never fatal; values read as NULL
are reported with their object's key. `json_extract_scalar` keeps Athena's meaning (NULL
for an object or array). Queries are read-only: one SELECT, over the two tables, with
DuckDB's access to files and the network switched off before it runs.
"""

from __future__ import annotations

import json
import math
import os
import re
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import sqlglot

from failctl.archive.stores import RecordLocation, Store, async_keys, days, read_many, stream_keys
from lambda_failures.archive_format import (
    ASYNC_COLUMNS,
    ASYNC_PARTITIONS,
    ASYNC_TABLE,
    STREAM_COLUMNS,
    STREAM_TABLE,
    Column,
    NotAFailureRecordError,
    parse_record,
)

HIVE_TO_DUCK = {"string": "VARCHAR", "int": "INTEGER", "bigint": "BIGINT", "double": "DOUBLE", "boolean": "BOOLEAN"}
STRUCT = re.compile(r"^struct<(.*)>$")
# Hive's integer columns hold these ranges; the SerDe reads anything else as NULL.
INTEGER_RANGES = {"int": (-(2**31), 2**31 - 1), "bigint": (-(2**63), 2**63 - 1)}
# Athena's json_extract_scalar: NULL unless the value at the path is a scalar.
JSON_SCALAR_MACRO = (
    "CREATE MACRO athena_json_extract_scalar(j, p) AS "
    "CASE WHEN json_type(j, p) IN ('OBJECT', 'ARRAY') THEN NULL ELSE json_extract_string(j, p) END"
)


class UnsafeQueryError(ValueError):
    """The query is not one read-only SELECT over the archive tables."""


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


def _integer(value: Any, hive_type: str, nulled: Callable[[str], None], name: str) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    low, high = INTEGER_RANGES[hive_type]
    if isinstance(value, float) and (not math.isfinite(value) or not value.is_integer()):
        nulled(f"{name}: {value!r} is not an integer")
        return None
    if not low <= value <= high:
        nulled(f"{name}: {value} is out of range for {hive_type}")
        return None
    return int(value)


def _cell(value: Any, hive_type: str, nulled: Callable[[str], None] = lambda _: None, name: str = "") -> Any:
    """A JSON value as the SerDe hands it to a column of this type (mismatches become NULL).

    Column and struct field names match in any case; nested values of a string column are
    kept as JSON text, with their own keys untouched; a number out of an integer column's
    range becomes NULL and is reported through `nulled`."""
    if value is None:
        return None
    match = STRUCT.match(hive_type)
    if match:
        if not isinstance(value, dict):
            return None
        lowered = {str(k).lower(): v for k, v in value.items()}
        fields = [f.split(":", 1) for f in _split_fields(match.group(1))]
        return {field: _cell(lowered.get(field), kind, nulled, f"{name}.{field}") for field, kind in fields}
    if hive_type == "string":
        return value if isinstance(value, str) else _json_text(value)
    if hive_type in INTEGER_RANGES:
        return _integer(value, hive_type, nulled, name)
    return value


def _json_text(value: Any) -> str | None:
    """JSON text of a value; NaN and infinities (which JSON has not) and overly deep values are NULL."""
    try:
        return json.dumps(value, separators=(",", ":"), allow_nan=False)
    except (ValueError, RecursionError):
        return None


# Payloads may be any JSON value; a string payload is kept JSON-encoded too, so that
# json_extract_scalar over it yields NULL instead of failing on text that is not JSON.
JSON_TEXT_COLUMNS = {"requestpayload", "responsepayload"}


def row(
    record: dict[str, Any], columns: tuple[Column, ...], nulled: Callable[[str], None] = lambda _: None
) -> list[Any]:
    top = {str(k).lower(): v for k, v in record.items()}
    return [
        _json_text(top[c.name])
        if c.name in JSON_TEXT_COLUMNS and top.get(c.name) is not None
        else _cell(top.get(c.name), c.type, nulled, c.name)
        for c in columns
    ]


@dataclass
class LoadReport:
    objects: int = 0
    bytes_read: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)
    nulled: list[tuple[str, str]] = field(default_factory=list)  # (key, why a value was read as NULL)


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
    located: Iterator[RecordLocation],
    extra: Callable[[RecordLocation], list[Any]],
    report: LoadReport,
) -> None:
    """Rows as the SerDe reads them, written as JSON lines and loaded by DuckDB in one bulk
    read (row-by-row inserts cost most of a query's time)."""
    _create(con, table, columns)
    names = [c.name for c in columns]
    with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False) as lines:
        for item, data in read_many(store, located):
            report.objects += 1
            report.bytes_read += len(data)
            try:
                record = parse_record(data)
            except NotAFailureRecordError as error:
                report.skipped.append((item.key, str(error)))
                continue
            keyed = extra(item)  # values the key carries (partitions), after the record's own columns
            own = columns[: len(columns) - len(keyed)]
            cells = row(record, own, lambda why, key=item.key: report.nulled.append((key, why))) + keyed
            lines.write(json.dumps(dict(zip(names, cells, strict=True)), separators=(",", ":")) + "\n")
    try:
        if Path(lines.name).stat().st_size:
            spec = "{" + ", ".join(f"'{c.name}': '{duck_type(c.type)}'" for c in columns) + "}"
            con.execute(
                f"INSERT INTO \"{table}\" SELECT * FROM read_json(?, format = 'newline_delimited', "
                f"columns = {spec}, maximum_object_size = 1073741824)",
                [lines.name],
            )
    finally:
        os.unlink(lines.name)


def to_duckdb(sql: str) -> str:
    """The Athena (Trino) SQL that is deployed, in DuckDB's dialect (json_extract_scalar kept
    to Athena's meaning through a macro)."""
    statements = sqlglot.parse(sql, read="athena")
    if len(statements) != 1 or statements[0] is None:
        raise UnsafeQueryError("give exactly one SQL statement")
    tree = statements[0].transform(
        lambda node: (
            sqlglot.exp.Anonymous(this="athena_json_extract_scalar", expressions=[node.this, node.expression])
            if isinstance(node, sqlglot.exp.JSONExtractScalar)
            else node
        )
    )
    return tree.sql(dialect="duckdb")


def check_read_only(sql: str, tables: tuple[str, ...]) -> None:
    """One SELECT (or set operation of SELECTs) reading only the archive tables and its own CTEs."""
    try:
        statements = sqlglot.parse(sql, read="athena")
    except sqlglot.errors.ParseError as error:
        raise UnsafeQueryError(f"not SQL that Athena reads: {str(error).splitlines()[0]}") from None
    if len(statements) != 1 or statements[0] is None:
        raise UnsafeQueryError("give exactly one SQL statement")
    tree = statements[0]
    if not isinstance(tree, sqlglot.exp.Query):
        raise UnsafeQueryError(f"only SELECT queries are run; got {tree.key.upper()}")
    ctes = {cte.alias_or_name.lower() for cte in tree.find_all(sqlglot.exp.CTE)}
    allowed = {t.lower() for t in tables} | ctes
    for table in tree.find_all(sqlglot.exp.Table):
        if not isinstance(table.this, sqlglot.exp.Identifier) or table.name.lower() not in allowed:
            raise UnsafeQueryError(f"queries read only {', '.join(tables)}; got {table.sql(dialect='athena')}")


def run_local(
    store: Store,
    sql: str,
    first: date | None = None,
    last: date | None = None,
    async_table: str = ASYNC_TABLE,
    stream_table: str = STREAM_TABLE,
) -> QueryResult:
    check_read_only(sql, (async_table, stream_table))
    wanted = days(first, last) if first and last else None
    report = LoadReport()
    con = duckdb.connect()
    con.execute(JSON_SCALAR_MACRO)
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
    # The data is in: from here on the query cannot read or write files or reach the network.
    con.execute("SET enable_external_access = false")
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
