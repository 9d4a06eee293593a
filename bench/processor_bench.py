"""Processor handler: cold import and per-invocation cost, each next to its floor in the same
run (fresh interpreters for cold starts), ours and the floor alternating."""

from common import ROOT, alternating, in_fresh_interpreter, pair

INVOCATIONS = 5000
POWERTOOLS = "from aws_lambda_powertools import Logger, Metrics; Logger(); Metrics()"
COLD_IMPORTS = (
    ("async_function", POWERTOOLS),
    ("stream_consumer", POWERTOOLS),
    (
        "failure_processor",
        f"{POWERTOOLS}; import boto3; [boto3.client(s) for s in ('s3', 'sns', 'lambda')]",
    ),
)

HANDLERS = ("async_function", "receiver", "stream_consumer", "failure_processor", "compaction")
# As Lambda starts a Python function (LAMBDA_TASK_ROOT), with the variable LambdaFunction sets
# from the function's tracing mode; each side asserts whether it loaded the X-Ray SDK.
IN_LAMBDA = {"LAMBDA_TASK_ROOT": str(ROOT), "AWS_LAMBDA_FUNCTION_NAME": "bench"}
TRACING = {"Active": "false", "PassThrough": "true"}


class Context:
    function_name = "bench"
    memory_limit_in_mb = 256
    invoked_function_arn = "arn:aws:lambda:eu-west-1:123456789012:function:bench"
    aws_request_id = "bench"


def main() -> None:
    print("handlers, cold import (5 fresh interpreters each side, alternating; floor: the SDKs it loads)")
    for handler, floor_code in COLD_IMPORTS:
        ours, floor = alternating(
            in_fresh_interpreter(f"import lambda_failures.handlers.{handler}"), in_fresh_interpreter(floor_code)
        )
        print(pair(f"import {handler}", ours, floor))

    print("handlers, cold import in Lambda, tracing Active (Powertools Tracer; floor: the same, PassThrough)")
    for handler in HANDLERS:
        traced, untraced = (
            in_fresh_interpreter(
                f"import sys, lambda_failures.handlers.{handler}; assert ('aws_xray_sdk' in sys.modules) is {loads}",
                env=IN_LAMBDA | {"POWERTOOLS_TRACE_DISABLED": TRACING[mode]},
            )
            for mode, loads in (("Active", True), ("PassThrough", False))
        )
        print(pair(f"import {handler}, Active", *alternating(traced, untraced)))

    from lambda_failures.handlers import async_function as processor

    event = {"action": "calculate", "value": [4, 8, 15, 16, 23, 42]}
    context = Context()

    def bare_python():
        for _ in range(INVOCATIONS):
            assert sum(event["value"]) / len(event["value"]) > 0

    def domain():
        for _ in range(INVOCATIONS):
            assert processor.handle_event(event)

    def entry_point():
        for _ in range(INVOCATIONS):
            assert processor.handler(event, context)

    print(f"per invocation ({INVOCATIONS} calls a run; floor: sum/len of the same list)")
    ours, floor = alternating(domain, bare_python)
    print(pair("handle_event (domain logic), per call", _per_call(ours), _per_call(floor), "us"))
    ours, floor = alternating(entry_point, bare_python)
    print(pair("handler (Powertools logger + metrics)", _per_call(ours), _per_call(floor), "us"))


def _per_call(figures: tuple[float, float]) -> tuple[float, float]:
    return figures[0] / INVOCATIONS * 1e6, figures[1] / INVOCATIONS * 1e6


if __name__ == "__main__":
    main()
