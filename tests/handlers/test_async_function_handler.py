"""The processor's actions: every success, every named failure, malformed events."""

import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from support.events import load_event
from support.lambda_context import LambdaContext

from lambda_failures.handlers import async_function as processor
from lambda_failures.handlers.async_function import (
    EmptyValueError,
    ForcedError,
    InvalidEventError,
    NegativeNumberError,
    UnknownActionError,
)


def _json_children(children):
    return st.lists(children, max_size=4) | st.dictionaries(
        st.sampled_from(["action", "value", "forceError", "x"]), children, max_size=4
    )


CONTEXT = LambdaContext("lambda-failures-test-processor")


def test_process_doubles_a_non_negative_number():
    assert processor.handle_event(load_event("process-ok.json")) == {"action": "process", "result": 42}


def test_validate_accepts_a_non_empty_string():
    result = processor.handle_event(load_event("validate-ok.json"))
    assert result == {"action": "validate", "result": "valid", "length": 8}


def test_calculate_returns_sum_mean_min_max():
    result = processor.handle_event(load_event("calculate-ok.json"))["result"]
    assert result == {"sum": 108, "mean": 18, "min": 4, "max": 42}


@pytest.mark.parametrize(
    ("event_file", "error", "message"),
    [
        ("process-negative.json", NegativeNumberError, "value must be >= 0, got -3"),
        ("validate-empty.json", EmptyValueError, "non-empty string"),
        ("calculate-empty.json", EmptyValueError, "non-empty list"),
        ("unknown-action.json", UnknownActionError, "unknown action 'refund'"),
        ("force-error.json", ForcedError, "forceError"),
    ],
)
def test_each_failure_raises_its_named_error(event_file, error, message):
    with pytest.raises(error, match=message):
        processor.handle_event(load_event(event_file))


@pytest.mark.parametrize(
    ("event", "message"),
    [
        ([1, 2], "event must be a JSON object, got list"),
        ("process", "event must be a JSON object, got str"),
        (None, "event must be a JSON object, got NoneType"),
        ({}, "no 'action' field"),
        ({"action": 7}, "action must be a string, got int"),
        ({"action": "process"}, "needs a 'value' field"),
        ({"action": "process", "value": "5"}, "value must be a number, got str"),
        ({"action": "process", "value": True}, "value must be a number, got bool"),
        ({"action": "process", "value": math.inf}, "finite"),
        ({"action": "validate", "value": 5}, "value must be a string, got int"),
        ({"action": "calculate", "value": "1,2"}, "must be a list of numbers, got str"),
        ({"action": "calculate", "value": [1, "x"]}, r"value\[1\] must be a number"),
    ],
)
def test_malformed_events_raise_invalid_event_not_bare_errors(event, message):
    with pytest.raises(InvalidEventError, match=message):
        processor.handle_event(event)


def test_force_error_false_is_an_ordinary_event():
    assert processor.handle_event({"forceError": False, "action": "process", "value": 1})["result"] == 2


def test_entry_point_returns_the_result_and_emits_a_metric(capsys):
    assert processor.handler(load_event("process-ok.json"), CONTEXT)["result"] == 42
    assert '"ProcessedEvents"' in capsys.readouterr().out


def test_entry_point_reraises_so_lambda_records_the_error_type(capsys, caplog):
    with pytest.raises(ForcedError):
        processor.handler(load_event("force-error.json"), CONTEXT)
    assert '"FailedEvents"' in capsys.readouterr().out
    (warning,) = [r for r in caplog.records if r.getMessage() == "event failed"]
    assert warning.error_type == "ForcedError"


@pytest.mark.parametrize(
    "event",
    [
        {"action": "process", "value": 10**400},
        {"action": "process", "value": 1e308},
        {"action": "process", "value": 10**308},
        {"action": "calculate", "value": [1e308, 1e308]},
        {"action": "calculate", "value": [10**400]},
    ],
)
def test_numbers_that_do_not_fit_raise_a_named_error(event):
    with pytest.raises(processor.NumberOutOfRangeError):
        processor.handle_event(event)


@settings(max_examples=300, deadline=None)
@given(st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(), _json_children))
def test_any_json_event_gives_a_json_result_or_a_named_error(event):
    """Whatever arrives, the outcome is a result that is valid JSON, or a ProcessorError."""
    try:
        result = processor.handle_event(event)
    except processor.ProcessorError:
        return
    json.dumps(result, allow_nan=False)


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(["process", "validate", "calculate"]),
    st.one_of(st.integers(), st.floats(), st.text(), st.lists(st.one_of(st.integers(), st.floats()))),
)
def test_every_action_over_any_value(action, value):
    try:
        result = processor.handle_event({"action": action, "value": value})
    except processor.ProcessorError:
        return
    json.dumps(result, allow_nan=False)
