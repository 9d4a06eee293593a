"""The reference invocation events (tests/events/*.json)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

EVENTS = Path(__file__).resolve().parent.parent / "events"


def load_event(name: str) -> Any:
    return json.loads((EVENTS / name).read_text())
