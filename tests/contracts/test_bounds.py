"""Config the program accepts is never blocked by its own pack (default pack config).

The bounds both enforce have one owner (failure_guards.bounds); these tests hold the program
at each end of every range it accepts, and run the real pack over what it would deploy.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support.owners import reexecuted
from support.pulumi_harness import run_program

from failctl.preview import gate
from failure_guards import POLICIES, bounds
from failure_guards.bounds import (
    STREAM_MAX_RECORD_AGE_SECONDS,
    STREAM_MAX_RETRY_ATTEMPTS,
    STREAM_MIN_RECORD_AGE_SECONDS,
)
from lambda_failures.components.settings import ConfigError

EDGES = [
    {"streamMaxRetryAttempts": 0, "streamMaxRecordAgeSeconds": 60},
    {"streamMaxRetryAttempts": STREAM_MAX_RETRY_ATTEMPTS, "streamMaxRecordAgeSeconds": STREAM_MAX_RECORD_AGE_SECONDS},
    {"maxRetryAttempts": 0, "maxEventAgeSeconds": 60, "reservedConcurrency": 0, "deadLetterQueue": True},
    {"maxRetryAttempts": 2, "maxEventAgeSeconds": 21600, "reservedConcurrency": 10000, "autoReplay": True},
    {"streamBatchSize": 10000, "streamBatchingWindowSeconds": 300, "streamStartingPosition": "TRIM_HORIZON"},
    {"successDestination": "sqs", "bucketNamespace": "global"},
    {"successDestination": "sns", "aws:region": "me-central-1"},
    {"successDestination": "eventbridge", "logRetentionDays": 3653, "archiveExpirationDays": 36500},
    {"successDestination": "lambda", "streamSourceArn": "arn:aws:kinesis:eu-west-1:123456789012:stream/clicks"},
    {"namePrefix": "a" * 40, "allowDestroy": True, "tableDeletionProtection": False},
]


@pytest.fixture(scope="module")
def pack():
    return gate.load_pack("policy")


@pytest.mark.parametrize("config", EDGES, ids=lambda c: ",".join(f"{k}={v}" for k, v in c.items())[:60])
def test_every_accepted_edge_passes_the_pack_with_its_default_config(pack, config):
    verdict = gate.evaluate(pack, run_program(**config).resources)
    assert not verdict.blocked, [v.message for v in verdict.violations if v.level == "mandatory"]
    # With a random bucket name (global namespace) the TLS-only bucket policy names the bucket,
    # so its text is unknown until the name exists: only that advisory may wait (README, limits).
    random_name = config.get("bucketNamespace") == "global" or config.get("aws:region") == "me-central-1"
    allowed = {"s3-bucket-denies-insecure-transport"} if random_name else set()
    assert {u.policy for u in verdict.undecided} <= allowed, verdict.undecided


def test_the_pack_defaults_are_the_programs_bounds():
    schemas = {p.name: dict(p.config_schema.properties) for p in POLICIES if p.config_schema}
    assert schemas["stream-mapping-retries-bounded"]["maxRetryAttempts"]["default"] == STREAM_MAX_RETRY_ATTEMPTS
    age = schemas["stream-mapping-record-age-bounded"]["maxRecordAgeSeconds"]
    assert age["default"] == STREAM_MAX_RECORD_AGE_SECONDS


@pytest.mark.parametrize(
    "config",
    [
        {"streamMaxRetryAttempts": STREAM_MAX_RETRY_ATTEMPTS + 1},
        {"streamMaxRecordAgeSeconds": STREAM_MAX_RECORD_AGE_SECONDS + 1},
    ],
)
def test_one_past_the_pack_bound_the_program_refuses_first(config):
    with pytest.raises(ConfigError):
        run_program(**config)


def test_a_bound_changed_in_its_owner_changes_every_description_that_states_it(monkeypatch):
    """Settings and the pack state the bounds from failure_guards.bounds, not a copy of their values."""
    monkeypatch.setattr(bounds, "STREAM_MAX_RETRY_ATTEMPTS", 7)
    monkeypatch.setattr(bounds, "STREAM_MIN_RECORD_AGE_SECONDS", 61)
    monkeypatch.setattr(bounds, "STREAM_MAX_RECORD_AGE_SECONDS", 7200)
    keys = reexecuted("lambda_failures.components.setting_keys").KEYS
    assert "(0..7, the policy pack's bound" in keys["streamMaxRetryAttempts"].description
    assert "(61..7200;" in keys["streamMaxRecordAgeSeconds"].description
    described = {p.name: p.description for p in reexecuted("failure_guards.policies").POLICIES}
    assert "between 61 and a configured bound" in described["stream-mapping-record-age-bounded"]


def test_the_example_pack_config_leaves_the_bounds_to_their_owner(pack):
    """The config the README deploys with states no bound: a number there would be a copy the
    program never reads, and a bound raised in its owner would be blocked by the example."""
    example = Path(__file__).resolve().parents[2] / "policy" / "policy-config.example.json"
    stated = {k for entry in json.loads(example.read_text()).values() if isinstance(entry, dict) for k in entry}
    assert not stated & {"maxRetryAttempts", "maxRecordAgeSeconds"}
    settings = gate.load_config(example, pack)
    assert settings["stream-mapping-retries-bounded"][1]["maxRetryAttempts"] == STREAM_MAX_RETRY_ATTEMPTS
    assert settings["stream-mapping-record-age-bounded"][1]["maxRecordAgeSeconds"] == STREAM_MAX_RECORD_AGE_SECONDS


def test_the_readme_states_the_bounds_as_their_owner_has_them():
    """The README's prose says the bounds in words and numbers; these are the numbers it says."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    low, high = STREAM_MIN_RECORD_AGE_SECONDS, STREAM_MAX_RECORD_AGE_SECONDS
    assert f"0..N (config `maxRetryAttempts`, default {STREAM_MAX_RETRY_ATTEMPTS})" in readme
    assert f"{low}..N (config `maxRecordAgeSeconds`, default {high})" in readme
    assert f"retries 0..{STREAM_MAX_RETRY_ATTEMPTS}, record age {low}..{high} s" in readme
