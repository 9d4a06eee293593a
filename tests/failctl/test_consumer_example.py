"""examples/consumer: another stack attaches its functions to the shared archive through a
StackReference, with the same guarantees, and the archive's analytics see its functions."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from support.pulumi_harness import ACCOUNT, run_program

from failctl import cli
from failctl.preview import gate
from failctl.preview.synth import UNKNOWN, synthesize

CONSUMER = Path(__file__).resolve().parents[2] / "examples" / "consumer"
ARCHIVE_STACK = "organization/lambda-failures/dev"


@pytest.fixture(scope="module")
def archive_outputs():
    """The archive stack's outputs as a deployed stack reports them (preview-only unknowns left out)."""
    return {k: v for k, v in run_program().outputs.items() if v != UNKNOWN}


@pytest.fixture(scope="module")
def consumer(archive_outputs):
    return synthesize(
        "dev", project_dir=CONSUMER, account_id=ACCOUNT, stack_references={ARCHIVE_STACK: archive_outputs}
    )


def test_the_consumer_previews_clean_and_fully_decided(consumer):
    verdict = gate.evaluate(gate.load_pack("policy"), consumer.resources)
    assert not verdict.blocked and verdict.violations == [] and verdict.undecided == []
    assert consumer.warnings == []


def test_its_functions_deliver_to_the_shared_archive_with_the_same_grants(consumer, archive_outputs):
    policies = [r for r in consumer.resources if r.type == "aws:iam/rolePolicy:RolePolicy"]
    assert len(policies) == 2
    for resource in policies:
        statements = {s["Sid"]: s for s in json.loads(resource.props["policy"])["Statement"]}
        write = statements["WriteFailureRecords"]
        assert write["Resource"] == f"{archive_outputs['FailedEventsBucketArn']}/*"
        assert write["Condition"] == {"StringEquals": {"s3:ResourceAccount": ACCOUNT}}
        alias = statements["EncryptFailureRecords"]["Condition"]["ForAnyValue:StringEquals"]["kms:ResourceAliases"]
        assert alias == archive_outputs["FailureKeyAlias"]
    destinations = [
        r.props["destinationConfig"]["onFailure"]
        for r in consumer.resources
        if r.type.startswith("aws:lambda/functionEventInvokeConfig")
        or r.type.startswith("aws:lambda/eventSourceMapping")
    ]
    assert {next(iter(d.values())) for d in destinations} == {archive_outputs["FailedEventsBucketArn"]}
    alarms = [r for r in consumer.resources if r.type == "aws:cloudwatch/metricAlarm:MetricAlarm"]
    assert alarms and all(a.props["alarmActions"] == [archive_outputs["AlertTopicArn"]] for a in alarms)


def test_the_archive_stacks_table_projects_the_consumers_functions(consumer):
    names = [consumer.outputs["OrdersFunctionName"]]
    archive = run_program(analyticsFunctionNames=names)
    (table,) = [r for r in archive.resources if r.name == "analytics-async-table"]
    projected = table.props["parameters"]["projection.function_name.values"].split(",")
    assert projected == ["lambda-failures-test-processor", *names]


def test_without_the_referenced_outputs_the_preview_says_so(capsys, tmp_path, archive_outputs):
    outputs = tmp_path / "archive.json"
    outputs.write_text(json.dumps(archive_outputs))
    code = cli.main(
        [
            "preview",
            "--cwd",
            str(CONSUMER),
            "--stack",
            "dev",
            "--account",
            ACCOUNT,
            "--policy-pack",
            "policy",
            "--stack-reference",
            f"{ARCHIVE_STACK}={outputs}",
        ]
    )
    assert code == 0
    # In their own processes: a program that fails leaves Pulumi's runtime with pending work
    # and event loops, which once printed a traceback at exit about one run in six.
    runs = [
        subprocess.Popen(
            [sys.executable, "-m", "failctl", "preview", "--cwd", str(CONSUMER), "-s", "dev", "--account", ACCOUNT],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(6)
    ]
    for run in runs:
        err = run.communicate(timeout=300)[1]
        assert run.returncode == 2 and "the program failed: KeyError: 'FailedEvents" in err
        assert f"pass --stack-reference {ARCHIVE_STACK}=FILE" in err
        assert len(err.strip().splitlines()) == 1, err
