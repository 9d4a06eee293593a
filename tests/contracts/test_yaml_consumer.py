"""examples/yaml-consumer: a Pulumi YAML program using the component package, checked offline
against the schema the provider serves (started as the CLI starts it): every type token it uses
exists, every property it sets is an input of that type with a value of the right type (enums
among their values, objects by their own properties, archives as archive functions), required
inputs are given, and every `${resource.output}` it reads is an output of that resource."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from pulumi.runtime.proto import provider_pb2, provider_pb2_grpc
from support.fake_engine import FakeEngine
from support.pulumi_harness import ACCOUNT, REGION

from failctl.preview.plugin_process import PluginProcess
from failctl.preview.project_config import load_project

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "yaml-consumer"
PACKAGE = "lambda-failures"
INTERPOLATION = re.compile(r"\$\{([^}]+)\}")
# Pulumi YAML's builtins that make an archive (pulumi-yaml, "fn::fileArchive" and friends).
ARCHIVE_FUNCTIONS = {"fn::fileArchive", "fn::assetArchive", "fn::remoteArchive"}


@pytest.fixture(scope="module")
def schema():
    engine = FakeEngine(ACCOUNT, REGION)
    try:
        with PluginProcess([sys.executable, str(ROOT / "provider"), engine.address], cwd=ROOT) as plugin:
            stub = provider_pb2_grpc.ResourceProviderStub(plugin.channel)
            return json.loads(stub.GetSchema(provider_pb2.GetSchemaRequest(version=0), timeout=60).schema)
    finally:
        engine.close()


def program(folder: Path = EXAMPLE) -> dict:
    return yaml.safe_load((folder / "Pulumi.yaml").read_text())


def check_value(value: Any, spec: dict, types: dict, where: str) -> list[str]:
    """What is wrong with a YAML value for a schema property, or nothing."""
    if isinstance(value, str) and INTERPOLATION.fullmatch(value.strip()):
        return []  # another resource's output or a config value: typed by the engine at run time
    if isinstance(value, dict) and set(value) == {"fn::secret"}:
        return check_value(value["fn::secret"], spec, types, where)
    ref = spec.get("$ref")
    if ref == "pulumi.json#/Archive":
        ok = isinstance(value, dict) and len(value) == 1 and set(value) <= ARCHIVE_FUNCTIONS
        return [] if ok else [f"{where}: an archive (fn::fileArchive, ...), got {value!r}"]
    if ref == "pulumi.json#/Any":
        return []
    if ref:
        named = types[ref.removeprefix("#/types/")]
        if "enum" in named:
            values = [v["value"] for v in named["enum"]]
            return [] if value in values else [f"{where}: one of {values}, got {value!r}"]
        return check_object(value, named.get("properties", {}), named.get("required", []), types, where)
    kind = spec.get("type")
    if kind == "string":
        return [] if isinstance(value, str) else [f"{where}: a string, got {value!r}"]
    if kind == "integer":
        return [] if isinstance(value, int) and not isinstance(value, bool) else [f"{where}: an integer, got {value!r}"]
    if kind == "number":
        return [] if isinstance(value, int | float) and not isinstance(value, bool) else [f"{where}: a number"]
    if kind == "boolean":
        return [] if isinstance(value, bool) else [f"{where}: a boolean, got {value!r}"]
    if kind == "array":
        if not isinstance(value, list):
            return [f"{where}: a list, got {value!r}"]
        return [p for i, item in enumerate(value) for p in check_value(item, spec["items"], types, f"{where}[{i}]")]
    if kind == "object":
        if not isinstance(value, dict):
            return [f"{where}: a map, got {value!r}"]
        inner = spec.get("additionalProperties", {})
        return [p for k, v in value.items() for p in check_value(v, inner, types, f"{where}.{k}")] if inner else []
    return [f"{where}: a schema type this check does not know: {spec}"]


def check_object(value: Any, properties: dict, required: list, types: dict, where: str) -> list[str]:
    if not isinstance(value, dict):
        return [f"{where}: an object, got {value!r}"]
    problems = [f"{where}.{name}: not an input" for name in value if name not in properties]
    problems += [f"{where}.{name}: required and missing" for name in required if name not in value]
    for name, item in value.items():
        if name in properties:
            problems += check_value(item, properties[name], types, f"{where}.{name}")
    return problems


def check_program(document: dict, schema: dict) -> list[str]:
    resources = document.get("resources", {})
    problems: list[str] = []
    tokens: dict[str, str] = {}
    for name, resource in resources.items():
        token = resource["type"]
        if not token.startswith(f"{PACKAGE}:"):
            continue
        if token not in schema["resources"]:
            problems.append(f"{name}: {token} is not a resource of the package")
            continue
        tokens[name] = token
        spec = schema["resources"][token]
        problems += check_object(
            resource.get("properties", {}),
            spec["inputProperties"],
            spec.get("requiredInputs", []),
            schema.get("types", {}),
            name,
        )
    for reference in INTERPOLATION.findall(json.dumps(document)):
        head, _, output = reference.partition(".")
        if head in tokens and output.split(".")[0] not in schema["resources"][tokens[head]]["properties"]:
            problems.append(f"${{{reference}}}: {tokens[head]} has no output {output}")
        if head not in resources and not output and head not in document.get("config", {}):
            problems.append(f"${{{reference}}}: neither a resource nor a config key of the program")
    return problems


def test_the_example_is_a_yaml_project_using_the_package_from_this_repository():
    project = load_project(EXAMPLE)
    assert project.runtime == "yaml"
    assert (EXAMPLE / program()["packages"][PACKAGE]).resolve() == ROOT / "provider"
    for resource in program()["resources"].values():
        code = resource.get("properties", {}).get("function", {}).get("code", {}).get("fn::fileArchive")
        if code:
            assert (EXAMPLE / code).is_dir() and any((EXAMPLE / code).iterdir()), code


def test_every_type_and_property_the_example_uses_exists_with_the_right_type(schema):
    document = program()
    used = {r["type"] for r in document["resources"].values()}
    assert used == {
        f"{PACKAGE}:index:{n}" for n in ("SharedArchive", "ArchivedAsyncFunction", "ArchivedStreamConsumer")
    }
    assert check_program(document, schema) == []


@pytest.mark.parametrize(
    ("path", "value", "problem"),
    [
        (("orders", "type"), f"{PACKAGE}:index:ArchivedFunction", "is not a resource of the package"),
        (("orders", "properties", "maxRetries"), 1, "orders.maxRetries: not an input"),
        (("orders", "properties", "maxRetryAttempts"), "one", "orders.maxRetryAttempts: an integer"),
        (("orders", "properties", "successDestination"), "SQS", "orders.successDestination: one of"),
        (("orders", "properties", "function", "memoryMb"), "512", "orders.function.memoryMb: an integer"),
        (("orders", "properties", "function", "code"), "./orders", "orders.function.code: an archive"),
        (("orders", "properties", "function", "powertools"), "yes", "orders.function.powertools: a boolean"),
        (("clicks", "properties", "function", "vpc"), {"subnetIds": ["subnet-1"]}, "securityGroupIds: required"),
        (("clicks", "properties", "namePrefix"), None, "clicks.namePrefix: required and missing"),
    ],
)
def test_the_check_refuses_what_the_schema_refuses(schema, path, value, problem):
    document = program()
    target = document["resources"]
    for step in path[:-1]:
        target = target[step]
    if value is None:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    assert any(problem in p for p in check_program(document, schema)), check_program(document, schema)


def test_an_output_the_component_does_not_have_is_caught(schema):
    document = program()
    document["outputs"]["missing"] = "${orders.streamArn}"
    assert check_program(document, schema) == [
        f"${{orders.streamArn}}: {PACKAGE}:index:ArchivedAsyncFunction has no output streamArn"
    ]
