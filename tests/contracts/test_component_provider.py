"""provider/: the component package other languages get with `pulumi package add`.

Started as the CLI starts it (its own process, `python <folder> <engine address>`, the port on
stdout), asked for its schema over gRPC, and made to build each component through Construct
against a loopback engine that answers as a fresh stack's preview: what it registers is then
judged by the policy pack, as `pulumi preview --policy-pack policy` would judge it.
"""

from __future__ import annotations

import json
import re
import sys
from importlib.metadata import version
from pathlib import Path

import grpc
import pytest
from pulumi.runtime.proto import errors_pb2, provider_pb2, provider_pb2_grpc, status_pb2
from pulumi.runtime.rpc import _special_archive_sig, _special_secret_sig, _special_sig_key
from support.fake_engine import UNKNOWN, FakeEngine, state
from support.plugin_project import load_plugin_project
from support.project_keys import declared_names
from support.pulumi_harness import ACCOUNT, REGION

from failctl.preview import gate
from failctl.preview.plugin_process import PluginProcess
from failctl.preview.project_config import ProjectFileError, load_project
from lambda_failures.component_inputs import STREAM_KEY_PREFIX, input_name
from lambda_failures.components.settings import BUCKET_NAMESPACES, STARTING_POSITIONS, SUCCESS_DESTINATION_KINDS

ROOT = Path(__file__).resolve().parents[2]
PROVIDER = ROOT / "provider"
PACKAGE = "lambda-failures"
TOKENS = {
    name: f"{PACKAGE}:index:{name}" for name in ("SharedArchive", "ArchivedAsyncFunction", "ArchivedStreamConsumer")
}
# The fourth component: failure capture for a function another tool deployed.
CAPTURE = f"{PACKAGE}:index:ArchivedFailureCapture"
# Its inputs that are no config key: the function and role it captures, and what to capture.
CAPTURE_INPUTS = {"functionName", "role", "qualifier", "captureAsync", "importInvokeConfig", "successDestinationArn"}
WIRING = {"namePrefix", "tags", "alertTopicArn"} | {
    f"archive{part}" for part in ("BucketName", "BucketArn", "GrantArn", "KeyAlias")
}
# The stream as an output needs its kind said: an input with no config key of its own.
SOURCE_KIND = "sourceKind"
# The caller's function: one object input holding its code and every Lambda setting.
FUNCTION_INPUT = "function"
# Its environment is an input of its own: a secret inside a plain object would hide the object.
FUNCTION_INPUTS = (FUNCTION_INPUT, "environment")
CODE_DIR = ROOT / "tests" / "fixtures" / "team_code"


def archive(path: Path) -> dict:
    """A FileArchive as it crosses the provider protocol (the engine's archive signature)."""
    return {_special_sig_key: _special_archive_sig, "path": str(path)}


FUNCTION = {"code": archive(CODE_DIR), "handler": "app.handler", "runtime": "python3.13"}


@pytest.fixture(scope="module")
def engine():
    fake = FakeEngine(ACCOUNT, REGION)
    yield fake
    fake.close()


@pytest.fixture(scope="module")
def provider(engine):
    with PluginProcess([sys.executable, str(PROVIDER), engine.address], cwd=ROOT) as plugin:
        yield provider_pb2_grpc.ResourceProviderStub(plugin.channel)


@pytest.fixture(scope="module")
def schema(provider):
    return json.loads(provider.GetSchema(provider_pb2.GetSchemaRequest(version=0), timeout=60).schema)


def test_the_plugin_folder_is_what_the_cli_and_the_python_host_load():
    plugin = load_plugin_project(PROVIDER)
    assert plugin.runtime == "python"
    assert plugin.options["toolchain"] == "pip" and plugin.options["virtualenv"] == "venv"
    # pip runs `install -r requirements.txt` in this folder: the line names this repository.
    lines = [line for line in (PROVIDER / "requirements.txt").read_text().splitlines() if not line.startswith("#")]
    assert lines == ["..[program]"]
    assert (PROVIDER / ".." / "pyproject.toml").resolve() == ROOT / "pyproject.toml"
    assert "provider/venv/" in (ROOT / ".gitignore").read_text().splitlines()


@pytest.mark.parametrize(
    "text, problem",
    [
        ("name: x\n", "missing a 'runtime'"),
        ("runtime: {name: python, options: {toolchain: conda}}\n", "unsupported toolchain option: conda"),
        ("runtime: {name: python, options: {virtualenv: [a]}}\n", "virtualenv option must be a string"),
        ("runtime: {name: python, extra: 1}\n", "'extra' not allowed"),
        ("runtime: {name: python, options: [a]}\n", "'options' must be a mapping"),
    ],
)
def test_plugin_files_the_cli_would_refuse_are_refused(tmp_path, text, problem):
    (tmp_path / "PulumiPlugin.yaml").write_text(text)
    (tmp_path / "__main__.py").write_text("")
    with pytest.raises(ProjectFileError) as raised:
        load_plugin_project(tmp_path)
    assert problem in str(raised.value)


def test_the_schema_names_the_package_at_its_version_with_four_components(schema):
    assert schema["name"] == PACKAGE and schema["version"] == version(PACKAGE)
    assert set(schema["resources"]) == {*TOKENS.values(), CAPTURE}
    assert all(resource["isComponent"] for resource in schema["resources"].values())


# pulumi/pulumi pkg/codegen/schema/pulumi.json: the package name and type tokens.
PACKAGE_NAME_PATTERN = re.compile(r"[a-zA-Z][-a-zA-Z0-9_]*")
TOKEN_PATTERN = re.compile(r"[a-zA-Z][-a-zA-Z0-9_]*:([^0-9][a-zA-Z0-9._/-]*)?:[^0-9][a-zA-Z0-9._/]*")


def _nulls(value, path="") -> list[str]:
    if value is None:
        return [path]
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in _nulls(v, f"{path}.{k}")]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in _nulls(v, f"{path}[{i}]")]
    return []


def test_the_schema_keeps_the_metaschemas_rules(schema):
    """What the CLI's schema loader checks before generating an SDK: the name and token
    patterns, and typed values everywhere (a null description is not a string)."""
    assert PACKAGE_NAME_PATTERN.fullmatch(schema["name"])
    assert all(TOKEN_PATTERN.fullmatch(token) for token in [*schema["resources"], *schema.get("types", {})])
    assert _nulls(schema) == []


def test_the_settings_choices_are_enums_in_the_schema(schema):
    enums = {token.rsplit(":", 1)[1]: spec for token, spec in schema["types"].items() if "enum" in spec}
    assert [v["value"] for v in enums["SuccessDestination"]["enum"]] == list(SUCCESS_DESTINATION_KINDS)
    assert [v["value"] for v in enums["StartingPosition"]["enum"]] == list(STARTING_POSITIONS)
    assert [v["value"] for v in enums["BucketNamespace"]["enum"]] == list(BUCKET_NAMESPACES)
    assert [v["value"] for v in enums["Tracing"]["enum"]] == ["Active", "PassThrough"]
    assert all(v["description"] for spec in enums.values() for v in spec["enum"])


def test_every_input_is_a_config_key_of_the_stack_held_to_the_same_rule(schema):
    """One rule per value: an input that is not wiring is the stack's config key of the same name."""
    keys = declared_names(load_project(ROOT))
    for name, token in {**TOKENS, "ArchivedFailureCapture": CAPTURE}.items():
        resource = schema["resources"][token]
        strip = STREAM_KEY_PREFIX if name == "ArchivedStreamConsumer" else ""
        config_names = {input_name(key, strip) for key in keys}
        own = CAPTURE_INPUTS if token == CAPTURE else {SOURCE_KIND, *FUNCTION_INPUTS}
        for prop, spec in resource["inputProperties"].items():
            assert prop in WIRING | own or prop in config_names, f"{name}.{prop}"
            assert spec.get("description"), f"{name}.{prop} has no description"


def test_the_archive_wiring_is_inputs_and_everything_else_plain(schema):
    """Outputs of another resource can be passed where the archive (or the consumer's stream) is
    named; settings decide resource names and policies at preview, so they are plain values."""
    for token in (TOKENS["ArchivedAsyncFunction"], TOKENS["ArchivedStreamConsumer"]):
        inputs = schema["resources"][token]["inputProperties"]
        wiring = {p for p in inputs if p.startswith("archive") or p == "alertTopicArn"}
        outputs_taken = (
            wiring | {"environment"} | ({"sourceArn"} if token == TOKENS["ArchivedStreamConsumer"] else set())
        )
        assert inputs[FUNCTION_INPUT].get("plain") and inputs[FUNCTION_INPUT]["$ref"].endswith(":FunctionArgs")
        assert len(wiring) == 5 and not any(inputs[p].get("plain") for p in outputs_taken)
        assert all(inputs[p].get("plain") for p in set(inputs) - outputs_taken)
        assert set(schema["resources"][token]["requiredInputs"]) == wiring | {"namePrefix", FUNCTION_INPUT}
    archive = schema["resources"][TOKENS["SharedArchive"]]
    assert set(archive["required"]) == {"bucketName", "bucketArn", "grantArn", "keyAlias", "keyArn", "alertTopicArn"}


def construct(provider, engine, name: str, component: str, inputs: dict, dependencies=None) -> dict:
    """The component's outputs, with its URN under `urn`."""
    token = CAPTURE if component == "ArchivedFailureCapture" else TOKENS[component]
    response = provider.Construct(engine.construct_request(token, name, inputs, dependencies), timeout=120)
    return state(response) | {"urn": response.urn}


@pytest.fixture(scope="module")
def built(provider, engine):
    """A TypeScript program's preview: an archive, then a function and a consumer wired to it."""
    archive = construct(provider, engine, "shared", "SharedArchive", {"namePrefix": "orders"})
    wiring = {
        "archiveBucketName": archive["bucketName"],
        "archiveBucketArn": archive["bucketArn"],
        "archiveGrantArn": archive["grantArn"],
        "archiveKeyAlias": archive["keyAlias"],
        "alertTopicArn": archive["alertTopicArn"],
    }
    function = construct(
        provider,
        engine,
        "orders",
        "ArchivedAsyncFunction",
        {"namePrefix": "orders-fn", "maxRetryAttempts": 1, "function": FUNCTION, **wiring},
    )
    consumer = construct(
        provider,
        engine,
        "stream",
        "ArchivedStreamConsumer",
        {"namePrefix": "orders-st", "maxRetryAttempts": 2, "function": FUNCTION, **wiring},
    )
    return archive, function, consumer


def wiring_of(archive: dict) -> dict:
    return {
        "archiveBucketName": archive["bucketName"],
        "archiveBucketArn": archive["bucketArn"],
        "archiveGrantArn": archive["grantArn"],
        "archiveKeyAlias": archive["keyAlias"],
        "alertTopicArn": archive["alertTopicArn"],
    }


@pytest.mark.parametrize("allow_destroy", [False, True])
def test_random_bucket_names_unknown_at_preview_are_judged_through_the_component(allow_destroy):
    """Global namespace: the bucket's name and ARN are unknown until created. A program passing
    the archive's outputs sends the archive component as their dependency; the pack follows it
    to the bucket inside: an archive that can be destroyed is refused, a protected one passes,
    and only the documented TLS verdict stays undecided."""
    engine = FakeEngine(ACCOUNT, REGION, stack="global")
    try:
        with PluginProcess([sys.executable, str(PROVIDER), engine.address], cwd=ROOT) as plugin:
            stub = provider_pb2_grpc.ResourceProviderStub(plugin.channel)
            archive = construct(
                stub,
                engine,
                "shared",
                "SharedArchive",
                {"namePrefix": "g", "bucketNamespace": "global", "allowDestroy": allow_destroy},
            )
            wiring = wiring_of(archive)
            assert wiring["archiveBucketArn"] == UNKNOWN
            construct(
                stub,
                engine,
                "fn",
                "ArchivedAsyncFunction",
                {"namePrefix": "g-fn", "function": FUNCTION, **wiring},
                dependencies={key: [archive["urn"]] for key in wiring},
            )
        verdict = gate.evaluate(gate.load_pack(ROOT / "policy"), engine.monitor.registrations)
    finally:
        engine.close()
    refused = [(v.policy, v.urn.rsplit("::", 1)[-1]) for v in verdict.violations]
    assert refused == ([("failure-archive-protected", "shared-archive-bucket")] if allow_destroy else [])
    assert {u.policy for u in verdict.undecided} == {"s3-bucket-denies-insecure-transport"}


def test_two_functions_given_one_name_prefix_are_refused_by_the_pack(provider):
    engine = FakeEngine(ACCOUNT, REGION, stack="twice")
    try:
        with PluginProcess([sys.executable, str(PROVIDER), engine.address], cwd=ROOT) as plugin:
            stub = provider_pb2_grpc.ResourceProviderStub(plugin.channel)
            for name in ("first", "second"):
                construct(
                    stub,
                    engine,
                    name,
                    "ArchivedAsyncFunction",
                    {"namePrefix": "dup", "function": FUNCTION, **KNOWN_WIRING},
                )
        verdict = gate.evaluate(gate.load_pack(ROOT / "policy"), engine.monitor.registrations)
    finally:
        engine.close()
    clashes = {v.urn.rsplit("::", 1)[-1] for v in verdict.violations if v.policy == "physical-names-unique"}
    assert {"second-function-processor-function", "second-function-processor-role"} <= clashes
    assert verdict.blocked


STREAM = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/orders/stream/2026-01-01T00:00:00.000"


def stream_consumer_engine(inputs: dict, dependencies=None):
    """A consumer built alone on a fresh loopback engine: (its registrations, the pack's verdict)."""
    engine = FakeEngine(ACCOUNT, REGION, stack="source")
    try:
        with PluginProcess([sys.executable, str(PROVIDER), engine.address], cwd=ROOT) as plugin:
            stub = provider_pb2_grpc.ResourceProviderStub(plugin.channel)
            construct(
                stub,
                engine,
                "st",
                "ArchivedStreamConsumer",
                {"namePrefix": "st", "function": FUNCTION, **KNOWN_WIRING, **inputs},
                dependencies,
            )
        return engine.monitor.registrations, gate.evaluate(
            gate.load_pack(ROOT / "policy"), engine.monitor.registrations
        )
    finally:
        engine.close()


def test_a_stream_known_only_once_created_is_read_under_its_own_role_policy():
    """A table made in the same program: its streamArn is unknown at preview. The read grant
    goes to a policy of its own, so the one that delivers to the archive stays known and judged;
    only the read policy itself cannot be read until the stream exists, and the pack says so."""
    registrations, verdict = stream_consumer_engine({"sourceArn": UNKNOWN, "sourceKind": "dynamodb"})
    assert verdict.violations == []
    undecided = {(u.policy, u.urn.rsplit("::", 1)[-1]) for u in verdict.undecided}
    assert undecided == {
        ("s3-write-grants-require-resource-account", "st-consumer-source-policy"),
        ("data-grants-name-their-resources", "st-consumer-source-policy"),
    }
    policies = {r.name: r.props["policy"] for r in registrations if r.type == "aws:iam/rolePolicy:RolePolicy"}
    assert policies["st-consumer-source-policy"] == UNKNOWN
    delivering = json.loads(policies["st-consumer-consumer-role-policy"])
    assert "ReadTableStream" not in {s["Sid"] for s in delivering["Statement"]}
    assert not [r for r in registrations if r.type == "aws:dynamodb/table:Table"]
    mapping = [r for r in registrations if r.type == "aws:lambda/eventSourceMapping:EventSourceMapping"]
    assert len(mapping) == 1 and mapping[0].props["eventSourceArn"] == UNKNOWN


def test_a_known_stream_is_read_under_the_functions_own_policy():
    registrations, verdict = stream_consumer_engine({"sourceArn": STREAM, "sourceKind": "dynamodb"})
    assert verdict.violations == [] and verdict.undecided == []
    policies = [r for r in registrations if r.type == "aws:iam/rolePolicy:RolePolicy"]
    assert len(policies) == 1
    read = [s for s in json.loads(policies[0].props["policy"])["Statement"] if s["Sid"] == "ReadTableStream"]
    assert read[0]["Resource"] == STREAM.split("/stream/")[0] + "/stream/*"  # that table's streams


@pytest.mark.parametrize(
    "inputs, refused",
    [
        ({"sourceArn": UNKNOWN}, "sourceKind: must be set (dynamodb or kinesis) when sourceArn is an output"),
        ({"sourceArn": STREAM, "sourceKind": "kinesis"}, "sourceKind: must be dynamodb, the kind sourceArn names"),
        ({"sourceKind": "kinesis"}, "sourceKind: must be given only with sourceArn"),
    ],
)
def test_a_stream_source_without_its_kind_or_with_the_wrong_one_is_refused(provider, engine, inputs, refused):
    with pytest.raises(grpc.RpcError) as raised:
        construct(
            provider,
            engine,
            "bad-source",
            "ArchivedStreamConsumer",
            {"namePrefix": "bs", "function": FUNCTION, **KNOWN_WIRING, **inputs},
        )
    assert refused in refusal(raised.value)


def test_a_stream_output_of_the_wrong_kind_is_refused_once_known():
    """On the update the table's ARN is known (and still an output, for its dependency): a
    Kinesis ARN said to be DynamoDB fails the component, naming the input, with no traceback.
    Its own provider process: the refusal comes from inside an apply, after children were
    registered, which can leave the SDK's host unable to answer a later Construct (README)."""
    kinesis = f"arn:aws:kinesis:{REGION}:{ACCOUNT}:stream/clicks"
    engine = FakeEngine(ACCOUNT, REGION, stack="wrong-kind")
    request = engine.construct_request(
        TOKENS["ArchivedStreamConsumer"],
        "wrong-kind",
        {"namePrefix": "wk", "function": FUNCTION, **KNOWN_WIRING, "sourceArn": kinesis, "sourceKind": "dynamodb"},
        {"sourceArn": ["urn:pulumi:dev::consumer::aws:kinesis/stream:Stream::clicks"]},
    )
    request.dryRun = False
    try:
        with PluginProcess([sys.executable, str(PROVIDER), engine.address], cwd=ROOT) as plugin:
            with pytest.raises(grpc.RpcError) as raised:
                provider_pb2_grpc.ResourceProviderStub(plugin.channel).Construct(request, timeout=120)
    finally:
        engine.close()
    shown = refusal(raised.value)
    assert "ArchivedStreamConsumer input sourceArn must be a dynamodb stream ARN" in shown
    assert "Traceback" not in shown and ".py" not in shown


def test_construct_registers_each_component_under_its_own_type(built, engine):
    types = {r.type for r in engine.monitor.registrations}
    assert set(TOKENS.values()) <= types
    archive, function, consumer = built
    assert archive["bucketName"].startswith(f"orders-failures-{ACCOUNT}-{REGION}")
    assert archive["keyAlias"] == "alias/orders-failure-archive"
    assert function["functionName"] == "orders-fn-processor"
    assert consumer["functionName"] == "orders-st-stream-consumer"
    assert consumer["eventSourceMappingUuid"] == UNKNOWN  # known only once created


def test_what_the_components_register_passes_the_pack(built, engine):
    verdict = gate.evaluate(gate.load_pack(ROOT / "policy"), engine.monitor.registrations)
    assert not verdict.blocked, verdict.violations
    assert verdict.violations == [] and verdict.undecided == []


def test_the_functions_settings_reach_their_resources(built, engine):
    config = [
        r
        for r in engine.monitor.registrations
        if r.type == "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig"
    ]
    assert [c.props["maximumRetryAttempts"] for c in config] == [1]
    mapping = [r for r in engine.monitor.registrations if r.type == "aws:lambda/eventSourceMapping:EventSourceMapping"]
    assert [m.props["maximumRetryAttempts"] for m in mapping] == [2]


def secret(value):
    """A secret as it crosses the provider protocol (the engine's secret signature)."""
    return {_special_sig_key: _special_secret_sig, "value": value}


KNOWN_WIRING = {
    "archiveBucketName": "orders-failures",
    "archiveBucketArn": "arn:aws:s3:::orders-failures",
    "archiveGrantArn": "arn:aws:s3:::orders-failures",
    "archiveKeyAlias": "alias/orders-failure-archive",
    "alertTopicArn": f"arn:aws:sns:{REGION}:{ACCOUNT}:orders-alerts",
}


@pytest.mark.parametrize(
    "component, inputs, refused",
    [
        ("SharedArchive", {"namePrefix": "Orders!"}, "namePrefix: must be 1 to 40 characters"),
        ("SharedArchive", {"namePrefix": secret("orders")}, "namePrefix: must be a plain value known when"),
        ("SharedArchive", {"namePrefix": "orders", "tags": ["team"]}, "tags: must be a map of plain strings"),
        ("SharedArchive", {"namePrefix": "orders", "tags": {"team": 5}}, "tags: must be a map of plain strings"),
        (
            "SharedArchive",
            {"namePrefix": "orders", "bucketNamespace": "GLOBAL"},
            "bucketNamespace: must be one of account-regional, global; got 'GLOBAL'",
        ),
        ("SharedArchive", {"namePrefix": "orders", "alarmEmail": "nobody"}, "alarmEmail: must be an e-mail address"),
        ("SharedArchive", {"namePrefix": "orders", "alarmEmail": ["a@b.c"]}, "alarmEmail: must be text"),
        ("SharedArchive", {}, "namePrefix: Missing required input 'namePrefix' on 'SharedArchive'"),
        (
            "ArchivedStreamConsumer",
            {"maxRetryAttempts": 99},
            "maxRetryAttempts: must be an integer from 0 to 10; got 99",
        ),
        ("ArchivedStreamConsumer", {"batchSize": 1.5}, "batchSize: must be an integer from 1 to 10000; got 1.5"),
        (
            "ArchivedStreamConsumer",
            {"sourceArn": "arn:aws:sqs:eu-west-1:123456789012:q:kinesis:x"},
            "sourceArn: must be",
        ),
        ("ArchivedAsyncFunction", {"successDestination": "SQS"}, "successDestination: must be one of none, sqs"),
        (
            "ArchivedAsyncFunction",
            {"archiveBucketArn": f"arn:aws:sns:{REGION}:{ACCOUNT}:orders"},
            "archiveBucketArn: must be an S3 bucket ARN",
        ),
        (
            "ArchivedAsyncFunction",
            {"archiveGrantArn": "arn:aws:s3:::*"},
            "archiveGrantArn: must be archiveBucketArn, or",
        ),
        (
            "ArchivedAsyncFunction",
            {"archiveGrantArn": "arn:aws:s3:::other"},
            "archiveGrantArn: must be archiveBucketArn",
        ),
        (
            "ArchivedAsyncFunction",
            {"archiveGrantArn": "arn:aws:s3:::o*"},
            "archiveGrantArn: must be archiveBucketArn, or SharedArchive.grantArn",
        ),
        ("ArchivedAsyncFunction", {"archiveBucketName": "other"}, "archiveBucketName: must be the bucket"),
        ("ArchivedAsyncFunction", {"archiveKeyAlias": "orders"}, "archiveKeyAlias: must be a customer managed key's"),
        ("ArchivedAsyncFunction", {"alertTopicArn": "arn:aws:s3:::orders"}, "alertTopicArn: must be an SNS topic ARN"),
        # The caller's function, each refusal naming function.<input> (issue: bring your own function).
        ("ArchivedAsyncFunction", {"function": None}, "function: Missing required input"),
        (
            "ArchivedAsyncFunction",
            {"function": {**FUNCTION, "layers": [secret("arn:aws:lambda:eu-west-1:123456789012:layer:x:1")]}},
            "function: must be a plain object",
        ),
        ("ArchivedAsyncFunction", {"function": {"handler": "a.b"}}, "function.code: must be a pulumi.Archive"),
        ("ArchivedAsyncFunction", {"function": {**FUNCTION, "runtime": "python2.7"}}, "function.runtime: must be"),
        ("ArchivedAsyncFunction", {"function": {**FUNCTION, "runtime": "python3.9"}}, "was deprecated on 2025-12-15"),
        ("ArchivedAsyncFunction", {"function": {**FUNCTION, "architectures": ["sparc"]}}, "function.architectures"),
        ("ArchivedAsyncFunction", {"function": {**FUNCTION, "handler": "a b"}}, "function.handler: must be"),
        ("ArchivedAsyncFunction", {"function": {**FUNCTION, "memoryMb": 64}}, "function.memoryMb: must be an integer"),
        ("ArchivedStreamConsumer", {"function": {**FUNCTION, "timeoutSeconds": 0}}, "function.timeoutSeconds: must"),
        (
            "ArchivedAsyncFunction",
            {"function": {**FUNCTION, "vpc": {"subnetIds": [], "securityGroupIds": ["sg-0123456789abcdef0"]}}},
            "function.vpc.subnetIds: must be 1 to 16 subnet ids",
        ),
        (
            "ArchivedAsyncFunction",
            {"function": {**FUNCTION, "runtime": "nodejs22.x", "handler": "index.handler", "powertools": True}},
            "function.powertools: must be given only with a Python runtime",
        ),
        ("ArchivedAsyncFunction", {"function": {**FUNCTION, "powertools": "yes"}}, "function.powertools: must be true"),
        (
            "ArchivedAsyncFunction",
            {"function": {**FUNCTION, "architectures": "arm64"}},
            "function.architectures: must be a list",
        ),
        # Hostile inputs (issue: no way around the guard): each a bad input naming the property.
        ("ArchivedAsyncFunction", {"maxRetryAttempts": {"a": 1}}, "maxRetryAttempts: must be an integer"),
        ("ArchivedAsyncFunction", {"deadLetterQueue": "yes"}, "deadLetterQueue: must be true or false"),
        ("SharedArchive", {"namePrefix": "orders", "allowDestroy": "yes"}, "allowDestroy: must be true or false"),
        ("SharedArchive", {"namePrefix": "orders", "tags": {"aws:team": "a"}}, "tags: must be keys of 1 to 128"),
        ("SharedArchive", {"namePrefix": "orders", "tags": {"": "a"}}, "tags: must be keys of 1 to 128"),
        ("SharedArchive", {"namePrefix": "orders", "tags": {"k" * 129: "a"}}, "tags: must be keys of 1 to 128"),
        ("SharedArchive", {"namePrefix": "orders", "tags": {"k": "v" * 257}}, "tags: must be values of up to 256"),
        ("SharedArchive", {"namePrefix": "orders", "tags": {"k": "a;b"}}, "tags: must be values of up to 256"),
        ("SharedArchive", {"namePrefix": "orders", "tags": {f"k{i}": "v" for i in range(51)}}, "at most 50 tags"),
        ("SharedArchive", {"namePrefix": "xn--orders"}, "namePrefix: must be a prefix S3 accepts"),
        ("SharedArchive", {"namePrefix": "sthree-orders"}, "namePrefix: must be a prefix S3 accepts"),
        (
            "ArchivedAsyncFunction",
            {"alertTopicArn": f"arn:aws:sns:us-east-1:{ACCOUNT}:orders-alerts"},
            "alertTopicArn: must be a topic in this stack's region and account",
        ),
        (
            "ArchivedAsyncFunction",
            {"alertTopicArn": f"arn:aws:sns:{REGION}:999999999999:orders-alerts"},
            "alertTopicArn: must be a topic in this stack's region and account",
        ),
        (
            "ArchivedAsyncFunction",
            {
                "archiveBucketArn": "arn:aws-cn:s3:::orders-failures",
                "archiveGrantArn": "arn:aws-cn:s3:::orders-failures",
            },
            "must be an ARN in this stack's partition (aws)",
        ),
        (
            "ArchivedAsyncFunction",
            {
                "archiveBucketName": "orders-failures-0123456789ab",
                "archiveBucketArn": "arn:aws:s3:::orders-failures-0123456789ab",
                "archiveGrantArn": "arn:aws:s3:::o*",
            },
            "archiveGrantArn: must be archiveBucketArn",
        ),
        (
            "ArchivedStreamConsumer",
            {"filterPatterns": '[{"eventName": "INSERT"}]'},
            "filterPatterns: must be patterns whose values are lists",
        ),
    ],
)
def test_bad_inputs_are_refused_as_bad_input_properties_naming_the_input(provider, engine, component, inputs, refused):
    """As the engine shows a bad property (INVALID_ARGUMENT, the input and the reason), never a traceback."""
    if component != "SharedArchive":
        inputs = {"namePrefix": "bad", "function": FUNCTION, **KNOWN_WIRING, **inputs}
    with pytest.raises(grpc.RpcError) as raised:
        construct(provider, engine, "bad", component, inputs)
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    shown = refusal(raised.value)
    assert refused in shown and "Traceback" not in shown and ".py" not in shown


def test_a_secret_alarm_address_stays_secret(provider, engine):
    construct(provider, engine, "secret-mail", "SharedArchive", {"namePrefix": "mail", "alarmEmail": secret("a@b.c")})
    subscription = [r for r in engine.monitor.registrations if r.name == "secret-mail-alerts-email"]
    assert len(subscription) == 1 and _special_sig_key in subscription[0].props["endpoint"]


def refusal(error: grpc.RpcError) -> str:
    """What the engine shows: the details, or the rich status's property errors (InputPropertiesError)."""
    words = [error.details() or ""]
    for key, value in error.trailing_metadata() or ():
        if key == "grpc-status-details-bin":
            status = status_pb2.Status.FromString(value)
            for detail in status.details:
                errors = errors_pb2.InputPropertiesError()
                if detail.Unpack(errors):
                    words += [f"{e.property_path}: {e.reason}" for e in errors.errors]
    return "\n".join(words)


def test_a_random_name_grant_up_to_its_suffix_is_accepted(provider, engine):
    """The global namespace: the grant is the bucket name up to the random suffix, then `*`."""
    wiring = {
        **KNOWN_WIRING,
        "archiveBucketName": "g-failures-0123456789ab",
        "archiveBucketArn": "arn:aws:s3:::g-failures-0123456789ab",
        "archiveGrantArn": "arn:aws:s3:::g-failures-*",
    }
    out = construct(
        provider, engine, "rnd", "ArchivedAsyncFunction", {"namePrefix": "rnd", "function": FUNCTION, **wiring}
    )
    assert out["functionName"] == "rnd-processor"


@pytest.mark.parametrize("prop", ["namePrefix", "bucketNamespace", "archiveExpirationDays", "alarmEmail"])
def test_a_megabyte_input_is_refused_naming_it_without_echoing_it(provider, engine, prop):
    """Text, an enum, an integer: each refused naming the input, quoting at most a little of it."""
    with pytest.raises(grpc.RpcError) as raised:
        construct(provider, engine, "huge", "SharedArchive", {"namePrefix": "huge", prop: "a" * 1_000_000})
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    shown = refusal(raised.value)
    assert f"{prop}: must be" in shown and len(shown) < 1000


def test_the_callers_function_and_its_settings_reach_lambda(provider, engine):
    """Code, handler, runtime, architecture, sizes, environment (a secret stays secret), layers, VPC
    (with the network interface permissions), tracing, concurrency, extra grants, Powertools."""
    layer = f"arn:aws:lambda:{REGION}:{ACCOUNT}:layer:shared-libs:3"
    function = {
        "code": archive(CODE_DIR),
        "handler": "app.handler",
        "runtime": "python3.12",
        "architectures": ["arm64"],
        "memoryMb": 1024,
        "timeoutSeconds": 60,
        "ephemeralStorageMb": 1024,
        "layers": [layer],
        "vpc": {"subnetIds": ["subnet-0123456789abcdef0"], "securityGroupIds": ["sg-0123456789abcdef0"]},
        "tracing": "PassThrough",
        "reservedConcurrency": 3,
        "powertools": True,
        "roleStatements": [{"Sid": "ReadConfig", "Effect": "Allow", "Action": "ssm:GetParameter", "Resource": "*"}],
    }
    environment = {"TABLE": "orders", "TOKEN": secret("s3cr3t")}
    inputs = {"namePrefix": "own", "function": function, "environment": environment, **KNOWN_WIRING}
    construct(provider, engine, "own", "ArchivedAsyncFunction", inputs)
    registered = {r.name: r for r in engine.monitor.registrations if r.name.startswith("own-")}
    props = registered["own-function-processor-function"].props
    assert (props["handler"], props["runtime"], props["architectures"]) == ("app.handler", "python3.12", ["arm64"])
    assert props["code"]["path"] == str(CODE_DIR)
    assert (props["memorySize"], props["timeout"], props["ephemeralStorage"]) == (1024, 60, {"size": 1024})
    assert props["layers"] == [
        layer,
        f"arn:aws:lambda:{REGION}:017000801446:layer:AWSLambdaPowertoolsPythonV3-python312-arm64:27",
    ]
    # A secret value makes the whole map an output: marked secret as it reaches the engine.
    assert _special_sig_key in props["environment"]["variables"]
    assert props["environment"]["variables"]["value"]["TABLE"] == "orders"
    assert props["vpcConfig"]["subnetIds"] == ["subnet-0123456789abcdef0"]
    assert props["tracingConfig"] == {"mode": "PassThrough"} and props["reservedConcurrentExecutions"] == 3
    attachment = registered["own-function-processor-policy-0"].props
    assert attachment["policyArn"] == "arn:aws:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole"
    policy = json.loads(registered["own-function-processor-role-policy"].props["policy"])
    assert "ReadConfig" in {s["Sid"] for s in policy["Statement"]}


def test_a_callers_s3_grant_without_the_condition_is_refused_by_the_pack():
    engine = FakeEngine(ACCOUNT, REGION, stack="grant")
    statement = {"Sid": "Exports", "Effect": "Allow", "Action": "s3:PutObject", "Resource": "arn:aws:s3:::exports/*"}
    try:
        with PluginProcess([sys.executable, str(PROVIDER), engine.address], cwd=ROOT) as plugin:
            stub = provider_pb2_grpc.ResourceProviderStub(plugin.channel)
            inputs = {"namePrefix": "gr", "function": {**FUNCTION, "roleStatements": [statement]}, **KNOWN_WIRING}
            construct(stub, engine, "gr", "ArchivedAsyncFunction", inputs)
        verdict = gate.evaluate(gate.load_pack(ROOT / "policy"), engine.monitor.registrations)
    finally:
        engine.close()
    refused = {(v.policy, v.urn.rsplit("::", 1)[-1]) for v in verdict.violations}
    assert refused == {("s3-write-grants-require-resource-account", "gr-function-processor-role-policy")}


def test_a_container_image_function(provider, engine):
    image = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/team/app:v1"
    inputs = {"namePrefix": "img", "function": {"imageUri": image}, **KNOWN_WIRING}
    construct(provider, engine, "img", "ArchivedStreamConsumer", inputs)
    props = next(r.props for r in engine.monitor.registrations if r.name == "img-consumer-consumer-function")
    assert (props["packageType"], props["imageUri"]) == ("Image", image)
    assert "runtime" not in props and "handler" not in props and "layers" not in props


LEGACY = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:legacy-orders"
LEGACY_ROLE = f"arn:aws:iam::{ACCOUNT}:role/legacy-orders-role"


def capture_engine(inputs: dict):
    """An existing function captured on a fresh loopback engine: (its registrations, the verdict)."""
    engine = FakeEngine(ACCOUNT, REGION, stack="capture")
    try:
        with PluginProcess([sys.executable, str(PROVIDER), engine.address], cwd=ROOT) as plugin:
            stub = provider_pb2_grpc.ResourceProviderStub(plugin.channel)
            out = construct(stub, engine, "legacy", "ArchivedFailureCapture", {**KNOWN_WIRING, **inputs})
        verdict = gate.evaluate(gate.load_pack(ROOT / "policy"), engine.monitor.registrations)
        return out, engine.monitor.registrations, verdict
    finally:
        engine.close()


def test_an_existing_function_is_captured_and_judged_by_the_pack():
    out, registrations, verdict = capture_engine(
        {"functionName": LEGACY, "role": LEGACY_ROLE, "maxRetryAttempts": 1, "streamSourceArn": STREAM}
    )
    assert verdict.violations == [] and verdict.undecided == []
    assert (out["functionName"], out["roleName"]) == ("legacy-orders", "legacy-orders-role")
    by_type = {r.type: r for r in registrations}
    config = by_type["aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig"].props
    assert config["maximumRetryAttempts"] == 1 and config["destinationConfig"]["onFailure"]["destination"]
    mapping = by_type["aws:lambda/eventSourceMapping:EventSourceMapping"].props
    assert mapping["eventSourceArn"] == STREAM and mapping["bisectBatchOnFunctionError"] is True
    policy = json.loads(by_type["aws:iam/rolePolicy:RolePolicy"].props["policy"])
    write = next(s for s in policy["Statement"] if s["Sid"] == "WriteFailureRecords")
    assert write["Condition"] == {"StringEquals": {"s3:ResourceAccount": ACCOUNT}}
    assert by_type["aws:iam/rolePolicy:RolePolicy"].props["role"] == "legacy-orders-role"
    assert "aws:lambda/function:Function" not in by_type  # the function stays the other tool's


@pytest.mark.parametrize(
    "inputs, refused",
    [
        ({"functionName": "arn:aws:lambda:eu-west-1:1:fn", "role": "r"}, "functionName: must be a Lambda function ARN"),
        ({"functionName": f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:f", "role": "r"}, "functionName: must be"),
        ({"functionName": "legacy", "role": "arn:aws:iam::999999999999:role/r"}, "role: must be an IAM role ARN in"),
        ({"functionName": "legacy", "role": "r", "qualifier": "bad qualifier"}, "qualifier: must be $LATEST"),
        ({"functionName": "legacy", "role": "r", "maxRetryAttempts": 3}, "maxRetryAttempts: must be an integer"),
        ({"functionName": "legacy", "role": "r", "captureAsync": "yes"}, "captureAsync: must be true or false"),
        ({"functionName": "legacy", "role": "r", "captureAsync": False}, "captureAsync: must be set, or stream"),
        (
            {"functionName": "legacy", "role": "r", "successDestinationArn": f"arn:aws:sqs:{REGION}:{ACCOUNT}:q.fifo"},
            "successDestinationArn: must be a standard queue or topic",
        ),
        ({"functionName": "legacy", "role": "r", "streamSourceArn": "arn:aws:sqs:x"}, "streamSourceArn: must be"),
        ({"role": "r"}, "functionName: Missing required input"),
    ],
)
def test_a_capture_of_the_wrong_function_or_role_is_refused_naming_the_input(provider, engine, inputs, refused):
    with pytest.raises(grpc.RpcError) as raised:
        construct(provider, engine, "bad-capture", "ArchivedFailureCapture", {**KNOWN_WIRING, **inputs})
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    shown = refusal(raised.value)
    assert refused in shown and "Traceback" not in shown, shown


def test_the_function_input_carries_every_setting_of_the_python_api(schema):
    """A setting added to FunctionSpec must reach the package too: `function` holds each one in
    camelCase, but `environment`, its own input beside it (a secret inside a plain object would
    hide the object)."""
    from dataclasses import fields

    from lambda_failures.component_inputs import camel_case
    from lambda_failures.components.function_spec import FunctionSpec

    members = schema["types"][f"{PACKAGE}:index:FunctionArgs"]["properties"]
    assert set(members) | {"environment"} == {camel_case(f.name) for f in fields(FunctionSpec)}
    assert all(spec.get("description") for spec in members.values())
    assert members["code"]["$ref"] == "pulumi.json#/Archive"
    vpc = schema["types"][f"{PACKAGE}:index:VpcArgs"]
    assert set(vpc["required"]) == {"subnetIds", "securityGroupIds"}
    for token in (TOKENS["ArchivedAsyncFunction"], TOKENS["ArchivedStreamConsumer"]):
        environment = schema["resources"][token]["inputProperties"]["environment"]
        assert environment["type"] == "object" and not environment.get("plain")


IMAGE = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/team/app:v1"
LAYERS = [f"arn:aws:lambda:{REGION}:{ACCOUNT}:layer:lib{i}:1" for i in range(6)]


@pytest.mark.parametrize(
    "function, environment, refused",
    [
        ({**FUNCTION, "runtime": "python3.13 "}, None, "function.runtime: must be a Lambda managed runtime"),
        ({**FUNCTION, "runtime": "python9.9"}, None, "function.runtime: must be a Lambda managed runtime"),
        ({**FUNCTION, "handler": ""}, None, "function.handler: must be"),
        ({**FUNCTION, "handler": "handler"}, None, "function.handler: must be <file>.<function>"),
        ({"imageUri": IMAGE, "handler": "app.handler"}, None, "function.imageUri: must be given without code"),
        (
            {"imageUri": f"{ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/team/app:v1"},
            None,
            f"function.imageUri: must be an Amazon ECR image in the function's region ({REGION})",
        ),
        ({**FUNCTION, "memoryMb": 127}, None, "function.memoryMb: must be an integer from 128 to 10240"),
        ({**FUNCTION, "memoryMb": 10241}, None, "function.memoryMb: must be an integer from 128 to 10240"),
        ({**FUNCTION, "memoryMb": 3.5}, None, "function.memoryMb: must be an integer from 128 to 10240"),
        ({**FUNCTION, "timeoutSeconds": 901}, None, "function.timeoutSeconds: must be an integer from 1 to 900"),
        ({**FUNCTION, "ephemeralStorageMb": 511}, None, "function.ephemeralStorageMb: must be an integer from 512"),
        ({**FUNCTION, "ephemeralStorageMb": 10241}, None, "function.ephemeralStorageMb: must be an integer from 512"),
        ({**FUNCTION, "layers": LAYERS}, None, "function.layers: must be at most 5 layers"),
        ({**FUNCTION, "logRetentionDays": 31}, None, "function.logRetentionDays: must be one of"),
        ({**FUNCTION, "vpc": {"subnetIds": ["subnet-0123456789abcdef0"]}}, None, "function.vpc.securityGroupIds"),
        (
            {**FUNCTION, "roleStatements": [{"Effect": "Allow", "Action": "s3:GetObject"}]},
            None,
            "function.roleStatements: must be IAM statements with Effect, Action and Resource",
        ),
        (
            {**FUNCTION, "roleStatements": ['{"Effect": "Allow", "Action": "s3:PutObject", "Resource": "*"}']},
            None,
            "function.roleStatements: must be IAM statements",
        ),
        (FUNCTION, {"AWS_REGION": "eu-west-1"}, "\nenvironment: must be names"),
        (FUNCTION, {"_HANDLER": "x"}, "\nenvironment: must be names"),
        (FUNCTION, {"BIG": "v" * 4097}, "\nenvironment: must be at most 4 KB"),
        (FUNCTION, {f"K{i}": "v" * 500 for i in range(9)}, "\nenvironment: must be at most 4 KB"),
    ],
)
def test_bad_function_settings_are_refused_naming_the_input(provider, engine, function, environment, refused):
    """Each of Lambda's limits on a function, over the protocol, as a bad input naming the member."""
    inputs = {"namePrefix": "bad", "function": function, **KNOWN_WIRING}
    if environment is not None:
        inputs["environment"] = environment
    with pytest.raises(grpc.RpcError) as raised:
        construct(provider, engine, "bad-function", "ArchivedAsyncFunction", inputs)
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT, refusal(raised.value)
    shown = refusal(raised.value)
    assert refused in shown and "Traceback" not in shown, shown


@pytest.mark.parametrize(
    "environment, refused",
    [
        ({"TABLE": "orders", "AWS_REGION": secret("eu-west-1")}, "\nenvironment: must be names"),
        ({"TABLE": "orders", "CERT": secret("v" * 4097)}, "\nenvironment: must be at most 4 KB"),
    ],
)
def test_a_secret_environment_is_held_to_the_same_rules_once_known(environment, refused):
    """A map holding a secret arrives as one output, checked once resolved: still a bad input
    naming `environment`, the secret never quoted. Its own provider process: the refusal comes
    from inside an apply, after which the SDK's host may not answer a later Construct."""
    engine = FakeEngine(ACCOUNT, REGION, stack="secret-env")
    inputs = {"namePrefix": "env", "function": FUNCTION, "environment": environment, **KNOWN_WIRING}
    try:
        with PluginProcess([sys.executable, str(PROVIDER), engine.address], cwd=ROOT) as plugin:
            with pytest.raises(grpc.RpcError) as raised:
                construct(provider_pb2_grpc.ResourceProviderStub(plugin.channel), engine, "env", TOKENS_ASYNC, inputs)
    finally:
        engine.close()
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    shown = refusal(raised.value)
    assert refused in shown and "vvvv" not in shown and "Traceback" not in shown, shown


TOKENS_ASYNC = "ArchivedAsyncFunction"
