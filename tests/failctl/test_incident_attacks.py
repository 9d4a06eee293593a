"""What an operator does to failctl during an incident, in real processes: queries run and
exit, replays stopped by a closed terminal, credentials that are missing or expired."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from failctl.emulation.lambda_writer import async_failure_key, async_failure_record

ROOT = Path(__file__).resolve().parents[2]
MOMENT = datetime(2026, 11, 18, 9, 30, tzinfo=UTC)
FUNCTION_ARN = "arn:aws:lambda:eu-west-1:123456789012:function:orders"


def write_records(root: Path, count: int, function_arn: str = FUNCTION_ARN) -> None:
    for i in range(count):
        path = root / async_failure_key("orders", MOMENT, f"r{i:04d}")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(async_failure_record(function_arn, {"value": i}, MOMENT, RuntimeError("x"))))


def test_a_query_process_exits_cleanly_every_time(tmp_path):
    """The statement timer must be gone before the interpreter exits: a timer thread still
    ending under DuckDB's connection aborted the process (exit 134) about every other run."""
    write_records(tmp_path, 3)
    script = (
        "import sys\n"
        "from failctl.archive.stores import open_store\n"
        "from failctl.archive.local_query import run_local\n"
        "print(run_local(open_store(sys.argv[1]), 'SELECT count(*) FROM failed_events').rows)\n"
    )
    codes = [
        subprocess.run([sys.executable, "-c", script, str(tmp_path)], cwd=ROOT, capture_output=True, timeout=120)
        for _ in range(12)
    ]
    assert [c.returncode for c in codes] == [0] * 12, [c.stderr[-200:] for c in codes if c.returncode]
    assert all(c.stdout.strip() == b"[(3,)]" for c in codes)
