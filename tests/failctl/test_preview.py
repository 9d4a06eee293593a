"""`failctl preview`: the JSON contract and the exit code on bad config."""

import json
import shutil

import pytest

from failctl import cli, synth

PROJECT_FILES = ["Pulumi.yaml", "__main__.py"]


def run_cli(capsys, *argv):
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
    assert code_prop == {"archive": ["processor.py"]}


def test_text_shows_the_tree_and_outputs(capsys):
    code, out, _ = run_cli(capsys, "preview")
    assert code == 0
    assert "+ lambda-failures:index:FailureArchive  failure-archive" in out
    assert "Outputs:" in out and "LambdaFunctionName: lambda-failures-dev-processor" in out


@pytest.fixture
def project_copy(tmp_path, monkeypatch):
    root = synth.PROJECT_DIR
    for name in PROJECT_FILES:
        shutil.copy(root / name, tmp_path / name)
    monkeypatch.setattr(synth, "PROJECT_DIR", tmp_path)
    monkeypatch.setattr(cli, "synthesize", lambda stack: synth.synthesize(stack, project_dir=tmp_path))
    return tmp_path


def test_bad_config_exits_2_naming_the_key(capsys, project_copy):
    (project_copy / "Pulumi.broken.yaml").write_text(
        "config:\n  aws:region: eu-west-1\n  lambda-failures:maxEventAgeSeconds: 5\n"
    )
    code, _, err = run_cli(capsys, "preview", "--stack", "broken")
    assert code == 2
    assert "lambda-failures:maxEventAgeSeconds must be an integer from 60 to 21600" in err


def test_missing_stack_file_exits_2(capsys, project_copy):
    code, _, err = run_cli(capsys, "preview", "--stack", "nope")
    assert code == 2 and "no stack file Pulumi.nope.yaml" in err
