"""Run every benchmark; each prints its figures next to a baseline measured in the same run."""

import runpy
from pathlib import Path

HERE = Path(__file__).resolve().parent

for name in ("processor_bench", "stream_bench", "gate_bench", "query_bench", "replay_bench", "scale_bench"):
    runpy.run_path(str(HERE / f"{name}.py"), run_name="__main__")
    print()
