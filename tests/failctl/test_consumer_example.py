"""examples/consumer: a team's stack deploys its own code (a Python and a Node.js function from
its `functions/` folder) and retrofits a function it already runs, all failing into the shared
archive through a StackReference with the same guarantees; the archive's analytics see them."""

from __future__ import annotations

import json
import re
import runpy
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from support.lambda_context import LambdaContext
from support.pulumi_harness import ACCOUNT, REGION, run_program
from support.stream_events import event as stream_event
from support.stream_events import record as stream_record

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
    # In the archive's region, as the consumer must deploy (its alarms publish to the archive's topic).
    return synthesize(
        "dev",
        project_dir=CONSUMER,
        account_id=ACCOUNT,
        region=REGION,
        stack_references={ARCHIVE_STACK: archive_outputs},
    )


def test_the_consumer_previews_clean_and_fully_decided(consumer):
    verdict = gate.evaluate(gate.load_pack("policy"), consumer.resources)
    assert not verdict.blocked and verdict.violations == [] and verdict.undecided == []
    assert consumer.warnings == []


def test_its_functions_run_the_teams_code_handler_and_runtime(consumer):
    functions = {r.name: r.props for r in consumer.resources if r.type == "aws:lambda/function:Function"}
    assert set(functions) == {"receipts-processor-function", "inventory-consumer-function"}
    receipts, inventory = functions["receipts-processor-function"], functions["inventory-consumer-function"]
    assert (receipts["handler"], receipts["runtime"]) == ("index.handler", "nodejs22.x")
    assert (inventory["handler"], inventory["runtime"]) == ("app.handler", "python3.13")
    assert receipts["code"]["path"] == "./functions/receipts" and inventory["code"]["path"] == "./functions/inventory"
    for props in functions.values():
        assert (CONSUMER / props["code"]["path"]).is_dir()
    # Powertools (the batch utility the Python code imports) only where asked; none of our handlers.
    assert "layers" not in receipts and len(inventory["layers"]) == 1
    assert "lambda_failures" not in json.dumps(list(functions.values()))


def test_the_existing_function_is_retrofitted_by_name(consumer, archive_outputs):
    (config,) = [r for r in consumer.resources if r.name == "legacy-invoke-config"]
    assert config.props["functionName"] == "invoicing-legacy"
    assert config.props["destinationConfig"] == {"onFailure": {"destination": archive_outputs["FailedEventsBucketArn"]}}
    (policy,) = [r for r in consumer.resources if r.name == "legacy-role-policy"]
    assert policy.props["role"] == "invoicing-legacy-role"
    alarms = {
        r.props["name"]
        for r in consumer.resources
        if r.type == "aws:cloudwatch/metricAlarm:MetricAlarm" and r.parent and r.parent.endswith("::legacy")
    }
    assert alarms == {"invoicing-legacy-destination-failures", "invoicing-legacy-events-dropped"}


def test_its_functions_deliver_to_the_shared_archive_with_the_same_grants(consumer, archive_outputs):
    policies = [r for r in consumer.resources if r.type == "aws:iam/rolePolicy:RolePolicy"]
    assert len(policies) == 3
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
    names = [consumer.outputs["ReceiptsFunctionName"], consumer.outputs["LegacyFunctionName"]]
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
            "--region",
            REGION,
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
        missing = re.search(r"the program failed: KeyError: '(\w+)'", err)
        assert run.returncode == 2 and missing and missing[1] in archive_outputs, err
        assert f"pass --stack-reference {ARCHIVE_STACK}=FILE" in err
        assert len(err.strip().splitlines()) == 1, err


def test_the_teams_python_consumer_reports_only_its_bad_records():
    """The code the example deploys, run as Lambda runs it: Powertools' batch utility reports the
    bad records (no sku, no quantity) and lets the good ones through."""
    module = runpy.run_path(str(CONSUMER / "functions" / "inventory" / "app.py"))
    batch = stream_event(
        stream_record(1, "INSERT", new={"pk": "order#1", "sku": "tea", "quantity": 2}),
        stream_record(2, "INSERT", new={"pk": "order#2", "quantity": 1}),
        stream_record(3, "MODIFY", new={"pk": "order#3", "sku": "cup", "quantity": 0}),
        stream_record(4, "REMOVE", old={"pk": "order#4"}),
    )
    response = module["handler"](batch, LambdaContext("inventory"))
    assert response == {"batchItemFailures": [{"itemIdentifier": f"{2:021d}"}, {"itemIdentifier": f"{3:021d}"}]}


@pytest.mark.skipif(shutil.which("node") is None, reason="needs Node.js to run the team's Node.js handler")
def test_the_teams_node_function_fails_on_a_bad_event_and_succeeds_on_a_good_one():
    script = (
        f"import {{ handler }} from {json.dumps((CONSUMER / 'functions' / 'receipts' / 'index.mjs').as_uri())};"
        "const ok = await handler({orderId: 'o-1', total: '12.5'});"
        "let failed = null; try { await handler({total: 3}); } catch (e) { failed = e.name; }"
        "console.log(JSON.stringify({ok, failed}));"
    )
    run = subprocess.run(["node", "--input-type=module", "-e", script], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout.strip().splitlines()[-1]) == {
        "ok": {"orderId": "o-1", "sent": True},
        "failed": "TypeError",
    }
