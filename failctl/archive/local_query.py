"""Answer the named queries locally: DuckDB over the archive, with the Glue tables' schema.

Only objects under the requested days' prefixes are read (as partition projection prunes);
a day compacted to Parquet (`failctl compact`) is read from its files instead of its objects.
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
import re
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import duckdb
import numpy as np
import sqlglot

from failctl.archive import sql_guard
from failctl.archive.compacted import compacted_days, compacted_paths, raw_async_keys, sql_list, union_view
from failctl.archive.stores import RecordLocation, Store, days, read_many, stream_keys
from lambda_failures.archive_format import (
    ASYNC_COLUMNS,
    ASYNC_PARTITIONS,
    ASYNC_TABLE,
    STREAM_COLUMNS,
    STREAM_TABLE,
    Column,
    NotAFailureRecordError,
    day_path,
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


def _double(value: Any, nulled: Nulled) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if math.isfinite(number) else None


def _boolean(value: Any, nulled: Nulled) -> bool | None:
    return value if isinstance(value, bool) else None


_SPELLINGS: dict[tuple[Any, ...], dict[str, Any]] = {}
SPELLINGS_KEPT = 1024  # distinct key sets remembered (records of one writer share a few)
SPELLING_KEYS_MAX = 64  # objects with more keys are not remembered


def spellings(value: dict[Any, Any]) -> dict[str, Any]:
    """{lowercase name: the key as written} of an object (of keys equal but for case, the last
    wins, as a JSON object's last duplicate does), remembered per key tuple: lowercasing
    every key of every record cost more than reading the record."""
    keys = tuple(value)
    spelled = _SPELLINGS.get(keys)
    if spelled is None:
        spelled = {str(k).lower(): k for k in keys}
        if len(keys) <= SPELLING_KEYS_MAX:
            if len(_SPELLINGS) >= SPELLINGS_KEPT:
                _SPELLINGS.clear()
            _SPELLINGS[keys] = spelled
    return spelled


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
            spelled, get = spellings(value), value.get
            return {field: part(get(spelled.get(field)), nulled) for field, part in parts}

        return convert
    if hive_type == "string":
        return _string
    if hive_type in INTEGER_RANGES:
        return _integer(hive_type, name)
    return _double if hive_type == "double" else _boolean


# allow_nan=False: JSON has no NaN or infinities (1e400 parses to one); such a value is NULL.
_JSON_TEXT = json.JSONEncoder(separators=(",", ":"), allow_nan=False).encode


def _json_text(value: Any) -> str | None:
    """JSON text of a value; NaN and infinities (which JSON has not) and overly deep values are NULL."""
    try:
        return _JSON_TEXT(value)
    except (ValueError, RecursionError):
        return None


def row_converter(columns: tuple[Column, ...]) -> Callable[[dict[str, Any], Nulled], tuple[Any, ...]]:
    """A record's cells in `columns` (only those), converters chosen once for the table."""
    parts = [(c.name, _payload if c.name in PAYLOAD_COLUMNS else converter(c.type, c.name)) for c in columns]

    def convert(record: dict[str, Any], nulled: Nulled) -> tuple[Any, ...]:
        spelled, get = spellings(record), record.get
        return tuple(part(get(spelled.get(name, name)), nulled) for name, part in parts)

    return convert


def used_columns(sql: str, table: str, columns: tuple[Column, ...], cheapest: int = 0) -> tuple[Column, ...]:
    """The columns of `table` a statement can read: none if it does not name the table; else
    every one whose name it mentions (a superset: an alias or struct field of the same name
    counts too), or all of them for `*` other than COUNT(*); at least one (`columns[cheapest]`),
    so that a table read for its row count still has its rows. A struct column only ever
    reached through its fields (`requestcontext.condition`) keeps only the fields mentioned."""
    tree = sqlglot.parse_one(sql, read="athena")
    if table.lower() not in {t.name.lower() for t in tree.find_all(sqlglot.exp.Table)}:
        return ()
    if any(not isinstance(star.parent, sqlglot.exp.Count) for star in tree.find_all(sqlglot.exp.Star)):
        return columns
    names = {identifier.name.lower() for identifier in tree.find_all(sqlglot.exp.Identifier)}
    whole = {column.name.lower() for column in tree.find_all(sqlglot.exp.Column)}
    used = tuple(_narrowed(c, names) if c.name not in whole else c for c in columns if c.name in names)
    return used or (columns[cheapest],)


def _narrowed(column: Column, names: set[str]) -> Column:
    """A struct column with only the fields `names` mentions (all of them if it mentions none)."""
    match = STRUCT.match(column.type)
    if not match:
        return column
    fields = [f for f in _split_fields(match.group(1)) if f.split(":", 1)[0] in names]
    return Column(column.name, f"struct<{','.join(fields)}>") if fields else column


@dataclass
class LoadReport:
    objects: int = 0
    bytes_read: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)
    nulled: list[tuple[str, str]] = field(default_factory=list)  # (key, why a value was read as NULL)
    compacted_files: int = 0  # Parquet files of compacted days (objects counts raw records)


@dataclass
class QueryResult:
    columns: list[str]
    rows: list[tuple[Any, ...]]
    load: LoadReport


def _create(con: duckdb.DuckDBPyConnection, table: str, columns: tuple[Column, ...]) -> None:
    ddl = ", ".join(f'"{c.name}" {duck_type(c.type)}' for c in columns)
    con.execute(f'CREATE TABLE "{table}" ({ddl})')


# The async table's partitions, as its keys carry them.
ASYNC_KEY_PARTITIONS: dict[str, Callable[[RecordLocation], str | None]] = {
    "function_name": lambda item: item.function_name,
    "day": lambda item: item.day,
}

# Rows handed to DuckDB at once: large enough that a hand-off costs little per row, small
# enough that the Python objects waiting for it stay a bounded few MB.
BATCH_ROWS = 32_768


class ColumnBatch:
    """Rows held as Python values until handed to DuckDB column by column (numpy object arrays,
    which DuckDB scans in place): no value is encoded again on the way. A struct column travels
    as one array per field plus whether the struct is there, and is rebuilt by `struct_pack`."""

    def __init__(self, con: duckdb.DuckDBPyConnection, table: str, columns: tuple[Column, ...]) -> None:
        self.con, self.table, self.columns = con, table, columns
        self.rows: list[tuple[Any, ...]] = []
        arrays: list[str] = []
        self._select = ", ".join(self._expression(c.name, c.type, arrays) for c in columns)
        self._arrays = arrays
        self._names = ", ".join(f'"{c.name}"' for c in columns)

    def _expression(self, path: str, hive_type: str, arrays: list[str]) -> str:
        """SQL rebuilding one value from its arrays (appending their names to `arrays`)."""
        match = STRUCT.match(hive_type)
        arrays.append(path)
        if not match:
            return f'CAST("{path}" AS {duck_type(hive_type)})'
        fields = [f.split(":", 1) for f in _split_fields(match.group(1))]
        packed = ", ".join(f'"{name}" := {self._expression(f"{path}.{name}", kind, arrays)}' for name, kind in fields)
        return f'CASE WHEN "{path}" THEN struct_pack({packed}) END'

    def add(self, cells: tuple[Any, ...]) -> None:
        self.rows.append(cells)
        if len(self.rows) >= BATCH_ROWS:
            self.flush()

    def flush(self) -> None:
        if not self.rows:
            return
        count = len(self.rows)
        data: dict[str, np.ndarray] = {}
        for column, values in zip(self.columns, zip(*self.rows, strict=True), strict=True):
            self._arrays_of(column.name, column.type, values, data, count)
        self.rows = []
        self.con.execute(f'INSERT INTO "{self.table}" ({self._names}) SELECT {self._select} FROM data')

    def _arrays_of(self, path: str, hive_type: str, values: Any, data: dict[str, Any], count: int) -> None:
        match = STRUCT.match(hive_type)
        if not match:
            data[path] = np.fromiter(values, dtype=object, count=count)
            return
        data[path] = np.fromiter((v is not None for v in values), dtype=bool, count=count)
        for name, kind in (f.split(":", 1) for f in _split_fields(match.group(1))):
            field_values = [None if v is None else v[name] for v in values]
            self._arrays_of(f"{path}.{name}", kind, field_values, data, count)


def load_rows(
    con: duckdb.DuckDBPyConnection,
    store: Store,
    table: str,
    columns: tuple[Column, ...],
    located: Iterator[RecordLocation],
    partitions: dict[str, Callable[[RecordLocation], str | None]],
    report: LoadReport,
) -> None:
    """Rows as the SerDe reads them, only the columns given, handed to DuckDB in batches of
    Python values (no temporary file, nothing encoded twice); partitions come from the key."""
    if not columns:  # the statement does not read this table: nothing is listed or read
        con.execute(f'CREATE TABLE "{table}" (unread INTEGER)')
        return
    _create(con, table, columns)
    from_record = tuple(c for c in columns if c.name not in partitions)
    from_key = [partitions[c.name] for c in columns if c.name in partitions]
    order = [c.name for c in from_record] + [c.name for c in columns if c.name in partitions]
    batch = ColumnBatch(con, table, tuple(next(c for c in columns if c.name == n) for n in order))
    convert = row_converter(from_record)
    skipped, nulled_rows = report.skipped, report.nulled
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
        batch.add(cells + tuple(part(item) for part in from_key) if from_key else cells)
    batch.flush()


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
    async_columns = used_columns(sql, async_table, ASYNC_COLUMNS + ASYNC_PARTITIONS, cheapest=-1)
    compacted = compacted_days(store, wanted) if async_columns else {}
    raw = raw_async_keys(store, wanted, compacted)
    with tempfile.TemporaryDirectory(prefix="failctl-compacted-") as scratch:
        paths, size = compacted_paths(store, compacted, scratch)
        raw_table = f"{async_table}__raw" if paths else async_table
        load_rows(con, store, raw_table, async_columns, raw, ASYNC_KEY_PARTITIONS, report)
        if paths:
            union_view(con, async_table, raw_table, [(c.name, duck_type(c.type)) for c in async_columns], paths)
            report.compacted_files, report.bytes_read = len(paths), report.bytes_read + size
        stream = used_columns(sql, stream_table, STREAM_COLUMNS)
        load_rows(con, store, stream_table, stream, stream_keys(store, wanted), {}, report)
        # The data is in: from here on the query can read no file but the compacted days' and
        # cannot write files or reach the network.
        con.execute(f"SET allowed_paths = {sql_list(paths)}")
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
    return [day_path(first) if first else "0000/00/00", day_path(last) if last else "9999/99/99"]
