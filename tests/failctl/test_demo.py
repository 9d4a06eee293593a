"""`make demo` end to end: a fresh interpreter, moto's server on loopback, every stage."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent


def test_demo_runs_every_stage():
    done = subprocess.run(
        [sys.executable, "-m", "failctl", "demo"], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-2000:]
    out = done.stdout
    for stage in range(1, 8):
        assert f"== {stage}." in out
    assert "PASSED: no mandatory violations" in out
    assert out.count("FAILED  ") == 5 and "after 3 attempts" in out
    assert "bisected into 1 + 1" in out
    assert "duplicate notification for the first record -> {'duplicate': 1}" in out
    assert "8 alerts published for 8 records" in out
    assert "refund | UnknownActionError | 1" in out
    assert "dry run: 8 records would be re-driven" in out
