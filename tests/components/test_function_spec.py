"""A team's own functions through the public API: their code, runtime and settings, the archive's
guarantees around them, and every bad value refused naming the property.

The program is written as a user would write it from the README, in a folder of its own with
its own code folders, and previewed as a fresh stack; the policy pack then judges what it registered.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from datetime import date
from pathlib import Path

import pulumi
import pytest
from pulumi.runtime.rpc import _special_secret_sig, _special_sig_key
from support.pulumi_harness import ACCOUNT, REGION

from failctl.preview import gate
from failctl.preview.synth import UNKNOWN, synthesize
from lambda_failures.components.function_spec import FunctionSpec, VpcConfig
from lambda_failures.components.runtimes import (
    RUNTIME_DEPRECATION,
    powertools_layer_arn,
    powertools_problem,
    runtime_problem,
)
from lambda_failures.components.settings import ConfigError

ROOT = Path(__file__).resolve().parents[2]
FUNCTION = "aws:lambda/function:Function"
SUBNET = "subnet-0123456789abcdef0"
GROUP = "sg-0123456789abcdef0"

PROGRAM = """
import pulumi
from lambda_failures import (
    AlarmTarget, ArchiveTarget, AsyncFunction, AsyncFunctionArgs, FailureArchive, FailureArchiveArgs,
    StreamConsumer, StreamConsumerArgs, VpcConfig, aws_context,
)

ctx = aws_context()
archive = FailureArchive("archive", FailureArchiveArgs(aws=ctx, name_prefix="team"))
target = ArchiveTarget(archive.bucket_name, archive.bucket_arn, archive.grant_arn, archive.key_alias)
alarms = AlarmTarget("arn:aws:sns:{region}:{account}:team-alerts")
EXTRA = {extra}
MANAGED = {managed}

AsyncFunction("orders", AsyncFunctionArgs(
    aws=ctx, name_prefix="team-orders", archive=target, alarms=alarms,
    code=pulumi.FileArchive("./orders"), handler="app.handler", runtime="python3.12",
    architectures=["arm64"], memory_mb=1024, timeout_seconds=120, ephemeral_storage_mb=2048,
    environment={{"TABLE": "orders", "API_KEY": pulumi.Output.secret("s3cr3t")}},
    vpc=VpcConfig(subnet_ids=["{subnet}"], security_group_ids=["{group}"]),
    tracing="PassThrough", reserved_concurrency=5, powertools=True,
    role_statements=EXTRA, managed_policy_arns=MANAGED,
))
StreamConsumer("clicks", StreamConsumerArgs(
    aws=ctx, name_prefix="team-clicks", archive=target, alarms=alarms,
    code=pulumi.FileArchive("./clicks"), handler="index.handler", runtime="nodejs22.x",
))
"""


def write_program(folder: Path, extra: list | None = None, managed: list | None = None) -> Path:
    (folder / "Pulumi.yaml").write_text("name: team\nruntime: python\n")
    (folder / "orders").mkdir()
    (folder / "orders" / "app.py").write_text("def handler(event, context):\n    return event\n")
    (folder / "clicks").mkdir()
    (folder / "clicks" / "index.mjs").write_text("export const handler = async () => ({batchItemFailures: []});\n")
    text = PROGRAM.format(
        region=REGION,
        account=ACCOUNT,
        subnet=SUBNET,
        group=GROUP,
        extra=json.dumps(extra or []),
        managed=json.dumps(managed or []),
    )
    (folder / "__main__.py").write_text(textwrap.dedent(text))
    return folder


@pytest.fixture(scope="module")
def team(tmp_path_factory):
    folder = write_program(tmp_path_factory.mktemp("team"))
    return synthesize("dev", project_dir=folder, account_id=ACCOUNT, region=REGION)


def function(synthesis, suffix):
    found = [r for r in synthesis.of_type(FUNCTION) if r.name.endswith(suffix)]
    assert len(found) == 1, [r.name for r in synthesis.of_type(FUNCTION)]
    return found[0].props


def test_the_functions_run_the_callers_code_handler_and_runtime(team):
    orders, clicks = function(team, "orders-processor-function"), function(team, "clicks-consumer-function")
    assert (orders["handler"], orders["runtime"], orders["packageType"]) == ("app.handler", "python3.12", "Zip")
    assert orders["code"]["path"].endswith("/orders")
    assert (clicks["handler"], clicks["runtime"]) == ("index.handler", "nodejs22.x")
    assert clicks["code"]["path"].endswith("/clicks")
    # Nothing of this project's handlers is deployed unless asked for.
    assert "lambda_failures" not in json.dumps([r.props for r in team.of_type(FUNCTION)])


def test_every_setting_reaches_the_function(team):
    orders = function(team, "orders-processor-function")
    assert orders["architectures"] == ["arm64"]
    assert (orders["memorySize"], orders["timeout"], orders["ephemeralStorage"]) == (1024, 120, {"size": 2048})
    assert orders["tracingConfig"] == {"mode": "PassThrough"}
    assert orders["reservedConcurrentExecutions"] == 5
    assert orders["vpcConfig"] == {"subnetIds": [SUBNET], "securityGroupIds": [GROUP]}


def test_the_callers_code_keeps_powertools_own_tracing_rule(team):
    """A PassThrough function still traces a request an upstream service sampled, and a
    Tracer told it is disabled switches the X-Ray SDK off for the whole process: the caller's
    code is left to Powertools' default, whatever the mode."""
    orders = function(team, "orders-processor-function")
    assert orders["tracingConfig"] == {"mode": "PassThrough"}
    assert "POWERTOOLS_TRACE_DISABLED" not in orders["environment"]["variables"]
    assert orders["environment"]["variables"]["POWERTOOLS_SERVICE_NAME"] == "team-orders-processor"


def _project_handler_args(**settings):
    from lambda_failures.components.lambda_function import LambdaFunctionArgs, project_function
    from lambda_failures.components.naming import AwsContext

    return LambdaFunctionArgs(
        **project_function("lambda_failures.handlers.receiver"),
        aws=AwsContext(ACCOUNT, REGION),
        function_name="team-receiver",
        **settings,
    )


def test_this_projects_handlers_trace_only_where_the_function_is_active():
    from lambda_failures.components.lambda_function import LambdaFunction

    assert LambdaFunction._environment(_project_handler_args())["POWERTOOLS_TRACE_DISABLED"] == "false"
    passthrough = _project_handler_args(tracing="PassThrough")
    assert LambdaFunction._environment(passthrough)["POWERTOOLS_TRACE_DISABLED"] == "true"


def test_the_callers_variable_decides_whether_powertools_traces():
    """An Active function whose owner wants Lambda's segments without the SDK's cold start."""
    from lambda_failures.components.lambda_function import LambdaFunction

    args = _project_handler_args(environment={"POWERTOOLS_TRACE_DISABLED": "true"})
    assert LambdaFunction._environment(args)["POWERTOOLS_TRACE_DISABLED"] == "true"


def test_a_secret_environment_value_stays_secret(team):
    variables = function(team, "orders-processor-function")["environment"]["variables"]
    assert variables["TABLE"] == "orders"
    # Marked secret as it reaches the engine, which encrypts it in state and shows it as [secret].
    assert variables["API_KEY"] == {_special_sig_key: _special_secret_sig, "value": "s3cr3t"}


def test_powertools_only_when_asked_and_for_the_runtime_and_architecture(team):
    orders, clicks = function(team, "orders-processor-function"), function(team, "clicks-consumer-function")
    assert orders["layers"] == [
        f"arn:aws:lambda:{REGION}:017000801446:layer:AWSLambdaPowertoolsPythonV3-python312-arm64:27"
    ]
    assert "layers" not in clicks and "POWERTOOLS_SERVICE_NAME" not in json.dumps(clicks)


def test_a_function_in_a_vpc_gets_the_network_interface_permissions(team):
    attachments = [r.props for r in team.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")]
    assert [a["policyArn"] for a in attachments] == [
        "arn:aws:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole"
    ]


def test_the_team_program_passes_the_pack_fully_decided(team):
    verdict = gate.evaluate(gate.load_pack(ROOT / "policy"), team.resources)
    assert verdict.violations == [] and verdict.undecided == [], (verdict.violations, verdict.undecided)
    assert verdict.resources > 0  # the pack judged the plan, not an empty one


def test_an_extra_statement_writing_to_s3_without_the_condition_is_refused_by_the_pack(tmp_path):
    extra = [{"Sid": "Exports", "Effect": "Allow", "Action": "s3:PutObject", "Resource": "arn:aws:s3:::exports/*"}]
    synthesis = synthesize("dev", project_dir=write_program(tmp_path, extra), account_id=ACCOUNT, region=REGION)
    verdict = gate.evaluate(gate.load_pack(ROOT / "policy"), synthesis.resources)
    refused = {(v.policy, v.urn.rsplit("::", 1)[-1]) for v in verdict.violations}
    assert refused == {("s3-write-grants-require-resource-account", "orders-processor-role-policy")}
    assert verdict.blocked


def test_an_extra_managed_policy_writing_to_s3_is_refused_by_the_pack(tmp_path):
    managed = ["arn:aws:iam::aws:policy/AmazonS3FullAccess"]
    synthesis = synthesize(
        "dev", project_dir=write_program(tmp_path, managed=managed), account_id=ACCOUNT, region=REGION
    )
    verdict = gate.evaluate(gate.load_pack(ROOT / "policy"), synthesis.resources)
    refused = {(v.policy, v.urn.rsplit("::", 1)[-1]) for v in verdict.violations}
    assert ("s3-write-grants-require-resource-account", "orders-processor-policy-0") in refused
    assert verdict.blocked


CODE = pulumi.AssetArchive({"app.py": pulumi.StringAsset("def handler(e, c): pass")})


@pytest.mark.parametrize(
    ("given", "prop", "expected"),
    [
        ({"runtime": "python9"}, "runtime", "a Lambda managed runtime"),
        ({"runtime": "python3.9"}, "runtime", "python3.9 was deprecated on 2025-12-15"),
        ({"runtime": "nodejs18.x"}, "runtime", "was deprecated"),
        ({"architectures": ["sparc"]}, "architectures", "one of x86_64, arm64"),
        ({"architectures": ["x86_64", "arm64"]}, "architectures", "exactly one"),
        ({"handler": "app handler"}, "handler", "no spaces"),
        ({"handler": "handler"}, "handler", "<file>.<function>"),
        ({"memory_mb": 64}, "memory_mb", "from 128 to 10240"),
        ({"memory_mb": 10241}, "memory_mb", "from 128 to 10240"),
        ({"timeout_seconds": 901}, "timeout_seconds", "from 1 to 900"),
        ({"ephemeral_storage_mb": 256}, "ephemeral_storage_mb", "from 512 to 10240"),
        ({"reserved_concurrency": -1}, "reserved_concurrency", "from 0"),
        ({"vpc": VpcConfig(subnet_ids=[])}, "vpc.subnet_ids", "1 to 16 subnet ids"),
        ({"vpc": VpcConfig(subnet_ids=[SUBNET])}, "vpc.security_group_ids", "1 to 5 security group ids"),
        ({"code": "./src"}, "code", "a pulumi.Archive"),
        ({"image_uri": "nginx:latest", "code": None, "handler": None, "runtime": None}, "image_uri", "Amazon ECR"),
        ({"image_uri": f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/app:1"}, "image_uri", "without code"),
        ({"environment": {"AWS_REGION": "x"}}, "environment", "Lambda does not reserve"),
        (
            {
                "image_uri": f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/app:1",
                "code": None,
                "handler": None,
                "runtime": None,
                "powertools": True,
            },
            "powertools",
            "false for a container image",
        ),
        ({"layers": ["arn:aws:lambda:eu-west-1:1:layer:x"]}, "layers", "layer version ARNs"),
        ({"tracing": "On"}, "tracing", "Active or PassThrough"),
        ({"role_statements": [{"Action": "s3:GetObject"}]}, "role_statements", "IAM statements"),
        ({"managed_policy_arns": ["AdministratorAccess"]}, "managed_policy_arns", "IAM policy ARNs"),
        # IAM refuses a statement without Resource (MalformedPolicyDocument) when the role is created.
        ({"role_statements": [{"Effect": "Allow", "Action": "s3:GetObject"}]}, "role_statements", "and Resource"),
        ({"environment": {"_HANDLER": "x"}}, "environment", "Lambda does not reserve"),
        # Lambda's EnvironmentVariableName pattern is [a-zA-Z]([a-zA-Z0-9_])+: one letter is refused.
        ({"environment": {"X": "1"}}, "environment", "two or more letters"),
        ({"environment": {"CERT": "v" * 4093}}, "environment", "at most 4 KB"),
        ({"environment": {f"K{i}": "v" * 500 for i in range(9)}}, "environment", "at most 4 KB"),
        ({"log_retention_days": 31}, "log_retention_days", "one of 1, 3, 5"),
    ],
)
def test_bad_values_are_refused_naming_the_property(given, prop, expected):
    with pytest.raises(ConfigError) as raised:
        FunctionSpec(**{"code": CODE, "handler": "app.handler", "runtime": "python3.13", **given})
    assert raised.value.key == prop
    assert expected in str(raised.value)


def test_an_environment_of_exactly_4_kb_is_accepted():
    spec = FunctionSpec(code=CODE, handler="app.handler", runtime="python3.13", environment={"CERT": "v" * 4092})
    assert spec.environment == {"CERT": "v" * 4092}


@pytest.mark.parametrize("prefix", ["Bad Name!", "orders/prod", "", "x" * 65])
def test_a_name_prefix_lambda_would_refuse_is_refused_naming_it(prefix):
    from lambda_failures import AlarmTarget, ArchiveTarget, AsyncFunctionArgs, AwsContext, StreamConsumerArgs

    archive = ArchiveTarget("b", "arn:aws:s3:::b", "arn:aws:s3:::b", "alias/k")
    common = {"aws": AwsContext(ACCOUNT, REGION), "archive": archive, "alarms": AlarmTarget("arn:aws:sns:x")}
    for args in (AsyncFunctionArgs, StreamConsumerArgs):
        with pytest.raises(ConfigError) as raised:
            args(name_prefix=prefix, code=CODE, handler="app.handler", runtime="python3.13", **common)
        assert raised.value.key == "name_prefix" and str(raised.value).startswith(f"{args.__name__}.name_prefix")


@pytest.mark.parametrize(
    ("given", "prop", "expected"),
    [
        ({"image_uri": f"{ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/app:1"}, "image_uri", f"region ({REGION})"),
        ({"layers": [f"arn:aws:lambda:us-east-1:{ACCOUNT}:layer:libs:1"]}, "layers", f"region (aws, {REGION})"),
        ({"managed_policy_arns": ["arn:aws-cn:iam::aws:policy/ReadOnlyAccess"]}, "managed_policy_arns", "(aws)"),
    ],
)
def test_what_must_be_where_the_function_deploys_is_refused_when_the_args_are_built(given, prop, expected):
    """Lambda pulls an image only from ECR in the function's region; layers and policies must be
    in its partition and region: said as the caller wrote them, before anything is registered."""
    from lambda_failures import AlarmTarget, ArchiveTarget, AsyncFunctionArgs, AwsContext

    code = {"code": CODE, "handler": "app.handler", "runtime": "python3.13"} if "image_uri" not in given else {}
    with pytest.raises(ConfigError) as raised:
        AsyncFunctionArgs(
            aws=AwsContext(ACCOUNT, REGION),
            name_prefix="team",
            archive=ArchiveTarget("b", "arn:aws:s3:::b", "arn:aws:s3:::b", "alias/k"),
            alarms=AlarmTarget("arn:aws:sns:x"),
            **code,
            **given,
        )
    assert raised.value.key == prop and str(raised.value).startswith(f"AsyncFunctionArgs.{prop} must be")
    assert expected in str(raised.value)


@pytest.mark.parametrize(
    ("tags", "expected"),
    [
        ({"aws:team": "orders"}, "keys of 1 to 128"),
        ({"team": "o" * 257}, "values of up to 256"),
        ({f"k{i}": "v" for i in range(51)}, "at most 50 tags"),
        ({"team": 5}, "a map of plain strings"),
    ],
)
def test_tags_aws_would_refuse_are_refused_when_the_args_are_built(tags, expected):
    """The same rule as the component package's `tags` input, said as the caller wrote it."""
    from lambda_failures import AlarmTarget, ArchiveTarget, AsyncFunctionArgs, AwsContext, StreamConsumerArgs

    archive = ArchiveTarget("b", "arn:aws:s3:::b", "arn:aws:s3:::b", "alias/k")
    common = {"aws": AwsContext(ACCOUNT, REGION), "archive": archive, "alarms": AlarmTarget("arn:aws:sns:x")}
    for args in (AsyncFunctionArgs, StreamConsumerArgs):
        with pytest.raises(ConfigError) as raised:
            args(name_prefix="team", code=CODE, handler="app.handler", runtime="python3.13", tags=tags, **common)
        assert str(raised.value).startswith(f"{args.__name__}.tags must be {expected}")


SECRET_ENVIRONMENT_PROGRAM = """
import pulumi
from lambda_failures import AlarmTarget, ArchiveTarget, AsyncFunction, AsyncFunctionArgs, aws_context

AsyncFunction("certs", AsyncFunctionArgs(
    aws=aws_context(), name_prefix="certs",
    archive=ArchiveTarget("team-failures", "arn:aws:s3:::team-failures", "arn:aws:s3:::team-failures", "alias/team"),
    alarms=AlarmTarget("arn:aws:sns:{region}:{account}:team-alerts"),
    code=pulumi.FileArchive("./src"), handler="app.handler", runtime="python3.13",
    environment={{"STAGE": "dev", "CERT": pulumi.Output.secret("v" * {size})}},
))
"""


def failctl_fails(args: list[str]) -> str:
    """failctl run as the user runs it, its own process (a failed program leaves failed outputs
    behind in the interpreter): exit 2 and one line on stderr, which is returned."""
    result = subprocess.run([sys.executable, "-m", "failctl", *args], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 2 and result.stderr.count("\n") == 1, result.stderr
    return result.stderr


@pytest.mark.parametrize("size", [100, 4100])
def test_a_secret_environment_value_is_held_to_the_4_kb_limit_once_known(tmp_path, size):
    """A secret is known only once resolved: checked then, the plain value left plain and the
    secret secret, the refusal naming the property and never quoting the value."""
    (tmp_path / "Pulumi.yaml").write_text("name: certs\nruntime: python\n")
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "app.py").write_text("def handler(event, context):\n    return event\n")
    (tmp_path / "__main__.py").write_text(SECRET_ENVIRONMENT_PROGRAM.format(region=REGION, account=ACCOUNT, size=size))
    if size > 4096:
        said = failctl_fails(["preview", "--cwd", str(tmp_path), "-s", "dev", "--account", ACCOUNT, "--region", REGION])
        assert said.startswith("failctl preview: AsyncFunctionArgs.environment must be at most 4 KB"), said
        assert "vvvv" not in said and said.count("\n") == 1
        return
    synthesis = synthesize("dev", project_dir=tmp_path, account_id=ACCOUNT, region=REGION)
    variables = function(synthesis, "certs-processor-function")["environment"]["variables"]
    assert variables["STAGE"] == "dev" and variables["CERT"][_special_sig_key] == _special_secret_sig


def test_a_container_image_takes_no_code_handler_or_runtime():
    spec = FunctionSpec(image_uri=f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/team/app@sha256:{'a' * 64}")
    assert spec.code is None and spec.runtime is None


def test_runtimes_past_their_deprecation_date_are_refused_and_others_accepted():
    day = date(2026, 11, 29)
    assert runtime_problem("python3.13", day) is None
    assert runtime_problem("python3.10", day) and runtime_problem("dotnet8", day)
    assert runtime_problem("dotnet8", date(2026, 1, 1)) is None
    assert all(runtime_problem(name, day) for name, when in RUNTIME_DEPRECATION.items() if when and when <= day)


@pytest.mark.parametrize(
    ("partition", "region", "arch", "account"),
    [
        ("aws", "eu-west-1", "x86_64", "017000801446"),
        ("aws", "ap-southeast-2", "arm64", "017000801446"),
        ("aws-cn", "cn-north-1", "arm64", "498634801083"),
        ("aws-us-gov", "us-gov-east-1", "x86_64", "165087284144"),
        ("aws-us-gov", "us-gov-west-1", "arm64", "165093116878"),
    ],
)
def test_the_powertools_layer_is_the_one_published_in_the_partition(partition, region, arch, account):
    assert powertools_problem("python3.13", partition, region) is None
    assert powertools_layer_arn(partition, region, "python3.13", arch, 27) == (
        f"arn:{partition}:lambda:{region}:{account}:layer:AWSLambdaPowertoolsPythonV3-python313-{arch}:27"
    )


def test_powertools_is_refused_where_it_is_not_published():
    assert "cn-north-1 only" in powertools_problem("python3.13", "aws-cn", "cn-northwest-1")
    assert "Python runtime" in powertools_problem("nodejs22.x", "aws", "eu-west-1")


def test_importing_a_handler_imports_no_pulumi_and_the_api_is_at_the_top_level():
    """Lambda ships the package without Pulumi: its handlers must import without it."""
    check = (
        "import sys, lambda_failures.handlers.async_function, lambda_failures.handlers.stream_consumer;"
        "assert not [m for m in sys.modules if m.split('.')[0] in ('pulumi', 'pulumi_aws')], 'pulumi imported';"
        "from lambda_failures import FailureArchive, ArchiveTarget, AsyncFunction, AsyncFunctionArgs,"
        " StreamConsumer, StreamConsumerArgs;"
        "assert 'pulumi' in sys.modules"
    )
    env = {"POWERTOOLS_SERVICE_NAME": "t", "POWERTOOLS_METRICS_NAMESPACE": "t", "AWS_DEFAULT_REGION": "eu-west-1"}
    result = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True, env=env, cwd=ROOT)
    assert result.returncode == 0, result.stderr


def test_archive_target_from_a_stack_reference_names_the_archive_stacks_outputs():
    import lambda_failures
    from lambda_failures.components.async_function import ARCHIVE_OUTPUTS

    assert list(ARCHIVE_OUTPUTS.values()) == [
        "FailedEventsBucketName",
        "FailedEventsBucketArn",
        "FailedEventsGrantArn",
        "FailureKeyAlias",
        "AlertTopicArn",
    ]
    with pytest.raises(AttributeError):
        lambda_failures.NotAName  # noqa: B018


@pytest.mark.parametrize("missing", ["FailureKeyAlias", "AlertTopicArn"])
def test_a_stack_reference_without_an_archive_output_is_refused_naming_it_and_the_flag(tmp_path, missing):
    """`require_output` alone fails as `KeyError: 'FailureKeyAlias'`: which stack, and how to give it?"""
    from support.pulumi_harness import run_program

    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "app.py").write_text("def handler(event, context):\n    raise ValueError(event)\n")
    (tmp_path / "Pulumi.yaml").write_text("name: orders\nruntime: python\n")
    (tmp_path / "__main__.py").write_text(readme_program())
    outputs = {k: v for k, v in run_program().outputs.items() if v != UNKNOWN and k != missing}
    (tmp_path / "archive.json").write_text(json.dumps(outputs))
    args = ["preview", "--cwd", str(tmp_path), "--stack", "dev", "--account", ACCOUNT, "--region", REGION]
    args += ["--stack-reference", f"org/lambda-failures/prod={tmp_path / 'archive.json'}", "--secret", "apiKey=x"]
    said = failctl_fails(args)
    assert f"stack reference org/lambda-failures/prod has no output {missing} " in said
    assert "--stack-reference org/lambda-failures/prod=FILE" in said and "Traceback" not in said


@pytest.mark.parametrize(
    ("output", "wrong", "said"),
    [
        ("FailedEventsGrantArn", "banana", "output FailedEventsGrantArn must be archiveBucketArn"),
        ("FailureKeyAlias", "xx", "output FailureKeyAlias must be a customer managed key's alias"),
        ("AlertTopicArn", "arn:aws:sns:us-east-1:999999999999:alerts", "output AlertTopicArn must be a topic in"),
        ("FailedEventsBucketArn", "arn:aws:iam::123456789012:policy/x", "output FailedEventsBucketArn must be an S3"),
    ],
)
def test_wrong_archive_outputs_are_refused_naming_the_output(tmp_path, output, wrong, said):
    """Outputs from another stack, account or region would pass every policy, then lose the first record."""
    from support.pulumi_harness import run_program

    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "app.py").write_text("def handler(event, context):\n    raise ValueError(event)\n")
    (tmp_path / "Pulumi.yaml").write_text("name: orders\nruntime: python\n")
    (tmp_path / "__main__.py").write_text(readme_program())
    outputs = {k: v for k, v in run_program().outputs.items() if v != UNKNOWN} | {output: wrong}
    (tmp_path / "archive.json").write_text(json.dumps(outputs))
    args = ["preview", "--cwd", str(tmp_path), "--stack", "dev", "--account", ACCOUNT, "--region", REGION]
    args += ["--stack-reference", f"org/lambda-failures/prod={tmp_path / 'archive.json'}", "--secret", "apiKey=x"]
    refusal = failctl_fails(args)
    assert f"stack reference org/lambda-failures/prod {said}" in refusal and "Traceback" not in refusal, refusal


def readme_program() -> str:
    """The README's own example ("Use it from your own program"), as a newcomer copies it."""
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("## Use it from your own program") :]
    return section[section.index("```python\n") + len("```python\n") : section.index("```\n", 10)]


def test_the_readme_program_previews_through_the_gate_with_its_secret_kept(tmp_path, capsys):
    """The README's example, in a folder of its own, against an archive stack's outputs: clean,
    fully decided, and the secret never printed."""
    from support.pulumi_harness import run_program

    from failctl import cli

    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "app.py").write_text("def handler(event, context):\n    raise ValueError(event)\n")
    (tmp_path / "Pulumi.yaml").write_text("name: orders\nruntime: python\nconfig:\n  apiKey:\n    type: string\n")
    (tmp_path / "Pulumi.dev.yaml").write_text("config:\n  orders:apiKey:\n    secure: v1:Zm9vYmFyYmF6cXV4\n")
    (tmp_path / "__main__.py").write_text(readme_program())
    outputs = tmp_path / "archive.json"
    # As a deployed stack reports them: preview-only unknowns left out.
    outputs.write_text(json.dumps({k: v for k, v in run_program().outputs.items() if v != UNKNOWN}))
    args = ["preview", "--cwd", str(tmp_path), "--stack", "dev", "--account", ACCOUNT, "--region", REGION]
    args += ["--policy-pack", str(ROOT / "policy"), "--stack-reference", f"org/lambda-failures/prod={outputs}"]
    code = cli.main([*args, "--secret", "apiKey=tok-7f3a9", "--json"])
    printed = capsys.readouterr().out
    assert code == 0 and "tok-7f3a9" not in printed
    report = json.loads(printed)
    assert report["violations"] == [] and report["undecided"] == []
    (function_,) = [r for r in report["resources"] if r["type"] == FUNCTION]
    assert function_["props"]["environment"]["variables"]["API_KEY"] == "<secret>"
    assert function_["props"]["handler"] == "app.handler"
