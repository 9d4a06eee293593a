"""What users of Checkov and the Pulumi CLI expect of a gate: list and pick rules, soft-fail, write
to a file, a version, tracebacks on request, suggestions for typos, a quiet pipe, and program
failures that say where and which flag is missing."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from failctl import cli
from failctl.preview import gate, rules_document
from failure_guards.bounds import STREAM_MAX_RECORD_AGE_SECONDS, STREAM_MAX_RETRY_ATTEMPTS

ROOT = Path(__file__).resolve().parents[2]
OTHER_PROGRAM = ROOT / "tests" / "fixtures" / "other_program"
PACK = str(ROOT / "policy")
SQS_POLICY = "sqs-queues-encrypted-with-customer-kms-key"


def run(capsys, *argv):
    code = cli.main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def gate_args(*extra):
    program = ("-C", str(OTHER_PROGRAM), "-s", "dev")
    return ("preview", *program, "--account", "123456789012", "--policy-pack", PACK, *extra)


def test_policies_lists_every_policy_with_level_severity_description_and_link(capsys):
    code, out, _ = run(capsys, "policies", "--json")
    listed = json.loads(out)
    pack = gate.load_pack(PACK)
    assert code == 0 and [p["name"] for p in listed] == [p.name for p in pack.policies]
    for entry in listed:
        assert entry["level"] in ("mandatory", "advisory")
        assert entry["severity"] in ("low", "medium", "high", "critical")
        assert entry["description"] and entry["link"].endswith("#" + entry["name"])
    code, text, _ = run(capsys, "policies")
    assert "s3-write-grants-require-resource-account" in text and "critical" in text


def test_the_rules_document_is_the_packs_own(capsys):
    """docs/policies.md is regenerated from the pack: a policy cannot ship without its section."""
    pack = gate.load_pack(PACK)
    assert (ROOT / "docs" / "policies.md").read_text() == rules_document.markdown(pack), (
        "docs/policies.md is stale: failctl policies --markdown > docs/policies.md"
    )
    for policy in pack.policies:
        assert f"\n## {policy.name}\n" in rules_document.markdown(pack)


def test_the_rules_document_writes_whole_defaults_as_the_pack_declares_them():
    """The engine's protocol carries every number as a float; the document says 10, not 10.0."""
    document = rules_document.markdown(gate.load_pack(PACK))
    assert f"- `maxRetryAttempts` (integer, default `{STREAM_MAX_RETRY_ATTEMPTS}`)" in document
    assert f"(integer, default `{STREAM_MAX_RECORD_AGE_SECONDS}`)" in document


def test_check_and_skip_check_pick_policies_by_name(capsys):
    code, out, _ = run(capsys, *gate_args("--format", "json", "--check", SQS_POLICY))
    assert code == 1 and {v["policy"] for v in json.loads(out)["violations"]} == {SQS_POLICY}
    code, out, _ = run(
        capsys,
        *gate_args(
            "--format",
            "json",
            "--skip-check",
            f"{SQS_POLICY},stream-mapping-retries-bounded",
            "--skip-check",
            "s3-write-grants-require-resource-account",
        ),
    )
    assert code == 0 and not [v for v in json.loads(out)["violations"] if v["level"] == "mandatory"]


def test_a_misspelled_policy_suggests_the_right_one(capsys):
    code, _, err = run(capsys, *gate_args("--check", "sqs-queue-encrypted-with-customer-kms-key"))
    assert code == 2 and f"did you mean {SQS_POLICY}?" in err


def test_soft_fail_reports_and_exits_0(capsys):
    code, out, _ = run(capsys, *gate_args("--soft-fail"))
    assert code == 0 and "BLOCKED: mandatory violations" in out


def test_output_file_holds_the_report_and_stdout_stays_empty(capsys, tmp_path):
    target = tmp_path / "gate.xml"
    code, out, _ = run(capsys, *gate_args("--format", "junit", "-o", str(target)))
    assert code == 1 and out == "" and target.read_text().startswith("<?xml")


def test_version(capsys):
    with pytest.raises(SystemExit) as stopped:
        cli.main(["--version"])
    assert stopped.value.code == 0 and capsys.readouterr().out.startswith("failctl ")


def test_a_misspelled_subcommand_suggests_the_right_one(capsys):
    with pytest.raises(SystemExit) as stopped:
        cli.main(["previw"])
    assert stopped.value.code == 2 and "did you mean preview?" in capsys.readouterr().err


def test_a_misspelled_named_query_suggests_the_right_one(capsys, tmp_path):
    code, _, err = run(capsys, "query", "errors-by-typ", "--source", str(tmp_path))
    assert code == 2 and "did you mean errors-by-type?" in err


def test_a_closed_pipe_is_quiet():
    """The plan as JSON is larger than a pipe's buffer: the writer meets the closed pipe."""
    command = f"{sys.executable} -m failctl preview -s dev --account 123456789012 --json | head -1"
    reader = subprocess.run(command, shell=True, capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert reader.stdout == "{\n" and reader.stderr == ""


@pytest.fixture
def failing_program(tmp_path):
    folder = tmp_path / "app"
    shutil.copytree(OTHER_PROGRAM, folder)
    return folder


def test_a_failing_program_names_file_line_and_exception_and_debug_shows_the_traceback(capsys, failing_program):
    (failing_program / "sizes.py").write_text("SIZES = {'small': 1}\n\n\ndef size(name):\n    return SIZES[name]\n")
    main = failing_program / "__main__.py"
    main.write_text("import sizes\n" + main.read_text() + "sizes.size('large')\n")
    argv = ("preview", "-C", str(failing_program), "-s", "dev", "--account", "123456789012")
    code, _, err = run(capsys, *argv)
    assert code == 2 and "the program failed at sizes.py:5: KeyError: 'large'" in err
    assert len(err.strip().splitlines()) == 1
    code, _, err = run(capsys, "--debug", *argv)
    assert code == 2 and "Traceback (most recent call last)" in err and 'sizes.py", line 5' in err


def test_a_missing_secret_names_the_secret_flag(capsys, failing_program):
    (failing_program / "Pulumi.dev.yaml").write_text(
        "config:\n  aws:region: eu-west-1\n  orders-service:token:\n    secure: v1:AAAAcipher\n"
    )
    main = failing_program / "__main__.py"
    main.write_text(main.read_text() + "pulumi.Config().require_secret('token')\n")
    code, _, err = run(capsys, "preview", "-C", str(failing_program), "-s", "dev", "--account", "123456789012")
    assert code == 2 and "pass --secret orders-service:token=VALUE" in err
    assert "pulumi config set" not in err and "AAAAcipher" not in err


def test_a_missing_stack_reference_names_the_reference_flag(capsys, failing_program):
    main = failing_program / "__main__.py"
    main.write_text(
        main.read_text() + "ref = pulumi.StackReference('acme/network/prod')\n"
        "ref.get_output('vpcId').apply(lambda v: v.upper())\n"
    )
    code, _, err = run(capsys, "preview", "-C", str(failing_program), "-s", "dev", "--account", "123456789012")
    assert code == 2 and "pass --stack-reference acme/network/prod=FILE" in err


def test_a_misspelled_policy_in_the_pack_config_suggests_the_right_one(capsys, tmp_path):
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"sqs-queue-encrypted-with-customer-kms-key": "advisory"}))
    code, _, err = run(capsys, *gate_args("--policy-pack-config", str(config)))
    assert code == 2 and f"(did you mean {SQS_POLICY}?)" in err


def test_json_findings_carry_the_policys_severity(capsys):
    _, out, _ = run(capsys, *gate_args("--format", "json"))
    severities = {v["policy"]: v["severity"] for v in json.loads(out)["violations"]}
    assert severities["s3-write-grants-require-resource-account"] == "critical"
    assert severities[SQS_POLICY] == "high"
