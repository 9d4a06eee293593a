"""Each setting is declared once (settings.KEYS): Pulumi.yaml, the README's configuration table,
the component package's schema and the settings dataclasses are checked against that table, so a
default or bound changed in one place and not the others fails here."""

from __future__ import annotations

import json
import sys
from dataclasses import fields
from pathlib import Path

import pytest
import yaml
from pulumi.runtime.proto import provider_pb2, provider_pb2_grpc
from support.fake_engine import FakeEngine
from support.pulumi_harness import ACCOUNT, REGION

from failctl.preview.plugin_process import PluginProcess
from lambda_failures.component_inputs import STREAM_KEY_PREFIX, input_name
from lambda_failures.components.settings import (
    KEYS,
    PROJECT,
    AnalyticsSettings,
    ArchiveSettings,
    AsyncSettings,
    FunctionSize,
    Settings,
    StreamSettings,
)

ROOT = Path(__file__).resolve().parents[2]


def declared(value) -> str:
    return "false" if value is False else "true" if value is True else json.dumps(value) if value == "" else str(value)


def readme_row(key) -> str:
    return f"| `{key.name}` | `{declared(key.declared)}` | {key.description} |"


def readme_rows() -> list[str]:
    text = (ROOT / "README.md").read_text()
    section = text[text.index("## Configuration") :]
    section = section[: section.index("\n## ", 3)]
    return [line for line in section.splitlines() if line.startswith("| `")]


def test_pulumi_yaml_declares_exactly_the_table():
    config = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())["config"]
    assert list(config) == [f"{PROJECT}:{name}" for name in KEYS]
    for name, key in KEYS.items():
        entry = config[f"{PROJECT}:{name}"]
        assert (entry["type"], entry["default"], entry["description"]) == (key.type, key.declared, key.description), (
            f"Pulumi.yaml's {PROJECT}:{name} is not KEYS[{name!r}]: the engine reads Pulumi.yaml, so copy "
            f"type {key.type}, default {declared(key.declared)}, description {key.description!r}"
        )


def test_the_readme_configuration_table_is_the_table():
    expected = [readme_row(key) for key in KEYS.values()]
    stale = "\n".join(row for row in expected if row not in readme_rows())
    assert readme_rows() == expected, f"README.md's Configuration table, rows as KEYS has them:\n{stale}"


def test_bounds_and_choices_are_in_the_descriptions_users_read():
    for key in KEYS.values():
        if key.type == "integer" and key.name not in ("logRetentionDays", "athenaBytesScannedCutoff"):
            # -1 (unreserved) is said in words; the range is that of real values.
            assert f"{max(key.lo, 0)}..{key.hi}" in key.description, key.name
        for choice in key.choices:
            assert choice in key.description, (key.name, choice)


def test_the_dataclasses_default_to_the_table_and_name_their_key():
    for cls in (ArchiveSettings, AsyncSettings, FunctionSize, StreamSettings, AnalyticsSettings, Settings):
        for item in fields(cls):
            name = item.metadata.get("key")
            if name is not None:
                assert item.default == KEYS[name].value, (cls.__name__, item.name)
    keyed = {
        f.metadata.get("key")
        for cls in (ArchiveSettings, AsyncSettings, FunctionSize, StreamSettings, AnalyticsSettings, Settings)
        for f in fields(cls)
    }
    # Keys whose setting is computed or parsed (prefix, e-mail, ARNs, JSON lists, dates, unreserved -1).
    computed = {
        "namePrefix",
        "alarmEmail",
        "reservedConcurrency",
        "streamSourceArn",
        "streamFilterPatterns",
        "glueDatabaseName",
        "analyticsStartDate",
        "analyticsFunctionNames",
    }
    assert set(KEYS) - keyed == computed


@pytest.fixture(scope="module")
def schema():
    engine = FakeEngine(ACCOUNT, REGION)
    try:
        with PluginProcess([sys.executable, str(ROOT / "provider"), engine.address], cwd=ROOT) as plugin:
            stub = provider_pb2_grpc.ResourceProviderStub(plugin.channel)
            return json.loads(stub.GetSchema(provider_pb2.GetSchemaRequest(version=0), timeout=60).schema)
    finally:
        engine.close()


def test_the_component_schema_types_its_setting_inputs_as_the_table(schema):
    """Every input named after a config key has the key's type (an enum of its choices) and says its
    default and bounds in its description."""
    types = schema["types"]
    checked = 0
    for token, resource in schema["resources"].items():
        strip = STREAM_KEY_PREFIX if token.endswith("ArchivedStreamConsumer") else ""
        by_input = {input_name(name, strip): key for name, key in KEYS.items()}
        nested = {
            f"function.{name}": spec
            for name, spec in types.get(f"{PROJECT}:index:FunctionArgs", {}).get("properties", {}).items()
        }
        for prop, spec in {**resource["inputProperties"], **nested}.items():
            key = by_input.get(prop.removeprefix("function."))
            if key is None:
                continue
            checked += 1
            if key.choices:
                enum = types[spec["$ref"].removeprefix("#/types/")]["enum"]
                assert [v["value"] for v in enum] == list(key.choices), prop
            else:
                assert spec["type"] == key.type, (token, prop)
            description = spec["description"]
            # The host reads each description from the input's docstring, so it is a copy kept by hand.
            where = f"{token} {prop}: its docstring in lambda_failures/component_package.py reads {description!r}"
            if key.type == "integer" and key.name != "logRetentionDays":
                assert str(key.lo) in description and str(key.hi) in description, (where, key.lo, key.hi)
            if key.value is not None and key.name != "reservedConcurrency":
                assert f"default {declared(key.value)}" in description, (where, declared(key.value))
    assert checked >= 20
