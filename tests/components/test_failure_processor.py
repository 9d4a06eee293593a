"""The failure processor: notifications, permission, least-privilege role, its own failures."""

from datetime import UTC, datetime

import pytest
from support.owners import reexecuted
from support.pulumi_harness import ACCOUNT, REGION, one, policy_document, statement

from lambda_failures.components.settings import ConfigError

ARCHIVE = f"lambda-failures-test-failures-{ACCOUNT}-{REGION}-an"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"


def processor_policy(synthesis):
    return policy_document(one(synthesis, ROLE_POLICY, "failure-processor-function-role-policy"))


def test_new_objects_under_aws_lambda_trigger_the_processor(stack):
    notification = one(stack, "aws:s3/bucketNotification:BucketNotification")
    assert notification.props["bucket"] == ARCHIVE, notification.urn
    (target,) = notification.props["lambdaFunctions"]
    assert target["events"] == ["s3:ObjectCreated:*"] and target["filterPrefix"] == "aws/lambda/"


def test_every_record_key_lies_under_the_prefix_notifications_and_grants_cover():
    """RECORD_PREFIX is the one statement of where Lambda writes: the async and stream layouts
    are placed under it, so the notification filter and the grants cover every record."""
    layout = reexecuted("lambda_failures.archive_format", RECORD_PREFIX="elsewhere/")
    moment = datetime(2026, 11, 29, tzinfo=UTC)
    assert layout.async_failure_key("orders", moment).startswith("elsewhere/async/orders/2026/11/29/")
    assert layout.stream_failure_key("esm", "shard-1", moment).startswith("elsewhere/esm/shard-1/2026/11/29/")


def test_permission_is_scoped_to_the_archive_and_this_account(stack):
    permission = one(stack, "aws:lambda/permission:Permission", "failure-processor-s3-permission")
    assert permission.props["principal"] == "s3.amazonaws.com"
    assert permission.props["sourceArn"] == f"arn:aws:s3:::{ARCHIVE}"
    assert permission.props["sourceAccount"] == ACCOUNT


def test_role_reads_and_tags_records_and_publishes_alerts_only(stack):
    doc = processor_policy(stack)
    read = statement(doc, "ReadAndMarkFailureRecords")
    assert read["Resource"] == f"arn:aws:s3:::{ARCHIVE}/aws/lambda/*"
    assert read["Condition"] == {"StringEquals": {"s3:ResourceAccount": ACCOUNT}}
    assert not any(a.startswith("s3:Delete") for a in read["Action"])
    assert statement(doc, "PublishAlerts")["Resource"] == f"arn:aws:sns:{REGION}:{ACCOUNT}:lambda-failures-test-alerts"
    assert statement(doc, "UseArchiveKey")["Action"] == ["kms:Decrypt", "kms:GenerateDataKey"]
    claims = statement(doc, "ClaimAlertsAndReplays")
    assert claims["Resource"] == f"arn:aws:s3:::{ARCHIVE}/markers/*"
    assert claims["Action"] == ["s3:GetObject", "s3:PutObject"]
    assert claims["Condition"] == {"StringEquals": {"s3:ResourceAccount": ACCOUNT}}
    assert "ReplayRetryableEvents" not in {s.get("Sid") for s in doc["Statement"]}


def test_role_may_list_the_archive_so_a_deleted_record_reads_as_gone(stack):
    """Without s3:ListBucket S3 answers 403, not 404, for a missing object: "gone" is never seen."""
    listing = statement(processor_policy(stack), "ConfirmRecordsGone")
    assert listing["Action"] == ["s3:ListBucket", "s3:ListBucketVersions"]
    assert listing["Resource"] == f"arn:aws:s3:::{ARCHIVE}"
    assert listing["Condition"] == {"StringEquals": {"s3:ResourceAccount": ACCOUNT}}


def test_auto_replay_adds_invoke_on_the_processor_function_only(program):
    doc = processor_policy(program(autoReplay=True))
    replay = statement(doc, "ReplayRetryableEvents")
    assert replay["Resource"] == [f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:lambda-failures-test-processor"]
    function = one(program(autoReplay=True), "aws:lambda/function:Function", "failure-processor-function-function")
    assert function.props["environment"]["variables"]["AUTO_REPLAY"] == "true"


def test_auto_replay_is_refused_when_every_replay_would_fail_again(program):
    with pytest.raises(ConfigError, match="autoReplay must be false while reservedConcurrency is 0"):
        program(autoReplay=True, reservedConcurrency=0)


@pytest.mark.parametrize(
    ("suffix", "metric", "dimensions"),
    [
        ("failure-processor-destination-failures-alarm", "DestinationDeliveryFailures", "FunctionName"),
        ("failure-processor-events-dropped-alarm", "AsyncEventsDropped", "FunctionName"),
        ("failure-processor-queue-depth-alarm", "ApproximateNumberOfMessagesVisible", "QueueName"),
        ("async-function-destination-failures-alarm", "DestinationDeliveryFailures", "FunctionName"),
        ("async-function-events-dropped-alarm", "AsyncEventsDropped", "FunctionName"),
    ],
)
def test_lost_failures_raise_an_alarm_on_the_alerts_topic(stack, suffix, metric, dimensions):
    alarm = one(stack, "aws:cloudwatch/metricAlarm:MetricAlarm", suffix)
    assert alarm.props["metricName"] == metric and list(alarm.props["dimensions"]) == [dimensions], alarm.urn
    assert alarm.props["threshold"] == 0.0 and alarm.props["comparisonOperator"] == "GreaterThanThreshold"
    assert alarm.props["alarmActions"] == [f"arn:aws:sns:{REGION}:{ACCOUNT}:lambda-failures-test-alerts"]
    topic = one(stack, "aws:sns/topic:Topic", "alerts-topic")
    assert topic.urn in alarm.dependencies["alarmActions"], "the alarm must be created after the topic"


def test_archive_consumers_depend_on_the_bucket_resource(stack):
    """Destroy and --target order follow dependencies: every user of the archive names it."""
    bucket = one(stack, "aws:s3/bucket:Bucket", "failure-archive-bucket")
    users = [
        (one(stack, "aws:s3/bucketNotification:BucketNotification"), "bucket"),
        (one(stack, "aws:lambda/permission:Permission", "failure-processor-s3-permission"), "sourceArn"),
        (
            one(
                stack, "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig", "async-function-invoke-config"
            ),
            "destinationConfig",
        ),
        (one(stack, "aws:lambda/eventSourceMapping:EventSourceMapping"), "destinationConfig"),
        (one(stack, "aws:glue/catalogTable:CatalogTable", "analytics-async-table"), "storageDescriptor"),
    ]
    for resource, prop in users:
        assert bucket.urn in resource.dependencies.get(prop, []), f"{resource.urn}.{prop}"


def test_own_failures_go_to_an_encrypted_queue_not_back_to_the_archive(stack):
    config = one(
        stack, "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig", "failure-processor-invoke-config"
    )
    destination = config.props["destinationConfig"]["onFailure"]["destination"]
    assert destination == f"arn:aws:sqs:{REGION}:{ACCOUNT}:lambda-failures-test-failure-processor-failed"
    queue = one(stack, "aws:sqs/queue:Queue", "failure-processor-dlq")
    assert "kmsMasterKeyId" in queue.props


def test_processor_packages_the_archive_format_it_imports(stack):
    function = one(stack, "aws:lambda/function:Function", "failure-processor-function-function")
    assert function.props["handler"] == "lambda_failures.handlers.failure_processor.handler"
    assert sorted(function.props["code"]["assets"]) == [
        "lambda_failures/__init__.py",
        "lambda_failures/archive_format.py",
        "lambda_failures/aws_errors.py",
        "lambda_failures/claims.py",
        "lambda_failures/handlers/__init__.py",
        "lambda_failures/handlers/alerts.py",
        "lambda_failures/handlers/failure_processor.py",
        "lambda_failures/handlers/tracing.py",
        "lambda_failures/invoke_errors.py",
        "lambda_failures/json_depth.py",
    ]


@pytest.mark.parametrize(
    "handler", ["async_function", "stream_consumer", "failure_processor", "receiver", "compaction"]
)
def test_each_package_imports_on_its_own_as_lambda_would_load_it(tmp_path, handler):
    """Unpacked alone (Powertools and boto3 come from the runtime and layer), the handler
    imports: nothing it needs was left out, and nothing of Pulumi comes along."""
    import os
    import shutil
    import subprocess
    import sys

    from lambda_failures.components.lambda_function import PACKAGE_ROOT, package_files

    module = f"lambda_failures.handlers.{handler}"
    for name in package_files(module):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(PACKAGE_ROOT / name, tmp_path / name)
    code = (
        f"import sys, {module} as m; assert callable(m.handler); "
        "print(sorted({k.split('.')[0] for k in sys.modules if k.startswith(('pulumi', 'lambda_failures'))})); "
        "print(sorted({sys.modules[k].__file__ for k in sys.modules if k.startswith('lambda_failures')}))"
    )
    env = os.environ | {"PYTHONPATH": str(tmp_path), "AWS_DEFAULT_REGION": "eu-west-1", "ALERT_TOPIC_ARN": "x"}
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    imported, files = done.stdout.strip().splitlines()
    assert imported == "['lambda_failures']"  # no Pulumi
    assert all(f.startswith(str(tmp_path)) for f in eval(files)), files  # loaded from the package, not the repo


def test_processor_can_be_left_out(program):
    synthesis = program(failureProcessor=False)
    assert synthesis.of_type("aws:s3/bucketNotification:BucketNotification") == []


def test_each_source_is_parsed_once_however_many_functions_package_it(monkeypatch):
    """Packaging is found once per handler (and each module's imports once) in a run: a program
    with many functions of one handler does not walk its sources again for each."""
    from lambda_failures.components import lambda_function

    handlers = [f"lambda_failures.handlers.{name}" for name in ("receiver", "failure_processor", "compaction")]
    lambda_function.package_files.cache_clear()
    lambda_function._project_imports.cache_clear()
    parsed: list[str] = []
    real_parse = lambda_function.ast.parse
    monkeypatch.setattr(lambda_function.ast, "parse", lambda source, path: parsed.append(path) or real_parse(source))
    packages = [lambda_function.package_files(h) for _ in range(5) for h in handlers]
    assert len(parsed) == len(set(parsed)) > len(handlers), parsed
    assert packages[: len(handlers)] * 5 == packages
    assert "lambda_failures/handlers/receiver.py" in packages[0] and "lambda_failures/__init__.py" in packages[0]
