"""`failctl preview`: the JSON contract and the exit code on bad config."""

import json
import shutil

import pytest

from failctl import cli
from failctl.preview import synth

PROJECT_FILES = ["Pulumi.yaml", "__main__.py"]


ACCOUNT_ARGS = ("--account", "210987654321")


def run_cli(capsys, *argv):
    if argv[0] == "preview" and "--account" not in argv:
        argv = (*argv, *ACCOUNT_ARGS)
    if argv[0] == "preview" and "--stack" not in argv:
        argv = (*argv, "--stack", "dev")
    code = cli.main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_json_lists_resources_with_engine_props_and_outputs(capsys):
    code, out, _ = run_cli(capsys, "preview", "--json")
    assert code == 0
    plan = json.loads(out)
    assert set(plan) >= {"resources", "outputs"}
    for resource in plan["resources"]:
        assert set(resource) == {"urn", "type", "name", "parent", "props"}
    by_type = {r["type"]: r for r in plan["resources"]}
    by_name = {r["name"]: r for r in plan["resources"]}
    invoke = by_name["async-function-invoke-config"]
    assert invoke["props"]["destinationConfig"]["onFailure"]["destination"].startswith("arn:aws:s3:::")
    sse = by_type["aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"]
    default = sse["props"]["rules"][0]["applyServerSideEncryptionByDefault"]
    assert default == {"sseAlgorithm": "aws:kms", "kmsMasterKeyId": "<unknown>"}
    assert plan["outputs"]["FailureKeyArn"] == "<unknown>"
    mapping = by_type["aws:lambda/eventSourceMapping:EventSourceMapping"]["props"]
    assert mapping["maximumRetryAttempts"] == 3 and mapping["bisectBatchOnFunctionError"] is True
    table = by_type["aws:dynamodb/table:Table"]["props"]
    assert table["streamViewType"] == "NEW_AND_OLD_IMAGES" and table["serverSideEncryption"]["enabled"] is True
    assert plan["outputs"]["FailedEventsBucketName"].startswith("lambda-failures-dev-failures-")
    code_prop = by_name["async-function-processor-function"]["props"]["code"]
    assert code_prop == {
        "archive": [
            "lambda_failures/__init__.py",
            "lambda_failures/handlers/__init__.py",
            "lambda_failures/handlers/async_function.py",
            "lambda_failures/handlers/tracing.py",
        ]
    }


def test_two_previews_of_one_program_print_the_same_bytes(capsys):
    """A CI job diffs previews: the program registers from asyncio tasks in whatever order they
    run, so the plan is put in one order (failctl/preview/plan_order.py) before anything prints."""
    first, second = (run_cli(capsys, "preview", "--json") for _ in range(2))
    assert first[0] == second[0] == 0
    assert first[1] == second[1]


def test_text_shows_the_tree_and_outputs(capsys):
    code, out, _ = run_cli(capsys, "preview")
    assert code == 0
    assert "+ lambda-failures:index:FailureArchive  failure-archive" in out
    assert "Outputs:" in out and "LambdaFunctionName: lambda-failures-dev-processor" in out


@pytest.fixture
def project_copy(tmp_path, monkeypatch):
    """The project's files in a folder of their own, previewed from there as a user would."""
    root = synth.PROJECT_DIR
    for name in PROJECT_FILES:
        shutil.copy(root / name, tmp_path / name)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_bad_config_exits_2_naming_the_key(capsys, project_copy):
    (project_copy / "Pulumi.broken.yaml").write_text(
        "config:\n  aws:region: eu-west-1\n  lambda-failures:maxEventAgeSeconds: 5\n"
    )
    code, _, err = run_cli(capsys, "preview", "--stack", "broken")
    assert code == 2
    assert "lambda-failures:maxEventAgeSeconds must be an integer from 60 to 21600" in err


def test_a_fresh_stack_without_a_region_exits_2_as_the_provider_would(capsys, project_copy):
    code, _, err = run_cli(capsys, "preview", "--stack", "nope")
    assert code == 2 and "aws:region is not set for stack nope" in err


def test_a_fresh_stack_previews_with_region_and_account_given(capsys, project_copy):
    code, out, _ = run_cli(capsys, "preview", "--stack", "fresh", "--region", "eu-west-1", "--json")
    assert code == 0
    assert json.loads(out)["outputs"]["FailedEventsBucketName"] == (
        "lambda-failures-fresh-failures-210987654321-eu-west-1-an"
    )


def test_without_account_or_credentials_exits_3(capsys, monkeypatch):
    monkeypatch.setattr(synth, "caller_account", _no_credentials)
    code = cli.main(["preview", "--stack", "dev"])
    err = capsys.readouterr().err
    assert code == 3 and "pass --account" in err and len(err.strip().splitlines()) == 1


def _no_credentials():
    raise synth.AccountUnknownError("cannot learn the account id from AWS credentials; pass --account <12 digits>")


def test_bad_account_exits_2(capsys):
    code, _, err = run_cli(capsys, "preview", "--account", "12345")
    assert code == 2 and "not a 12-digit AWS account id" in err


def test_engine_rules_for_the_project_files_stop_the_preview(capsys, project_copy):
    text = (project_copy / "Pulumi.yaml").read_text()
    (project_copy / "Pulumi.yaml").write_text(
        text.replace("config:\n", "config:\n  aws:region:\n    type: string\n", 1)
    )
    (project_copy / "Pulumi.x.yaml").write_text("config:\n  aws:region: eu-west-1\n")
    code, _, err = run_cli(capsys, "preview", "--stack", "x")
    assert code == 2 and "aws:region" in err and len(err.strip().splitlines()) == 1


def test_undeclared_keys_are_reported_and_secrets_never_printed(capsys, project_copy):
    (project_copy / "Pulumi.s.yaml").write_text(
        "config:\n  aws:region: eu-west-1\n  lambda-failures:alarmEmial: x@example.com\n"
        "  lambda-failures:alarmEmail:\n    secure: v1:AAAAciphertext\n"
    )
    code, out, err = run_cli(capsys, "preview", "--stack", "s")
    assert code == 0
    assert "lambda-failures:alarmEmial is set in Pulumi.s.yaml but not declared" in err
    assert "lambda-failures:alarmEmail is a secret the offline preview cannot decrypt" in err
    assert "AAAAciphertext" not in out + err
    code, out, err = run_cli(capsys, "preview", "--stack", "s", "--secret", "alarmEmail=oncall@example.com", "--json")
    assert code == 0 and "oncall@example.com" not in out + err
    subscription = next(r for r in json.loads(out)["resources"] if r["type"].endswith("TopicSubscription"))
    assert subscription["props"]["endpoint"] == "<secret>"


def test_get_policy_document_is_computed_offline_as_the_provider_renders_it():
    rendered = synth.policy_document(
        {
            "statements": [
                {
                    "sid": "Write",
                    "effect": "Allow",
                    "actions": ["s3:PutObject"],
                    "resources": ["arn:aws:s3:::b/*"],
                    "principals": [{"type": "Service", "identifiers": ["lambda.amazonaws.com"]}],
                    "conditions": [{"test": "StringEquals", "variable": "s3:ResourceAccount", "values": ["1"]}],
                }
            ]
        }
    )
    assert json.loads(rendered["json"]) == {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "Write",
                "Effect": "Allow",
                "Action": "s3:PutObject",
                "Resource": "arn:aws:s3:::b/*",
                "Principal": {"Service": "lambda.amazonaws.com"},
                "Condition": {"StringEquals": {"s3:ResourceAccount": "1"}},
            }
        ],
    }


def test_an_invoke_that_needs_aws_is_reported_not_fatal(capsys, tmp_path):
    (tmp_path / "Pulumi.yaml").write_text("name: lookups\nruntime: python\n")
    (tmp_path / "__main__.py").write_text("import pulumi_aws as aws\nvpc = aws.ec2.get_vpc(default=True)\n")
    code, _, err = run_cli(capsys, "preview", "--cwd", str(tmp_path), "--region", "eu-west-1")
    assert code == 0 and "invoke aws:ec2/getVpc:getVpc needs AWS and got no answer offline" in err


def test_an_undeclared_key_the_program_reads_is_not_reported(capsys, tmp_path):
    """Another team's program reading its own keys without declaring them: no false warning."""
    (tmp_path / "Pulumi.yaml").write_text("name: thumbnails\nruntime: python\n")
    (tmp_path / "Pulumi.dev.yaml").write_text(
        "config:\n  aws:region: eu-west-1\n  thumbnails:memory: '512'\n  thumbnails:unused: x\n"
    )
    (tmp_path / "__main__.py").write_text("import pulumi\npulumi.export('memory', pulumi.Config().get_int('memory'))\n")
    code, out, err = run_cli(capsys, "preview", "--cwd", str(tmp_path), "--json")
    assert code == 0 and json.loads(out)["outputs"] == {"memory": 512}
    assert "thumbnails:memory" not in err
    assert "thumbnails:unused is set in Pulumi.dev.yaml but not declared in Pulumi.yaml" in err


@pytest.mark.parametrize("region", ["eu-wst-1", "mars-north-1", "us-east-1a"])
def test_a_region_no_partition_has_is_bad_input(capsys, region):
    code, out, err = run_cli(capsys, "preview", "--region", region)
    assert code == 2 and out == "" and f"'{region}' is not an AWS region" in err


def test_a_china_region_plans_in_its_partition(capsys):
    code, out, _ = run_cli(capsys, "preview", "--region", "cn-north-1", "--json")
    assert code == 0
    arns = [v for r in json.loads(out)["resources"] for v in json.dumps(r["props"]).split('"') if v.startswith("arn:")]
    assert arns and all(a.startswith("arn:aws-cn:") for a in arns)


ARCHIVE_PROGRAM = """import pulumi
import pulumi_aws as aws

aws.lambda_.Function(
    "orders",
    role="arn:aws:iam::210987654321:role/orders",
    runtime="python3.13",
    handler="app.handler",
    code={code},
)
"""


@pytest.mark.parametrize(
    ("code", "prop", "path", "what"),
    [
        ('pulumi.FileArchive("./missing")', "code", "./missing", "does not exist"),
        ('pulumi.FileArchive("./empty")', "code", "./empty", "is an empty folder"),
        ('pulumi.FileArchive("missing.zip")', "code", "missing.zip", "does not exist"),
        (
            'pulumi.AssetArchive({"app.py": pulumi.FileAsset("gone.py")})',
            "code.assets['app.py']",
            "gone.py",
            "does not exist",
        ),
        ('pulumi.AssetArchive({"lib": pulumi.FileAsset("src")})', "code.assets['lib']", "src", "is not a file"),
    ],
)
def test_an_asset_path_the_engine_cannot_read_fails_the_preview(capsys, tmp_path, monkeypatch, code, prop, path, what):
    """Relative to the program's folder (main), as the engine resolves it, whatever folder we run from."""
    (tmp_path / "Pulumi.yaml").write_text("name: archives\nruntime: python\nmain: app/\n")
    program = tmp_path / "app"
    (program / "empty").mkdir(parents=True)
    (program / "src").mkdir()
    (program / "src" / "app.py").write_text("def handler(event, context):\n    return None\n")
    (program / "__main__.py").write_text(ARCHIVE_PROGRAM.format(code=code))
    monkeypatch.chdir(tmp_path)  # ./missing would not be found here either; ./app/src is not ./src
    code_, _, err = run_cli(capsys, "preview", "--cwd", str(tmp_path), "--region", "eu-west-1")
    assert code_ == 2, err
    (line,) = err.strip().splitlines()
    assert f"orders (aws:lambda/function:Function) {prop}: path {path!r} {what}" in line


def test_asset_paths_that_exist_in_the_programs_folder_preview_clean(capsys, tmp_path, monkeypatch):
    (tmp_path / "Pulumi.yaml").write_text("name: archives\nruntime: python\nmain: app/\n")
    program = tmp_path / "app"
    (program / "src").mkdir(parents=True)
    (program / "src" / "app.py").write_text("def handler(event, context):\n    return None\n")
    code = 'pulumi.AssetArchive({"src": pulumi.FileArchive("src"), "app.py": pulumi.FileAsset("src/app.py")})'
    (program / "__main__.py").write_text(ARCHIVE_PROGRAM.format(code=code))
    monkeypatch.chdir(program.parent.parent)
    code_, _, err = run_cli(capsys, "preview", "--cwd", str(tmp_path), "--region", "eu-west-1")
    assert code_ == 0, err
