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
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import duckdb
import sqlglot

from failctl.archive import sql_guard
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


# Why a value was read as NULL, collected per object and reported with its key.
Nulled = list[str]
# A column's conversion from a parsed JSON value to what the SerDe hands that column.
Convert = Callable[[Any, Nulled], Any]


def _integer(hive_type: str, name: str) -> Convert:
    low, high = INTEGER_RANGES[hive_type]

    def convert(value: Any, nulled: Nulled) -> int | None:
        if type(value) is int and low <= value <= high:  # the common case, decided in one test
            return value
        if value is None or isinstance(value, bool) or not isinstance(value, int | float):
            return None
        if isinstance(value, float) and (not math.isfinite(value) or not value.is_integer()):
            nulled.append(f"{name}: {value!r} is not an integer")
            return None
        if not low <= value <= high:
            nulled.append(f"{name}: {value} is out of range for {hive_type}")
            return None
        return int(value)

    return convert


def _string(value: Any, nulled: Nulled) -> str | None:
    """Nested values of a string column are kept as JSON text, with their own keys untouched."""
    return value if value is None or type(value) is str else _json_text(value)


PAYLOAD_COLUMNS = {"requestpayload", "responsepayload"}


def _payload(value: Any, nulled: Nulled) -> str | None:
    """Payloads may be any JSON value; a string payload is kept JSON-encoded too, so that
    json_extract_scalar over it yields NULL instead of failing on text that is not JSON."""
    return None if value is None else _json_text(value)


def _as_is(value: Any, nulled: Nulled) -> Any:
    return value


def converter(hive_type: str, name: str = "") -> Convert:
    """How the SerDe hands a JSON value to a column of this type (mismatches become NULL),
    compiled once per column so that each object costs only the calls its values need.

    Column and struct field names match in any case; a number out of an integer column's
    range becomes NULL and is reported through `nulled`."""
    match = STRUCT.match(hive_type)
    if match:
        fields = [f.split(":", 1) for f in _split_fields(match.group(1))]
        parts = [(field, converter(kind, f"{name}.{field}")) for field, kind in fields]

        def convert(value: Any, nulled: Nulled) -> dict[str, Any] | None:
            if not isinstance(value, dict):
                return None
            lowered = {str(k).lower(): v for k, v in value.items()}
            return {field: part(lowered.get(field), nulled) for field, part in parts}

        return convert
    if hive_type == "string":
        return _string
    if hive_type in INTEGER_RANGES:
        return _integer(hive_type, name)
    return _as_is


# allow_nan=False: JSON has no NaN or infinities (1e400 parses to one); such a value is NULL.
_JSON_TEXT = json.JSONEncoder(separators=(",", ":"), allow_nan=False).encode
_LINE = json.JSONEncoder(separators=(",", ":")).encode


def _json_text(value: Any) -> str | None:
    """JSON text of a value; NaN and infinities (which JSON has not) and overly deep values are NULL."""
    try:
        return _JSON_TEXT(value)
    except (ValueError, RecursionError):
        return None


def row_converter(columns: tuple[Column, ...]) -> Callable[[dict[str, Any], Nulled], dict[str, Any]]:
    """A record's row as a {column: value} object, converters chosen once for the table."""
    parts = [(c.name, _payload if c.name in PAYLOAD_COLUMNS else converter(c.type, c.name)) for c in columns]

    def convert(record: dict[str, Any], nulled: Nulled) -> dict[str, Any]:
        top = {str(k).lower(): v for k, v in record.items()}
        return {name: part(top.get(name), nulled) for name, part in parts}

    return convert


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


# Rows handed to the file in one write: one write per row costs more than building the row.
LINES_PER_WRITE = 2048


def _load(
    con: duckdb.DuckDBPyConnection,
    store: Store,
    table: str,
    columns: tuple[Column, ...],
    located: Iterator[RecordLocation],
    extra: Callable[[RecordLocation], dict[str, Any]],
    partitions: int,
    report: LoadReport,
) -> None:
    """Rows as the SerDe reads them, written as JSON lines and loaded by DuckDB in one bulk
    read (row-by-row inserts cost most of a query's time). The rows go through a file, not
    memory, so a large archive costs disk, not RAM, until DuckDB holds the table."""
    _create(con, table, columns)
    convert = row_converter(columns[: len(columns) - partitions])  # the key carries the partitions
    skipped, nulled_rows = report.skipped, report.nulled
    written = 0
    with (
        tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False, encoding="utf-8") as handle,
        removed_on_error(handle.name),
    ):
        lines = handle.file
        batch: list[str] = []
        for item, data in read_many(store, located):
            report.objects += 1
            report.bytes_read += len(data)
            try:
                record = parse_record(data)
            except NotAFailureRecordError as error:
                skipped.append((item.key, str(error)))
                continue
            reasons: Nulled = []
            cells = convert(record, reasons)
            if reasons:
                nulled_rows.extend((item.key, why) for why in reasons)
            if partitions:
                cells.update(extra(item))
            batch.append(_LINE(cells))
            if len(batch) >= LINES_PER_WRITE:
                lines.write("\n".join(batch) + "\n")
                written += len(batch)
                batch.clear()
        if batch:
            lines.write("\n".join(batch) + "\n")
            written += len(batch)
    try:
        if written:
            spec = "{" + ", ".join(f"'{c.name}': '{duck_type(c.type)}'" for c in columns) + "}"
            con.execute(
                f"INSERT INTO \"{table}\" SELECT * FROM read_json(?, format = 'newline_delimited', "
                f"columns = {spec}, maximum_object_size = 1073741824)",
                [handle.name],
            )
    finally:
        os.unlink(handle.name)


@contextmanager
def removed_on_error(path: str) -> Iterator[None]:
    """The rows file goes if the load breaks (an object that cannot be read, a folder denied)."""
    try:
        yield
    except BaseException:
        with suppress(FileNotFoundError):
            os.unlink(path)
        raise


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
    statements = sql_guard.parse(sql)
    if len(statements) != 1 or statements[0] is None:
        raise UnsafeQueryError("give exactly one SQL statement")
    tree = statements[0]
    if not isinstance(tree, sqlglot.exp.Query):
        raise UnsafeQueryError(f"only SELECT queries are run; got {tree.key.upper()}")
    sql_guard.refuse_changes(tree)
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
    limits: sql_guard.QueryLimits | None = None,
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
        lambda item: {"function_name": item.function_name, "day": item.day},
        len(ASYNC_PARTITIONS),
        report,
    )
    _load(con, store, stream_table, STREAM_COLUMNS, stream_keys(store, wanted), lambda item: {}, 0, report)
    # The data is in: from here on the query cannot read or write files or reach the network.
    con.execute("SET enable_external_access = false")
    limits = limits or sql_guard.QueryLimits()
    sql_guard.apply_limits(con, limits)
    names, rows = sql_guard.run(con, to_duckdb(sql), day_parameters(sql, first, last), limits)
    return QueryResult(names, rows, report)


def day_parameters(sql: str, first: date | None, last: date | None) -> list[str]:
    """Values for the queries' two '?' (first and last day as YYYY/MM/DD); none if it has none."""
    count = len(list(sqlglot.parse_one(sql, read="athena").find_all(sqlglot.exp.Placeholder)))
    if count == 0:
        return []
    if count != 2:
        raise ValueError(f"the query has {count} '?' parameters; only (first day, last day) are supplied")
    return [first.strftime("%Y/%m/%d") if first else "0000/00/00", last.strftime("%Y/%m/%d") if last else "9999/99/99"]
