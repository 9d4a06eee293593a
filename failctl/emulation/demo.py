"""`failctl demo`: the whole flow on a laptop, no AWS account, no network.

1. the offline preview and policy gate; 2. moto's server as the embedded AWS (on loopback);
3. the processor invoked asynchronously with Lambda's retry semantics, failures written to
the archive; 4. a failing DynamoDB stream batch through the real consumer with partial
batch responses and bisection; 5. a team's own function (examples/consumer, its handler
from its code folder) failing into the same archive; 6. the failure processor's alerts;
7. the named queries answered locally from the archive; 8. the replay plan, and the team's
record replayed into its own handler.
"""

from __future__ import annotations

import json
import logging
import os
import runpy
import socket
import sys
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from failctl.errors import BadInputError, EnvironmentProblemError
from failctl.preview.synth import PROJECT_DIR, Synthesis
from lambda_failures.archive_format import RECORD_PREFIX

# The demo's fake account: only here does the offline preview stand for an account that is not yours.
ACCOUNT = "123456789012"
REGION = "us-east-1"
STACK = "dev"
MAPPING_UUID = "4f7e2f5c-demo-4000-8000-000000000001"  # AWS assigns it when the mapping is created
SHARD = "shardId-00000001763800000000-0a1b2c3d"
# The team's stack the demo runs a function of: it reads this project's dev stack as its archive.
CONSUMER_DIR = PROJECT_DIR / "examples" / "consumer"
ARCHIVE_STACK = "organization/lambda-failures/dev"
TEAM_MAPPING_UUID = "9b1d3c2e-demo-4000-8000-000000000002"


@dataclass(frozen=True)
class DemoStack:
    """What the synthesized stack would deploy, as the demo's emulated Lambda uses it."""

    function: str
    async_retries: int
    consumer: str
    stream_retries: int
    batch_size: int
    bucket: str
    topic: str
    table: str

    @classmethod
    def from_synthesis(cls, synthesis: Synthesis) -> DemoStack:
        def props(type_: str, name: str) -> dict[str, Any]:
            (found,) = [r.props for r in synthesis.of_type(type_) if r.name == name]
            return found

        invoke = props("aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig", "async-function-invoke-config")
        mapping = props("aws:lambda/eventSourceMapping:EventSourceMapping", "stream-consumer-mapping")
        out = synthesis.outputs
        return cls(
            function=out["LambdaFunctionName"],
            async_retries=int(invoke["maximumRetryAttempts"]),
            consumer=out["StreamConsumerFunctionName"],
            stream_retries=int(mapping["maximumRetryAttempts"]),
            batch_size=int(mapping["batchSize"]),
            bucket=out["FailedEventsBucketName"],
            topic=out["AlertTopicArn"].rsplit(":", 1)[-1],
            table=out["StreamTableName"],
        )

    def arn(self, function: str) -> str:
        return f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{function}"

    @property
    def stream_arn(self) -> str:
        return f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{self.table}/stream/2026-01-01T00:00:00.000"


@dataclass(frozen=True)
class TeamFunction:
    """The team's stream consumer as its own stack would deploy it: its name, its mapping's
    retries, its table, and the handler Lambda would call, from its code folder."""

    name: str
    stream_retries: int
    table: str
    code: Path
    handler: str

    @classmethod
    def from_synthesis(cls, synthesis: Synthesis) -> TeamFunction:
        (function,) = [
            r.props
            for r in synthesis.of_type("aws:lambda/function:Function")
            if r.name == "inventory-consumer-function"
        ]
        (mapping,) = [r.props for r in synthesis.of_type("aws:lambda/eventSourceMapping:EventSourceMapping")]
        return cls(
            name=synthesis.outputs["InventoryFunctionName"],
            stream_retries=int(mapping["maximumRetryAttempts"]),
            table=synthesis.outputs["InventoryTableName"],
            code=(CONSUMER_DIR / function["code"]["path"]).resolve(),
            handler=function["handler"],
        )

    def load(self) -> Any:
        """The handler as Lambda's Python runtime finds it: `<module path>.<function>` in the code folder."""
        module, _, function = self.handler.rpartition(".")
        return runpy.run_path(str(self.code / (module.replace(".", "/") + ".py")))[function]

    @property
    def stream_arn(self) -> str:
        return f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{self.table}/stream/2026-01-01T00:00:00.000"


# The reference test invocations: successes, each kind of failure, an unknown action, forceError.
INVOCATIONS: list[Any] = [
    {"action": "process", "value": 21},
    {"action": "validate", "value": "order-42"},
    {"action": "calculate", "value": [4, 8, 15, 16, 23, 42]},
    {"action": "process", "value": -3},
    {"action": "validate", "value": ""},
    {"action": "calculate", "value": []},
    {"action": "refund", "value": 10},
    {"forceError": True},
]


def stage(number: int, title: str) -> None:
    print(f"\n== {number}. {title} " + "=" * max(0, 70 - len(title)))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _start_moto() -> Any:
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no request log lines in the demo
    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    os.environ.update(
        {
            "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}",
            "AWS_ACCESS_KEY_ID": "demo",
            "AWS_SECRET_ACCESS_KEY": "demo",
            "AWS_DEFAULT_REGION": REGION,
            "POWERTOOLS_SERVICE_NAME": "lambda-failures-demo",
            "POWERTOOLS_METRICS_NAMESPACE": "lambda-failures-demo",
            "POWERTOOLS_LOG_LEVEL": "CRITICAL",
        }
    )
    return server


def _gate() -> tuple[DemoStack, TeamFunction] | None:
    from pulumi.runtime.rpc import UNKNOWN

    from failctl.preview import gate
    from failctl.preview.synth import synthesize

    synthesis = synthesize(STACK, account_id=ACCOUNT, region=REGION)
    pack = gate.load_pack(PROJECT_DIR / "policy")
    verdict = gate.evaluate(pack, synthesis.resources)
    print(f"{len(synthesis.resources)} resources planned for stack {STACK}; {verdict.policies} policies evaluated")
    for line in gate.report_lines(verdict)[1:]:
        print(f"  {line}")
    # The team's stack (examples/consumer) over this stack's outputs, as its StackReference reads them.
    outputs = {k: v for k, v in synthesis.outputs.items() if v != UNKNOWN}
    team = synthesize(STACK, project_dir=CONSUMER_DIR, account_id=ACCOUNT, stack_references={ARCHIVE_STACK: outputs})
    team_verdict = gate.evaluate(pack, team.resources)
    print(
        f"team stack examples/consumer: {len(team.resources)} resources, "
        f"{sum(v.level == gate.MANDATORY for v in team_verdict.violations)} mandatory violations, "
        f"{len(team_verdict.undecided)} undecided"
    )
    if verdict.blocked or team_verdict.blocked:
        return None
    return DemoStack.from_synthesis(synthesis), TeamFunction.from_synthesis(team)


def _aws_fixtures(boto3: Any, stack: DemoStack) -> dict[str, Any]:
    s3 = boto3.client("s3")
    kms = boto3.client("kms")
    key_id = kms.create_key(Description="demo failure archive")["KeyMetadata"]["Arn"]
    s3.create_bucket(Bucket=stack.bucket)
    s3.put_bucket_encryption(
        Bucket=stack.bucket,
        ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key_id}}]
        },
    )
    sns, sqs = boto3.client("sns"), boto3.client("sqs")
    topic = sns.create_topic(Name=stack.topic)["TopicArn"]
    inbox = sqs.create_queue(QueueName=f"{stack.topic}-inbox")["QueueUrl"]
    inbox_arn = sqs.get_queue_attributes(QueueUrl=inbox, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=inbox_arn, Attributes={"RawMessageDelivery": "false"})
    return {"s3": s3, "sqs": sqs, "topic": topic, "inbox": inbox}


def _order(stack: DemoStack, seq: int, order_id: str, amount: int, status: str = "PENDING") -> dict[str, Any]:
    return {
        "eventID": f"demo-{seq}",
        "eventName": "INSERT",
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": REGION,
        "dynamodb": {
            "ApproximateCreationDateTime": int(time.time()),
            "Keys": {"pk": {"S": f"order#{order_id}"}},
            "NewImage": {
                "pk": {"S": f"order#{order_id}"},
                "amount": {"N": str(amount)},
                "status": {"S": status},
            },
            "SequenceNumber": f"{seq:021d}",
            "SizeBytes": 60,
            "StreamViewType": "NEW_AND_OLD_IMAGES",
        },
        "eventSourceARN": stack.stream_arn,
    }


def _async_stage(aws: dict[str, Any], stack: DemoStack) -> list[str]:
    from failctl.emulation.emulator import AsyncFunctionEmulator
    from lambda_failures.handlers import async_function as processor

    emulator = AsyncFunctionEmulator(
        processor.handler, stack.function, stack.arn(stack.function), stack.async_retries, aws["s3"], stack.bucket
    )
    keys = []
    for event in INVOCATIONS:
        outcome = emulator.invoke_event(event)
        shown = json.dumps(event)
        if outcome.error is None:
            print(f"  ok      {shown:<52} -> {json.dumps(outcome.result['result'])}")
        else:
            print(f"  FAILED  {shown:<52} {type(outcome.error).__name__} after {outcome.attempts} attempts")
            print(f"          record: s3://{stack.bucket}/{outcome.record_key}")
            if outcome.record_key is not None:
                keys.append(outcome.record_key)
    return keys


def _stream_stage(aws: dict[str, Any], stack: DemoStack) -> list[str]:
    from failctl.emulation.emulator import StreamMappingEmulator
    from lambda_failures.handlers import stream_consumer

    batch = [
        _order(stack, 1, "1001", 25),
        _order(stack, 2, "1002", -5),  # bad amount
        _order(stack, 3, "1003", 40, "PAID"),
        _order(stack, 4, "1004", 12, "LOST"),  # bad status
    ]
    emulator = StreamMappingEmulator(
        stream_consumer.handler,
        stack.consumer,
        stack.arn(stack.consumer),
        stack.stream_arn,
        SHARD,
        MAPPING_UUID,
        stack.stream_retries,
        aws["s3"],
        stack.bucket,
    )
    all_bad = [_order(stack, 5, "2001", 0), _order(stack, 6, "2002", 9, "?")]
    keys: list[str] = []
    for title, records in (
        ("order#1001 ok, order#1002 amount -5, order#1003 ok, order#1004 status LOST", batch),
        ("order#2001 amount 0, order#2002 status ? (every record bad: a function error)", all_bad),
    ):
        print(f"  batch: {title}")
        outcome = emulator.deliver(records)
        for line in outcome.log:
            print(f"    {line}")
        print(
            f"    {outcome.invocations} invocations, {outcome.bisections} bisections, "
            f"{outcome.checkpointed} records checkpointed"
        )
        for key in outcome.record_keys:
            print(f"    record: s3://{stack.bucket}/{key}")
        keys += outcome.record_keys
    return keys


def _stock_change(team: TeamFunction, seq: int, order_id: str, sku: str | None, quantity: int) -> dict[str, Any]:
    image: dict[str, Any] = {"pk": {"S": f"order#{order_id}"}, "quantity": {"N": str(quantity)}}
    if sku is not None:
        image["sku"] = {"S": sku}
    return {
        "eventID": f"team-{seq}",
        "eventName": "INSERT",
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": REGION,
        "dynamodb": {
            "ApproximateCreationDateTime": int(time.time()),
            "Keys": {"pk": {"S": f"order#{order_id}"}},
            "NewImage": image,
            "SequenceNumber": f"{seq:021d}",
            "SizeBytes": 60,
            "StreamViewType": "NEW_AND_OLD_IMAGES",
        },
        "eventSourceARN": team.stream_arn,
    }


def _team_stage(aws: dict[str, Any], stack: DemoStack, team: TeamFunction) -> list[str]:
    """The team's handler, from its code folder, behind the mapping its own stack deploys."""
    from failctl.emulation.emulator import StreamMappingEmulator

    where = team.code.relative_to(PROJECT_DIR) if team.code.is_relative_to(PROJECT_DIR) else team.code
    print(f"  {team.name}: handler {team.handler} from {where}/ (the team's code)")
    emulator = StreamMappingEmulator(
        team.load(),
        team.name,
        stack.arn(team.name),
        team.stream_arn,
        SHARD,
        TEAM_MAPPING_UUID,
        team.stream_retries,
        aws["s3"],
        stack.bucket,
    )
    batch = [
        _stock_change(team, 1, "3001", "tea", 2),
        _stock_change(team, 2, "3002", None, 1),  # names no sku
        _stock_change(team, 3, "3003", "cup", 1),
        _stock_change(team, 4, "3004", "pot", 0),  # reserves nothing
    ]
    print("  batch: order#3001 tea x2, order#3002 no sku, order#3003 cup x1, order#3004 pot x0")
    outcome = emulator.deliver(batch)
    for line in outcome.log:
        print(f"    {line}")
    print(f"    {outcome.invocations} invocations, {outcome.checkpointed} records checkpointed")
    for key in outcome.record_keys:
        print(f"    record: s3://{stack.bucket}/{key}")
    return outcome.record_keys


def _alerts_stage(aws: dict[str, Any], stack: DemoStack, keys: list[str]) -> None:
    os.environ["ALERT_TOPIC_ARN"] = aws["topic"]
    from failctl.emulation.emulator import FakeContext, call_handler
    from lambda_failures.handlers import failure_processor

    def notify(key: str) -> dict[str, int]:
        event = {"Records": [{"s3": {"bucket": {"name": stack.bucket}, "object": {"key": key}}}]}
        counts: dict[str, int] = call_handler(
            failure_processor.handler, event, FakeContext("failure-processor", "arn:demo")
        )
        return counts

    for key in keys:
        notify(key)
    print(f"  duplicate notification for the first record -> {notify(keys[0])}")
    messages = []
    while batch := aws["sqs"].receive_message(QueueUrl=aws["inbox"], MaxNumberOfMessages=10).get("Messages", []):
        messages += batch
        aws["sqs"].delete_message_batch(
            QueueUrl=aws["inbox"],
            Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(batch)],
        )
    print(f"  {len(messages)} alerts published for {len(keys)} records:")
    for message in messages:
        print(f"    {json.loads(message['Body'])['Subject']}")
    first = json.loads(messages[0]["Body"])["Message"] if messages else ""
    print("  first alert:")
    for line in first.splitlines():
        print(f"    | {line}")


def _query_stage(aws: dict[str, Any], stack: DemoStack) -> None:
    from failctl.archive.local_query import run_local
    from failctl.archive.stores import S3Store
    from lambda_failures.queries import query_named

    today = datetime.now(UTC).date()
    store = S3Store(f"s3://{stack.bucket}", aws["s3"])
    for name in ("errors-by-action", "errors-by-type", "stream-failures"):
        result = run_local(store, query_named(name).sql, today, today)
        print(f"  {name}:")
        print("    " + " | ".join(result.columns))
        for row in result.rows:
            print("    " + " | ".join(str(v) for v in row))
    _compaction(store, today)


def _compaction(store: Any, today: date) -> None:
    """One compaction, run as it would be two days from now (today is not closed yet)."""
    from failctl.archive import compaction
    from failctl.archive.local_query import run_local
    from lambda_failures.queries import query_named

    sql = query_named("errors-by-type").sql
    before = run_local(store, sql, today, today).rows
    print("  failctl compact, as run two days from now (once today is closed):")
    for outcome, _ in compaction.compact(store, today=today + timedelta(days=2)):
        print(f"    {outcome.status} {outcome.function} {outcome.day}: {outcome.detail} -> {', '.join(outcome.files)}")
    after = run_local(store, sql, today, today)
    same = "the same answer" if after.rows == before else "A DIFFERENT ANSWER"
    files, objects = after.load.compacted_files, after.load.objects
    print(f"  errors-by-type again, from {files} Parquet file(s) and {objects} raw objects: {same}")


def _replay_stage(aws: dict[str, Any], stack: DemoStack, team: TeamFunction) -> None:
    from failctl.archive import replay
    from failctl.archive.stores import S3Store
    from failctl.emulation.emulator import InProcessLambda

    store = S3Store(f"s3://{stack.bucket}", aws["s3"])
    report = replay.ReplayReport()
    plan = list(replay.select(store, replay.Selection(), report))
    print(f"  dry run: {len(plan)} records would be re-driven (add --execute to do it):")
    for planned in plan:
        what = planned.summary.error_type or planned.summary.condition
        print(f"    {planned.summary.kind:<6} {what:<22} -> re-invoke {planned.target}")
    # The team's record, re-driven as `failctl replay --execute --function <name>` would, into its handler.
    lambda_ = InProcessLambda({team.name: (team.load(), stack.arn(team.name))})
    for attempt in ("replay", "again"):
        report = replay.ReplayReport()
        mine = list(replay.select(store, replay.Selection(function=team.name), report, with_state=False))
        replay.execute(store, lambda_, mine, report, progress=False)
        for outcome in report.outcomes:
            print(f"  {attempt:<6} {team.name}: {outcome.status} ({outcome.detail})")


def _keep(aws: dict[str, Any], stack: DemoStack, folder: Path) -> None:
    """The archive's records as a folder laid out like the bucket, for failctl query and replay."""
    paginator = aws["s3"].get_paginator("list_objects_v2")
    count = 0
    for page in paginator.paginate(Bucket=stack.bucket, Prefix=RECORD_PREFIX):
        for item in page.get("Contents", []):
            path = folder / item["Key"]
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(aws["s3"].get_object(Bucket=stack.bucket, Key=item["Key"])["Body"].read())
            count += 1
    print(f"  {count} records kept in {folder}/: try `failctl query errors-by-type --source {folder}`")
    print(f"  and `failctl replay --source {folder}` (a dry run)")


def check_keep(folder: Path, append: bool) -> None:
    """Before the demo runs: `--keep` must name a folder that is new or empty, or be told to add
    to an earlier archive (`--append`), whose records would otherwise mix into every query."""
    if folder.exists() and not folder.is_dir():
        raise BadInputError(f"--keep {folder}: is a file, not a folder; name a new or empty folder")
    if folder.is_dir() and any(folder.iterdir()) and not append:
        raise BadInputError(
            f"--keep {folder}: the folder is not empty (an earlier archive?); name a new or empty folder, "
            "or pass --append to add this run's records to it"
        )


def run(keep: Path | None = None, append: bool = False) -> int:
    if not (PROJECT_DIR / "Pulumi.yaml").is_file() or not CONSUMER_DIR.is_dir():
        # The demo deploys this repository's program and its team example, which a package
        # installed without -e does not carry (only the libraries, failctl and the pack).
        raise EnvironmentProblemError(
            "needs the project's program and examples/consumer, which this installed failctl does not carry: "
            "run it from a checkout of the repository (`make demo`)"
        )
    if keep is not None:
        check_keep(keep, append)
    started = time.monotonic()
    stage(1, "Offline preview and policy gate")
    planned = _gate()
    if planned is None:
        return 1
    stack, team = planned
    stage(2, "Embedded AWS (moto server on 127.0.0.1)")
    server = _start_moto()
    try:
        import boto3

        aws = _aws_fixtures(boto3, stack)
        print(f"  archive s3://{stack.bucket} (aws:kms), alert topic {aws['topic']}")
        stage(3, f"Asynchronous invocations ({stack.async_retries} retries, then the S3 on-failure destination)")
        keys = _async_stage(aws, stack)
        stage(4, f"DynamoDB stream batch (partial batch responses, bisection, {stack.stream_retries} retries)")
        keys += _stream_stage(aws, stack)
        stage(5, f"A team's own function (examples/consumer, {team.stream_retries} retries)")
        keys += _team_stage(aws, stack, team)
        stage(6, "Failure processor alerts (S3 notification per new record)")
        _alerts_stage(aws, stack, keys)
        stage(7, "Named queries, answered locally from the archive")
        _query_stage(aws, stack)
        stage(8, "Replay plan, and the team's record replayed into its own handler")
        _replay_stage(aws, stack, team)
        if keep is not None:
            stage(9, "The archive, kept on disk")
            _keep(aws, stack, keep)
    finally:
        server.stop()
    print(f"\nDone in {time.monotonic() - started:.1f} s. Deploy for real: see README, 'Deploying for real'.")
    return 0


if __name__ == "__main__":
    sys.exit(run())
