"""The engine's project schema as shipped: a valid 2020-12 schema, packaged, and its errors worded per key."""

from __future__ import annotations

from pathlib import Path

import jsonschema
import pytest

from failctl.preview.project_schema import ENGINE_VERSION, PROJECT_SCHEMA, schema_problems


def test_the_schema_is_a_2020_12_schema_pinned_to_an_engine_version():
    jsonschema.Draft202012Validator.check_schema(PROJECT_SCHEMA)
    assert ENGINE_VERSION in PROJECT_SCHEMA["$comment"]
    # `$defs/simpleConfigType`: the only values `type:` (and `items.type:`) may take.
    config_types = PROJECT_SCHEMA["$defs"]["simpleConfigType"]["enum"]
    assert tuple(config_types) == ("string", "integer", "boolean", "array", "object")


def test_the_schema_file_ships_with_the_package():
    pyproject = (Path(__file__).resolve().parents[2] / "pyproject.toml").read_text()
    assert '"failctl.preview" = ["project.schema.json"]' in pyproject


@pytest.mark.parametrize(
    "document, owner, text",
    [
        ({"name": "x", "runtime": 3}, ("runtime",), "'runtime' must be a string or an object with name and options"),
        ({"name": "x", "runtime": ""}, ("runtime",), "'runtime' must not be empty"),
        ({"name": "x", "runtime": {"name": "python", "x": 1}}, ("runtime",), "'runtime': 'x' not allowed"),
        ({"name": "x", "main": 1}, ("main",), "'main' must be a string"),
        ({"name": "x", "config": []}, ("config",), "'config' must be a mapping or a string"),
        ({"name": "x", "config": {"a": None}}, ("config", "a"), "config key 'a' must be a declaration"),
        ({"name": "x", "config": {"a": 1.5}}, ("config", "a"), "config key 'a' must be a declaration"),
        ({"name": "x", "config": {"a": {"type": "int"}}}, ("config", "a"), "config key 'a': 'type' must be one of"),
        ({"name": "x", "config": {"a": {"typo": 1}}}, ("config", "a"), "config key 'a': 'typo' not allowed"),
        ({"name": "x", "config": {"a": {"items": {"type": "array"}}}}, ("config", "a"), "'items' needs 'items'"),
        ({"name": "x", "config": {"secret": "yes"}}, ("config", "secret"), "config key 'secret' must be a boolean"),
    ],
)
def test_each_error_is_one_line_under_its_key(document, owner, text):
    problems = schema_problems(document)
    assert list(problems) == [owner]
    assert len(problems[owner]) == 1 and text in problems[owner][0], problems


@pytest.mark.parametrize("shorthand", ["text", 3, 3.0, True, ["a"]])
def test_the_shorthand_values_the_engine_accepts_pass(shorthand):
    assert schema_problems({"name": "x", "runtime": "python", "config": {"a": shorthand}}) == {}
