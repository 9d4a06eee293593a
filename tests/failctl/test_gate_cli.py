"""The offline gate (`failctl preview --policy-pack`) and the audit of a stack export."""

import copy
import io
import json
import re
from pathlib import Path

import pytest
from support.pulumi_harness import run_program

from failctl import cli
from failctl.preview import program_process

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
ESM = "aws:lambda/eventSourceMapping:EventSourceMapping"


def run_cli(capsys, *argv):
    if argv[0] == "preview" and "--account" not in argv:
        argv = (*argv, "--account", "210987654321")
    if argv[0] == "preview" and "--stack" not in argv:
        argv = (*argv, "--stack", "dev")
    code = cli.main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_project_stack_is_clean_and_fully_decided(capsys):
    code, out, _ = run_cli(capsys, "preview", "--policy-pack", "policy", "--json")
    plan = json.loads(out)
    assert code == 0
    assert plan["violations"] == [] and plan["undecided"] == []


def test_text_report_groups_by_level(capsys):
    code, out, _ = run_cli(capsys, "preview", "--policy-pack", "policy")
    assert code == 0
    assert "mandatory violations: 0" in out and "undecided (unknown at preview): 0" in out
    assert "PASSED: no mandatory violations" in out
    # The tree counts components too; the verdict says why its count is smaller.
    total, cloud, components = (
        int(n)
        for n in re.search(r"(\d+) resources to create \((\d+) cloud resources, (\d+) components\)", out).groups()
    )
    assert total == cloud + components and components > 0
    assert f"policies over {cloud} resources (components, {components} more, are judged with what they contain)" in out


@pytest.fixture
def broken_program(monkeypatch):
    """The program with unbounded stream retries, as a careless edit would leave it."""
    synthesis = copy.deepcopy(run_program())
    (mapping,) = [r for r in synthesis.resources if r.type == ESM]
    mapping.props.pop("maximumRetryAttempts")
    monkeypatch.setattr(program_process, "synthesize", lambda stack, **_: synthesis)
    return synthesis


def test_mandatory_violation_exits_1_with_policy_level_urn_and_message(capsys, broken_program):
    code, out, _ = run_cli(capsys, "preview", "--policy-pack", "policy", "--json")
    assert code == 1
    (violation,) = json.loads(out)["violations"]
    assert violation["policy"] == "stream-mapping-retries-bounded"
    assert violation["level"] == "mandatory"
    assert violation["urn"].endswith("::stream-consumer-mapping")
    assert "maximumRetryAttempts is not set" in violation["message"]


def test_pack_config_can_lower_a_policy_to_advisory(capsys, broken_program, tmp_path):
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"stream-mapping-retries-bounded": "advisory"}))
    code, out, _ = run_cli(capsys, "preview", "--policy-pack", "policy", "--policy-pack-config", str(config))
    assert code == 0 and "advisory violations: 1" in out


def test_remediation_level_fixes_bisection(capsys, monkeypatch, tmp_path):
    synthesis = copy.deepcopy(run_program(streamSourceArn="arn:aws:kinesis:eu-west-1:123456789012:stream/clicks"))
    (mapping,) = [r for r in synthesis.resources if r.type == ESM]
    mapping.props["bisectBatchOnFunctionError"] = False
    monkeypatch.setattr(program_process, "synthesize", lambda stack, **_: synthesis)
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"stream-mapping-bisects-batches": "remediate"}))
    code, out, _ = run_cli(capsys, "preview", "--policy-pack", "policy", "--policy-pack-config", str(config), "--json")
    assert code == 0
    (violation,) = json.loads(out)["violations"]
    assert (violation["policy"], violation["level"]) == ("stream-mapping-bisects-batches", "remediate")


def test_example_pack_config_passes_a_real_account_and_region(capsys):
    """The example names no account: any real account's stack is clean under it."""
    code, out, err = run_cli(
        capsys,
        "preview",
        "--policy-pack",
        "policy",
        "--policy-pack-config",
        "policy/policy-config.example.json",
        "--account",
        "210987654321",
        "--region",
        "eu-west-1",
        "--json",
    )
    assert err == "" and code == 0
    verdict = json.loads(out)
    assert verdict["violations"] == [] and verdict["undecided"] == []


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        ({"no-such-policy": "mandatory"}, "unknown policies: no-such-policy"),
        ({"stream-mapping-retries-bounded": "fatal"}, "enforcement level must be one of"),
        ({"stream-mapping-retries-bounded": {"maxRetryAttempts": -1}}, "-1 is less than the minimum of 0"),
        ({"kms-keys-rotate": {"anything": 1}}, "has no setting anything; it takes: exemptionHorizonDays, exemptions"),
    ],
)
def test_bad_pack_config_exits_2(capsys, tmp_path, config, expected):
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config))
    code, _, err = run_cli(capsys, "preview", "--policy-pack", "policy", "--policy-pack-config", str(path))
    assert code == 2 and expected in err


def test_missing_pack_exits_2(capsys, tmp_path):
    code, _, err = run_cli(capsys, "preview", "--policy-pack", str(tmp_path))
    assert code == 2 and "is not a policy pack" in err


def test_audit_passes_a_compliant_export_with_an_encrypted_secret(capsys):
    code, out, _ = run_cli(capsys, "audit", str(FIXTURES / "stack-export-compliant.json"), "--json")
    verdict = json.loads(out)
    assert code == 0 and verdict["violations"] == []
    # The queue's key id is an encrypted secret: judged unknown, treated as a key from the stack.
    assert verdict["undecided"] == []


def test_audit_flags_a_hand_broken_export(capsys):
    code, out, _ = run_cli(capsys, "audit", str(FIXTURES / "stack-export-broken.json"), "--json")
    assert code == 1
    caught = {(v["policy"], v["urn"].rsplit("::", 1)[-1]) for v in json.loads(out)["violations"]}
    assert caught == {
        ("s3-write-grants-require-resource-account", "processor-role-policy"),
        ("s3-buckets-encrypted-with-customer-kms-key", "failure-archive-bucket"),
        ("kms-keys-rotate", "failure-archive-key"),
        ("stream-mapping-retries-bounded", "stream-consumer-mapping"),
    }


def test_audit_reads_standard_input(capsys, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO((FIXTURES / "stack-export-broken.json").read_text()))
    code, out, _ = run_cli(capsys, "audit", "-")
    assert code == 1 and "BLOCKED: mandatory violations" in out


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("not json", "not JSON"),
        ('{"version": 3}', "no deployment.resources list"),
        ('{"deployment": {"resources": [1]}}', "has no urn"),
    ],
)
def test_audit_rejects_what_is_not_a_stack_export(capsys, monkeypatch, text, expected):
    monkeypatch.setattr("sys.stdin", io.StringIO(text))
    code, _, err = run_cli(capsys, "audit", "-")
    assert code == 2 and expected in err


def test_audit_in_sarif_has_a_rule_per_policy_and_a_result_per_violation(capsys):
    code, out, _ = run_cli(capsys, "audit", str(FIXTURES / "stack-export-broken.json"), "--format", "sarif")
    document = json.loads(out)
    assert code == 1 and document["version"] == "2.1.0"
    (sarif_run,) = document["runs"]
    rules = sarif_run["tool"]["driver"]["rules"]
    assert {r["id"] for r in rules} >= {"s3-write-grants-require-resource-account", "stream-mapping-retries-bounded"}
    errors = [r for r in sarif_run["results"] if r["level"] == "error"]
    assert errors and all(rules[r["ruleIndex"]]["id"] == r["ruleId"] for r in errors)
    assert all(r["locations"][0]["logicalLocations"][0]["fullyQualifiedName"].startswith("urn:") for r in errors)
    _, as_json, _ = run_cli(capsys, "audit", str(FIXTURES / "stack-export-broken.json"), "--json")
    mandatory = [v for v in json.loads(as_json)["violations"] if v["level"] == "mandatory"]
    assert len(errors) == len(mandatory)


def test_audit_in_junit_fails_one_case_per_mandatory_violation(capsys):
    from xml.etree import ElementTree

    code, out, _ = run_cli(capsys, "audit", str(FIXTURES / "stack-export-broken.json"), "--format", "junit")
    suite = ElementTree.fromstring(out.split("?>", 1)[1])
    assert suite.tag == "testsuite"  # the Surefire XSD's root
    failures = suite.findall("testcase/failure")
    assert code == 1 and int(suite.get("failures")) == len(failures) > 0
    assert int(suite.get("tests")) == len(suite.findall("testcase"))
    clean_code, clean, _ = run_cli(capsys, "audit", str(FIXTURES / "stack-export-compliant.json"), "--format", "junit")
    assert clean_code == 0 and "<failure" not in clean


def test_sarif_without_a_pack_is_bad_input(capsys):
    code, _, err = run_cli(capsys, "preview", "--format", "sarif")
    assert code == 2 and "--policy-pack" in err


OTHER_PROGRAM = FIXTURES / "other_program"


def test_another_teams_program_is_gated_with_exact_violations(capsys):
    """A program in another folder, with its own module and a get_policy_document invoke
    computed offline: an unsafe mapping, an unconditioned S3 grant, an unencrypted queue."""
    code, out, err = run_cli(
        capsys, "preview", "--cwd", str(OTHER_PROGRAM), "--policy-pack", "policy", "--format", "json"
    )
    verdict = json.loads(out)
    assert code == 1, err
    mandatory = sorted(
        (v["policy"], v["urn"].rsplit("::", 1)[-1]) for v in verdict["violations"] if v["level"] == "mandatory"
    )
    assert mandatory == [
        ("s3-write-grants-require-resource-account", "orders-write"),
        ("sqs-queues-encrypted-with-customer-kms-key", "orders-queue"),
        ("stream-mapping-retries-bounded", "orders-mapping"),
    ]
    assert verdict["undecided"] == []
    code, out, _ = run_cli(
        capsys, "preview", "--cwd", str(OTHER_PROGRAM), "--policy-pack", "policy", "--format", "sarif"
    )
    assert code == 1 and len([r for r in json.loads(out)["runs"][0]["results"] if r["level"] == "error"]) == 3


def test_a_program_that_fails_is_one_line_not_a_traceback(capsys, tmp_path):
    (tmp_path / "Pulumi.yaml").write_text("name: broken\nruntime: python\n")
    (tmp_path / "Pulumi.dev.yaml").write_text("config:\n  aws:region: eu-west-1\n")
    (tmp_path / "__main__.py").write_text("raise ValueError('no such bucket size')\n")
    code, _, err = run_cli(capsys, "preview", "--cwd", str(tmp_path))
    assert code == 2 and "the program failed at __main__.py:1: ValueError: no such bucket size" in err
    assert len(err.strip().splitlines()) == 1
