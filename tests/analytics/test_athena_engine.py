"""The Athena engine: parameters passed, progress shown, pages joined, failures reported."""

import io

import pytest

from failctl.archive.athena_query import AthenaQueryError, AthenaTarget, run_athena
from lambda_failures.queries import query_named


class FakeAthena:
    """Records what was asked; answers like Athena (header row first, two pages)."""

    def __init__(self, final_state="SUCCEEDED"):
        self.final_state = final_state
        self.started = None
        self.polls = 0

    def start_query_execution(self, **request):
        self.started = request
        return {"QueryExecutionId": "q-1"}

    def get_query_execution(self, QueryExecutionId):  # noqa: N803 (boto3 argument name)
        self.polls += 1
        state = "RUNNING" if self.polls < 2 else self.final_state
        return {
            "QueryExecution": {
                "Status": {"State": state, "StateChangeReason": "Query exhausted resources"},
                "Statistics": {"DataScannedInBytes": 2048},
            }
        }

    def get_paginator(self, name):
        assert name == "get_query_results"
        columns = [{"Name": "error_type"}, {"Name": "error_count"}]

        def page(rows):
            return {"ResultSet": {"ResultSetMetadata": {"ColumnInfo": columns}, "Rows": rows}}

        def cells(*values):
            return {"Data": [{"VarCharValue": v} for v in values]}

        class Paginator:
            def paginate(self, QueryExecutionId):  # noqa: N803
                yield page([cells("error_type", "error_count"), cells("ForcedError", "3")])
                yield page([cells("UnknownActionError", "1")])

        return Paginator()


def test_runs_in_the_workgroup_with_day_parameters_and_pages_results():
    client, progress = FakeAthena(), io.StringIO()
    sql = query_named("errors-by-type").sql
    columns, rows = run_athena(client, AthenaTarget("wg", "db"), sql, ["2026/11/18", "2026/11/19"], 0, progress)
    assert client.started == {
        "QueryString": sql,
        "WorkGroup": "wg",
        "QueryExecutionContext": {"Database": "db"},
        "ExecutionParameters": ["'2026/11/18'", "'2026/11/19'"],
    }
    assert columns == ["error_type", "error_count"]
    assert rows == [("ForcedError", "3"), ("UnknownActionError", "1")]
    assert "RUNNING" in progress.getvalue() and "SUCCEEDED" in progress.getvalue()


def test_a_failed_query_reports_athenas_reason():
    with pytest.raises(AthenaQueryError, match="failed: Query exhausted resources"):
        run_athena(FakeAthena("FAILED"), AthenaTarget("wg", "db"), "SELECT 1", [], 0, io.StringIO())


VIEW = "failed_events_all_days"


@pytest.mark.parametrize(
    ("outputs", "argv", "table"),
    [
        ({"GlueQueryTableName": VIEW}, ["--stack", "dev"], VIEW),
        ({}, ["--stack", "dev"], "failed_events"),  # a stack deployed before compaction
        (None, ["--workgroup", "wg", "--database", "db"], "failed_events"),
        (None, ["--workgroup", "wg", "--database", "db", "--table", VIEW], VIEW),
    ],
)
def test_named_queries_in_athena_read_the_stacks_view_of_compacted_and_raw_days(
    monkeypatch, capsys, outputs, argv, table
):
    import json
    import subprocess

    import boto3

    from failctl import cli
    from failctl.archive import athena_query
    from lambda_failures.queries import query_named

    client = FakeAthena()
    monkeypatch.setattr(boto3, "client", lambda service, **kwargs: client)
    monkeypatch.setattr(athena_query.time, "sleep", lambda seconds: None)
    stack = {"AthenaWorkgroupName": "wg", "GlueDatabaseName": "db", "GlueTableName": "failed_events"} | (outputs or {})
    done = subprocess.CompletedProcess([], 0, stdout=json.dumps(stack), stderr="")
    monkeypatch.setattr(athena_query.subprocess, "run", lambda *a, **k: done)
    assert cli.main(["query", "errors-by-type", "--athena", *argv, "--from", "2026-11-18", "--to", "2026-11-18"]) == 0
    assert client.started["QueryString"] == query_named("errors-by-type", async_table=table).sql
