"""Run a named query in the deployed Athena workgroup, with progress and paged results."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import Any, TextIO

from lambda_failures.archive_format import ASYNC_TABLE

TERMINAL = ("SUCCEEDED", "FAILED", "CANCELLED")


class AthenaQueryError(Exception):
    """The query could not run or did not succeed; the message carries Athena's reason."""


@dataclass(frozen=True)
class AthenaTarget:
    workgroup: str
    database: str
    # What the named queries read: the view of compacted plus raw days where the stack has one.
    table: str = ASYNC_TABLE


class PulumiCliMissingError(Exception):
    """`pulumi` is not on PATH."""


def target_from_stack(stack: str) -> AthenaTarget:
    """Workgroup and database from the deployed stack's outputs (needs the Pulumi CLI)."""
    try:
        out = subprocess.run(
            ["pulumi", "stack", "output", "--json", "--stack", stack],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    except FileNotFoundError:
        raise PulumiCliMissingError("--stack needs the Pulumi CLI; pass --workgroup and --database instead") from None
    except subprocess.CalledProcessError as error:
        raise AthenaQueryError(f"pulumi stack output failed: {error.stderr.strip()}") from None
    outputs = json.loads(out)
    try:
        table = outputs.get("GlueQueryTableName") or outputs.get("GlueTableName") or ASYNC_TABLE
        return AthenaTarget(outputs["AthenaWorkgroupName"], outputs["GlueDatabaseName"], table)
    except KeyError as missing:
        raise AthenaQueryError(f"stack {stack} has no output {missing}") from None


def run_athena(
    client: Any,
    target: AthenaTarget,
    sql: str,
    parameters: list[str],
    poll_seconds: float = 1.0,
    progress: TextIO = sys.stderr,
) -> tuple[list[str], list[tuple[Any, ...]]]:
    request: dict[str, Any] = {
        "QueryString": sql,
        "WorkGroup": target.workgroup,
        "QueryExecutionContext": {"Database": target.database},
    }
    if parameters:
        request["ExecutionParameters"] = [f"'{p}'" for p in parameters]
    execution_id = client.start_query_execution(**request)["QueryExecutionId"]
    started = time.monotonic()
    while True:
        execution = client.get_query_execution(QueryExecutionId=execution_id)["QueryExecution"]
        state = execution["Status"]["State"]
        scanned = execution.get("Statistics", {}).get("DataScannedInBytes", 0)
        print(f"\r{state:<10} {time.monotonic() - started:6.1f}s  {scanned:>12,} bytes scanned", end="", file=progress)
        if state in TERMINAL:
            print(file=progress)
            break
        time.sleep(poll_seconds)
    if state != "SUCCEEDED":
        reason = execution["Status"].get("StateChangeReason", "no reason given")
        raise AthenaQueryError(f"query {execution_id} {state.lower()}: {reason}")
    columns: list[str] = []
    rows: list[tuple[Any, ...]] = []
    for page in client.get_paginator("get_query_results").paginate(QueryExecutionId=execution_id):
        result = page["ResultSet"]
        if not columns:
            columns = [c["Name"] for c in result["ResultSetMetadata"]["ColumnInfo"]]
        for raw in result["Rows"]:
            values = tuple(cell.get("VarCharValue") for cell in raw["Data"])
            if values == tuple(columns) and not rows:
                continue  # the first row of the first page repeats the header
            rows.append(values)
    return columns, rows
