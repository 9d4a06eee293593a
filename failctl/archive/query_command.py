"""`failctl query`: pick the SQL, pick the engine, print the rows."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date
from typing import Any

import duckdb
import sqlglot
from botocore.exceptions import BotoCoreError, ClientError

from failctl.archive import sql_guard
from failctl.archive.athena_query import (
    AthenaQueryError,
    AthenaTarget,
    PulumiCliMissingError,
    run_athena,
    target_from_stack,
)
from failctl.archive.local_query import day_parameters, run_local
from failctl.archive.sql_guard import DEFAULT_TIMEOUT_SECONDS, QueryLimits
from failctl.archive.stores import day_range, open_store
from failctl.errors import BadInputError, EnvironmentProblemError, from_aws, unreadable
from lambda_failures.archive_format import ASYNC_TABLE
from lambda_failures.queries import query_named


class QueryInputError(BadInputError):
    """Bad arguments or an unreadable source; the message says which."""


def _sql(args: argparse.Namespace) -> str:
    if bool(args.name) == bool(args.sql):
        raise QueryInputError("give a named query or --sql, not both and not neither")
    given: str | None = args.sql
    if given:
        return given
    try:
        return query_named(args.name).sql
    except KeyError as error:
        raise QueryInputError(error.args[0]) from None


def _print(columns: list[str], rows: list[tuple[Any, ...]], as_json: bool) -> None:
    if as_json:
        print(json.dumps({"rows": [dict(zip(columns, r, strict=True)) for r in rows]}, default=str, indent=2))
        return
    cells = [[("" if v is None else str(v)) for v in r] for r in rows]
    widths = [min(60, max([len(c)] + [len(r[i]) for r in cells])) for i, c in enumerate(columns)]
    print("  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)))
    print("  ".join("-" * w for w in widths))
    for r in cells:
        print("  ".join((v if len(v) <= w else v[: w - 3] + "...").ljust(w) for v, w in zip(r, widths, strict=True)))
    print(f"({len(rows)} rows)")


def _show(columns: list[str], rows: list[tuple[Any, ...]], args: argparse.Namespace, more: Any = None) -> None:
    """The rows on stdout; with --plot, also the picture (failures-per-day, with stream failures
    from `more(sql)` when the named query is drawn)."""
    if getattr(args, "plot", None):
        from failctl.archive.plot import plot_failures_per_day

        first, last = day_range(args.first, args.last)
        source = args.source or f"Athena {args.stack or args.database}"
        stream = more if args.name == "failures-per-day" else None
        plot_failures_per_day(columns, rows, args.plot, first, last, source, stream)
    _print(columns, rows, args.json)


def run(args: argparse.Namespace) -> int:
    sql = _sql(args)
    try:
        sql_guard.check(sql)  # for Athena too: one line for SQL nested past the parser, nothing that writes
        first, last = day_range(args.first, args.last)
    except ValueError as error:
        raise QueryInputError(str(error)) from None
    if args.athena:
        return _athena(args, sql, first, last)
    if not args.source:
        raise QueryInputError("give --source DIR|s3://bucket/prefix for a local query, or --athena")
    try:
        store = open_store(args.source, args.bucket_owner)
        limits = QueryLimits(getattr(args, "timeout", DEFAULT_TIMEOUT_SECONDS), getattr(args, "memory_limit", None))
        result = run_local(store, sql, first, last, limits=limits)
    except (FileNotFoundError, ValueError) as error:
        raise QueryInputError(str(error)) from None
    except OSError as error:  # a folder or file of the source this user cannot read
        raise unreadable(error) from None
    except (duckdb.Error, sqlglot.errors.ParseError) as error:
        raise QueryInputError(f"the query failed: {error}") from None
    except (BotoCoreError, ClientError) as error:
        raise from_aws(error, f"cannot read {args.source}") from None
    for key, reason in result.load.skipped:
        print(f"skipped {key}: {reason}", file=sys.stderr)
    for key, reason in result.load.nulled:
        print(f"read as NULL in {key}: {reason}", file=sys.stderr)
    _show(result.columns, result.rows, args, lambda sql: _columns_rows(run_local(store, sql, first, last)))
    return 0


def _columns_rows(result: Any) -> tuple[list[str], list[tuple[Any, ...]]]:
    return result.columns, result.rows


def _athena(args: argparse.Namespace, sql: str, first: date | None, last: date | None) -> int:
    import boto3

    try:
        if args.stack:
            target = target_from_stack(args.stack)
        elif args.workgroup and args.database:
            target = AthenaTarget(args.workgroup, args.database, getattr(args, "table", None) or ASYNC_TABLE)
        else:
            raise QueryInputError("--athena needs --stack NAME, or --workgroup and --database")
        if args.name:  # the deployed text: over the view of compacted plus raw days where there is one
            sql = query_named(args.name, async_table=target.table).sql
        columns, rows = run_athena(boto3.client("athena"), target, sql, day_parameters(sql, first, last))
    except PulumiCliMissingError as error:
        raise EnvironmentProblemError(str(error)) from None
    except (AthenaQueryError, ValueError) as error:
        raise QueryInputError(str(error)) from None
    except (BotoCoreError, ClientError) as error:
        raise from_aws(error, "Athena query") from None
    _show(
        columns,
        rows,
        args,
        lambda more: run_athena(boto3.client("athena"), target, more, day_parameters(more, first, last)),
    )
    return 0
