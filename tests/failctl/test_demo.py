"""`make demo` end to end: a fresh interpreter, moto's server on loopback, every stage."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent


def test_demo_runs_every_stage_with_the_stacks_settings_and_keeps_the_archive(tmp_path):
    kept = tmp_path / "archive"
    done = subprocess.run(
        [sys.executable, "-m", "failctl", "demo", "--keep", str(kept)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    out = done.stdout
    for stage in range(1, 10):
        assert f"== {stage}." in out
    # The settings the synthesized dev stack deploys, not the demo's own.
    assert "(2 retries, then the S3 on-failure destination)" in out and "bisection, 3 retries" in out
    assert "s3://lambda-failures-dev-failures-123456789012-us-east-1-an/" in out
    assert "PASSED: no mandatory violations" in out
    assert out.count("FAILED  ") == 5 and "after 3 attempts" in out
    assert "bisected into 1 + 1" in out
    assert "duplicate notification for the first record -> {'duplicate': 1}" in out
    assert "9 alerts published for 9 records" in out
    assert "refund | UnknownActionError | 1" in out
    assert "dry run: 9 records would be re-driven" in out
    # A team's function: its handler from examples/consumer's code folder, failing into the same
    # archive under its own stack's settings, alerted, and replayed into that handler exactly once.
    assert "team stack examples/consumer: 27 resources, 0 mandatory violations, 0 undecided" in out
    assert "A team's own function (examples/consumer, 2 retries)" in out
    assert "handler app.handler from examples/consumer/functions/inventory/ (the team's code)" in out
    assert "[orders-dev-inventory-stream-consumer] stream failure: RetryAttemptsExhausted" in out
    assert "orders-dev-inventory-orders | shardId-" in out
    assert (
        "replay orders-dev-inventory-stream-consumer: partial "
        "(2 records still rejected: 000000000000000000002, 000000000000000000004)"
    ) in out
    assert "again  orders-dev-inventory-stream-consumer: skipped (already replayed)" in out

    assert "9 records kept in" in out
    query = subprocess.run(
        [sys.executable, "-m", "failctl", "query", "errors-by-type", "--source", str(kept), "--json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert query.returncode == 0, query.stderr
    assert "NegativeNumberError" in query.stdout


def test_keep_refuses_a_file_and_a_non_empty_folder_before_running(tmp_path, capsys):
    """Refused up front (exit 2), not after the whole demo; --append adds to an earlier archive."""
    import time

    from failctl import cli
    from failctl.emulation import demo

    file = tmp_path / "archive.txt"
    file.write_text("x")
    started = time.monotonic()
    assert cli.main(["demo", "--keep", str(file)]) == 2
    assert "is a file, not a folder" in capsys.readouterr().err
    earlier = tmp_path / "earlier"
    (earlier / "aws").mkdir(parents=True)
    assert cli.main(["demo", "--keep", str(earlier)]) == 2
    err = capsys.readouterr().err
    assert "not empty" in err and "--append" in err and len(err.strip().splitlines()) == 1
    assert time.monotonic() - started < 5
    demo.check_keep(earlier, append=True)
    demo.check_keep(tmp_path / "new", append=False)
