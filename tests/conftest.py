"""Shared fixtures: the program synthesized offline, and lookups over its resources."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

# Powertools reads these when a handler module is imported, as Lambda sets them before.
os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "lambda-failures-test")
os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "lambda-failures-test")
os.environ.setdefault("AWS_DEFAULT_REGION", "eu-west-1")

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "handlers"))

from failctl.synth import Synthesis, SynthResource, synthesize  # noqa: E402

ACCOUNT = "123456789012"
REGION = "eu-west-1"
BASE_CONFIG = {"aws:region": REGION}
EVENTS = Path(__file__).resolve().parent / "events"


def run_program(**overrides: Any) -> Synthesis:
    """The program as a fresh stack's preview sees it, with config keys overridden."""
    config = dict(BASE_CONFIG)
    for key, value in overrides.items():
        config[key if ":" in key else f"lambda-failures:{key}"] = (
            json.dumps(value)
            if isinstance(value, (list, dict))
            else str(value).lower()
            if isinstance(value, bool)
            else str(value)
        )
    return synthesize("test", config=config, account_id=ACCOUNT)


@pytest.fixture(scope="session")
def stack() -> Synthesis:
    """The default stack, synthesized once for the read-only assertions."""
    return run_program()


@pytest.fixture
def program() -> Callable[..., Synthesis]:
    return run_program


def one(synthesis: Synthesis, type_: str, name_suffix: str = "") -> SynthResource:
    found = [r for r in synthesis.of_type(type_) if r.name.endswith(name_suffix)]
    assert len(found) == 1, f"expected one {type_} named *{name_suffix}, found {[r.urn for r in found]}"
    return found[0]


def policy_document(resource: SynthResource, prop: str = "policy") -> dict:
    raw = resource.props[prop]
    assert isinstance(raw, str), f"{resource.urn}: {prop} is not a known JSON string at preview"
    return json.loads(raw)


def statement(doc: dict, sid: str) -> dict:
    found = [s for s in doc["Statement"] if s.get("Sid") == sid]
    assert len(found) == 1, f"no statement {sid} in {doc}"
    return found[0]


def load_event(name: str) -> Any:
    return json.loads((EVENTS / name).read_text())
