"""The program as a fresh stack's preview sees it, and lookups over what it registered."""

from __future__ import annotations

import json
from typing import Any

from failctl.preview.synth import Synthesis, SynthResource, synthesize

ACCOUNT = "123456789012"
REGION = "eu-west-1"
BASE_CONFIG = {"aws:region": REGION}


def run_program(**overrides: Any) -> Synthesis:
    """Config keys overridden as `pulumi config set` would (bare names get the project's namespace)."""
    config = dict(BASE_CONFIG)
    for key, value in overrides.items():
        config[key if ":" in key else f"lambda-failures:{key}"] = (
            json.dumps(value)
            if isinstance(value, list | dict)
            else str(value).lower()
            if isinstance(value, bool)
            else str(value)
        )
    return synthesize("test", config=config, account_id=ACCOUNT)


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
