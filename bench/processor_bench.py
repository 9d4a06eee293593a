"""Processor handler: cold import and per-invocation cost, next to bare Python in the same run."""

from common import median_seconds, row, subprocess_seconds

INVOCATIONS = 5000


class Context:
    function_name = "bench"
    memory_limit_in_mb = 256
    invoked_function_arn = "arn:aws:lambda:eu-west-1:123456789012:function:bench"
    aws_request_id = "bench"


def main() -> None:
    print("processor handler (cold import: median of 5 fresh interpreters)")
    bare = subprocess_seconds("pass")
    cold = subprocess_seconds("import lambda_failures.handlers.async_function")
    powertools = subprocess_seconds("from aws_lambda_powertools import Logger, Metrics; Logger(); Metrics()")
    print(row("bare interpreter start", bare * 1000, "ms"))
    print(row("interpreter start + Powertools Logger and Metrics", powertools * 1000, "ms", bare * 1000))
    print(row("interpreter start + import the processor handler", cold * 1000, "ms", powertools * 1000))
    for handler, floor_code in (
        ("stream_consumer", "from aws_lambda_powertools import Logger, Metrics; Logger(); Metrics()"),
        (
            "failure_processor",
            "from aws_lambda_powertools import Logger, Metrics; import boto3; Logger(); Metrics(); "
            "[boto3.client(s) for s in ('s3', 'sns', 'lambda')]",
        ),
    ):
        floor = subprocess_seconds(floor_code)
        ours = subprocess_seconds(f"import lambda_failures.handlers.{handler}")
        print(row(f"  floor for {handler}: its SDKs alone", floor * 1000, "ms"))
        print(row(f"import {handler} (floor: its SDKs alone)", ours * 1000, "ms", floor * 1000))

    from lambda_failures.handlers import async_function as processor

    event = {"action": "calculate", "value": [4, 8, 15, 16, 23, 42]}
    context = Context()

    def bare_python():
        for _ in range(INVOCATIONS):
            sum(event["value"]) / len(event["value"])

    def domain():
        for _ in range(INVOCATIONS):
            processor.handle_event(event)

    def entry_point():
        for _ in range(INVOCATIONS):
            processor.handler(event, context)

    base = median_seconds(bare_python) / INVOCATIONS * 1e6
    print(f"per invocation (median of 5 runs of {INVOCATIONS})")
    print(row("bare Python (sum/len of the same list)", base, "us"))
    print(row("handle_event (domain logic)", median_seconds(domain) / INVOCATIONS * 1e6, "us", base))
    print(row("handler (Powertools logger + metrics)", median_seconds(entry_point) / INVOCATIONS * 1e6, "us", base))


if __name__ == "__main__":
    main()
