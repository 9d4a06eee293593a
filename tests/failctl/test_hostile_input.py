"""Input someone else wrote, meant to break the CLI: one line on stderr and exit 2, never a
traceback, a hang or a query that changes anything."""

from __future__ import annotations

import copy
import io
import json
import time
from pathlib import Path

import pytest
from pulumi.runtime.rpc import _special_secret_sig, _special_sig_key
from support.archive import build_archive

from failctl import cli

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    root = tmp_path_factory.mktemp("archive")
    build_archive(root, days=1)
    return root


def run(capsys, *argv):
    code = cli.main(list(argv))
    out = capsys.readouterr()
    errors = [line for line in out.err.splitlines() if not line.startswith(("skipped ", "read as NULL"))]
    return code, out.out, errors


def query(capsys, archive, sql, *flags):
    return run(capsys, "query", "--sql", sql, "--source", str(archive), *flags)


def test_5000_nested_parentheses_are_one_line_and_exit_2(capsys, archive):
    code, _, errors = query(capsys, archive, "SELECT " + "(" * 5000 + "1" + ")" * 5000 + " AS n FROM failed_events")
    assert code == 2 and len(errors) == 1 and "nests parentheses deeper" in errors[0], errors


@pytest.mark.parametrize(
    "sql", ["SELECT " + "(" * 5000 + "1" + ")" * 5000, "WITH x AS (DELETE FROM failed_events RETURNING *) SELECT 1"]
)
def test_athena_gets_the_same_refusals_before_any_aws_call(capsys, sql):
    code, _, errors = run(capsys, "query", "--sql", sql, "--athena", "--workgroup", "wg", "--database", "db")
    assert code == 2 and len(errors) == 1 and ("nests parentheses" in errors[0] or "DELETE" in errors[0]), errors


def test_parentheses_inside_strings_do_not_count(capsys, archive):
    code, out, errors = query(capsys, archive, "SELECT '" + "(" * 500 + "' AS s FROM failed_events LIMIT 1", "--json")
    assert code == 0 and not errors and json.loads(out)["rows"][0]["s"] == "(" * 500


@pytest.mark.parametrize(
    ("sql", "node"),
    [
        ("WITH x AS (DELETE FROM failed_events RETURNING *) SELECT * FROM x", "DELETE"),
        ("WITH x AS (INSERT INTO failed_events SELECT * FROM failed_events RETURNING *) SELECT 1 FROM x", "INSERT"),
        ("WITH x AS (UPDATE failed_events SET version = '2' RETURNING *) SELECT * FROM x", "UPDATE"),
        ("SELECT * INTO copied FROM failed_events", "INTO"),
    ],
)
def test_a_data_changing_statement_anywhere_in_the_tree_is_refused(capsys, archive, sql, node):
    code, _, errors = query(capsys, archive, sql)
    assert code == 2 and len(errors) == 1 and node in errors[0], errors


ENDLESS = "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT count(*) AS c FROM r"
CROSS_JOIN = (
    "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 1000000) "
    "SELECT count(*) AS c FROM r a, r b"  # 10^12 pairs
)


@pytest.mark.parametrize("sql", [ENDLESS, CROSS_JOIN], ids=["endless-recursive-cte", "cross-join-10^12"])
def test_a_query_without_end_is_stopped_by_its_time_or_memory_limit(capsys, archive, sql):
    started = time.monotonic()
    code, _, errors = query(capsys, archive, sql, "--timeout", "3", "--memory-limit", "512")
    assert code == 2 and len(errors) == 1, errors
    assert "--timeout" in errors[0] or "--memory-limit" in errors[0]
    assert time.monotonic() - started < 60


def test_a_query_past_its_memory_limit_is_one_line(capsys, archive):
    sql = (
        "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 5000000) "
        "SELECT string_agg(CAST(n AS VARCHAR), ',' ORDER BY n DESC) AS s FROM r"
    )
    code, _, errors = query(capsys, archive, sql, "--memory-limit", "64", "--timeout", "60")
    assert code == 2 and len(errors) == 1 and "--memory-limit" in errors[0], errors


@pytest.mark.parametrize("flags", [["--timeout", "0"], ["--timeout", "x"], ["--memory-limit", "1"]])
def test_bad_limits_are_one_line_and_exit_2(capsys, archive, flags):
    with pytest.raises(SystemExit) as exited:
        cli.main(["query", "--sql", "SELECT 1", "--source", str(archive), *flags])
    assert exited.value.code == 2 and len(capsys.readouterr().err.strip().splitlines()) == 1


def audit(capsys, monkeypatch, text):
    monkeypatch.setattr("sys.stdin", io.StringIO(text))
    return run(capsys, "audit", "-")


def test_an_export_nested_100000_deep_is_one_line_and_exit_2(capsys, monkeypatch):
    text = '{"deployment": {"resources": [' + "[" * 100_000 + "]" * 100_000 + "]}}"
    code, _, errors = audit(capsys, monkeypatch, text)
    assert code == 2 and len(errors) == 1 and "nested deeper than" in errors[0], errors


def test_a_secret_whose_plaintext_nests_100000_deep_is_an_unknown_value(capsys, monkeypatch):
    export = json.loads((FIXTURES / "stack-export-compliant.json").read_text())
    secret = {_special_sig_key: _special_secret_sig}
    export["deployment"]["resources"][-1]["inputs"]["deep"] = secret | {"plaintext": "[" * 100_000 + "]" * 100_000}
    code, _, errors = audit(capsys, monkeypatch, json.dumps(export))
    assert code == 0 and not errors, errors


def test_property_dependencies_of_any_shape_are_read_as_none(capsys, monkeypatch):
    export = json.loads((FIXTURES / "stack-export-compliant.json").read_text())
    broken = copy.deepcopy(export)
    for shape, resource in zip(
        (["urn:x"], "urn:x", 7, None, {"a": "not-a-list"}), broken["deployment"]["resources"], strict=False
    ):
        resource["propertyDependencies"] = shape
    code, out, errors = audit(capsys, monkeypatch, json.dumps(broken))
    assert code == 0 and not errors and "Traceback" not in out, errors


def test_an_export_that_is_not_utf8_is_one_line_and_exit_2(capsys, tmp_path):
    path = tmp_path / "export.json"
    path.write_bytes(b'{"deployment": {"resources": []}, "x": "\xff\xfe"}')
    code, _, errors = run(capsys, "audit", str(path))
    assert code == 2 and len(errors) == 1 and "not UTF-8" in errors[0], errors


@pytest.mark.parametrize(
    ("bom", "encoding"),
    [(b"\xef\xbb\xbf", "utf-8"), (b"", "utf-16"), (b"", "utf-16-le")],
    ids=["utf8-bom", "utf16", "utf16le-without-bom"],
)
def test_an_export_behind_a_byte_order_mark_is_read(capsys, tmp_path, bom, encoding):
    """Windows PowerShell 5.1's `pulumi stack export > stack.json` writes UTF-16 with a BOM;
    some editors save UTF-8 with one. UTF-16 without a BOM cannot be told apart: one line."""
    path = tmp_path / "export.json"
    path.write_bytes(bom + (FIXTURES / "stack-export-compliant.json").read_text().encode(encoding))
    code, out, errors = run(capsys, "audit", str(path))
    if encoding == "utf-16-le":
        assert code == 2 and len(errors) == 1 and "not UTF-8" in errors[0], errors
    else:
        assert code == 0 and not errors and "PASSED" in out, errors


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_nan_or_infinity_in_an_export_is_one_line_and_exit_2(capsys, monkeypatch, constant):
    text = (FIXTURES / "stack-export-compliant.json").read_text().replace('"custom": true', f'"custom": {constant}', 1)
    assert constant in text
    code, _, errors = audit(capsys, monkeypatch, text)
    assert code == 2 and len(errors) == 1 and f"{constant} is not a JSON value" in errors[0], errors


def test_audit_of_a_closed_standard_input_is_one_line_and_exit_2(capsys, monkeypatch):
    monkeypatch.setattr("sys.stdin", None)
    code, _, errors = run(capsys, "audit", "-")
    assert code == 2 and errors == ["failctl audit: standard input is closed: give the export's file, or pipe it in"]


@pytest.mark.parametrize(
    "sql",
    [
        "CALL pragma_version()",
        "INSTALL httpfs",
        "LOAD httpfs",
        "ATTACH '/tmp/x.duckdb'",
        "COPY (SELECT 1) TO '/tmp/x.csv'",
        "PRAGMA version",
        "SET memory_limit = '10GB'",
        "SELECT * FROM read_text('/etc/passwd')",
        "SELECT * FROM glob('/etc/*')",
        "SELECT * FROM '/etc/passwd'",
        "SELECT * FROM read_json('http://127.0.0.1:9/x.json')",
        "ѕELECT 1 FROM failed_events",  # Cyrillic s
        "SELECT 1 FROM failed_events WHERE " + "NOT " * 10_000 + "true",
        "SELECT 1 AS x FROM failed_events WHERE function_name = '" + "x" * 1_000_000 + "'",
    ],
    ids=lambda sql: sql[:24],
)
def test_statements_that_reach_outside_the_archive_are_one_line_and_exit_2(capsys, archive, sql):
    code, _, errors = query(capsys, archive, sql, "--timeout", "20")
    if code == 0:  # only the last two may run: they read nothing but the archive
        assert sql.startswith("SELECT 1") and not errors, errors
        return
    assert code == 2 and len(errors) == 1, errors
