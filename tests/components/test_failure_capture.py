"""FailureCapture: an existing function (not managed here) fails into the archive, judged by the
pack through the gate like the components that build their own functions."""

from __future__ import annotations

import copy
import json
import textwrap
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from support.pulumi_harness import ACCOUNT, REGION

from failctl.preview import gate
from failctl.preview import synth as synth_module
from failctl.preview.synth import Synthesis, synthesize
from lambda_failures.components.alarms import AlarmTarget
from lambda_failures.components.async_function import ArchiveTarget
from lambda_failures.components.failure_capture import (
    FUNCTION_ARN,
    FUNCTION_NAME,
    QUALIFIER,
    ROLE_ARN,
    ROLE_NAME,
    FailureCaptureArgs,
    check_target,
)
from lambda_failures.components.naming import AwsContext
from lambda_failures.components.settings import ConfigError

PACK = gate.load_pack("policy")
INVOKE = "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig"
ESM = "aws:lambda/eventSourceMapping:EventSourceMapping"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
BUCKET = f"orders-failures-{ACCOUNT}-{REGION}-an"
BUCKET_ARN = f"arn:aws:s3:::{BUCKET}"
TOPIC = f"arn:aws:sns:{REGION}:{ACCOUNT}:orders-alerts"
CLUSTER = f"arn:aws:kafka:{REGION}:{ACCOUNT}:cluster/orders/7c2b1a3e-1111-2222-3333-444455556666-2"
SECRET = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:kafka/orders-AbCdEf"
TABLE_STREAM = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/orders/stream/2024-01-01T00:00:00.000"
KINESIS = f"arn:aws:kinesis:{REGION}:{ACCOUNT}:stream/clicks"

PRELUDE = f"""
import pulumi
from lambda_failures.components.alarms import AlarmTarget
from lambda_failures.components.async_function import ArchiveTarget
from lambda_failures.components.failure_capture import AsyncCapture, FailureCapture, FailureCaptureArgs, StreamCapture
from lambda_failures.components.naming import aws_context
from lambda_failures.components.settings import StreamSettings, StreamSourceKind
from lambda_failures.components.stream_sources import KafkaSource, MskSource, Pollers, StreamSource

ctx = aws_context()
archive = ArchiveTarget(bucket_name="{BUCKET}", bucket_arn="{BUCKET_ARN}", grant_arn="{BUCKET_ARN}",
                        key_alias="alias/orders-failures")
alarms = AlarmTarget("{TOPIC}")
shared = dict(aws=ctx, archive=archive, alarms=alarms)
"""


def synth(tmp_path: Path, body: str) -> Synthesis:
    """A program of the given body after the fixture program's prelude (its archive and alarms)."""
    (tmp_path / "Pulumi.yaml").write_text("name: retrofit\nruntime: python\n")
    (tmp_path / "__main__.py").write_text(PRELUDE + textwrap.dedent(body))
    return synthesize("dev", project_dir=tmp_path, account_id=ACCOUNT, region=REGION)


def of(synthesis: Synthesis, type_: str) -> list:
    return [r for r in synthesis.resources if r.type == type_]


RETROFIT = Path(__file__).resolve().parents[1] / "fixtures" / "retrofit_program"


@pytest.fixture(scope="module")
def retrofit() -> Synthesis:
    return synthesize("dev", project_dir=RETROFIT, account_id=ACCOUNT)


def test_a_retrofit_previews_clean_and_fully_decided(retrofit):
    verdict = gate.evaluate(PACK, retrofit.resources)
    assert verdict.violations == [] and verdict.undecided == [], (verdict.violations, verdict.undecided)
    assert verdict.resources > 0  # the pack judged the plan, not an empty one
    assert retrofit.warnings == []


def test_the_invoke_config_bounds_retries_and_archives_failures(retrofit):
    configs = {r.name: r for r in of(retrofit, INVOKE)}
    assert set(configs) == {"billing-invoke-config", "clicks-invoke-config"}
    assert configs["clicks-invoke-config"].props["qualifier"] == "live"
    config = configs["billing-invoke-config"]
    assert config.props["functionName"] == "billing-api" and "qualifier" not in config.props
    assert config.props["maximumRetryAttempts"] == 1 and config.props["maximumEventAgeInSeconds"] == 900
    assert config.props["destinationConfig"] == {
        "onFailure": {"destination": BUCKET_ARN},
        "onSuccess": {"destination": f"arn:aws:sqs:{REGION}:{ACCOUNT}:billing-done"},
    }


def test_the_existing_role_gets_delivery_under_resource_account(retrofit):
    policies = {r.props["role"]: json.loads(r.props["policy"]) for r in of(retrofit, ROLE_POLICY)}
    assert set(policies) == {"billing-api-role", "orders-sync", "clicks-role", "ledger-role", "audit-role"}
    for document in policies.values():
        write = next(s for s in document["Statement"] if s["Sid"] == "WriteFailureRecords")
        assert write["Condition"] == {"StringEquals": {"s3:ResourceAccount": ACCOUNT}}
    sids = {role: {s["Sid"]: s for s in doc["Statement"]} for role, doc in policies.items()}
    assert sids["billing-api-role"]["SendSuccessRecords"]["Action"] == "sqs:SendMessage"
    assert sids["orders-sync"]["ReadTableStream"]["Resource"] == TABLE_STREAM.split("/stream/")[0] + "/stream/*"
    assert sids["clicks-role"]["ReadKinesisStream"]["Resource"] == KINESIS
    assert sids["clicks-role"]["SubscribeToStreamConsumer"]["Resource"] == f"{KINESIS}/consumer/lambda:1700000000"
    head = CLUSTER.split(":cluster/")[0]
    assert sids["ledger-role"]["ReadKafkaTopic"]["Resource"] == f"{head}:topic/{CLUSTER.split(':cluster/')[1]}/payments"
    assert sids["ledger-role"]["JoinKafkaConsumerGroup"]["Resource"].endswith("/ledger")
    assert "ReadKafkaCredentials" not in sids["ledger-role"]
    assert sids["audit-role"]["ReadKafkaCredentials"]["Resource"] == SECRET
    assert sids["audit-role"]["CreatePollerInterfaces"]["Resource"] == [
        f"arn:aws:ec2:{REGION}:{ACCOUNT}:network-interface/*",
        f"arn:aws:ec2:{REGION}:{ACCOUNT}:subnet/subnet-0123456789abcdef0",
        f"arn:aws:ec2:{REGION}:{ACCOUNT}:security-group/sg-0123456789abcdef0",
    ]


def test_every_stream_kind_gets_the_same_bounded_mapping(retrofit):
    mappings = {r.name: r.props for r in of(retrofit, ESM)}
    assert set(mappings) == {"table-mapping", "clicks-mapping", "msk-mapping", "kafka-mapping"}
    for props in mappings.values():
        assert props["bisectBatchOnFunctionError"] is True
        assert props["functionResponseTypes"] == ["ReportBatchItemFailures"]
        assert props["destinationConfig"] == {"onFailure": {"destinationArn": BUCKET_ARN}}
        assert 0 <= props["maximumRetryAttempts"] <= 10 and props["maximumRecordAgeInSeconds"] == 3600
    assert mappings["clicks-mapping"]["functionName"] == "clicks:live"
    assert mappings["msk-mapping"]["provisionedPollerConfig"] == {"minimumPollers": 1, "maximumPollers": 2}
    assert mappings["msk-mapping"]["amazonManagedKafkaEventSourceConfig"] == {"consumerGroupId": "ledger"}
    kafka = mappings["kafka-mapping"]
    assert "eventSourceArn" not in kafka and kafka["topics"] == ["audit"]
    assert kafka["selfManagedEventSource"] == {
        "endpoints": {"KAFKA_BOOTSTRAP_SERVERS": "b-1.kafka.example.com:9096,b-2.kafka.example.com:9096"}
    }
    assert {c["type"] for c in kafka["sourceAccessConfigurations"]} == {
        "SASL_SCRAM_512_AUTH",
        "VPC_SUBNET",
        "VPC_SECURITY_GROUP",
    }


def test_alarms_watch_delivery_and_lag_per_function_and_qualifier(retrofit):
    alarms = {r.props["name"]: r.props for r in of(retrofit, ALARM)}
    assert alarms["billing-api-destination-failures"]["metricName"] == "DestinationDeliveryFailures"
    assert alarms["billing-api-events-dropped"]["metricName"] == "AsyncEventsDropped"
    assert alarms["clicks-live-iterator-age"]["dimensions"] == {"FunctionName": "clicks", "Resource": "clicks:live"}
    assert alarms["ledger-offset-lag"]["metricName"] == "OffsetLag"
    assert alarms["audit-destination-failures"]["alarmActions"] == [TOPIC]
    assert not any(name.endswith("-errors") for name in alarms)


def _mutated(resources, type_, name, change):
    resources = copy.deepcopy(resources)
    (target,) = [r for r in resources if r.type == type_ and r.name == name]
    change(target.props)
    return resources


def _drop_condition(props):
    doc = json.loads(props["policy"])
    for statement in doc["Statement"]:
        statement.pop("Condition", None)
    props["policy"] = json.dumps(doc)


MUTANTS = [
    (ROLE_POLICY, "billing-role-policy", _drop_condition, "s3-write-grants-require-resource-account"),
    (
        INVOKE,
        "billing-invoke-config",
        lambda p: p.pop("destinationConfig"),
        "lambda-async-invoke-has-failure-destination",
    ),
    (ESM, "kafka-mapping", lambda p: p.update(bisectBatchOnFunctionError=False), "stream-mapping-bisects-batches"),
    (ESM, "msk-mapping", lambda p: p.pop("maximumRetryAttempts"), "stream-mapping-retries-bounded"),
    (ESM, "table-mapping", lambda p: p.update(maximumRecordAgeInSeconds=-1), "stream-mapping-record-age-bounded"),
    (ESM, "clicks-mapping", lambda p: p.pop("destinationConfig"), "stream-mapping-has-failure-destination"),
]


@pytest.mark.parametrize(("type_", "name", "change", "policy"), MUTANTS, ids=[m[3] + ":" + m[1] for m in MUTANTS])
def test_a_mutated_retrofit_is_refused_by_the_intended_policy(retrofit, type_, name, change, policy):
    resources = _mutated(retrofit.resources, type_, name, change)
    verdict = gate.evaluate(PACK, resources)
    found = {v.policy for v in verdict.violations}
    assert policy in found, verdict.violations
    if policy == "stream-mapping-bisects-batches":
        return  # remediated in place by the pack, as it does for every mapping
    assert verdict.blocked


REFUSALS = [
    ('function="billing", tags={"aws:team": "billing"}', "tags: must be keys of 1 to 128"),
    ('function="billing", tags={"team": "b" * 257}', "tags: must be values of up to 256"),
    ('function="billing", tags={f"k{i}": "v" for i in range(51)}', "tags: must be at most 50 tags"),
    ('function="arn:aws:lambda:eu-west-1:123456789012:billing"', "function: must be a Lambda function ARN"),
    ('function="arn:aws:lambda:us-east-1:123456789012:function:billing"', "in this stack's region (eu-west-1)"),
    ('function="arn:aws:lambda:eu-west-1:210987654321:function:billing"', "in this stack's account"),
    ('function="arn:aws-cn:lambda:eu-west-1:123456789012:function:billing"', "in this stack's partition"),
    ('function="billing api"', "function: must be a function name"),
    (
        'function="arn:aws:lambda:eu-west-1:123456789012:function:billing:blue", qualifier="green"',
        "qualifier: must be blue",
    ),
    ('function="billing", qualifier="a.b"', "qualifier: must be $LATEST"),
    ('function="billing", role="arn:aws:iam::210987654321:role/x"', "role: must be an IAM role ARN in this stack's"),
    ('function="billing", role="arn:aws:iam::123456789012:user/x"', "role: must be an IAM role ARN"),
    ('function="billing", invoke=AsyncCapture(max_retry_attempts=3)', "invoke.max_retry_attempts: must be an integer"),
    ('function="billing", invoke=AsyncCapture(max_event_age_seconds=30)', "invoke.max_event_age_seconds"),
    (
        'function="billing", invoke=AsyncCapture(success_destination_arn="arn:aws:sqs:eu-west-1:123456789012:q.fifo")',
        "Lambda cannot send to FIFO",
    ),
    ('function="billing", invoke=None', "invoke: must be set, or stream set"),
    ('function="billing", invoke={"max_retry_attempts": 1}', "invoke: must be an AsyncCapture"),
    (f'function="billing", stream="{KINESIS}"', "stream: must be a StreamCapture"),
    (f'function="billing", stream=StreamCapture("{KINESIS}")', "stream.source: must be a StreamSource, MskSource"),
    (
        f'function="billing", import_invoke_config=True, invoke=None, '
        f'stream=StreamCapture(StreamSource("{KINESIS}", StreamSourceKind.KINESIS))',
        "import_invoke_config: must be false",
    ),
    (
        f'function="billing", stream=StreamCapture(StreamSource("{KINESIS}", StreamSourceKind.DYNAMODB))',
        "stream.source.kind: must be kinesis",
    ),
    (
        f'function="billing", stream=StreamCapture(StreamSource("{KINESIS}", StreamSourceKind.KINESIS), '
        "StreamSettings(max_retry_attempts=11))",
        "StreamSettings.max_retry_attempts must be an integer from 0 to 10",
    ),
    (
        f'function="billing", stream=StreamCapture(MskSource("{CLUSTER}", "t", pollers=Pollers(3, 2)))',
        "stream.source.pollers.maximum: must be at least minimum",
    ),
    (
        'function="billing", stream=StreamCapture(KafkaSource(("kafka:9092",), "t"))',
        "stream.source.secret_arn: must be set",
    ),
    (
        f'function="billing", stream=StreamCapture(KafkaSource(("kafka:9092",), "t", secret_arn="{SECRET}", '
        'subnets=("subnet-0123456789abcdef0",)))',
        "stream.source.security_groups: must be given with subnets",
    ),
    (
        f'function="billing", stream=StreamCapture(KafkaSource(("kafka",), "t", secret_arn="{SECRET}"))',
        "stream.source.bootstrap_servers: must be host:port",
    ),
]


@pytest.mark.parametrize(("given", "expected"), REFUSALS, ids=[r[1] for r in REFUSALS])
def test_bad_names_and_arns_are_refused_with_the_property_named(tmp_path, given, expected):
    kwargs = given if "role=" in given else given + ', role="billing-role"'
    with pytest.raises(ConfigError) as error:
        synth(tmp_path, f"FailureCapture('x', FailureCaptureArgs({kwargs}, **shared))\n")
    assert expected in str(error.value)


def test_an_existing_invoke_config_can_be_adopted_instead_of_replaced(tmp_path, monkeypatch):
    """`import_invoke_config` registers the config with the engine's import id (`name:qualifier`),
    so the preview compares ours with the one another tool wrote."""
    imports: dict[str, str] = {}
    register = synth_module.RecordingMonitor.RegisterResource

    def recording(self, request):
        if request.importId:
            imports[request.name] = request.importId
        return register(self, request)

    monkeypatch.setattr(synth_module.RecordingMonitor, "RegisterResource", recording)
    synth(
        tmp_path,
        'FailureCapture("x", FailureCaptureArgs(function="billing", role="billing-role", qualifier="live",\n'
        "    import_invoke_config=True, **shared))\n",
    )
    assert imports == {"x-invoke-config": "billing:live"}


@settings(max_examples=300, deadline=None)
@given(
    function=st.one_of(st.text(max_size=80), st.from_regex(FUNCTION_ARN, fullmatch=True), st.integers(), st.none()),
    role=st.one_of(st.text(max_size=80), st.from_regex(ROLE_ARN, fullmatch=True), st.none()),
    qualifier=st.one_of(st.none(), st.text(max_size=20), st.integers()),
)
def test_any_function_role_and_qualifier_is_accepted_or_refused_by_name(function, role, qualifier):
    """Whatever a caller passes, the answer is a Target of bare names or a ConfigError naming
    the property: never another exception."""
    args = FailureCaptureArgs(
        aws=AwsContext(ACCOUNT, REGION),
        archive=ArchiveTarget(BUCKET, BUCKET_ARN, BUCKET_ARN, "alias/a"),
        alarms=AlarmTarget(TOPIC),
        function=function,
        role=role,
        qualifier=qualifier,
    )
    try:
        target = check_target(args)
    except ConfigError as error:
        assert error.key in ("function", "qualifier", "role")
        return
    assert FUNCTION_NAME.fullmatch(target.function_name) and ROLE_NAME.fullmatch(target.role_name)
    assert target.qualifier is None or QUALIFIER.fullmatch(target.qualifier)


def test_latest_is_the_unqualified_function_so_capturing_both_collides(tmp_path):
    """Lambda keeps one invoke config for a function and its $LATEST: a second capture of it
    would silently overwrite the first, so it takes the same names and the pack refuses it."""
    synthesis = synth(
        tmp_path,
        'FailureCapture("a", FailureCaptureArgs(function="billing", role="billing-role", **shared))\n'
        'FailureCapture("b", FailureCaptureArgs(function="billing", role="billing-role", qualifier="$LATEST",\n'
        "    **shared))\n",
    )
    configs = {r.name: r.props for r in of(synthesis, INVOKE)}
    assert "qualifier" not in configs["b-invoke-config"]
    verdict = gate.evaluate(PACK, synthesis.resources)
    assert {v.policy for v in verdict.violations} == {"physical-names-unique"} and verdict.blocked


def test_the_readme_retrofit_previews_clean_through_the_gate(tmp_path, capsys):
    """The README's example ("Capture failures of a function you already run"), as a newcomer
    copies it into a folder of its own, against an archive stack's outputs."""
    import json

    from support.pulumi_harness import run_program

    from failctl import cli
    from failctl.preview.synth import UNKNOWN

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    section = readme[readme.index("## Capture failures of a function you already run") :]
    program = section[section.index("```python\n") + len("```python\n") : section.index("```\n", 10)]
    (tmp_path / "Pulumi.yaml").write_text("name: billing\nruntime: python\n")
    (tmp_path / "__main__.py").write_text(program)
    outputs = tmp_path / "archive.json"
    outputs.write_text(json.dumps({k: v for k, v in run_program().outputs.items() if v != UNKNOWN}))
    args = ["preview", "--cwd", str(tmp_path), "--stack", "dev", "--account", ACCOUNT, "--region", REGION]
    args += ["--policy-pack", "policy", "--stack-reference", f"acme/lambda-failures/prod={outputs}", "--json"]
    assert cli.main(args) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["violations"] == [] and report["undecided"] == []
    assert {r["name"] for r in report["resources"] if r["type"] == INVOKE} == {"billing-invoke-config"}
