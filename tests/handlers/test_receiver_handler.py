"""The success receiver logs the record it gets and tolerates odd shapes."""

from hypothesis import given, settings
from hypothesis import strategies as st
from support.lambda_context import LambdaContext

from lambda_failures.handlers import receiver

RECORD = {
    "version": "1.0",
    "timestamp": "2026-11-20T10:00:00.000Z",
    "requestContext": {
        "requestId": "2f0e1f1a-1111-4000-8000-000000000001",
        "functionArn": "arn:aws:lambda:eu-west-1:123456789012:function:lambda-failures-test-processor:$LATEST",
        "condition": "Success",
        "approximateInvokeCount": 1,
    },
    "requestPayload": {"action": "process", "value": 2},
    "responseContext": {"statusCode": 200, "executedVersion": "$LATEST"},
    "responsePayload": {"action": "process", "result": 4},
}


CONTEXT = LambdaContext("receiver")


def test_summary_has_condition_and_request_id():
    summary = receiver.summarize(RECORD)
    assert summary["condition"] == "Success"
    assert summary["request_id"] == "2f0e1f1a-1111-4000-8000-000000000001"


def test_non_object_records_are_summarized_not_crashed():
    assert receiver.summarize(["x"]) == {"record_type": "list"}
    assert receiver.summarize({"requestContext": "odd"})["condition"] is None


def test_handler_logs_the_record(caplog):
    receiver.handler(RECORD, CONTEXT)
    (logged,) = [r for r in caplog.records if r.getMessage() == "invocation record received"]
    assert logged.record == RECORD


@settings(max_examples=200, deadline=None)
@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
        lambda children: (
            st.lists(children, max_size=3)
            | st.dictionaries(st.sampled_from(["requestContext", "timestamp", "x"]), children, max_size=3)
        ),
        max_leaves=10,
    )
)
def test_any_record_is_summarized_without_raising(record):
    summary = receiver.handler(record, CONTEXT)
    assert isinstance(summary, dict)
